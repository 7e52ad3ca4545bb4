"""Crashes: a retry after the server died between commit and reply returns the first result
(test hook ``BASMA_FAULT_AFTER_COMMIT``), and the SMS outbox survives a kill and delivers
exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import time
from pathlib import Path

import grpc

from server.client import Client
from server.sim.outbox import FileSmsAdapter, OutboxWorker, SmsMessage
from server.sim.wire import simpb
from server.storage import load_key, open_store
from tests.server.conftest import spawn_server
from tests.server.sim.conftest import POLICY, capture, msisdn, national_id


def _policy_file(folder: Path) -> Path:
    values = {k: v for k, v in dataclasses.asdict(POLICY).items() if k not in ("operator_fmr", "operator_max_active_sims")}
    path = folder / "policy.json"
    path.write_text(json.dumps(values))
    return path


def _start(data: Path, dev, principals: Path, store: str, fault: str | None) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ)
    env.pop("BASMA_FAULT_AFTER_COMMIT", None)
    if fault:
        env["BASMA_FAULT_AFTER_COMMIT"] = fault
    return spawn_server(["--data-dir", str(data), "--grpc-port", "0", "--metrics-port", "0",
         "--principals", str(principals), "--key-file", str(dev.files.key), "--plaintext-localhost",
         "--store", store, "--sim-policy", str(_policy_file(data.parent)), "--log-level", "WARNING"], env=env)


def _until_serving(call):  # type: ignore[no-untyped-def]
    for _ in range(300):
        try:
            return call()
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            time.sleep(0.1)
    raise AssertionError("the server never became SERVING")


def test_retry_after_a_crash_between_commit_and_reply_returns_the_first_result(
        start_sim, dev, sim_principals, store_target, tmp_path):
    principals, keys = sim_principals
    data = tmp_path / "data"
    process, port = _start(data, dev, principals, store_target, fault="register")
    request = simpb.RegisterSimRequest(national_id=national_id(1), msisdn=msisdn(1), operator="mobily",
                                       sim_type=simpb.SIM_TYPE_POSTPAID, channel=simpb.CHANNEL_STORE,
                                       captures=[capture(1)], idempotency_key="crash-1")
    try:
        with Client(f"127.0.0.1:{port}", plaintext=True, api_key=keys["admin"], timeout=30) as admin:
            _until_serving(lambda: admin.enroll(national_id(1), [capture(1)]))
        with Client(f"127.0.0.1:{port}", plaintext=True, api_key=keys["mobily"], timeout=30) as operator:
            try:
                operator.sim_call("RegisterSim", request)
                raise AssertionError("the server replied although the fault hook should have killed it")
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.UNAVAILABLE
        assert process.wait(timeout=30) == 137
    finally:
        process.kill()
        process.wait(timeout=30)
    sim = start_sim(data_dir=data)
    binding = sim.rows("SELECT id FROM sim_bindings WHERE active = 1")
    assert len(binding) == 1  # committed before the crash
    retry = sim.client("mobily").sim_call("RegisterSim", request)
    assert retry.replayed and retry.decision == simpb.DECISION_APPROVED and retry.registration_id == binding[0][0]
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings") == [(1,)]
    # the confirmation queued in the crashed transaction is delivered once, after the restart
    sms = sim.wait_sms(1)
    sim.wait_delivered(1)
    time.sleep(0.2)
    assert [m["ref"] for m in sim.sms()] == [retry.registration_id] and sms[0]["kind"] == "register"
    assert sim.rows("SELECT status FROM sim_outbox") == [("delivered",)]


def test_outbox_survives_kill_9_and_delivers_exactly_once(start_sim, dev, sim_principals, store_target, tmp_path):
    principals, keys = sim_principals
    data = tmp_path / "data"
    sms_file = data / "sms" / "sms.jsonl"
    sms_file.parent.mkdir(parents=True)
    sms_file.mkdir()  # a folder where the file should be: every delivery fails and stays queued
    process, port = _start(data, dev, principals, store_target, fault=None)
    try:
        with Client(f"127.0.0.1:{port}", plaintext=True, api_key=keys["mobily"], timeout=30) as operator:
            otp = _until_serving(lambda: operator.sim_call("RequestOtp", simpb.RequestOtpRequest(
                national_id=national_id(1), msisdn=msisdn(1), operator="mobily")))
            time.sleep(0.3)  # a few failed attempts
        process.kill()
        assert process.wait(timeout=30) == -9
    finally:
        process.kill()
        process.wait(timeout=30)
    with open_store(store_target, key=load_key(dev.files.key)) as store, store.transaction(readonly=True) as cur:
        cur.execute("SELECT status, attempts FROM sim_outbox")
        (status, attempts), = cur.fetchall()
    assert status == "pending" and attempts >= 1  # queued durably, every attempt failed
    sms_file.rmdir()
    sim = start_sim(data_dir=data)
    delivered = sim.wait_sms(1)
    sim.wait_delivered(1)
    time.sleep(0.2)
    assert len(sim.sms()) == 1 and delivered[0]["ref"] == otp.otp_id and delivered[0]["kind"] == "otp"
    assert sim.rows("SELECT status FROM sim_outbox") == [("delivered",)]


class _CrashAfterWrite(FileSmsAdapter):
    """Writes the SMS, then fails as a process dying before the outbox row is marked would."""

    def send(self, message: SmsMessage) -> None:
        super().send(message)
        raise ConnectionError("died after sending")


def test_a_message_sent_but_not_marked_is_not_sent_twice(sim, tmp_path):
    store = sim.service.core.store
    sim.service.outbox.stop()
    sim.register("mobily", national_id(1), msisdn(1), 1)
    path = tmp_path / "other-sms.jsonl"
    metrics = sim.service.metrics
    options = dict(poll_seconds=0.05, backoff_seconds=0.01, backoff_max_seconds=0.01, lease_seconds=0.01)
    assert OutboxWorker(store, _CrashAfterWrite(path), metrics, **options).deliver_due() == 1
    assert sim.rows("SELECT status, attempts FROM sim_outbox") == [("pending", 1)]
    time.sleep(0.05)
    assert OutboxWorker(store, FileSmsAdapter(path), metrics, **options).deliver_due() == 1  # a restarted adapter
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and sim.rows("SELECT status FROM sim_outbox") == [("delivered",)]
    assert OutboxWorker(store, FileSmsAdapter(path), metrics, **options).deliver_due() == 0
