"""Helpers of the gallery-file tests: read a file's header and sections, re-seal edited files."""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIGEST = 32


def header_of(data: bytes) -> dict[str, Any]:
    """The JSON header of a gallery file of any version."""
    (length,) = struct.unpack_from("<I", data, 8)
    return json.loads(data[12:12 + length])  # type: ignore[no-any-return]


def data_start(data: bytes) -> int:
    (length,) = struct.unpack_from("<I", data, 8)
    return -(-(12 + length) // 64) * 64


def sections(data: bytes) -> dict[str, tuple[int, int]]:
    """``{name: (absolute offset, bytes)}`` of a version-3 file's sections."""
    start = data_start(data)
    return {s["name"]: (start + s["offset"], s["count"] * _itemsize(s["dtype"])) for s in header_of(data)["sections"]}


def _itemsize(dtype: str) -> int:
    return int(dtype[-1])


def reseal(data: bytes) -> bytes:
    """A version-3 file with every digest recomputed (after its data region was edited)."""
    header = header_of(data)
    start, chunk = data_start(data), header["chunk_bytes"]
    end = start + max(s["offset"] + s["count"] * _itemsize(s["dtype"]) for s in header["sections"])
    digests = b"".join(hashlib.sha256(data[i:min(i + chunk, end)]).digest() for i in range(start, end, chunk))
    return data[:end] + digests + hashlib.sha256(data[:start] + digests).digest()


def with_header(data: bytes, change: Callable[[dict[str, Any]], Any]) -> bytes:
    """The file with ``change`` applied to its JSON header and its checksums re-sealed (any version)."""
    header = header_of(data)
    change(header)
    return with_raw_header(data, json.dumps(header, sort_keys=True).encode())


def with_raw_header(data: bytes, encoded: bytes) -> bytes:
    """The file with ``encoded`` in place of its header and its checksums re-sealed (any version)."""
    (length,) = struct.unpack_from("<I", data, 8)
    if struct.unpack_from("<H", data, 4)[0] == 2:
        body = data[:8] + struct.pack("<I", len(encoded)) + encoded + data[12 + length:-DIGEST]
        return body + hashlib.sha256(body).digest()
    head = data[:8] + struct.pack("<I", len(encoded)) + encoded
    head += bytes(-len(head) % 64)
    rest = data[data_start(data):]
    try:
        return reseal(head + rest)
    except (ValueError, KeyError, TypeError):  # a header without a usable section table: checksums kept
        return head + rest


def rewrite_header(path: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``change`` to the JSON header of a gallery file and re-seal its checksums."""
    path.write_bytes(with_header(path.read_bytes(), change))
