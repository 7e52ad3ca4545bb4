"""``python -m server.client``: one JSON object per call, errors as JSON with a non-zero exit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from server.client import main
from tests.server.conftest import REPO_ROOT, native


def run(capsys, service, dev, *args: str, role: str = "admin") -> tuple[int, dict]:
    status = main(["--target", f"127.0.0.1:{service.grpc_port}", "--plaintext", "--api-key", dev.keys[role], *args])
    return status, json.loads(capsys.readouterr().out)


def test_cli_enroll_verify_identify_get_delete(service, dev, capsys, tmp_path):
    for seed in (1, 2):
        (tmp_path / f"{seed}.bsm").write_bytes(native(seed))
    status, out = run(capsys, service, dev, "enroll", "--subject", "1000000001", "--finger", "2",
                      "--template", "native", str(tmp_path / "1.bsm"))
    assert status == 0 and out["enrolled"] and out["fingers"] == ["RIGHT_INDEX"]
    status, out = run(capsys, service, dev, "verify", "--subject", "1000000001", "--template", "native",
                      str(tmp_path / "1.bsm"), role="operator")
    assert status == 0 and out["decision"] == "accept" and out["score"] > 0.9 and out["fmr"] == 1e-4
    status, out = run(capsys, service, dev, "verify", "--subject", "1000000001", "--template", "native",
                      str(tmp_path / "2.bsm"), role="operator")
    assert status == 0 and out["decision"] == "reject"
    status, out = run(capsys, service, dev, "identify", "--template", "native", str(tmp_path / "1.bsm"), "--k", "3")
    assert status == 0 and out["candidates"][0]["subject_id"] == "1000000001"
    status, out = run(capsys, service, dev, "get", "--subject", "1000000001")
    assert status == 0 and out["fingers"][0]["minutiae"] == 40
    status, out = run(capsys, service, dev, "delete", "--subject", "1000000001")
    assert status == 0 and out == {"deleted": True, "fingers_deleted": 1}
    status, out = run(capsys, service, dev, "delete", "--subject", "1000000001")
    assert status == 1 and out["code"] == "NOT_FOUND" and out["message"]
    status, out = run(capsys, service, dev, "delete", "--subject", "x", role="operator")
    assert status == 1 and out["code"] == "PERMISSION_DENIED"


@pytest.mark.dataset
def test_cli_subprocess_extract_and_verify_images(service, dev, fvc2002):
    folder = fvc2002 / "db1_b"
    base = [sys.executable, "-m", "server.client", "--target", f"127.0.0.1:{service.grpc_port}", "--plaintext",
            "--api-key", dev.keys["admin"]]
    def call(*args: str) -> tuple[int, dict]:
        done = subprocess.run([*base, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        return done.returncode, json.loads(done.stdout)

    status, out = call("enroll", "--subject", "1000000101", "--finger", "2", str(folder / "101_1.tif"))
    assert status == 0 and out["enrolled"] and out["qualities"][0] > 0
    status, out = call("verify", "--subject", "1000000101", str(folder / "101_2.tif"), str(folder / "101_3.tif"))
    assert status == 0 and out["decision"] == "accept" and len(out["finger_scores"]) == 2
    status, out = call("extract", str(folder / "101_1.tif"))
    assert status == 0 and out["minutiae"] > 10
