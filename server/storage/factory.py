"""``open_store``: pick the backend from the target and open it."""

from __future__ import annotations

import os
from pathlib import Path

from matcher import InvalidParameterError
from server.storage.base import Store
from server.storage.crypto import TemplateCipher

__all__ = ["open_store"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_SQLITE_SCHEME = "sqlite://"


def open_store(target: str | os.PathLike[str], *, key: bytes, pool_size: int = 8,
               timeout_s: float = 5.0) -> Store:
    """Open (creating or migrating as needed) the template store at ``target``.

    Parameters
    ----------
    target : str or path-like
        A filesystem path or ``sqlite:///abs/path.db``: a SQLite file (folder created with mode
        0700, a new file gets mode 0600). ``postgresql://...`` or ``postgres://...``: a
        PostgreSQL database (libpq DSN).
    key : bytes
        The 32-byte template key (:func:`server.storage.load_key`).
    pool_size : int
        Most database connections open at once (1..1000).
    timeout_s : float
        Seconds to wait for a connection, the write lock or a row lock before
        :class:`StoreUnavailableError` (0 < timeout_s <= 3600).

    Returns
    -------
    Store
        With every schema migration of this build applied.

    Raises
    ------
    InvalidParameterError
        Bad key, pool size, timeout or target.
    StoreUnavailableError
        The database cannot be reached or created.
    StoreError
        Its schema version is newer than this build knows, or a migration failed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with open_store(folder / "basma.db", key=bytes(32)) as store:
    ...     store.dialect, store.counts()
    ('sqlite', (0, 0))
    """
    TemplateCipher(key)  # validates the key before anything is created
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or not 1 <= pool_size <= 1000:
        raise InvalidParameterError(f"pool_size must be an integer in 1..1000, got {pool_size!r}")
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not 0 < timeout_s <= 3600:
        raise InvalidParameterError(f"timeout_s must be a number in (0, 3600], got {timeout_s!r}")
    timeout_s = float(timeout_s)
    if isinstance(target, str) and target.startswith(_POSTGRES_SCHEMES):
        from server.storage.postgresql import PostgresStore

        return PostgresStore(target, key=key, pool_size=pool_size, timeout_s=timeout_s)
    path = _sqlite_path(target)
    from server.storage.sqlite import SqliteStore

    return SqliteStore(path, key=key, pool_size=pool_size, timeout_s=timeout_s)


def _sqlite_path(target: str | os.PathLike[str]) -> Path:
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if not isinstance(target, str) or not target.strip():
        raise InvalidParameterError(f"store target must be a path or a database URL, got {target!r}")
    if target.startswith(_SQLITE_SCHEME):
        rest = target[len(_SQLITE_SCHEME):]
        if not rest.startswith("/") or rest.rstrip("/") == "":
            raise InvalidParameterError(
                f"SQLite URL must name an absolute file, as sqlite:///abs/path.db, got {target!r}")
        return Path("/" + rest.lstrip("/"))
    if "://" in target:
        scheme = target.split("://", 1)[0]
        raise InvalidParameterError(
            f"store URL scheme {scheme!r} is not supported: use a path, sqlite:///, postgresql://")
    path = Path(target).expanduser()
    if path.is_dir():
        raise InvalidParameterError(f"store target {target!r} is a folder; name the database file in it")
    return path.absolute()
