"""``open_store``: targets, file permissions and parameter checks."""

from __future__ import annotations

import os
import stat

import pytest

import matcher
from server.storage import open_store
from server.storage.postgresql import describe_dsn
from tests.server.storage.conftest import KEY


def test_sqlite_path_forms_and_permissions(tmp_path, make_template):
    path = tmp_path / "new" / "deeper" / "basma.db"
    with open_store(f"sqlite://{path}", key=KEY) as store:
        assert store.dialect == "sqlite"
        store.put_finger("s", 1, make_template())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    for same in (path, str(path)):
        with open_store(same, key=KEY) as store:
            assert store.counts() == (1, 1)
    assert not (tmp_path / "new" / "deeper" / "basma.db-wal").exists() or \
        os.path.getsize(path.parent / "basma.db-wal") == 0  # close() checkpointed the WAL


@pytest.mark.parametrize("target, message", [
    ("mysql://u@h/db", "scheme 'mysql'"),
    ("sqlite://relative.db", "absolute"),
    ("sqlite:///", "absolute"),
    ("", "path or a database URL"),
    (None, "path or a database URL"),
])
def test_bad_targets(target, message):
    with pytest.raises(matcher.InvalidParameterError, match=message):
        open_store(target, key=KEY)


def test_folder_target_is_refused(tmp_path):
    with pytest.raises(matcher.InvalidParameterError, match="is a folder"):
        open_store(tmp_path, key=KEY)


@pytest.mark.parametrize("options, message", [
    ({"key": bytes(16)}, "32 bytes"),
    ({"key": KEY, "pool_size": 0}, "pool_size"),
    ({"key": KEY, "pool_size": True}, "pool_size"),
    ({"key": KEY, "timeout_s": 0}, "timeout_s"),
    ({"key": KEY, "timeout_s": float("nan")}, "timeout_s"),
])
def test_bad_parameters_create_nothing(tmp_path, options, message):
    with pytest.raises(matcher.InvalidParameterError, match=message):
        open_store(tmp_path / "x" / "basma.db", **options)
    assert not (tmp_path / "x").exists()


def test_describe_dsn_hides_the_password():
    assert describe_dsn("postgresql://u:pw@db.example:6543/basma") == ("db.example:6543/basma", "pw")
    assert describe_dsn("postgres://u@/basma")[0] == "localhost:5432/basma"


def test_postgres_scheme_alias(pg_dsn):
    with open_store("postgres://" + pg_dsn.split("://", 1)[1], key=KEY) as store:
        assert store.dialect == "postgresql" and store.counts() == (0, 0)


def test_sqlite_connections_are_durable_wal_with_foreign_keys(sqlite_store):
    with sqlite_store.transaction(readonly=True) as cur:
        assert cur.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert cur.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert cur.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert cur.execute("PRAGMA busy_timeout").fetchone() == (5000,)


def test_postgresql_connections_have_a_lock_timeout(pg_store):
    with pg_store.transaction(readonly=True) as cur:
        assert cur.execute("SHOW lock_timeout").fetchone() == ("5s",)
        assert cur.execute("SHOW search_path").fetchone()[0].startswith("basma_test_")


def test_uncreatable_sqlite_file_is_unavailable(tmp_path):
    (tmp_path / "plain-file").write_text("not a folder")
    from server.storage import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match="cannot create"):
        open_store(tmp_path / "plain-file" / "basma.db", key=KEY)
