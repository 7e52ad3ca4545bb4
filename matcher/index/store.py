"""The gallery file: one versioned, checksummed, atomically written file.

Layout of version 2 (little-endian; ``m`` = number of stored fingers)::

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

Records are written subject by subject, fingers in position order, so a file can be written and
read in one streaming pass. The matcher's search forms are never stored (rebuilt on first use);
the candidate index is, so that a large gallery loads without recomputing its codes.

Writes are atomic: a temporary file in the target's folder (mode 0600: fingerprints are personal
data) is written, flushed, fsync'ed and renamed over the target with :func:`os.replace`, then the
folder is fsync'ed. A crash at any point leaves either the old file or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from matcher.errors import CorruptGalleryError, MatcherError, TemplateVersionError
from matcher.formats import native
from matcher.index.records import MAX_FINGERS, check_position, check_subject
from matcher.template import FingerPosition, Template

__all__ = ["MAGIC", "VERSION", "FORMAT", "write", "read"]

log = logging.getLogger(__name__)

MAGIC = b"BSMG"
#: The format version this build writes; it reads only this one.
VERSION = 2
FORMAT = "basma-gallery"
MAX_HEADER_BYTES = 1 << 20
_PREFIX = struct.Struct("<4sHHI")  # magic, version, reserved, header length
_SUBJECT = struct.Struct("<H")
_FINGER = struct.Struct("<BQI")  # position, row, template length
_INDEX = struct.Struct("<Q")
MAX_INDEX_BYTES = 1 << 40
#: Rows stay below this so that a candidate index id (row << 8 | minutia) fits an int64.
MAX_ROW = 1 << 54
_DIGEST_BYTES = hashlib.sha256().digest_size
_CHUNK_BYTES = 1 << 20

#: ``(subject, {position: template}, {position: row})``
Record = tuple[str, dict[FingerPosition, Template], dict[FingerPosition, int]]


class _HashingWriter:
    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.hash = file, hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.hash.update(data)
        self.file.write(data)


class _HashingReader:
    def __init__(self, file: IO[bytes], path: Path) -> None:
        self.file, self.path, self.hash = file, path, hashlib.sha256()
        self.offset = 0

    def read(self, size: int, what: str) -> bytes:
        data = self.file.read(size)
        if len(data) != size:
            raise CorruptGalleryError(
                f"gallery file {self.path} is truncated: {what} at byte {self.offset} needs {size} bytes, "
                f"{len(data)} left")
        self.hash.update(data)
        self.offset += size
        return data


def write(path: str | os.PathLike[str], header: dict[str, Any], records: Iterable[Record],
          index: bytes = b"") -> None:
    """Write ``header`` and ``records`` to ``path`` atomically (module docstring for the layout)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            writer = _HashingWriter(file)
            header_bytes = json.dumps({"format": FORMAT, **header}, sort_keys=True).encode("utf-8")
            writer.write(_PREFIX.pack(MAGIC, VERSION, 0, len(header_bytes)))
            writer.write(header_bytes)
            for subject, fingers, rows in records:
                subject_bytes = subject.encode("utf-8")
                for position in sorted(fingers):
                    data = native.dumps(fingers[position])
                    writer.write(b"".join([_SUBJECT.pack(len(subject_bytes)), subject_bytes,
                                           _FINGER.pack(int(position), rows[position], len(data)), data]))
            writer.write(_INDEX.pack(len(index)))
            writer.write(index)
            file.write(writer.hash.digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
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


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[Record], bytes]:
    """Read and verify a gallery file: ``(header, [(subject, {position: template}, {position: row}), ...],
    candidate index bytes)``."""
    source = Path(path)
    with open(source, "rb", buffering=_CHUNK_BYTES) as file:
        reader = _HashingReader(file, source)
        header = _read_header(reader)
        records = _read_records(reader, header)
        (index_bytes,) = _INDEX.unpack(reader.read(_INDEX.size, "the candidate index length"))
        left = os.fstat(file.fileno()).st_size - reader.offset - _DIGEST_BYTES
        if index_bytes > min(MAX_INDEX_BYTES, left):
            raise CorruptGalleryError(f"gallery file {source}: candidate index length {index_bytes} exceeds the "
                                      f"{max(left, 0)} bytes left")
        index = reader.read(index_bytes, "the candidate index")
        stored = file.read(_DIGEST_BYTES)
        if len(stored) != _DIGEST_BYTES:
            raise CorruptGalleryError(f"gallery file {source} is truncated: the checksum is missing")
        if stored != reader.hash.digest():
            raise CorruptGalleryError(f"gallery file {source} fails its SHA-256 checksum")
        if file.read(1):
            raise CorruptGalleryError(f"gallery file {source} has trailing bytes after its checksum")
    return header, records, index


def _read_header(reader: _HashingReader) -> dict[str, Any]:
    path = reader.path
    first = reader.file.read(len(MAGIC))
    if first != MAGIC:
        raise CorruptGalleryError(f"{path} is not a gallery file: magic {first!r}, expected {MAGIC!r}")
    reader.hash.update(first)
    reader.offset = len(MAGIC)
    rest = reader.read(_PREFIX.size - len(MAGIC), "the version")
    _, version, reserved, header_bytes = _PREFIX.unpack(first + rest)
    if version != VERSION:
        raise TemplateVersionError(
            f"gallery file {path} has format version {version}, this build reads version {VERSION}")
    if reserved:
        raise CorruptGalleryError(f"gallery file {path}: reserved field is {reserved}, must be 0")
    if header_bytes > MAX_HEADER_BYTES:
        raise CorruptGalleryError(f"gallery file {path}: header length {header_bytes} exceeds {MAX_HEADER_BYTES}")
    try:
        header = json.loads(reader.read(header_bytes, "the header").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptGalleryError(f"gallery file {path}: header is not JSON: {exc}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptGalleryError(f"gallery file {path}: header format is not {FORMAT!r}")
    for key in ("subjects", "templates"):
        value = header.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CorruptGalleryError(f"gallery file {path}: header {key} must be a count, got {value!r}")
    return header


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
