"""Basma's own template format: versioned, checksummed, lossless.

Layout of version 1 (all fields little-endian, ``n`` = number of minutiae)::

    offset       size  field
    0            4     magic b"BSMT"
    4            2     format version, uint16 (1)
    6            2     width, uint16 (px)
    8            2     height, uint16 (px)
    10           2     dpi, uint16
    12           1     image_quality, uint8 (0-100)
    13           1     reserved, must be 0
    14           2     n, uint16 (0-255)
    16           2n    x, int16
    16+2n        2n    y, int16
    16+4n        4n    angle, float32 (rad, [0, 2*pi), stored bit-exact)
    16+8n        n     kind, uint8
    16+9n        n     quality, uint8
    16+10n       4     CRC-32 (zlib.crc32) of bytes 0 .. 16+10n-1, uint32

The structure-of-arrays body mirrors :class:`~matcher.template.Template`, so reading is a few
``frombuffer`` views and ``loads(dumps(t)) == t`` holds bit for bit. The reader is canonical:
every byte string it accepts is exactly what :func:`dumps` writes for the result.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np

from matcher.errors import InvalidParameterError, InvalidTemplateError, TemplateVersionError
from matcher.formats._binary import as_bytes
from matcher.template import MAX_MINUTIAE, Template

__all__ = ["MAGIC", "VERSION", "dumps", "loads"]

MAGIC = b"BSMT"
#: The format version this build writes; it reads only this one.
VERSION = 1

_PREFIX = struct.Struct("<4sH")  # magic, version
_HEADER = struct.Struct("<HHHBBH")  # width, height, dpi, image_quality, reserved, count
_CRC = struct.Struct("<I")
_FIXED_BYTES = _PREFIX.size + _HEADER.size + _CRC.size
#: (attribute, little-endian dtype) in storage order: 10 bytes per minutia.
_ARRAYS = (("x", "<i2"), ("y", "<i2"), ("angle", "<f4"), ("kind", "u1"), ("quality", "u1"))


def dumps(template: Template) -> bytes:
    """Serialise a template to the native binary format (version :data:`VERSION`).

    Parameters
    ----------
    template : Template

    Returns
    -------
    bytes
        ``20 + 10 * len(template)`` bytes.

    Raises
    ------
    InvalidParameterError
        If ``template`` is not a :class:`~matcher.template.Template`.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[1.5], kind=[1], quality=[90], width=64, height=64)
    >>> data = dumps(t)
    >>> data[:4], len(data)
    (b'BSMT', 30)
    """
    if not isinstance(template, Template):
        raise InvalidParameterError(f"template must be a Template, got {type(template).__name__}")
    body = b"".join([
        _PREFIX.pack(MAGIC, VERSION),
        _HEADER.pack(template.width, template.height, template.dpi, template.image_quality, 0,
                     len(template)),
        *(getattr(template, name).astype(dtype, copy=False).tobytes() for name, dtype in _ARRAYS),
    ])
    return body + _CRC.pack(zlib.crc32(body))


def loads(data: bytes) -> Template:
    """Parse bytes written by :func:`dumps`.

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    Template
        Equal, bit for bit, to the template that was written.

    Raises
    ------
    TemplateVersionError
        If the magic number is ours but the format version is not :data:`VERSION`.
    InvalidTemplateError
        If the data is not a native template: wrong magic, truncated, trailing bytes, a count
        inconsistent with the length, a CRC mismatch, or minutiae that break the template's
        invariants.

    Examples
    --------
    >>> from matcher.template import Template
    >>> t = Template(x=[10], y=[20], angle=[1.5], kind=[1], quality=[90], width=64, height=64)
    >>> loads(dumps(t)) == t
    True
    >>> loads(b"BSMT\\x02\\x00")
    Traceback (most recent call last):
    ...
    matcher.errors.TemplateVersionError: native template version 2 is not supported (this build reads version 1)
    """
    data = as_bytes(data)
    if data[:len(MAGIC)] != MAGIC:
        if len(data) < len(MAGIC) and MAGIC.startswith(data):
            raise InvalidTemplateError(f"native template is truncated: {len(data)} bytes")
        raise InvalidTemplateError(f"not a native template: magic {data[:len(MAGIC)]!r}, expected {MAGIC!r}")
    if len(data) < _PREFIX.size:
        raise InvalidTemplateError(f"native template is truncated: {len(data)} bytes, no version")
    _, version = _PREFIX.unpack_from(data)
    if version != VERSION:
        raise TemplateVersionError(
            f"native template version {version} is not supported (this build reads version {VERSION})")
    if len(data) < _FIXED_BYTES:
        raise InvalidTemplateError(
            f"native template is truncated: {len(data)} bytes, the header alone needs {_FIXED_BYTES}")
    width, height, dpi, image_quality, reserved, count = _HEADER.unpack_from(data, _PREFIX.size)
    if count > MAX_MINUTIAE:
        raise InvalidTemplateError(f"native template minutia count {count} exceeds {MAX_MINUTIAE}")
    expected = _FIXED_BYTES + 10 * count
    if len(data) < expected:
        raise InvalidTemplateError(
            f"native template is truncated: {len(data)} bytes, {count} minutiae need {expected}")
    if len(data) > expected:
        raise InvalidTemplateError(
            f"native template has {len(data) - expected} trailing bytes after {count} minutiae")
    (stored_crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    actual_crc = zlib.crc32(data[:expected - _CRC.size])
    if stored_crc != actual_crc:
        raise InvalidTemplateError(
            f"native template CRC mismatch: stored {stored_crc:#010x}, computed {actual_crc:#010x}")
    if reserved:
        raise InvalidTemplateError(f"native template reserved byte is {reserved}, must be 0")
    arrays: dict[str, Any] = {}
    offset = _PREFIX.size + _HEADER.size
    for name, dtype in _ARRAYS:
        arrays[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
        offset += arrays[name].nbytes
    template = Template(**arrays, width=width, height=height, dpi=dpi, image_quality=image_quality)
    if template.angle.astype("<f4").tobytes() != arrays["angle"].tobytes():
        raise InvalidTemplateError("native template angle outside [0, 2*pi)")
    return template
