"""The gallery file: versioned, checksummed, written atomically, memory-mapped when read.

Layout of version 3 (little-endian; ``n`` subjects, ``m`` fingers, ``k`` minutiae, ``b`` bytes of
subject ids, ``c`` bytes of candidate index)::

    offset      size     field
    0           4        magic b"BSMG"
    4           2        format version, uint16 (3)
    6           2        reserved, uint16, must be 0
    8           4        header length h, uint32 (at most 1 MiB)
    12          h        header: UTF-8 JSON object {"format": "basma-gallery", "algorithm":
                         Matcher.ALGORITHM, "mode": "exhaustive" | "index", "subjects": n,
                         "templates": m, "minutiae": k, "subject_id_bytes": b, "index_bytes": c,
                         "index": null | the candidate index's header (FAISS factory string,
                         IndexParams, code count), "chunk_bytes": q, "sections": [{"name", "dtype",
                         "count", "offset"}, ...] (the table below)}
    12 + h      ...      zero bytes up to d, the next multiple of 64
    d           D        the data region: the sections below, in this order, each at an offset
                         (from d) that is the end of the previous one rounded up to a multiple of 64,
                         zero bytes between them
    d + D       32 x Q   SHA-256 of each q bytes of the data region (the last piece may be shorter),
                         Q = ceil(D / q); q is 64 MiB
    d + D + 32Q 32       SHA-256 of bytes 0 .. d - 1 followed by the Q chunk digests

    section        dtype  count  content
    subject_ids    u1     b      the subject ids, UTF-8, each followed by "\\n" (ids are printable)
    finger_start   <i8    n + 1  subject s holds fingers finger_start[s] .. finger_start[s + 1] - 1
    minutia_start  <i8    m + 1  finger f holds minutiae minutia_start[f] .. minutia_start[f + 1] - 1
    position       u1     m      finger position (ISO/ANSI code 0-10), increasing within a subject
    row            <i8    m      the finger's row (the candidate index names fingers by it)
    width, height  <u2    m      the template's image size in pixels (two sections)
    dpi            <u2    m
    image_quality  u1     m
    x, y           <i2    k      minutiae in pixels, x = column, y = row (two sections)
    angle          <f4    k      radians in [0, 2 pi), bit-exact
    kind           u1     k      MinutiaKind code
    quality        u1     k      0-100
    index          u1     c      the FAISS serialisation of the candidate index (only when the
                                 header's "index" is not null)

Subjects are stored in enrolment order, a subject's fingers in position order. The matcher's
search forms are never stored (rebuilt on first use); the candidate index is, so that a large
gallery loads without recomputing its codes.

**Reading** checks the prefix and header, that the file is exactly as long as the header says
("truncated", "trailing bytes"), the final digest (which covers every byte outside the data
region and the chunk digests), then every chunk digest, read with ``pread`` on all cores
(hashlib releases the GIL): about 0.3 s a GB on 2 cores with SHA-NI. It then maps the file
read-only (``mmap``) and views each section as a numpy array, without copying; the columns'
invariants are checked once (:mod:`matcher.index.store_check`). A mapped file must not be
changed in place (this module never does: it replaces files by renaming).

**Writing** is atomic: a temporary file in the target's folder (mode 0600: fingerprints are
personal data) is written, flushed, fsync'ed and renamed over the target with
:func:`os.replace`, then the folder is fsync'ed. A crash at any point leaves either the old file
or the new one, never a mix. The columns of a loaded file are written from its mapping; saving
over the file a gallery was loaded from is safe (the mapping keeps the old file's data until the
gallery is dropped).

Version 2 files (one record per finger, :mod:`matcher.index.store_v2`) are still read.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from matcher.errors import CorruptGalleryError, TemplateVersionError
from matcher.index import _prefix, store_check, store_v2
from matcher.index.columns import FINGER_COLUMNS, MINUTIA_COLUMNS, Columns, Snapshot

__all__ = ["VERSION", "CHUNK_BYTES", "Loaded", "write", "read"]

#: The format version this build writes (it also reads version 2).
VERSION = 3
#: Bytes of the data region covered by one SHA-256 digest (the unit of parallel verification).
CHUNK_BYTES = 64 << 20
ALIGN = 64
_DIGEST_BYTES = hashlib.sha256().digest_size
_READ_BYTES = 8 << 20
_MIN_CHUNK_BYTES, _MAX_CHUNK_BYTES = 1 << 12, 1 << 30


@dataclass
class Loaded:
    """A read gallery file: version 3 gives ``columns`` (mapped) and the index as a view of the
    mapping; version 2 gives ``records`` (templates in RAM) and the index as bytes."""

    version: int
    header: dict[str, Any]
    columns: Columns | None
    records: list[store_v2.Record] | None
    index: np.ndarray | bytes


def _sections(n: int, m: int, k: int, b: int, c: int | None) -> list[dict[str, Any]]:
    """The section table of a file of these counts (``c`` None: no candidate index)."""
    spec = [("subject_ids", "u1", b), ("finger_start", "<i8", n + 1), ("minutia_start", "<i8", m + 1)]
    spec += [(name, dtype, m) for name, dtype in FINGER_COLUMNS] + [(name, dtype, k) for name, dtype in MINUTIA_COLUMNS]
    if c is not None:
        spec.append(("index", "u1", c))
    table, offset = [], 0
    for name, dtype, count in spec:
        offset = _aligned(offset)
        table.append({"name": name, "dtype": dtype, "count": count, "offset": offset})
        offset += count * np.dtype(dtype).itemsize
    return table


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def _data_bytes(table: list[dict[str, Any]]) -> int:
    last = table[-1]
    return int(last["offset"] + last["count"] * np.dtype(last["dtype"]).itemsize)


class _DataWriter:
    """Writes the data region, hashing it in chunks of :data:`CHUNK_BYTES`."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file, self.written, self.hash = file, 0, hashlib.sha256()
        self.digests: list[bytes] = []

    def write(self, data: Any) -> None:
        view = memoryview(data).cast("B")
        while view.nbytes:
            piece = view[:CHUNK_BYTES - self.written % CHUNK_BYTES]
            self.hash.update(piece)
            self.file.write(piece)
            self.written += piece.nbytes
            if self.written % CHUNK_BYTES == 0:
                self.digests.append(self.hash.digest())
                self.hash = hashlib.sha256()
            view = view[piece.nbytes:]

    def finish(self) -> bytes:
        if self.written % CHUNK_BYTES:
            self.digests.append(self.hash.digest())
        return b"".join(self.digests)


