"""Acknowledged enrolments survive a restart, including a SIGKILL of a subprocess server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import grpc

from server.client import Client, template_sample
from tests.server.conftest import native, random_template, spawn_server

RIGHT_INDEX = 2


def test_restart_keeps_every_enrolment_and_rebuilds_the_gallery(start_service, connect, tmp_path):
    data = tmp_path / "data"
    first = start_service(data_dir=data)
    admin = connect(first)
    for i in range(6):
        admin.enroll(f"subject-{i}", [template_sample(native(100 + i), finger=RIGHT_INDEX)])
    admin.delete("subject-5")
    first.stop()
    second = start_service(data_dir=data)
    assert second.core.ready and len(second.core.gallery) == 5
    client = connect(second, "researcher")
    for i in range(5):
        assert client.verify(f"subject-{i}", [template_sample(native(100 + i), finger=RIGHT_INDEX)]).match
        assert client.identify([template_sample(native(100 + i))], k=1).candidates[0].subject_id == f"subject-{i}"
    assert second.core.store.counts() == (5, 5)


def _start_subprocess(data: Path, dev, log_level: str = "WARNING") -> tuple[subprocess.Popen, int]:
    return spawn_server(["--data-dir", str(data), "--grpc-port", "0", "--metrics-port", "0",
         "--principals", str(dev.files.principals), "--key-file", str(dev.files.key), "--plaintext-localhost",
         "--log-level", log_level])


def test_sigkill_right_after_enroll_replies_loses_nothing(start_service, dev, tmp_path):
    data = tmp_path / "data"
    process, port = _start_subprocess(data, dev)
    acknowledged = []
    try:
        with Client(f"127.0.0.1:{port}", plaintext=True, api_key=dev.keys["admin"], timeout=30) as client:
            grpc.channel_ready_future(client.channel).result(timeout=30)
            for i in range(8):
                for _ in range(100):  # the gallery loads in the background: UNAVAILABLE until SERVING
                    try:
                        client.enroll(f"killed-{i}", [template_sample(native(200 + i), finger=RIGHT_INDEX)])
                        break
                    except grpc.RpcError as exc:
                        if exc.code() != grpc.StatusCode.UNAVAILABLE:
                            raise
                        time.sleep(0.1)
                acknowledged.append(i)
            process.send_signal(signal.SIGKILL)  # right after the last reply
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL and acknowledged == list(range(8))
    restarted = start_service(data_dir=data)
    store = restarted.core.store
    for i in acknowledged:
        record = store.get_subject(f"killed-{i}")
        assert record.fingers[RIGHT_INDEX] == random_template(200 + i)
    assert len(restarted.core.gallery) == len(acknowledged)


def test_sigterm_shuts_down_gracefully(dev, tmp_path):
    process, port = _start_subprocess(tmp_path / "data", dev, log_level="INFO")
    try:
        with Client(f"127.0.0.1:{port}", plaintext=True, api_key=dev.keys["admin"], timeout=30) as client:
            grpc.channel_ready_future(client.channel).result(timeout=30)
            for _ in range(100):
                try:
                    client.enroll("1000000001", [template_sample(native(1), finger=RIGHT_INDEX)])
                    break
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.UNAVAILABLE:
                        raise
                    time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0
    messages = [json.loads(line)["msg"] for line in err.splitlines() if line.startswith("{")]
    assert "signal received, shutting down" in messages and messages[-1] == "stopped"
    assert "1000000001" not in err
