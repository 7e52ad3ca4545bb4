"""What ISO/IEC 19794-2:2005 and ANSI/INCITS 378-2004 finger minutiae records share.

Both records start with ``"FMR\\0"`` and the version ``" 20\\0"``; after their different length
(and, for ANSI, product identifier) fields comes the same 12-byte block, then the finger
views, all big-endian::

    capture equipment   2  4 bits compliance + 12 bits equipment id (written 0, ignored on read)
    image width, height 2+2 px
    x, y resolution     2+2 px/cm
    finger views        1
    reserved            1  (written 0, ignored on read)
    per finger view:
      finger position   1  FingerPosition code
      view | impression 1  view number (high 4 bits), impression type (low 4 bits)
      finger quality    1  0-100
      minutiae count    1
      per minutia (6 bytes):
        type | x        2  type (high 2 bits: 0 other, 1 ending, 2 bifurcation), x (14 bits)
        reserved | y    2  2 reserved bits (ignored), y (14 bits)
        angle           1  ISO: units of 360/256 degrees; ANSI: units of 2 degrees (0-179)
        quality         1  0-100
      extended data length 2, then that many bytes (skipped on read, none written)

Sources: the FingerprintIO object models of both formats (github.com/robertvazan/fingerprintio-java,
packages ``iso19794p2v2005`` and ``ansi378v2004``) and their summaries at
https://templates.machinezoo.com/iso-19794-2-2005 and https://templates.machinezoo.com/ansi378-2004.

Resolution is stored per centimetre. We convert with round-half-up in integers:
``ppcm = round(dpi / 2.54)`` and ``dpi = round(ppcm * 2.54)``; 500 dpi -> 197 px/cm -> 500 dpi.
A record's ``ppcm`` is accepted when it is what some dpi in 250..1000 writes (98..394 px/cm);
the dpi it converts back to is clamped into 250..1000 (98 px/cm reads as 250, 394 as 1000).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from matcher.errors import InvalidParameterError, InvalidTemplateError
from matcher.formats._binary import Reader
from matcher.template import MAX_COORDINATE_PX, MAX_DPI, MIN_DPI, FingerView, Template

__all__ = ["MAGIC", "as_views", "decode_body", "dpi_to_ppcm", "encode_body", "ppcm_to_dpi"]

#: Format identifier and version shared by both standards (the 2005/2004 editions).
MAGIC = b"FMR\x00 20\x00"
_BODY_HEADER = struct.Struct(">HHHHHBB")  # equipment, width, height, x res, y res, views, reserved
_VIEW_HEADER = struct.Struct(">BBBB")  # position, view|impression, finger quality, minutiae
_U16 = struct.Struct(">H")
_MINUTIA = np.dtype([("kind_x", ">u2"), ("y", ">u2"), ("angle", "u1"), ("quality", "u1")])
_MIN_PPCM = (MIN_DPI * 100 + 127) // 254
_MAX_PPCM = (MAX_DPI * 100 + 127) // 254
_MAX_VIEWS = 255


def dpi_to_ppcm(dpi: int) -> int:
    """Pixels per centimetre for ``dpi``, rounded half up (500 -> 197)."""
    return (dpi * 100 + 127) // 254


def ppcm_to_dpi(ppcm: int) -> int:
    """Dots per inch for ``ppcm`` px/cm, rounded half up and clamped into 250..1000 (197 -> 500)."""
    return min(max((ppcm * 254 + 50) // 100, MIN_DPI), MAX_DPI)


def as_views(views: Any) -> list[FingerView]:
    """Normalise a Template, a FingerView or a sequence of FingerViews to a checked list."""
    if isinstance(views, Template):
        views = [FingerView(views)]
    elif isinstance(views, FingerView):
        views = [views]
    elif isinstance(views, Sequence) and not isinstance(views, (str, bytes, bytearray)):
        views = list(views)
    else:
        raise InvalidParameterError(
            f"views must be a Template, a FingerView or a sequence of FingerView, got {type(views).__name__}")
    if not views:
        raise InvalidParameterError("views is empty: a record needs at least one finger view")
    if len(views) > _MAX_VIEWS:
        raise InvalidParameterError(f"a record holds at most {_MAX_VIEWS} finger views, got {len(views)}")
    for i, view in enumerate(views):
        if not isinstance(view, FingerView):
            raise InvalidParameterError(f"views[{i}] must be a FingerView, got {type(view).__name__}")
    first = views[0].template
    for i, view in enumerate(views[1:], start=1):
        t = view.template
        if (t.width, t.height, t.dpi) != (first.width, first.height, first.dpi):
            raise InvalidParameterError(
                f"finger views of one record share image size and resolution: views[0] is "
                f"{first.width}x{first.height} at {first.dpi} dpi, views[{i}] is {t.width}x{t.height} at {t.dpi} dpi")
    return views


def encode_body(views: list[FingerView], *, angle_units: int) -> bytes:
    """The common header block and the finger views; angles in ``angle_units`` per turn."""
    first = views[0].template
    ppcm = dpi_to_ppcm(first.dpi)
    parts = [_BODY_HEADER.pack(0, first.width, first.height, ppcm, ppcm, len(views), 0)]
    for view in views:
        t = view.template
        parts.append(_VIEW_HEADER.pack(int(view.position), (view.view_number << 4) | view.impression_type,
                                       view.finger_quality, len(t)))
        minutiae = np.empty(len(t), dtype=_MINUTIA)
        minutiae["kind_x"] = (t.kind.astype(np.uint16) << 14) | t.x.astype(np.uint16)
        minutiae["y"] = t.y.astype(np.uint16)
        turns = t.angle.astype(np.float64) * (angle_units / (2.0 * math.pi))
        minutiae["angle"] = np.floor(turns + 0.5).astype(np.int64) % angle_units
        minutiae["quality"] = t.quality
        parts.append(minutiae.tobytes())
        parts.append(_U16.pack(0))  # no extended data
    return b"".join(parts)


def decode_body(reader: Reader, *, angle_units: int) -> list[FingerView]:
    """Read the common header block and every finger view up to the end of the record."""
    _, width, height, x_ppcm, y_ppcm, count, _ = reader.unpack(_BODY_HEADER, "record header")
    if x_ppcm != y_ppcm:
        raise InvalidTemplateError(
            f"x resolution {x_ppcm} px/cm differs from y resolution {y_ppcm} px/cm; "
            "non-square pixels are not supported")
    if not _MIN_PPCM <= x_ppcm <= _MAX_PPCM:
        raise InvalidTemplateError(
            f"resolution {x_ppcm} px/cm is outside {_MIN_PPCM}..{_MAX_PPCM} px/cm ({MIN_DPI}..{MAX_DPI} dpi)")
    if not (1 <= width <= MAX_COORDINATE_PX and 1 <= height <= MAX_COORDINATE_PX):
        raise InvalidTemplateError(f"image size {width}x{height} is outside 1..{MAX_COORDINATE_PX} px")
    dpi = ppcm_to_dpi(x_ppcm)
    views = []
    for i in range(count):
        try:
            views.append(_decode_view(reader, width, height, dpi, angle_units, i))
        except InvalidTemplateError as exc:
            raise InvalidTemplateError(f"finger view {i}: {exc}") from None
    if reader.remaining:
        raise InvalidTemplateError(f"{reader.remaining} unused bytes after the last of {count} finger views")
    return views


def _decode_view(reader: Reader, width: int, height: int, dpi: int, angle_units: int, i: int) -> FingerView:
    position, view_impression, finger_quality, n = reader.unpack(_VIEW_HEADER, f"finger view {i} header")
    if finger_quality > 100:
        raise InvalidTemplateError(f"finger quality {finger_quality} exceeds 100")
    minutiae = np.frombuffer(reader.take(_MINUTIA.itemsize * n, f"{n} minutiae"), dtype=_MINUTIA)
    kind = minutiae["kind_x"] >> 14
    _check_codes(kind, 2, "type code (3 is reserved)")
    _check_codes(minutiae["angle"], angle_units - 1, "angle code")
    _check_codes(minutiae["quality"], 100, "quality")
    template = Template(x=minutiae["kind_x"] & 0x3FFF, y=minutiae["y"] & 0x3FFF,
                        angle=minutiae["angle"] * (2.0 * math.pi / angle_units), kind=kind,
                        quality=minutiae["quality"], width=width, height=height, dpi=dpi,
                        image_quality=finger_quality)
    (extended_bytes,) = reader.unpack(_U16, "extended data length")
    reader.skip(extended_bytes, "extended data")
    return FingerView(template, position=position, view_number=view_impression >> 4,
                      impression_type=view_impression & 0x0F, finger_quality=finger_quality)


def _check_codes(values: np.ndarray, high: int, name: str) -> None:
    bad = np.flatnonzero(values > high)
    if bad.size:
        raise InvalidTemplateError(f"minutia {bad[0]}: {name} {values[bad[0]]} exceeds {high}")
