"""Schema migrations: applied once, in order, atomically; newer schemas refused."""

from __future__ import annotations

import shutil
import threading

import pytest

from server.storage import StoreError, open_store
from server.storage.migrations import MIGRATIONS_ROOT, discover, migrate
from tests.server.storage.conftest import KEY

#: The versions this build ships.
SHIPPED = [(1, "initial"), (2, "sim")]


def _versions(store):
    with store.transaction(readonly=True) as cur:
        cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
        return cur.fetchall()


def test_both_dialects_ship_the_same_versions():
    sqlite, postgresql = discover("sqlite"), discover("postgresql")
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgresql]
    assert sqlite[0].version == 1 and sqlite[0].name == "initial"


def test_open_applies_once_and_reopen_is_a_no_op(target):
    with open_store(target, key=KEY) as store:
        assert _versions(store) == SHIPPED
        assert migrate(store) == []
    with open_store(target, key=KEY) as store:
        assert _versions(store) == SHIPPED


def test_newer_schema_is_refused(target):
    with open_store(target, key=KEY) as store, store.transaction() as cur:
        cur.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (99, "from_the_future", "2030-01-01T00:00:00+00:00"))
    with pytest.raises(StoreError, match="schema version 99 is newer than this build knows"):
        open_store(target, key=KEY)


def _copy_with(tmp_path, dialect: str, extra: dict[str, str]):
    root = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_ROOT / dialect, root / dialect)
    for name, sql in extra.items():
        (root / dialect / name).write_text(sql)
    return root


def test_later_migration_applies_in_order_and_a_failing_one_changes_nothing(target, store, tmp_path):
    dialect = store.dialect
    good = _copy_with(tmp_path / "good", dialect, {
        "0003_audit.sql": "CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT NOT NULL);\n"
                          "-- a comment; with a semicolon\nCREATE INDEX audit_what ON audit (what);\n"})
    bad = _copy_with(tmp_path / "bad", dialect, {
        "0003_audit.sql": "CREATE TABLE audit (id INTEGER PRIMARY KEY);\n",
        "0004_broken.sql": "CREATE TABLE broken (x INTEGER);\nTHIS IS NOT SQL;\n"})
    with pytest.raises(StoreError):
        migrate(store, bad)
    assert _versions(store) == SHIPPED
    with store.transaction(readonly=True) as cur:
        assert not store._table_exists(cur, "audit") and not store._table_exists(cur, "broken")
    assert migrate(store, good) == [3]
    assert migrate(store, good) == []
    assert _versions(store) == [*SHIPPED, (3, "audit")]
    with store.transaction() as cur:
        cur.execute("INSERT INTO audit (id, what) VALUES (?, ?)", (1, "enrol"))


@pytest.mark.parametrize("names, message", [
    (["0001_initial.sql", "0003_gap.sql"], "without gaps"),
    (["0001_initial.sql", "0001_again.sql"], "without gaps"),
    (["0001_initial.sql", "2_short.sql"], "NNNN_name.sql"),
])
def test_badly_numbered_migrations_are_refused(tmp_path, names, message):
    for name in names:
        (tmp_path / "sqlite").mkdir(exist_ok=True)
        (tmp_path / "sqlite" / name).write_text("SELECT 1;\n")
    with pytest.raises(StoreError, match=message):
        discover("sqlite", tmp_path)
    with pytest.raises(StoreError, match="no schema migrations"):
        discover("oracle", tmp_path)


def test_concurrent_first_opens_migrate_once(target):
    stores, errors = [], []

    def opener():
        try:
            stores.append(open_store(target, key=KEY, timeout_s=10.0))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == [] and len(stores) == 4
        assert _versions(stores[0]) == SHIPPED
    finally:
        for store in stores:
            store.close()
