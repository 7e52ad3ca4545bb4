"""The portable cursor that :meth:`Store.transaction` yields, and its placeholder conversion.

SQL given to :meth:`Cursor.execute` is written once for both databases with ``?`` positional
placeholders (the SQLite style). For PostgreSQL every ``?`` outside a quoted literal or
identifier becomes psycopg's ``%s`` and every literal ``%`` is doubled, so the text reaches
the server unchanged. Timestamps are passed as tz-aware :class:`datetime.datetime` objects; the
SQLite cursor stores them as ISO-8601 text (UTC, which sorts in time order), and
:func:`as_datetime` reads either form back.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from server.storage.errors import StoreError

__all__ = ["Cursor", "as_datetime", "to_pyformat", "utc_now"]


class Cursor:
    """A thin cursor over one open transaction: ``execute``/``fetchone``/``fetchall``/``rowcount``.

    Parameters
    ----------
    raw
        The driver's cursor (``sqlite3.Cursor`` or ``psycopg.Cursor``).
    dialect : {"sqlite", "postgresql"}
    """

    def __init__(self, raw: Any, dialect: str) -> None:
        self._raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders bound to ``params``; returns ``self``."""
        params = tuple(params)
        if self.dialect == "sqlite":
            self._raw.execute(sql, tuple(_sqlite_value(v) for v in params))
        else:
            self._raw.execute(to_pyformat(sql), params) if params else self._raw.execute(sql)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        row = self._raw.fetchone()
        return None if row is None else tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""
        return [tuple(row) for row in self._raw.fetchall()]

    @property
    def rowcount(self) -> int:
        """Rows changed by the last INSERT/UPDATE/DELETE (-1 when not known)."""
        return int(self._raw.rowcount)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_datetime(value).isoformat(timespec="microseconds")
    return value


@functools.lru_cache(maxsize=256)
def to_pyformat(sql: str) -> str:
    """``sql`` with ``?`` placeholders as ``%s`` and literal ``%`` doubled (psycopg's format style).

    Examples
    --------
    >>> to_pyformat("SELECT '?', x FROM t WHERE a = ? AND b LIKE 'a%'")
    "SELECT '?', x FROM t WHERE a = %s AND b LIKE 'a%%'"
    """
    out: list[str] = []
    quote = ""
    for char in sql:
        if char == "%":
            out.append("%%")
            continue
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append(char)
    return "".join(out)


def utc_now() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(timezone.utc)


def as_datetime(value: Any) -> datetime:
    """A stored timestamp (ISO text from SQLite or a datetime from psycopg) as tz-aware UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise StoreError(f"stored timestamp has type {type(value).__name__}, not a date and time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
