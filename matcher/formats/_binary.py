"""Bounds-checked reading of serialised templates, shared by the binary formats.

Every read goes through :class:`Reader`, which refuses to hand out more bytes than the
input holds. A parser therefore never allocates more than the length of its input, whatever
counts a corrupt header claims, and every shortfall becomes an
:class:`~matcher.errors.InvalidTemplateError` naming the field and the offset.
"""

from __future__ import annotations

import struct
from typing import Any

from matcher.errors import InvalidTemplateError

__all__ = ["Reader", "as_bytes"]


def as_bytes(data: Any) -> bytes:
    """``data`` as :class:`bytes`; anything not bytes-like is an :class:`InvalidTemplateError`."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise InvalidTemplateError(f"template data must be bytes, got {type(data).__name__}")


class Reader:
    """A cursor over ``data`` that raises instead of reading past the end.

    Parameters
    ----------
    data : bytes
    what : str
        Name of the record, used in error messages ("ISO/IEC 19794-2 record").
    """

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._what = what
        self.offset = 0

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self._data) - self.offset

    def take(self, size: int, field: str) -> bytes:
        """The next ``size`` bytes; :class:`InvalidTemplateError` when fewer are left."""
        if size > self.remaining:
            raise InvalidTemplateError(
                f"{self._what} is truncated: {field} needs {size} bytes at offset {self.offset}, "
                f"only {self.remaining} left")
        chunk = self._data[self.offset:self.offset + size]
        self.offset += size
        return chunk

    def skip(self, size: int, field: str) -> None:
        """Move past ``size`` bytes without copying them."""
        if size > self.remaining:
            raise InvalidTemplateError(
                f"{self._what} is truncated: {field} needs {size} bytes at offset {self.offset}, "
                f"only {self.remaining} left")
        self.offset += size

    def unpack(self, layout: struct.Struct, field: str) -> tuple[Any, ...]:
        """Unpack the next ``layout.size`` bytes."""
        return layout.unpack(self.take(layout.size, field))