def write(path: str | os.PathLike[str], header: dict[str, Any], snapshot: Snapshot,
          index: np.ndarray | None = None) -> None:
    """Write ``header`` (algorithm, mode, index header), the records of ``snapshot`` and the candidate
    index serialisation ``index`` (uint8, None for none) to ``path`` atomically (module docstring)."""
    ids = "".join(f"{subject}\n" for subject in snapshot.ids).encode("utf-8")
    fingers_per_subject = np.concatenate([np.zeros(0, np.int64), *snapshot.fingers_per_subject])
    minutiae_per_finger = np.concatenate([np.zeros(0, np.int64), *snapshot.minutiae_per_finger])
    columns: dict[str, list[Any]] = {
        "subject_ids": [ids],
        "finger_start": [np.concatenate([[0], np.cumsum(fingers_per_subject)]).astype("<i8")],
        "minutia_start": [np.concatenate([[0], np.cumsum(minutiae_per_finger)]).astype("<i8")],
        **snapshot.finger_parts, **snapshot.minutia_parts}
    if index is not None:
        columns["index"] = [index]
    n, m = len(snapshot.ids), int(fingers_per_subject.sum())
    k = int(minutiae_per_finger.sum())
    table = _sections(n, m, k, len(ids), None if index is None else index.nbytes)
    head = _prefix.header_bytes({**header, "subjects": n, "templates": m, "minutiae": k, "subject_id_bytes": len(ids),
                         "index_bytes": 0 if index is None else index.nbytes, "chunk_bytes": CHUNK_BYTES,
                         "sections": table})
    head = _prefix.PREFIX.pack(_prefix.MAGIC, VERSION, 0, len(head)) + head
    head += bytes(_aligned(len(head)) - len(head))
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(head)
            writer = _DataWriter(file)
            for section in table:
                writer.write(bytes(section["offset"] - writer.written))
                dtype = np.dtype(section["dtype"])
                for part in columns[section["name"]]:
                    writer.write(np.ascontiguousarray(part, dtype=dtype) if isinstance(part, np.ndarray) else part)
                expected = section["offset"] + section["count"] * dtype.itemsize
                if writer.written != expected:  # pragma: no cover - a snapshot that disagrees with its counts
                    raise RuntimeError(f"gallery section {section['name']} holds {writer.written} bytes, "
                                       f"{expected} expected")
            digests = writer.finish()
            file.write(digests)
            file.write(hashlib.sha256(head + digests).digest())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except FileNotFoundError:
            pass
        raise
    _prefix.fsync_folder(folder)


