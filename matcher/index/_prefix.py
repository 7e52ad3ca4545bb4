"""What every version of the gallery file starts with, and the durable rename both writers share.

Every gallery file starts with the 4-byte magic ``b"BSMG"``, its format version (uint16), a
reserved uint16 that must be 0, the length of its header (uint32, at most
:data:`MAX_HEADER_BYTES`) and the header itself, a UTF-8 JSON object with at least
``{"format": "basma-gallery", "subjects": n, "templates": m}`` (all little-endian).
"""

from __future__ import annotations

import json
import logging
import os
import struct
from pathlib import Path
from typing import Any

from matcher.errors import CorruptGalleryError

__all__ = ["MAGIC", "FORMAT", "MAX_HEADER_BYTES", "MAX_ROW", "PREFIX", "unpack_prefix", "check_prefix",
           "parse_header", "check_count", "header_bytes", "fsync_folder"]

log = logging.getLogger(__name__)

MAGIC = b"BSMG"
FORMAT = "basma-gallery"
MAX_HEADER_BYTES = 1 << 20
#: magic, version, reserved, header length
PREFIX = struct.Struct("<4sHHI")
#: Rows stay below this so that a candidate index id (row << 8 | minutia) fits an int64.
MAX_ROW = 1 << 54


def unpack_prefix(data: bytes, path: Path) -> tuple[int, int, int]:
    """``(version, reserved, header length)`` of a file's first bytes.

    :class:`CorruptGalleryError` when the magic is not ours or ``data`` is shorter than
    :data:`PREFIX`; the caller checks the version first, then the reserved field and the length.
    """
    if data[:len(MAGIC)] != MAGIC:
        raise CorruptGalleryError(f"{path} is not a gallery file: magic {data[:len(MAGIC)]!r}, expected {MAGIC!r}")
    if len(data) < PREFIX.size:
        raise CorruptGalleryError(f"gallery file {path} is truncated: {len(data)} bytes, the version and header "
                                  f"length need {PREFIX.size}")
    _, version, reserved, length = PREFIX.unpack(data[:PREFIX.size])
    return version, reserved, length


def check_prefix(reserved: int, length: int, path: Path) -> None:
    """The reserved field and header length of a prefix whose version is known."""
    if reserved:
        raise CorruptGalleryError(f"gallery file {path}: reserved field is {reserved}, must be 0")
    if length > MAX_HEADER_BYTES:
        raise CorruptGalleryError(f"gallery file {path}: header length {length} exceeds {MAX_HEADER_BYTES}")


def parse_header(data: bytes, path: Path) -> dict[str, Any]:
    """The JSON header, with its ``format`` and its ``subjects`` and ``templates`` counts checked."""
    try:
        header = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptGalleryError(f"gallery file {path}: header is not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptGalleryError(f"gallery file {path}: header format is not {FORMAT!r}")
    for key in ("subjects", "templates"):
        check_count(header, key, path)
    return header


def check_count(header: dict[str, Any], key: str, path: Path) -> int:
    """``header[key]`` when it is a non-negative integer, else :class:`CorruptGalleryError`."""
    value = header.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CorruptGalleryError(f"gallery file {path}: header {key} must be a count, got {value!r}")
    return value


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems that refuse fsync on folders
        log.debug("fsync of folder %s refused", folder)
    finally:
        os.close(fd)


def header_bytes(header: dict[str, Any]) -> bytes:
    """The canonical encoding of a header (keys sorted, ``format`` set)."""
    return json.dumps({**header, "format": FORMAT}, sort_keys=True).encode("utf-8")
