"""The embedded backend: one SQLite file in WAL mode with ``synchronous=FULL``.

Connections come from a small pool (at most ``pool_size``, created on demand, shared by all
threads, each used by one thread at a time). Every connection runs with ``journal_mode=WAL``
(readers never wait for the writer), ``synchronous=FULL`` (a commit is on disk when it
returns, so an acknowledged write survives ``kill -9`` and power loss), ``foreign_keys=ON`` and
a ``busy_timeout`` of ``timeout_s``. Writes run in ``BEGIN IMMEDIATE`` transactions (one writer
at a time, no upgrade deadlocks); reads in deferred ones.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from server.storage.base import Store
from server.storage.errors import StoreError, StoreUnavailableError
from server.storage.migrations import migrate
from server.storage.sql import Cursor

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

#: Primary result codes that mean "cannot be used now" rather than a bug or corruption:
#: BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
#: CORRUPT, NOTADB.
_CORRUPT_CODES = frozenset({11, 26})


def _translate(exc: sqlite3.Error, path: Path) -> StoreError:
    code = getattr(exc, "sqlite_errorcode", None)
    name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    primary = None if code is None else code & 0xFF
    message = f"SQLite store {path.name}: {exc} ({name})"
    if primary in _UNAVAILABLE_CODES or (primary is None and isinstance(exc, sqlite3.OperationalError)):
        return StoreUnavailableError(message)
    if primary in _CORRUPT_CODES:
        return StoreError(f"{message}: the database file is damaged; restore it from a backup")
    return StoreError(message)


class SqliteStore(Store):
    """The template store in one SQLite file (see :func:`server.storage.open_store`).

    Parameters
    ----------
    path : Path
        The database file; its folder is created (mode 0700) and a new file gets mode 0600.
    key : bytes
        The 32-byte template key.
    pool_size : int
        Most connections open at once.
    timeout_s : float
        How long a call waits for a free connection or for the write lock.
    """

    dialect = "sqlite"

    def __init__(self, path: Path, *, key: bytes, pool_size: int, timeout_s: float) -> None:
        super().__init__(key)
        if sqlite3.sqlite_version_info < (3, 35, 0):
            raise StoreError(f"SQLite {sqlite3.sqlite_version} is too old: the store needs 3.35 or newer")
        self.path = path
        self._timeout_s = timeout_s
        self._pool_size = pool_size
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise StoreUnavailableError(f"SQLite store {path}: cannot create the file: {exc.strerror}") from None
        try:
            migrate(self)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._timeout_s, isolation_level=None,
                               check_same_thread=False)
        try:
            mode = self._journal_mode_wal(conn)
            if str(mode).lower() != "wal":
                raise StoreError(f"SQLite store {self.path.name}: cannot use WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout_s * 1000)}")
        except BaseException:
            conn.close()
            raise
        return conn

    def _journal_mode_wal(self, conn: sqlite3.Connection) -> str:
        # Switching a file to WAL (persistent, done once per file) can fail with SQLITE_BUSY
        # without consulting the busy handler while another connection switches it: retry.
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
                if mode.lower() == "wal":
                    return mode
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                code = getattr(exc, "sqlite_errorcode", 5) & 0xFF
                if code not in (5, 6) or time.monotonic() >= deadline:  # BUSY, LOCKED
                    raise
                time.sleep(0.005)

    def _acquire(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise StoreUnavailableError("the template store is closed")
            if len(self._all) < self._pool_size:
                conn = self._connect()
                self._all.append(conn)
                return conn
        try:
            return self._idle.get(timeout=self._timeout_s)
        except queue.Empty:
            raise StoreUnavailableError(
                f"SQLite store {self.path.name}: no connection free within {self._timeout_s:g} s") from None

    def _release(self, conn: sqlite3.Connection, healthy: bool) -> None:
        with self._lock:
            if self._closed or not healthy:
                self._all.remove(conn)
                conn.close()
                return
        self._idle.put(conn)

    # -- Store hooks ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Cursor]:
        if self._closed:
            raise StoreUnavailableError("the template store is closed")
        try:
            conn = self._acquire()
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from None
        healthy = True
        try:
            conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield Cursor(conn.cursor(), self.dialect)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        except sqlite3.Error as exc:
            healthy = not isinstance(exc, (sqlite3.InterfaceError, sqlite3.ProgrammingError))
            raise _translate(exc, self.path) from None
        finally:
            self._release(conn, healthy)

    def ping(self) -> None:
        with self.transaction(readonly=True) as cur:
            cur.execute("SELECT COUNT(*) FROM schema_migrations")
            cur.fetchone()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle = []
            while True:
                try:
                    idle.append(self._idle.get_nowait())
                except queue.Empty:
                    break
            for conn in idle:
                self._all.remove(conn)
        if idle:
            try:  # move the WAL into the main file so the folder holds one self-contained file
                idle[0].execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("SQLite store %s: checkpoint at close failed: %s", self.path.name, exc)
        for conn in idle:
            conn.close()

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    def _run_script(self, cur: Cursor, script: str) -> None:
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                cur.execute(statement)
                statement = ""
        if statement.strip() and not all(
                not s.strip() or s.strip().startswith("--") for s in statement.splitlines()):
            raise StoreError("migration script ends with an incomplete statement")
