"""Fixtures of the SIM-registration tests: a real service (SQLite file or a fresh PostgreSQL
schema) with its own principals (two operators, two delegates of two businesses, an admin), a
fast policy, enrolled subjects with valid national ids, and helpers to call the service.

PostgreSQL runs at ``BASMA_TEST_PG_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``);
its tests are skipped, saying why, when it cannot be reached.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import matcher
from server.app import Service
from server.auth import hash_api_key
from server.client import Client, template_sample
from server.sim.ids import with_check_digit
from server.sim.policy import SimPolicy
from server.sim.wire import simpb
from tests.server.conftest import make_config, random_template

BUSINESS = "7001234567"
OTHER_BUSINESS = "7009999999"
RIGHT_INDEX = 2
#: Principal name -> (roles, operator, business).
PRINCIPALS = {
    "admin": (["admin"], "", ""),
    "mobily": (["operator"], "mobily", ""),
    "zain": (["operator"], "zain", ""),
    "acme-delegate": (["delegate"], "mobily", BUSINESS),
    "other-delegate": (["delegate"], "mobily", OTHER_BUSINESS),
}
#: Fast policy for the tests: small limits, short outbox intervals.
POLICY = SimPolicy(max_active_sims_total=3, max_active_sims_per_operator=2, outbox_poll_seconds=0.05,
                   outbox_backoff_seconds=0.05, outbox_backoff_max_seconds=0.2, outbox_lease_seconds=1.0)


def national_id(n: int) -> str:
    """The n-th test national id (valid check digit)."""
    return with_check_digit(f"1{n:08d}")


def msisdn(n: int) -> str:
    return f"05{n:08d}"


def capture(seed: int, **template_options) -> simpb.FingerSample:  # type: ignore[name-defined]
    """A capture of the finger of subject ``seed`` (its enrolled template) at RIGHT_INDEX."""
    return template_sample(matcher.formats.dumps(random_template(seed, **template_options)), finger=RIGHT_INDEX)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path: Path) -> Iterator[str]:
    """Where the service's store lives: a SQLite file or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield str(tmp_path / "data" / "basma.db")
    else:
        yield request.getfixturevalue("pg_dsn")


@pytest.fixture(scope="session")
def sim_principals(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A principals file of :data:`PRINCIPALS` and the API key of each."""
    keys = {name: f"sim-test-{name}-{uuid.uuid4().hex}" for name in PRINCIPALS}
    entries = []
    for name, (roles, operator, business) in PRINCIPALS.items():
        entry = {"name": name, "roles": roles, "api_key_sha256": hash_api_key(keys[name])}
        if operator:
            entry["operator"] = operator
        if business:
            entry["business"] = business
        entries.append(entry)
    path = tmp_path_factory.mktemp("sim-principals") / "principals.json"
    path.write_text(json.dumps({"principals": entries}))
    return path, keys


@dataclass
class Sim:
    """A running service and a client per principal."""

    service: Service
    keys: dict[str, str]
    sms_file: Path
    clients: dict[str, Client] = field(default_factory=dict)

    def client(self, name: str) -> Client:
        if name not in self.clients:
            self.clients[name] = Client(f"127.0.0.1:{self.service.grpc_port}", plaintext=True,
                                        api_key=self.keys[name], timeout=30)
        return self.clients[name]

    def call(self, who: str, method: str, **fields):  # type: ignore[no-untyped-def]
        """``method`` of SimRegistration called by principal ``who`` with a request of ``fields``."""
        return self.client(who).sim_call(method, getattr(simpb, method + "Request")(**fields))

    def register(self, name: str, subject: str, number: str, seed: int, *, operator: str | None = None,
                 channel: int = simpb.CHANNEL_STORE, key: str | None = None, sim_type: int = simpb.SIM_TYPE_PREPAID,
                 captures: list | None = None, otp_id: str = ""):  # type: ignore[no-untyped-def]
        return self.call(name, "RegisterSim", national_id=subject, msisdn=number,
                         operator=operator or PRINCIPALS[name][1], sim_type=sim_type, channel=channel,
                         captures=captures or [capture(seed)], idempotency_key=key or uuid.uuid4().hex,
                         otp_id=otp_id)

    def enroll(self, *seeds: int) -> None:
        admin = Client(f"127.0.0.1:{self.service.grpc_port}", plaintext=True, api_key=self.keys["admin"],
                       timeout=30)
        with admin:
            for seed in seeds:
                admin.enroll(national_id(seed), [capture(seed)])

    def sms(self) -> list[dict]:
        if not self.sms_file.is_file():
            return []
        return [json.loads(line) for line in self.sms_file.read_text(encoding="utf-8").splitlines()]

    def wait_sms(self, count: int, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.sms()
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        raise AssertionError(f"{count} SMS expected, {len(self.sms())} delivered within {timeout} s")

    def wait_delivered(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` outbox rows are marked delivered (after the adapter wrote them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.rows("SELECT COUNT(*) FROM sim_outbox WHERE status = 'delivered'")[0][0] >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"{count} outbox rows were not marked delivered within {timeout} s")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        store = self.service.core.store
        with store.transaction(readonly=True) as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


@pytest.fixture
def start_sim(tmp_path: Path, dev, sim_principals, store_target) -> Iterator[Callable[..., Sim]]:
    """``start_sim(policy=POLICY, data_dir=None, **config)`` -> a started :class:`Sim` on the
    parametrised backend (stopped at teardown)."""
    started: list[Sim] = []
    path, keys = sim_principals

    def start(policy: SimPolicy = POLICY, data_dir: Path | None = None, **overrides) -> Sim:
        data = data_dir or tmp_path / "data"
        config = make_config(data, dev, principals_path=path, store=store_target, sim_policy=policy, **overrides)
        service = Service(config).start()
        sim = Sim(service, keys, config.sms_file)
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.close()
        sim.service.stop(0)


@pytest.fixture
def sim(start_sim) -> Sim:
    """A service with subjects 1-6 enrolled."""
    running = start_sim()
    running.enroll(1, 2, 3, 4, 5, 6)
    return running
