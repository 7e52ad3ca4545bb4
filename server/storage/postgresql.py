"""The production backend: PostgreSQL through psycopg 3 and a ``psycopg_pool.ConnectionPool``.

Connections run in autocommit mode, so each ``conn.transaction()`` block is one real
transaction (READ COMMITTED); writers of one subject serialise on its ``subjects`` row, which
every write locks first (an upsert). Each connection sets ``lock_timeout`` to ``timeout_s``, and
the pool checks a connection before lending it, so a restarted server costs no failed call.
Error messages name the host, port and database, never the DSN or its password.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator

import psycopg
import psycopg.conninfo
import psycopg.errors
from psycopg_pool import ConnectionPool

from matcher import InvalidParameterError
from server.storage.base import Store
from server.storage.errors import StoreError, StoreUnavailableError
from server.storage.migrations import migrate
from server.storage.sql import Cursor

__all__ = ["PostgresStore", "describe_dsn"]

log = logging.getLogger(__name__)

#: Key of the transaction-level advisory lock that serialises migration runners (b"BASMAMIG").
_MIGRATION_LOCK = 0x4241534D414D4947
#: Errors that mean "the database cannot be used now" besides OperationalError (connection,
#: disk full, lock timeout, shutdown): a read-only server (a standby after fail-over).
_UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.errors.ReadOnlySqlTransaction)


def describe_dsn(dsn: str) -> tuple[str, str | None]:
    """``("host:port/dbname", password)`` of a DSN, for messages that must not show the password.

    Raises
    ------
    InvalidParameterError
        If ``dsn`` cannot be parsed (the message does not repeat it).
    """
    try:
        parts = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.Error:
        raise InvalidParameterError("PostgreSQL DSN cannot be parsed (check its syntax)") from None
    where = f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"
    password = parts.get("password")
    return where, str(password) if password else None


class PostgresStore(Store):
    """The template store in a PostgreSQL database (see :func:`server.storage.open_store`).

    Parameters
    ----------
    dsn : str
        ``postgresql://user[:password]@host[:port]/dbname[?options]`` (libpq syntax).
    key : bytes
        The 32-byte template key.
    pool_size : int
        Most connections open at once.
    timeout_s : float
        Connection timeout, wait for a pooled connection, and ``lock_timeout``.

    Raises
    ------
    StoreUnavailableError
        If no connection can be made within ``timeout_s``.
    """

    dialect = "postgresql"

    def __init__(self, dsn: str, *, key: bytes, pool_size: int, timeout_s: float) -> None:
        super().__init__(key)
        self._where, self._password = describe_dsn(dsn)
        self._timeout_s = timeout_s
        self._closed = False
        lock_ms = max(1, int(timeout_s * 1000))

        def configure(conn: psycopg.Connection) -> None:
            conn.execute(f"SET lock_timeout = {lock_ms}")

        options = {"autocommit": True, "connect_timeout": max(2, math.ceil(timeout_s)),
                   "fallback_application_name": "basma-store"}
        try:  # one direct attempt first: the pool would only say that it timed out, not why
            psycopg.connect(dsn, **options).close()
        except psycopg.Error as exc:
            raise StoreUnavailableError(f"PostgreSQL at {self._where} is unreachable: {self._clean(exc)}") from None
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, timeout=timeout_s, open=False, name="basma-store",
            kwargs=options, configure=configure, check=ConnectionPool.check_connection)
        try:
            self._pool.open(wait=True, timeout=timeout_s)
        except psycopg.Error as exc:
            self._pool.close(timeout=0)
            raise StoreUnavailableError(
                f"PostgreSQL at {self._where} is unreachable within {timeout_s:g} s: {self._clean(exc)}") from None
        try:
            migrate(self)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStore({self._where!r})"

    def _clean(self, exc: BaseException) -> str:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return text.replace(self._password, "***") if self._password else text

    def _translate(self, exc: psycopg.Error) -> StoreError:
        sqlstate = getattr(exc, "sqlstate", None)
        message = f"PostgreSQL at {self._where}: {self._clean(exc)}" + (f" (SQLSTATE {sqlstate})" if sqlstate else "")
        if isinstance(exc, _UNAVAILABLE):
            return StoreUnavailableError(message)
        return StoreError(message)

    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Cursor]:
        if self._closed:
            raise StoreUnavailableError("the template store is closed")
        try:
            with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
                yield Cursor(conn.cursor(), self.dialect)
        except psycopg.Error as exc:
            raise self._translate(exc) from None

    def ping(self) -> None:
        with self.transaction(readonly=True) as cur:
            cur.execute("SELECT COUNT(*) FROM schema_migrations")
            cur.fetchone()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._pool.close(timeout=self._timeout_s)

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(?) IS NOT NULL", (name,))
        row = cur.fetchone()
        return bool(row and row[0])

    def _run_script(self, cur: Cursor, script: str) -> None:
        cur.execute(script)  # no parameters: psycopg sends the whole script, several statements

    def _lock_migrations(self, cur: Cursor) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