def read(path: str | os.PathLike[str]) -> Loaded:
    """Read and verify a gallery file of version 3 (mapped) or 2 (parsed); :class:`Loaded`.

    Raises
    ------
    TemplateVersionError
        When the format version is neither.
    CorruptGalleryError
        When the file is not a gallery file, is truncated, fails a checksum or breaks an invariant.
    """
    source = Path(path)
    with open(source, "rb") as file:
        prefix = file.read(_prefix.PREFIX.size)
        version, reserved, length = _prefix.unpack_prefix(prefix, source)
        if version == store_v2.VERSION:
            header, records, index = store_v2.read(file, source, prefix)
            return Loaded(version, header, None, records, index)
        if version != VERSION:
            raise TemplateVersionError(f"gallery file {source} has format version {version}, this build reads "
                                       f"versions {store_v2.VERSION} and {VERSION}")
        _prefix.check_prefix(reserved, length, source)
        text = file.read(length)
        if len(text) != length:
            raise CorruptGalleryError(f"gallery file {source} is truncated: the header needs {length} bytes, "
                                      f"{len(text)} left")
        header = _prefix.parse_header(text, source)
        table, chunk = _table(header, source)
        data_start = _aligned(_prefix.PREFIX.size + length)
        data_bytes = _data_bytes(table)
        chunks = -(-data_bytes // chunk)
        size = os.fstat(file.fileno()).st_size
        expected = data_start + data_bytes + (chunks + 1) * _DIGEST_BYTES
        if size != expected:
            raise CorruptGalleryError(f"gallery file {source} is truncated: {size} bytes, its header says {expected}"
                                      if size < expected else
                                      f"gallery file {source} has trailing bytes: {size} bytes, its header says "
                                      f"{expected}")
        fd = file.fileno()
        tail = os.pread(fd, (chunks + 1) * _DIGEST_BYTES, data_start + data_bytes)
        digests, final = tail[:-_DIGEST_BYTES], tail[-_DIGEST_BYTES:]
        if hashlib.sha256(prefix + text + os.pread(fd, data_start - len(prefix) - length, len(prefix) + length)
                          + digests).digest() != final:
            raise CorruptGalleryError(f"gallery file {source} fails its SHA-256 checksum (header or chunk digests)")
        _verify(fd, data_start, data_bytes, chunk, digests, table, source)
        mapping = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    arrays = {s["name"]: np.frombuffer(mapping, np.dtype(s["dtype"]), s["count"], data_start + s["offset"])
              for s in table}
    where = f"gallery file {source}"
    try:
        text_ids = arrays.pop("subject_ids").tobytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptGalleryError(f"{where}: subject ids are not UTF-8: {exc}") from None
    ids = text_ids.split("\n")
    if ids.pop() != "" or len(ids) != header["subjects"]:
        raise CorruptGalleryError(f"{where}: {len(ids)} subject ids for {header['subjects']} subjects")
    index_view = arrays.pop("index", np.zeros(0, np.uint8))
    numbers = dict(zip(ids, range(len(ids)), strict=True))
    store_check.check(ids, numbers, arrays, where)
    columns = Columns(ids, numbers, arrays, data_bytes - index_view.nbytes)
    return Loaded(VERSION, header, columns, None, index_view)


def _table(header: dict[str, Any], path: Path) -> tuple[list[dict[str, Any]], int]:
    """The section table and chunk size the header's counts imply; :class:`CorruptGalleryError`
    unless the header's own table and chunk size are exactly those."""
    n, m, k, b, c = (_prefix.check_count(header, key, path)
                     for key in ("subjects", "templates", "minutiae", "subject_id_bytes", "index_bytes"))
    indexed = header.get("index") is not None
    if not indexed and c:
        raise CorruptGalleryError(f"gallery file {path}: {c} index bytes without an index header")
    table = _sections(n, m, k, b, c if indexed else None)
    chunk = header.get("chunk_bytes")
    if (isinstance(chunk, bool) or not isinstance(chunk, int) or not _MIN_CHUNK_BYTES <= chunk <= _MAX_CHUNK_BYTES):
        raise CorruptGalleryError(f"gallery file {path}: chunk_bytes must be in {_MIN_CHUNK_BYTES}.."
                                  f"{_MAX_CHUNK_BYTES}, got {chunk!r}")
    if header.get("sections") != table:
        raise CorruptGalleryError(f"gallery file {path}: the section table disagrees with the header's counts")
    return table, chunk


def _verify(fd: int, start: int, size: int, chunk: int, digests: bytes, table: list[dict[str, Any]],
            path: Path) -> None:
    """Every chunk digest of the data region, chunks hashed in parallel threads."""
    def digest(i: int) -> bytes:
        buffer = memoryview(bytearray(min(_READ_BYTES, chunk)))
        offset, stop = start + i * chunk, start + min(size, (i + 1) * chunk)
        hashed = hashlib.sha256()
        while offset < stop:
            got = os.preadv(fd, [buffer[:min(len(buffer), stop - offset)]], offset)
            if got <= 0:
                raise CorruptGalleryError(f"gallery file {path} is truncated while being read")
            hashed.update(buffer[:got])
            offset += got
        return hashed.digest()

    count = len(digests) // _DIGEST_BYTES
    with ThreadPoolExecutor(max_workers=max(1, min(count, os.cpu_count() or 1))) as pool:
        found = list(pool.map(digest, range(count)))
    for i, value in enumerate(found):
        if value != digests[i * _DIGEST_BYTES:(i + 1) * _DIGEST_BYTES]:
            first, last = i * chunk, min(size, (i + 1) * chunk)
            names = [s["name"] for s in table
                     if s["offset"] < last and s["offset"] + s["count"] * np.dtype(s["dtype"]).itemsize > first]
            raise CorruptGalleryError(f"gallery file {path}: bytes {start + first}..{start + last - 1} (sections "
                                      f"{', '.join(names) or 'padding'}) fail their SHA-256 checksum")
