"""The ``matcher`` command: extract templates from images and draw minutiae overlays.

Usage::

    matcher extract IMAGE_OR_DIR... -o OUTDIR [--format native|iso|ansi|xyt] [--dpi N] [--quiet]
    matcher show IMAGE -o overlay.png [--dpi N]

``extract`` writes ``OUTDIR/<stem>.<ext>`` for each image (``.bsm``, ``.iso``, ``.ansi`` or
``.xyt``); a directory stands for the image files directly inside it. An image that cannot be
used is reported on stderr and skipped. Exit status: 0 when every image was extracted, 1 when
any failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from matcher import __version__, transparency
from matcher.errors import MatcherError
from matcher.features import extract
from matcher.formats import FORMATS, dumps
from matcher.image import IMAGE_SUFFIXES, load_image
from matcher.overlay import draw_overlay
from matcher.params import MAX_DPI, MIN_DPI
from matcher.template import MinutiaKind

__all__ = ["main", "IMAGE_SUFFIXES", "SUFFIX_OF_FORMAT"]

#: File name suffixes (lower case) taken from a directory given to ``extract``.
#: Output file suffix of each template format.
SUFFIX_OF_FORMAT = {"native": ".bsm", "iso": ".iso", "ansi": ".ansi", "xyt": ".xyt"}

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``matcher`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 when an image failed, 2 usage error, 130 interrupted.

    Examples
    --------
    >>> main(["--version"])
    matcher ...
    0
    """
    try:
        args = _parser().parse_args(argv)
        return int(args.run(args))
    except SystemExit as exc:  # --help, --version and usage errors (argparse exits)
        return EXIT_OK if exc.code is None else exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("matcher: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="matcher", description="Basma fingerprint engine: minutiae extraction and templates.")
    parser.add_argument("--version", action="version", version=f"matcher {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    extract_cmd = commands.add_parser(
        "extract", help="extract templates from images",
        description="Extract a minutiae template from each image and write OUTDIR/<stem>.<ext>.")
    extract_cmd.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", type=Path,
                             help="image files, or directories whose image files are all taken "
                                  f"(not recursive; {', '.join(sorted(IMAGE_SUFFIXES))})")
    extract_cmd.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR",
                             help="folder for the templates (created when missing)")
    extract_cmd.add_argument("-f", "--format", choices=FORMATS, default="native",
                             help="template format (default: %(default)s); file suffix "
                                  + ", ".join(f"{k} {v}" for k, v in SUFFIX_OF_FORMAT.items()))
    _add_dpi(extract_cmd)
    extract_cmd.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    extract_cmd.set_defaults(run=_run_extract, command_parser=extract_cmd)

    show_cmd = commands.add_parser(
        "show", help="draw the minutiae of an image into a PNG",
        description="Extract the minutiae of IMAGE and draw them (ending red, bifurcation green, "
                    "other blue) with the foreground outline (cyan) over the 500 dpi image.")
    show_cmd.add_argument("image", type=Path, metavar="IMAGE")
    show_cmd.add_argument("-o", "--output", required=True, type=Path, metavar="PNG",
                          help="overlay file to write (PNG)")
    _add_dpi(show_cmd)
    show_cmd.set_defaults(run=_run_show, command_parser=show_cmd)
    return parser


def _add_dpi(command: argparse.ArgumentParser) -> None:
    command.add_argument("--dpi", type=int, metavar="N",
                         help=f"resolution of the images ({MIN_DPI}-{MAX_DPI}); overrides their "
                              "metadata (default: metadata, else 500)")


def _check_dpi(parser: argparse.ArgumentParser, dpi: int | None) -> None:
    if dpi is not None and not MIN_DPI <= dpi <= MAX_DPI:
        parser.error(f"--dpi must be in {MIN_DPI}..{MAX_DPI}, got {dpi}")


def _expand(inputs: Sequence[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Files to extract, and inputs that fail before extraction (an empty directory)."""
    files: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for path in inputs:
        if not path.is_dir():
            files.append(path)  # a missing or unreadable file fails in extract(), naming it
            continue
        found = sorted(p for p in path.iterdir()
                       if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith("."))
        if found:
            files.extend(found)
        else:
            failed.append((path, "directory holds no image files"))
    return files, failed


def _run_extract(args: argparse.Namespace) -> int:
    parser = args.command_parser
    _check_dpi(parser, args.dpi)
    files, failed = _expand(args.inputs)
    suffix = SUFFIX_OF_FORMAT[args.format]
    outputs: dict[Path, Path] = {}
    for path in files:
        target = args.output / (path.stem + suffix)
        if target in outputs:
            parser.error(f"{outputs[target]} and {path} would both be written to {target}")
        outputs[target] = path
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"matcher extract: cannot create {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    for path, reason in failed:
        print(f"matcher extract: {path}: {reason}", file=sys.stderr)
    quiet = args.quiet or len(outputs) <= 1 or not sys.stderr.isatty()
    extracted = 0
    with tqdm(total=len(outputs), unit="img", file=sys.stderr, disable=quiet, leave=False) as bar:
        for target, path in outputs.items():
            try:
                data = dumps(extract(path, dpi=args.dpi), format=args.format)
                target.write_bytes(data)
            except MatcherError as exc:
                failed.append((path, str(exc)))
                bar.write(f"matcher extract: {path}: {exc}", file=sys.stderr)
            except OSError as exc:
                failed.append((path, f"cannot write {target}: {exc.strerror or exc}"))
                bar.write(f"matcher extract: {path}: cannot write {target}: {exc.strerror or exc}",
                          file=sys.stderr)
            else:
                extracted += 1
            bar.update()
    print(f"{extracted} extracted, {len(failed)} failed ({args.format} templates in {args.output})")
    return EXIT_FAILED if failed else EXIT_OK


def _run_show(args: argparse.Namespace) -> int:
    _check_dpi(args.command_parser, args.dpi)
    try:
        image = load_image(args.image, dpi=args.dpi)
        with transparency.capture(keys={"image", "mask"}) as data:
            template = extract(image)
        overlay = draw_overlay(data["image"], template, mask=data.get("mask"))
    except MatcherError as exc:
        print(f"matcher show: {args.image}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        Image.fromarray(overlay).save(args.output, format="PNG", dpi=(template.dpi, template.dpi))
    except OSError as exc:
        print(f"matcher show: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    endings = int(np.count_nonzero(template.kind == MinutiaKind.ENDING))
    bifurcations = int(np.count_nonzero(template.kind == MinutiaKind.BIFURCATION))
    print(f"{args.image}: {len(template)} minutiae ({endings} endings, {bifurcations} bifurcations), "
          f"image quality {template.image_quality}; overlay {template.width}x{template.height} px "
          f"written to {args.output}")
    return EXIT_OK
