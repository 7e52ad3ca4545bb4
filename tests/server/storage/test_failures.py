"""Database failures become typed errors and never leave a partial write behind."""

from __future__ import annotations

import sqlite3
import threading
import time

import psycopg
import pytest

import matcher
from server.storage import StoreError, StoreUnavailableError, open_store
from tests.server.storage.conftest import KEY


def test_full_disk_is_unavailable_and_writes_nothing(sqlite_target, make_template):
    with open_store(sqlite_target, key=KEY, pool_size=1) as store:
        kept = store.put_finger("kept", 1, make_template())
        with store.transaction() as cur:  # the pool's only connection may not grow the file
            cur.execute("PRAGMA page_count")
            (pages,) = cur.fetchone()
            cur.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreUnavailableError, match="full"):
            store.put_subject("big", {p: make_template(255) for p in range(10)})
        with pytest.raises(StoreUnavailableError, match="full"):
            store.put_subject("kept", {p: make_template(255) for p in range(10)}, replace=True)
        assert store.counts() == (1, 1)
        assert store.get_subject("kept").fingers == kept.fingers


def test_read_only_database_is_unavailable(sqlite_target, make_template):
    with open_store(sqlite_target, key=KEY, pool_size=1) as store:
        store.put_finger("kept", 1, make_template())
        with store.transaction(readonly=True) as cur:
            cur.execute("PRAGMA query_only = ON")
        with pytest.raises(StoreUnavailableError, match="readonly"):
            store.put_finger("new", 1, make_template())
        with pytest.raises(StoreUnavailableError, match="readonly"):
            store.delete_subject("kept")
        assert store.counts() == (1, 1)


def test_write_lock_held_too_long_is_unavailable(sqlite_target, make_template):
    with open_store(sqlite_target, key=KEY, timeout_s=0.2) as store:
        other = sqlite3.connect(sqlite_target, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError, match="locked"):
                store.put_finger("s", 1, make_template())
            assert time.monotonic() - started < 5
            assert store.counts() == (0, 0)  # readers are not blocked by the writer (WAL)
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.put_finger("s", 1, make_template())


def test_damaged_sqlite_file_is_a_store_error(tmp_path):
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database file" * 200)
    with pytest.raises(StoreError, match="damaged|not a database"):
        open_store(path, key=KEY)


def test_unreachable_postgresql_is_unavailable_without_the_password():
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="127.0.0.1:1/test") as info:
        open_store("postgresql://postgres:s3cretpw@127.0.0.1:1/test", key=KEY, timeout_s=1.0)
    assert time.monotonic() - started < 10
    assert "s3cretpw" not in str(info.value)


def test_unparsable_dsn_is_not_echoed():
    with pytest.raises(matcher.InvalidParameterError, match="cannot be parsed") as info:
        open_store("postgresql://u:pw@localhost/db?no_such_parameter=1", key=KEY)
    assert "pw" not in str(info.value)


def test_postgresql_row_lock_held_too_long_is_unavailable(pg_dsn, make_template):
    with open_store(pg_dsn, key=KEY, timeout_s=0.3) as store:
        store.put_finger("locked", 1, make_template())
        with psycopg.connect(pg_dsn) as other:
            other.execute("SELECT * FROM subjects WHERE subject = 'locked' FOR UPDATE")
            with pytest.raises(StoreUnavailableError, match="lock"):
                store.put_finger("locked", 2, make_template())
            other.rollback()
        assert store.counts() == (1, 1)


def test_postgresql_connection_killed_by_the_server_is_replaced(pg_dsn, make_template):
    with open_store(pg_dsn, key=KEY, pool_size=1) as store:
        store.put_finger("s", 1, make_template())
        with store.transaction(readonly=True) as cur:
            cur.execute("SELECT pg_backend_pid()")
            (pid,) = cur.fetchone()
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        assert store.counts() == (1, 1)  # the pool checks a connection before lending it
        with store.transaction(readonly=True) as cur:
            cur.execute("SELECT pg_backend_pid(), application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
            new_pid, name = cur.fetchone()
        assert new_pid != pid and name == "basma-store"


def test_pool_exhaustion_is_unavailable(sqlite_target):
    with open_store(sqlite_target, key=KEY, pool_size=1, timeout_s=0.2) as store:
        entered, release = threading.Event(), threading.Event()

        def hold():
            with store.transaction(readonly=True):
                entered.set()
                release.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert entered.wait(5)
            with pytest.raises(StoreUnavailableError, match="no connection free"):
                store.counts()
        finally:
            release.set()
            holder.join()
        assert store.counts() == (0, 0)
