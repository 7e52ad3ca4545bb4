"""``synth`` command: write a synthetic fingerprint set the FVC way (``<finger>_<impression>.png``).

``python -m datasets synth --fingers N --impressions K --seed S -o DIR`` writes ``N x K`` 8-bit
500 dpi PNGs (fingers numbered from 1) and ``DIR/synthetic.json``: generator version, seed,
size, class of each finger and every parameter, so the set can be regenerated exactly.
Fingers are spread over a process pool (one master and its impressions per task); the output
does not depend on the number of workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from datasets._cli import positive_int
from datasets.synthetic.images import DEFAULT_SHAPE, finger_images
from datasets.synthetic.impressions import ImpressionParams
from datasets.synthetic.orientation import CLASS_FREQUENCIES, CLASSES
from datasets.synthetic.ridges import GrowthParams

__all__ = ["GENERATOR_VERSION", "MANIFEST_NAME", "add_parser", "main", "run"]

#: Bumped whenever the same seed would give different pixels.
GENERATOR_VERSION = "1.0"
#: File written next to the images.
MANIFEST_NAME = "synthetic.json"
DPI = 500


def _side(text: str) -> int:
    value = int(text)
    if value < 64:
        raise argparse.ArgumentTypeError(f"must be at least 64 px, got {text!r}")
    return value


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``synth`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "synth", help="generate synthetic fingerprint images (SFinGe-style) named <finger>_<impression>.png",
        description="Master fingerprints (class, singular points, orientation and frequency maps, "
                    "ridges grown by iterative Gabor filtering) and their impressions (contact, "
                    "pressure, skin distortion, displacement, noise), as 8-bit 500 dpi PNGs.")
    _arguments(parser)
    parser.set_defaults(run=run)
    return parser


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fingers", type=positive_int, default=10, metavar="N", help="fingers (default: %(default)s)")
    parser.add_argument("--impressions", type=positive_int, default=8, metavar="K",
                        help="impressions per finger (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="set seed (default: %(default)s)")
    parser.add_argument("--width", type=_side, default=DEFAULT_SHAPE[1], metavar="PX",
                        help="image width (default: %(default)s)")
    parser.add_argument("--height", type=_side, default=DEFAULT_SHAPE[0], metavar="PX",
                        help="image height (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes (default: %(default)s)")
    parser.add_argument("-o", "--out", required=True, type=Path, metavar="DIR", help="output folder")


def _write_finger(task: tuple[int, int, int, tuple[int, int], Path]) -> tuple[int, str]:
    seed, finger, impressions, shape, out = task
    kind, images = finger_images(seed, finger, impressions, shape=shape)
    for impression, pixels in enumerate(images, start=1):
        Image.fromarray(pixels).save(out / f"{finger}_{impression}.png", dpi=(DPI, DPI))
    return finger, kind


def run(args: argparse.Namespace) -> int:
    """Generate the set described by parsed ``args``; return the exit status (0 on success)."""
    shape = (args.height, args.width)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"synth: cannot create {args.out}: {exc}", file=sys.stderr)
        return 2
    tasks = [(args.seed, finger, args.impressions, shape, args.out) for finger in range(1, args.fingers + 1)]
    classes: dict[str, str] = {}
    bar = tqdm(total=args.fingers * args.impressions, unit="img", desc="synth",
               disable=not sys.stderr.isatty())
    workers = min(args.workers, args.fingers)
    if workers == 1:
        results = map(_write_finger, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_write_finger, tasks)
    try:
        for finger, kind in results:
            classes[str(finger)] = kind
            bar.update(args.impressions)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    manifest = {
        "generator": "basma-synthetic-images", "version": GENERATOR_VERSION, "seed": args.seed,
        "fingers": args.fingers, "impressions": args.impressions, "width": args.width,
        "height": args.height, "dpi": DPI, "names": "<finger>_<impression>.png",
        "class_frequencies": dict(zip(CLASSES, CLASS_FREQUENCIES, strict=True)),
        "classes": classes,
        "parameters": {"growth": asdict(GrowthParams()), "impression": asdict(ImpressionParams())},
    }
    (args.out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``synth`` as a stand-alone program: parse ``argv`` and run it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     main(["--fingers", "1", "--impressions", "2", "--width", "64", "--height", "72", "-o", tmp])
    ...     sorted(p.name for p in Path(tmp).iterdir())
    0
    ['1_1.png', '1_2.png', 'synthetic.json']
    """
    parser = argparse.ArgumentParser(prog="synth", description=__doc__.splitlines()[0])
    _arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except SystemExit as exc:
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2


if __name__ == "__main__":
    raise SystemExit(main())
