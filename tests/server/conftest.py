"""Fixtures of the service tests: dev credentials, a real server on a free localhost port with a
real SQLite store in ``tmp_path``, clients, and synthetic templates."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest

import matcher
from server import devsetup
from server.app import Service
from server.client import Client
from server.config import ServerConfig, TlsConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


class Dev:
    """Dev files (key, certificates, principals) and the API key of each role."""

    def __init__(self, root: Path) -> None:
        self.files, self.keys = devsetup.create(root)


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Dev:
    return Dev(tmp_path_factory.mktemp("dev"))


def make_config(data_dir: Path, dev: Dev, *, tls: bool = False, mtls: bool = False, **overrides) -> ServerConfig:
    files = dev.files
    tls_config = None
    if tls or mtls:
        tls_config = TlsConfig(files.server, files.server_key, files.ca if mtls else None)
    options = dict(data_dir=data_dir, host="127.0.0.1", grpc_port=0, metrics_port=0, metrics_host="127.0.0.1",
                   principals_path=files.principals, tls=tls_config, plaintext_localhost=tls_config is None,
                   store=str(data_dir / "basma.db"), key_path=files.key, max_workers=8, grace_seconds=2.0)
    options.update(overrides)
    return ServerConfig(**options)


@pytest.fixture
def start_service(tmp_path: Path, dev: Dev) -> Iterator[Callable[..., Service]]:
    """``start_service(**config_overrides)`` -> a started :class:`Service` (stopped at teardown)."""
    started: list[Service] = []

    def start(data_dir: Path | None = None, access_log: logging.Logger | None = None, **overrides) -> Service:
        config = make_config(data_dir or tmp_path / "data", dev, **overrides)
        service = Service(config, access_log=access_log).start()
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop(0)


@pytest.fixture
def service(start_service: Callable[..., Service]) -> Service:
    """A plaintext localhost service with an empty store."""
    return start_service()


@pytest.fixture
def connect(dev: Dev) -> Iterator[Callable[..., Client]]:
    """``connect(service, role="admin", **client_options)`` -> a plaintext :class:`Client`."""
    clients: list[Client] = []

    def make(service: Service, role: str | None = "admin", **options) -> Client:
        options.setdefault("plaintext", True)
        api_key = dev.keys[role] if role else options.pop("api_key", None)
        client = Client(f"127.0.0.1:{service.grpc_port}", api_key=api_key, timeout=30, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def random_template(seed: int, minutiae: int = 40) -> matcher.Template:
    """A plausible template: ``minutiae`` random minutiae on a 300x400 px image at 500 dpi."""
    rng = np.random.default_rng(seed)
    return matcher.Template(x=rng.integers(20, 280, minutiae), y=rng.integers(20, 380, minutiae),
                            angle=rng.uniform(0, 2 * np.pi, minutiae), kind=rng.integers(1, 3, minutiae),
                            quality=rng.integers(40, 100, minutiae), width=300, height=400, dpi=500,
                            image_quality=70)


def native(seed: int, minutiae: int = 40) -> bytes:
    """The native bytes of :func:`random_template`."""
    return matcher.formats.dumps(random_template(seed, minutiae))


# -- PostgreSQL: one fresh schema per test, dropped afterwards -------------------------------------

PG_DSN = os.environ.get("BASMA_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


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


def spawn_server(args: list[str], *, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """``python -m server ARGS`` as a subprocess (``--grpc-port 0``); returns it and its gRPC port
    once it has logged the port, or fails the test after 60 s."""
    process = subprocess.Popen([sys.executable, "-m", "server", *args], cwd=REPO_ROOT,
                               env={**(env or os.environ), "PYTHONUNBUFFERED": "1"}, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"gRPC on [^ ]+:(\d+),", line)
        if found:
            return process, int(found.group(1))
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the server subprocess did not start (exit {process.poll()})")
