"""Fixtures of the store tests: real SQLite files and a real PostgreSQL server.

PostgreSQL tests use ``BASMA_TEST_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
each test gets a fresh schema (selected through the DSN's ``search_path``) that is dropped
afterwards, so nothing is left in the database. They are skipped, saying why, when the server
cannot be reached.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import numpy as np
import psycopg
import pytest

import matcher
from server.storage import Store, open_store

PG_DSN = os.environ.get("BASMA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
KEY = bytes(range(32))


def _pg_unreachable() -> str | None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at BASMA_TEST_PG_DSN ({exc.__class__.__name__}: {str(exc).strip()[:120]})"


_PG_PROBLEM: list[str | None] = []


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` selecting ``schema`` through libpq's ``options`` parameter."""
    return f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture()
def pg_dsn() -> Iterator[str]:
    """A DSN whose search_path is a fresh, empty schema, dropped after the test."""
    if not _PG_PROBLEM:
        _PG_PROBLEM.append(_pg_unreachable())
    if _PG_PROBLEM[0]:
        pytest.skip(_PG_PROBLEM[0])
    schema = f"basma_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(PG_DSN, schema)
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture()
def sqlite_target(tmp_path) -> str:
    return str(tmp_path / "data" / "basma.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request) -> str:
    """Where a store lives: a SQLite file or a fresh PostgreSQL schema (the contract runs on both)."""
    name = "sqlite_target" if request.param == "sqlite" else "pg_dsn"
    return request.getfixturevalue(name)


@pytest.fixture()
def store(target) -> Iterator[Store]:
    with open_store(target, key=KEY, timeout_s=10.0) as opened:
        yield opened


@pytest.fixture()
def sqlite_store(sqlite_target) -> Iterator[Store]:
    with open_store(sqlite_target, key=KEY) as opened:
        yield opened


@pytest.fixture()
def pg_store(pg_dsn) -> Iterator[Store]:
    with open_store(pg_dsn, key=KEY) as opened:
        yield opened


def random_template(rng: np.random.Generator, n: int = 40, *, width: int = 300, height: int = 400) -> matcher.Template:
    """A valid template with ``n`` random minutiae."""
    return matcher.Template(x=rng.integers(0, width, n), y=rng.integers(0, height, n),
                            angle=rng.uniform(0.0, 6.28, n), kind=rng.integers(0, 3, n),
                            quality=rng.integers(0, 101, n), width=width, height=height, dpi=500,
                            image_quality=int(rng.integers(0, 101)))


@pytest.fixture()
def make_template() -> Callable[..., matcher.Template]:
    rng = np.random.default_rng(1234)
    return lambda n=40: random_template(rng, n)
