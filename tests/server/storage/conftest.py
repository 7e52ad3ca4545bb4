"""Fixtures of the store tests: real SQLite files and a real PostgreSQL server.

PostgreSQL tests use ``BASMA_TEST_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
each test gets a fresh schema (selected through the DSN's ``search_path``) that is dropped
afterwards, so nothing is left in the database. They are skipped, saying why, when the server
cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest

import matcher
from server.storage import Store, open_store

KEY = bytes(range(32))


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
