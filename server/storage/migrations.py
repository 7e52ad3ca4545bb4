"""Versioned schema migrations: ``migrations/<dialect>/NNNN_name.sql``, applied in order at open.

Each file is a plain SQL script for one dialect; ``NNNN`` is its version, counting from 0001
without gaps, and both dialects carry the same versions (the same logical schema). Pending
files are applied in one transaction together with their rows in ``schema_migrations``
(created by 0001), under a lock that serialises processes opening the same database at once,
so a database is always at a version this code knows. A database whose version is newer than
the newest file is refused. Never edit an applied file: add the next version.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from server.storage.errors import StoreError
from server.storage.sql import Cursor, utc_now

if TYPE_CHECKING:
    from server.storage.base import Store

__all__ = ["MIGRATIONS_ROOT", "Migration", "discover", "current_version", "migrate"]

log = logging.getLogger(__name__)

#: The folder holding one sub-folder of scripts per dialect.
MIGRATIONS_ROOT = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema version: its number, name and SQL script."""

    version: int
    name: str
    path: Path

    def script(self) -> str:
        """The SQL text of the migration."""
        return self.path.read_text(encoding="utf-8")


def discover(dialect: str, root: Path | None = None) -> list[Migration]:
    """The migrations of ``dialect`` in version order; StoreError if versions skip or repeat."""
    folder = (root or MIGRATIONS_ROOT) / dialect
    if not folder.is_dir():
        raise StoreError(f"no schema migrations for dialect {dialect!r} in {folder}")
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _NAME.match(path.name)
        if match is None:
            raise StoreError(f"migration file name {path.name!r} is not NNNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"{dialect} migrations must be numbered 1..n without gaps, got {versions}")
    return found


def current_version(store: Store, cur: Cursor) -> int:
    """The highest applied version (0 for an empty database)."""
    if not store._table_exists(cur, "schema_migrations"):
        return 0
    cur.execute("SELECT MAX(version) FROM schema_migrations")
    row = cur.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(store: Store, root: Path | None = None) -> list[int]:
    """Apply the pending migrations of ``store``'s dialect; return the versions applied.

    Raises
    ------
    StoreError
        If the database's schema is newer than the newest migration of this build, or a
        script fails (nothing of it is applied).
    StoreUnavailableError
        If the database cannot be used.
    """
    migrations = discover(store.dialect, root)
    latest = migrations[-1].version if migrations else 0
    with store.transaction() as cur:
        store._lock_migrations(cur)
        current = current_version(store, cur)
        if current > latest:
            raise StoreError(
                f"database schema version {current} is newer than this build knows ({latest}); "
                "upgrade Basma before opening it")
        pending = [m for m in migrations if m.version > current]
        for migration in pending:
            store._run_script(cur, migration.script())
            cur.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        (migration.version, migration.name, utc_now()))
    if pending:
        log.info("applied %s schema migrations %s", store.dialect, [m.version for m in pending])
    return [m.version for m in pending]
