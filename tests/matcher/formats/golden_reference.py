"""The reference templates behind the golden files in ``golden/``, and the script that wrote them.

The golden files pin each format version's bytes: tests check that ``dumps`` of these
references still produces them and that ``loads`` of them still gives the references back. They
were written once with::

    .venv/bin/python -m tests.matcher.formats.golden_reference

which never overwrites an existing file (``--force`` does; only for a deliberate new format
version, with a new file name, never to make a failing test pass).

Angles of the ISO/ANSI/xyt references are exact multiples of each format's angle unit, so a
round trip through the file gives the reference back exactly.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from matcher.formats import ansi378, iso19794_2, native, xyt
from matcher.template import FingerPosition, FingerView, MinutiaKind, Template

GOLDEN = Path(__file__).resolve().parent / "golden"
WIDTH, HEIGHT, DPI = 320, 480, 500


def native_reference() -> Template:
    """Edge coordinates, every kind and quality extreme, float32 angles at the ends of [0, 2*pi)."""
    largest_below_two_pi = np.nextafter(np.float32(2 * math.pi), np.float32(0))
    return Template(x=[0, WIDTH - 1, 100, 7], y=[0, HEIGHT - 1, 200, 13],
                    angle=np.array([0.0, 1e-7, math.pi, largest_below_two_pi], dtype=np.float32),
                    kind=[0, 1, 2, 1], quality=[0, 100, 57, 1], width=WIDTH, height=HEIGHT, dpi=DPI,
                    image_quality=73)


def _coded(codes: list[int], units: int, *, kind: list[int], quality: list[int], image_quality: int) -> Template:
    n = len(codes)
    return Template(x=[0, WIDTH - 1, 160, 1, 42][:n], y=[0, HEIGHT - 1, 240, 2, 17][:n],
                    angle=np.array(codes, dtype=np.float64) * (2 * math.pi / units), kind=kind,
                    quality=quality, width=WIDTH, height=HEIGHT, dpi=DPI, image_quality=image_quality)


def _views(units: int, first_codes: list[int], second_codes: list[int]) -> list[FingerView]:
    first = _coded(first_codes, units, kind=[1, 2, 0, 1], quality=[100, 0, 50, 99], image_quality=80)
    second = _coded(second_codes, units, kind=[2, 2, 1], quality=[10, 20, 30], image_quality=60)
    empty = Template.empty(width=WIDTH, height=HEIGHT, dpi=DPI, image_quality=0)
    return [FingerView(first, position=FingerPosition.RIGHT_INDEX, view_number=0, impression_type=0),
            FingerView(second, position=FingerPosition.RIGHT_INDEX, view_number=1, impression_type=1),
            FingerView(empty, position=FingerPosition.LEFT_LITTLE, view_number=0, impression_type=0)]


def iso_reference() -> list[FingerView]:
    """Three views (two of one finger, one empty), angle codes 0, 1, 128, 255, 64, 192, 32."""
    return _views(iso19794_2.ANGLE_UNITS, [0, 1, 128, 255], [64, 192, 32])


def ansi_reference() -> list[FingerView]:
    """The ISO reference's layout with ANSI angle codes 0, 1, 90, 179, 45, 135, 22."""
    return _views(ansi378.ANGLE_UNITS, [0, 1, 90, 179], [45, 135, 22])


def xyt_reference(representation: str) -> Template:
    """Kind OTHER only (xyt has none); angles in the representation's unit (1 or 2 degrees)."""
    degrees = [0, 1, 179, 180, 359] if representation == "nist" else [0, 2, 178, 180, 358]
    return Template(x=[0, WIDTH - 1, 160, 1, 42], y=[0, HEIGHT - 1, 240, 2, 17], angle=np.deg2rad(np.array(degrees, dtype=np.float64)),
                    kind=[MinutiaKind.OTHER] * 5, quality=[0, 100, 50, 1, 99], width=WIDTH, height=HEIGHT,
                    dpi=DPI)


#: file name -> writer of the golden bytes
GOLDEN_FILES = {
    "native_v1.bsmt": lambda: native.dumps(native_reference()),
    "iso19794_2_2005.fmr": lambda: iso19794_2.dumps(iso_reference()),
    "ansi378_2004.fmr": lambda: ansi378.dumps(ansi_reference()),
    "nist.xyt": lambda: xyt.dumps(xyt_reference("nist"), representation="nist"),
    "m1.xyt": lambda: xyt.dumps(xyt_reference("m1"), representation="m1"),
}


def main(argv: list[str]) -> int:
    force = "--force" in argv
    GOLDEN.mkdir(exist_ok=True)
    for name, write in GOLDEN_FILES.items():
        path = GOLDEN / name
        if path.exists() and not force:
            print(f"kept    {path}")
            continue
        path.write_bytes(write())
        print(f"wrote   {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
