"""The gallery file of format version 2: read only (this build writes version 3, :mod:`matcher.index.store`).

Galleries saved before version 3 keep loading: their records are parsed into templates held in
memory, as every gallery was while version 2 was current. Layout of version 2 (little-endian;
``m`` = number of stored fingers)::

    size    field
    4       magic b"BSMG"
    2       format version, uint16 (2)
    2       reserved, uint16, must be 0
    4       header length h, uint32 (at most 1 MiB)
    h       header: UTF-8 JSON object, at least {"format": "basma-gallery", "algorithm":
            Matcher.ALGORITHM, "mode": "exhaustive" | "index", "subjects": n, "templates": m,
            "index": null | the candidate index's header (FAISS factory string, IndexParams)}
    m times one finger record:
      2     subject id length s in bytes, uint16
      s     subject id, UTF-8
      1     finger position, uint8 (ISO/ANSI code 0-10)
      8     row, uint64 (the finger's number in the gallery; the candidate index names fingers by it)
      4     template length t, uint32
      t     the template in the native format (matcher.formats.native, with its own CRC-32)
    8       candidate index length c, uint64 (0 for an exhaustive gallery)
    c       the FAISS serialisation of the candidate index (matcher.index.faiss_index)
    32      SHA-256 of every byte before it

Records were written subject by subject, fingers in position order, in one streaming pass.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path
from typing import IO, Any

from matcher.errors import CorruptGalleryError, MatcherError
from matcher.formats import native
from matcher.index._prefix import MAX_ROW, PREFIX, check_prefix, parse_header
from matcher.index.records import MAX_FINGERS, check_position, check_subject
from matcher.template import FingerPosition, Template

__all__ = ["VERSION", "Record", "read"]

#: The format version this module reads.
VERSION = 2
_SUBJECT = struct.Struct("<H")
_FINGER = struct.Struct("<BQI")  # position, row, template length
_INDEX = struct.Struct("<Q")
MAX_INDEX_BYTES = 1 << 40
_DIGEST_BYTES = hashlib.sha256().digest_size

#: ``(subject, {position: template}, {position: row})``
Record = tuple[str, dict[FingerPosition, Template], dict[FingerPosition, int]]


class _HashingReader:
    def __init__(self, file: IO[bytes], path: Path, prefix: bytes) -> None:
        self.file, self.path, self.hash = file, path, hashlib.sha256(prefix)
        self.offset = len(prefix)

    def read(self, size: int, what: str) -> bytes:
        data = self.file.read(size)
        if len(data) != size:
            raise CorruptGalleryError(
                f"gallery file {self.path} is truncated: {what} at byte {self.offset} needs {size} bytes, "
                f"{len(data)} left")
        self.hash.update(data)
        self.offset += size
        return data


def read(file: IO[bytes], path: Path, prefix: bytes) -> tuple[dict[str, Any], list[Record], bytes]:
    """Read and verify the rest of a version-2 file whose :data:`PREFIX` bytes ``prefix`` were read from
    ``file``: ``(header, [(subject, {position: template}, {position: row}), ...], candidate index bytes)``."""
    _, _, reserved, header_length = PREFIX.unpack(prefix)
    check_prefix(reserved, header_length, path)
    reader = _HashingReader(file, path, prefix)
    header = parse_header(reader.read(header_length, "the header"), path)
    records = _read_records(reader, header)
    (index_bytes,) = _INDEX.unpack(reader.read(_INDEX.size, "the candidate index length"))
    left = os.fstat(file.fileno()).st_size - reader.offset - _DIGEST_BYTES
    if index_bytes > min(MAX_INDEX_BYTES, left):
        raise CorruptGalleryError(f"gallery file {path}: candidate index length {index_bytes} exceeds the "
                                  f"{max(left, 0)} bytes left")
    index = reader.read(index_bytes, "the candidate index")
    stored = file.read(_DIGEST_BYTES)
    if len(stored) != _DIGEST_BYTES:
        raise CorruptGalleryError(f"gallery file {path} is truncated: the checksum is missing")
    if stored != reader.hash.digest():
        raise CorruptGalleryError(f"gallery file {path} fails its SHA-256 checksum")
    if file.read(1):
        raise CorruptGalleryError(f"gallery file {path} has trailing bytes after its checksum")
    return header, records, index


def _read_records(reader: _HashingReader, header: dict[str, Any]) -> list[Record]:
    path = reader.path
    records: dict[str, dict[FingerPosition, Template]] = {}
    rows: dict[str, dict[FingerPosition, int]] = {}
    seen_rows: set[int] = set()
    previous = None
    for i in range(header["templates"]):
        where = f"gallery file {path}, finger record {i} (byte {reader.offset})"
        (subject_length,) = _SUBJECT.unpack(reader.read(_SUBJECT.size, "a subject id length"))
        subject_bytes = reader.read(subject_length, "a subject id")
        position_code, row, template_length = _FINGER.unpack(reader.read(_FINGER.size, "a finger header"))
        data = reader.read(template_length, "a template")
        try:
            subject = check_subject(subject_bytes.decode("utf-8"))
            position = check_position(position_code)
            template = native.loads(data)
        except (UnicodeDecodeError, MatcherError) as exc:
            raise CorruptGalleryError(f"{where}: {exc}") from None
        fingers = records.setdefault(subject, {})
        if (subject != previous and fingers) or position in fingers:
            raise CorruptGalleryError(f"{where}: subject {subject!r} {position.name} stored twice")
        if len(fingers) == MAX_FINGERS:
            raise CorruptGalleryError(f"{where}: subject {subject!r} has more than {MAX_FINGERS} fingers")
        if row in seen_rows or row >= MAX_ROW:
            raise CorruptGalleryError(f"{where}: row {row} is stored twice or out of range")
        seen_rows.add(row)
        fingers[position] = template
        rows.setdefault(subject, {})[position] = row
        previous = subject
    if len(records) != header["subjects"]:
        raise CorruptGalleryError(
            f"gallery file {path}: header says {header['subjects']} subjects, the records hold {len(records)}")
    return [(subject, fingers, rows[subject]) for subject, fingers in records.items()]
