"""Extraction speed and template statistics: ``python -m benchmarks extract --dataset DIR``.

For each image set (``DIR`` itself when it holds images, else each sub-folder that does, see
:func:`datasets.find_image_sets`) the images are decoded first, the JIT is warmed up on one
image (not timed), then:

1. every image is extracted on one thread, ``time.perf_counter`` around each
   :func:`matcher.features.extract` call (decoding is not timed);
2. the same images are extracted again by ``--threads`` workers of a ``ThreadPoolExecutor``
   (the numba kernels release the GIL): images per second of wall time.

Finally the first ``extract`` call of a fresh interpreter is timed, with the same environment
(``NUMBA_CACHE_DIR``), to check that numba's on-disk cache spares new processes the several
seconds of compiling every kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import matcher
from benchmarks._common import image_sets
from datasets import fvc_native_dpi, list_images
from datasets._cli import positive_int
from matcher.errors import MatcherError
from matcher.features import extract
from matcher.image import FingerprintImage, load_image
from matcher.template import MAX_DPI, MIN_DPI

__all__ = ["add_parser", "run", "measure_set", "first_call", "SetResult", "FIRST_CALL_LIMIT_MS"]

#: A first call slower than this in a new process means the kernels were compiled, not loaded.
FIRST_CALL_LIMIT_MS = 1500.0
#: Wall-clock limit of the fresh-process check (compiling every kernel cold takes ~25 s).
FIRST_CALL_TIMEOUT_SECONDS = 300.0

# Run in a fresh interpreter: time the first extract() call, then count numba's cache hits
# (kernels loaded from disk) and misses (kernels compiled) over matcher's dispatchers.
_FIRST_CALL_SCRIPT = """\
import json, sys, time
start = time.perf_counter()
from matcher.features import extract
imported = time.perf_counter()
extract(sys.argv[1], dpi=None if sys.argv[2] == "-" else int(sys.argv[2]))
done = time.perf_counter()
hits = misses = 0
try:
    from numba.core.dispatcher import Dispatcher
    for name, module in list(sys.modules.items()):
        if name == "matcher" or name.startswith("matcher."):
            for value in vars(module).values():
                if isinstance(value, Dispatcher):
                    hits += sum(value.stats.cache_hits.values())
                    misses += sum(value.stats.cache_misses.values())
except Exception:
    pass
print(json.dumps({"import_ms": (imported - start) * 1e3, "ms": (done - imported) * 1e3,
                  "cache_hits": hits, "cache_misses": misses}))
