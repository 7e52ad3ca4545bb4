"""ISO/IEC 19794-2:2005 finger minutiae record format (record version " 20").

Record header (big-endian): ``"FMR\\0"``, version ``" 20\\0"``, a 4-byte record length
counting every byte of the record, then the block shared with ANSI/INCITS 378 (see
:mod:`matcher.formats._fmr`): 24 header bytes in all. Minutia angles are one byte in units of
360/256 degrees (1.40625 degrees), counter-clockwise from the +x axis as the image is viewed,
which is the :class:`~matcher.template.Template` convention, so
``code = round(angle / (2*pi) * 256) % 256``.
Resolution is stored in px/cm: 250, 500 and 1000 dpi read back exactly, any other dpi
within 2 dpi.

Sources: FingerprintIO's ``Iso19794p2v2005Template`` object model
(github.com/robertvazan/fingerprintio-java) and https://templates.machinezoo.com/iso-19794-2-2005.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from matcher.errors import InvalidTemplateError
from matcher.formats import _fmr
from matcher.formats._binary import Reader, as_bytes
from matcher.template import FingerView, Template

__all__ = ["ANGLE_UNITS", "declared_length", "dumps", "loads"]

#: Angle codes per full turn.
ANGLE_UNITS = 256
_LENGTH = struct.Struct(">I")


def dumps(views: Template | FingerView | Sequence[FingerView]) -> bytes:
    """Write an ISO/IEC 19794-2:2005 record.

    Parameters
    ----------
    views : Template, FingerView or sequence of FingerView
        A bare template becomes one view with unknown finger position and its image quality as
        the finger quality. All views must share width, height and dpi (one record header).

    Returns
    -------
    bytes
        ``24 + sum(6 + 6 * len(view.template))`` bytes.

    Raises
    ------
    InvalidParameterError
        If ``views`` is empty, holds more than 255 views, or its views differ in size or dpi.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> data = dumps(t)
    >>> data[:8], len(data)
    (b'FMR\\x00 20\\x00', 36)
    """
    body = _fmr.encode_body(_fmr.as_views(views), angle_units=ANGLE_UNITS)
    return _fmr.MAGIC + _LENGTH.pack(len(_fmr.MAGIC) + _LENGTH.size + len(body)) + body


def loads(data: bytes) -> list[FingerView]:
    """Read an ISO/IEC 19794-2:2005 record.

    Extended data blocks are skipped. Capture equipment and reserved bits are ignored.

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
        ``len(data)``, truncated views, reserved minutia type 3, quality above 100, coordinates
        outside the image, non-square or out-of-range resolution.

    Examples
    --------
    >>> from matcher.template import FingerPosition, Template
    >>> t = Template(x=[10], y=[20], angle=[0.0], kind=[1], quality=[90], width=64, height=64)
    >>> [view] = loads(dumps(FingerView(t, position=FingerPosition.RIGHT_INDEX)))
    >>> view.position.name, view.template == t
    ('RIGHT_INDEX', True)
    """
    data = as_bytes(data)
    if data[:len(_fmr.MAGIC)] != _fmr.MAGIC:
        raise InvalidTemplateError(f"not an ISO/IEC 19794-2:2005 record: starts {data[:8]!r}")
    reader = Reader(data, "ISO/IEC 19794-2 record")
    reader.skip(len(_fmr.MAGIC), "format identifier")
    (length,) = reader.unpack(_LENGTH, "record length")
    if length != len(data):
        raise InvalidTemplateError(f"ISO/IEC 19794-2 record length field is {length}, data has {len(data)} bytes")
    return _fmr.decode_body(reader, angle_units=ANGLE_UNITS)


def declared_length(data: bytes) -> int | None:
    """The record length an ISO/IEC 19794-2 header in ``data`` claims, or None if too short.

    Examples
    --------
    >>> declared_length(b"FMR\\x00 20\\x00\\x00\\x00\\x00\\x24")
    36
    """
    if len(data) < len(_fmr.MAGIC) + _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack_from(data, len(_fmr.MAGIC))
    return int(length)
