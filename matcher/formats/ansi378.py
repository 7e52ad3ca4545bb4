"""ANSI/INCITS 378-2004 finger minutiae record format (record version " 20").

Record header (big-endian): ``"FMR\\0"``, version ``" 20\\0"``, a 2-byte record length, or,
for records of 65536 bytes and more, ``0x0000`` followed by a 4-byte length (both count every
byte of the record); a 4-byte CBEFF product identifier (owner, type; written 0, ignored on
read); then the block shared with ISO/IEC 19794-2 (see :mod:`matcher.formats._fmr`): 26 header
bytes in all, 30 in the long form. Minutia angles are one byte in units of 2 degrees, 0-179,
counter-clockwise from the +x axis as the image is viewed, so
``code = round(degrees(angle) / 2) % 180``.
Resolution is stored in px/cm: 250, 500 and 1000 dpi read back exactly, any other dpi
within 2 dpi.

Sources: FingerprintIO's ``Ansi378v2004Template`` object model
(github.com/robertvazan/fingerprintio-java) and https://templates.machinezoo.com/ansi378-2004.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from matcher.errors import InvalidTemplateError
from matcher.formats import _fmr
from matcher.formats._binary import Reader, as_bytes
from matcher.template import FingerView, Template

__all__ = ["ANGLE_UNITS", "declared_length", "dumps", "loads"]

#: Angle codes per full turn (2-degree units).
ANGLE_UNITS = 180
_SHORT_LENGTH = struct.Struct(">H")
_LONG_LENGTH = struct.Struct(">I")
_PRODUCT_ID = struct.Struct(">I")
_MAX_SHORT_LENGTH = 0xFFFF


def dumps(views: Template | FingerView | Sequence[FingerView]) -> bytes:
    """Write an ANSI/INCITS 378-2004 record.

    Parameters
    ----------
    views : Template, FingerView or sequence of FingerView
        A bare template becomes one view with unknown finger position and its image quality as
        the finger quality. All views must share width, height and dpi (one record header).

    Returns
    -------
    bytes
        With the 2-byte length field while the record fits in 65535 bytes, else the 6-byte one.

    Raises
    ------
    InvalidParameterError
        If ``views`` is empty, holds more than 255 views, or its views differ in size or dpi.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> data = dumps(t)
    >>> data[:10], len(data)
    (b'FMR\\x00 20\\x00\\x00&', 38)
    """
    body = _PRODUCT_ID.pack(0) + _fmr.encode_body(_fmr.as_views(views), angle_units=ANGLE_UNITS)
    length = len(_fmr.MAGIC) + _SHORT_LENGTH.size + len(body)
    if length <= _MAX_SHORT_LENGTH:
        return _fmr.MAGIC + _SHORT_LENGTH.pack(length) + body
    return _fmr.MAGIC + _SHORT_LENGTH.pack(0) + _LONG_LENGTH.pack(length + _LONG_LENGTH.size) + body


def loads(data: bytes) -> list[FingerView]:
    """Read an ANSI/INCITS 378-2004 record.

    Extended data blocks are skipped. Product identifier, capture equipment and reserved bits
    are ignored.

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    list of FingerView
        One per finger view in the record, in record order (possibly empty). Each template's
        ``image_quality`` is the view's finger quality.

    Raises
    ------
    InvalidTemplateError
        If the data is not a well-formed record: wrong magic, a record length other than
        ``len(data)``, truncated views, reserved minutia type 3, angle code above 179, quality
        above 100, coordinates outside the image, non-square or out-of-range resolution.

    Examples
    --------
    >>> from matcher.template import FingerPosition, Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> [view] = loads(dumps(FingerView(t, position=FingerPosition.LEFT_THUMB)))
    >>> view.position.name, view.template == t
    ('LEFT_THUMB', True)
    """
    data = as_bytes(data)
    if data[:len(_fmr.MAGIC)] != _fmr.MAGIC:
        raise InvalidTemplateError(f"not an ANSI/INCITS 378-2004 record: starts {data[:8]!r}")
    reader = Reader(data, "ANSI/INCITS 378 record")
    reader.skip(len(_fmr.MAGIC), "format identifier")
    (length,) = reader.unpack(_SHORT_LENGTH, "record length")
    if length == 0:
        (length,) = reader.unpack(_LONG_LENGTH, "long record length")
    if length != len(data):
        raise InvalidTemplateError(f"ANSI/INCITS 378 record length field is {length}, data has {len(data)} bytes")
    reader.skip(_PRODUCT_ID.size, "CBEFF product identifier")
    return _fmr.decode_body(reader, angle_units=ANGLE_UNITS)


def declared_length(data: bytes) -> int | None:
    """The record length an ANSI/INCITS 378 header in ``data`` claims, or None if too short.

    Examples
    --------
    >>> declared_length(b"FMR\\x00 20\\x00\\x00\\x26")
    38
    """
    offset = len(_fmr.MAGIC)
    if len(data) < offset + _SHORT_LENGTH.size:
        return None
    (length,) = _SHORT_LENGTH.unpack_from(data, offset)
    if length == 0:
        if len(data) < offset + _SHORT_LENGTH.size + _LONG_LENGTH.size:
            return None
        (length,) = _LONG_LENGTH.unpack_from(data, offset + _SHORT_LENGTH.size)
    return int(length)