"""


@dataclass
class SetResult:
    """Measurements of one image set (or of all sets together)."""

    name: str
    path: str | None
    native_dpi: int | None
    images: int = 0
    failures: int = 0
    minutiae: list[int] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)
    throughput_images: int = 0
    throughput_seconds: float | None = None

    def merge(self, other: SetResult) -> None:
        """Add ``other``'s images and timings to this one."""
        self.images += other.images
        self.failures += other.failures
        self.minutiae += other.minutiae
        self.quality += other.quality
        self.ms += other.ms
        if other.throughput_seconds is not None:
            self.throughput_images += other.throughput_images
            self.throughput_seconds = (self.throughput_seconds or 0.0) + other.throughput_seconds

    @property
    def images_per_second(self) -> float | None:
        """Throughput of the all-threads pass, ``None`` when it was not run."""
        if not self.throughput_seconds:
            return None
        return self.throughput_images / self.throughput_seconds

    def summary(self) -> dict[str, Any]:
        """The figures as plain JSON types (``None`` where no image succeeded)."""
        def stats(values: list[float], **funcs: Any) -> dict[str, float | None]:
            return {k: (float(f(values)) if values else None) for k, f in funcs.items()}
        return {
            "name": self.name, "path": self.path, "native_dpi": self.native_dpi,
            "images": self.images, "failures": self.failures,
            "minutiae": stats(self.minutiae, min=np.min, median=np.median, max=np.max),
            "image_quality": stats(self.quality, median=np.median, min=np.min),
            "ms_per_image": stats(self.ms, median=np.median, p90=lambda v: np.percentile(v, 90),
                                  mean=np.mean),
            "images_per_second": self.images_per_second,
        }


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``extract`` command on an argparse sub-parser collection."""
    parser = subparsers.add_parser(
        "extract", help="extraction speed and template statistics per image set",
        description="Per image set: decode the images, warm up the JIT on one, time each extract() "
                    "call on one thread, then images/s with --threads workers; finally time the "
                    "first call of a new process (numba cache check).")
    parser.add_argument("--dataset", required=True, type=Path, metavar="DIR",
                        help="a folder of images, or a folder of image sets (e.g. fvc2002/)")
    parser.add_argument("--dpi", type=_dpi, metavar="N",
                        help="resolution passed for every image (default: the image's metadata, else "
                             "500 — the FVC protocol)")
    parser.add_argument("--limit", type=positive_int, metavar="N", help="first N images of each set only")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="workers of the throughput pass (default: %(default)s, the CPU count)")
    parser.add_argument("--no-throughput", dest="throughput", action="store_false",
                        help="skip the all-threads pass")
    parser.add_argument("--no-cache-check", dest="cache_check", action="store_false",
                        help="skip timing the first call in a new process")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write every figure as JSON")
    parser.set_defaults(run=run)
    return parser


def _dpi(text: str) -> int:
    value = int(text)
    if not MIN_DPI <= value <= MAX_DPI:
        raise argparse.ArgumentTypeError(f"must be in {MIN_DPI}..{MAX_DPI}, got {value}")
    return value




def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; print the table; return the exit status."""
    sets = image_sets(args.dataset, "extract")
    if sets is None:
        return 2
    progress = sys.stderr.isatty()
    results = [measure_set(folder, dpi=args.dpi, limit=args.limit, threads=args.threads,
                           throughput=args.throughput, progress=progress) for folder in sets]
    total = SetResult(name="all", path=None, native_dpi=None)
    for result in results:
        total.merge(result)
    check = None
    if args.cache_check:
        first_image = _first_good_image(sets, args.limit)
        if first_image is not None:
            check = first_call(first_image, dpi=args.dpi)
    resolution = f"every image at {args.dpi} dpi" if args.dpi else "dpi from metadata, else 500 as in FVC"
    print(f"extract benchmark: {args.dataset}; {len(sets)} set{'s' * (len(sets) != 1)}; {resolution}; "
          f"matcher {matcher.__version__}")
    print(format_table(results + ([total] if len(results) > 1 else []), threads=args.threads))
    if check is not None:
        print(describe_first_call(check))
    if args.json is not None:
        report = {
            "dataset": str(args.dataset), "dpi": args.dpi, "limit": args.limit,
            "threads": args.threads if args.throughput else None,
            "sets": [r.summary() for r in results], "all": total.summary(), "first_call": check,
            "environment": {"python": platform.python_version(), "platform": platform.platform(),
                            "cpu_count": os.cpu_count(), "matcher": matcher.__version__,
                            "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR")},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


def _first_good_image(sets: list[Path], limit: int | None) -> Path | None:
    for folder in sets:
        for path in list_images(folder)[:limit]:
            try:
                load_image(path)
            except MatcherError:
                continue
            return path
    return None


def measure_set(folder: Path, *, dpi: int | None = None, limit: int | None = None, threads: int = 1,
                throughput: bool = True, progress: bool = False) -> SetResult:
    """Decode, warm up, time one thread per image, then all threads, on one image set.

    Parameters
    ----------
    folder : Path
        The set's images are :func:`datasets.list_images` of it, the first ``limit`` of them.
    dpi : int, optional
        Passed to :func:`matcher.image.load_image` (default: metadata, else 500).
    limit : int, optional
    threads : int
        Workers of the throughput pass.
    throughput : bool
        Run the throughput pass.
    progress : bool
        Show tqdm progress bars on stderr.

    Returns
    -------
    SetResult
        Images that cannot be decoded or extracted are counted in ``failures`` (and reported
        on stderr); minutiae, quality and timings are of the successful ones.
    """
    result = SetResult(name=folder.name, path=str(folder), native_dpi=fvc_native_dpi(folder))
    images: list[FingerprintImage] = []
    paths = list_images(folder)[:limit]
    result.images = len(paths)
    for path in paths:
        try:
            images.append(load_image(path, dpi=dpi))
        except MatcherError as exc:
            result.failures += 1
            print(f"benchmarks extract: {path}: {exc}", file=sys.stderr)
    if not images:
        return result
    try:  # warm-up: loads (or compiles) the numba kernels; not timed
        extract(images[0])
    except MatcherError:
        pass
    for image in tqdm(images, desc=f"{folder.name} (1 thread)", unit="img", file=sys.stderr,
                      disable=not progress, leave=False):
        start = time.perf_counter()
        try:
            template = extract(image)
        except MatcherError as exc:
            result.failures += 1
            print(f"benchmarks extract: {folder.name}: {exc}", file=sys.stderr)
            continue
        result.ms.append((time.perf_counter() - start) * 1e3)
        result.minutiae.append(len(template))
        result.quality.append(template.image_quality)
    if throughput:
        with ThreadPoolExecutor(max_workers=threads) as pool, \
                tqdm(total=len(images), desc=f"{folder.name} ({threads} threads)", unit="img",
                     file=sys.stderr, disable=not progress, leave=False) as bar:
            start = time.perf_counter()
            for _ in pool.map(_extract_quietly, images):
                bar.update()
            result.throughput_seconds = time.perf_counter() - start
        result.throughput_images = len(images)
    return result


def _extract_quietly(image: FingerprintImage) -> int:
    try:
        return len(extract(image))
    except MatcherError:
        return -1


def first_call(path: Path, *, dpi: int | None = None) -> dict[str, Any]:
    """Time the first :func:`~matcher.features.extract` call in a fresh interpreter.

    The child gets this process's environment (so the same ``NUMBA_CACHE_DIR``) with the
    directory holding :mod:`matcher` first on ``PYTHONPATH``.

    Returns
    -------
    dict
        ``ms`` (first call), ``import_ms``, ``cache_hits`` / ``cache_misses`` (numba kernels
        loaded from the cache / compiled), ``cache_works`` (no kernel compiled; when the counts
        are unavailable, ``ms`` under :data:`FIRST_CALL_LIMIT_MS`), ``numba_cache_dir``; or
        ``error`` when the child failed.
    """
    env = dict(os.environ)
    root = str(Path(matcher.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cache_dir = env.get("NUMBA_CACHE_DIR")
    command = [sys.executable, "-c", _FIRST_CALL_SCRIPT, str(path), "-" if dpi is None else str(dpi)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=FIRST_CALL_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {FIRST_CALL_TIMEOUT_SECONDS:.0f} s", "numba_cache_dir": cache_dir}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1],
                "numba_cache_dir": cache_dir}
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    counted = report["cache_hits"] + report["cache_misses"] > 0
    report["cache_works"] = (report["cache_misses"] == 0) if counted else report["ms"] < FIRST_CALL_LIMIT_MS
    report["numba_cache_dir"] = cache_dir
    return report


def describe_first_call(check: dict[str, Any]) -> str:
    """One line for a :func:`first_call` report."""
    where = check["numba_cache_dir"] or "__pycache__ beside the sources"
    if "error" in check:
        return f"first call in a new process: failed ({check['error']}); numba cache: {where}"
    works = "yes" if check["cache_works"] else "no"
    if check["cache_hits"] + check["cache_misses"]:
        why = f"{check['cache_hits']} kernels loaded from the cache, {check['cache_misses']} compiled"
    else:
        why = f"{'under' if check['cache_works'] else 'over'} {FIRST_CALL_LIMIT_MS:.0f} ms"
    return (f"first call in a new process: {check['ms']:.0f} ms (cache works: {works}; {why}; "
            f"numba cache: {where})")


def format_table(results: list[SetResult], *, threads: int) -> str:
    """The results as an aligned text table, one row per set."""
    header = ["set", "native dpi", "images", "failed", "minutiae min/med/max", "quality med/min",
              "ms/img med/p90", f"img/s ({threads} thr)"]
    rows = [header]
    for r in results:
        s = r.summary()
        m, q, t = s["minutiae"], s["image_quality"], s["ms_per_image"]
        ok = bool(r.minutiae)
        rows.append([
            r.name, "-" if r.native_dpi is None else str(r.native_dpi), str(r.images), str(r.failures),
            f"{m['min']:.0f} / {m['median']:g} / {m['max']:.0f}" if ok else "-",
            f"{q['median']:g} / {q['min']:.0f}" if ok else "-",
            f"{t['median']:.0f} / {t['p90']:.0f}" if ok else "-",
            "-" if r.images_per_second is None else f"{r.images_per_second:.1f}",
        ])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
