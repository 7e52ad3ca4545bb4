"""``python -m server.client ... sim ...``: one JSON object per call; the demo's command with a
real FVC2002 capture registers a SIM and queues its SMS."""

from __future__ import annotations

import json

import pytest

import matcher
from server.client import main
from server.demo import DEMO_MSISDN, DEMO_POSITION, demo_fingers
from server.sim.ids import check_national_id
from tests.server.conftest import random_template
from tests.server.sim.conftest import BUSINESS, national_id


def _run(capsys, sim, who: str, *args: str) -> tuple[int, dict]:
    status = main(["--target", f"127.0.0.1:{sim.service.grpc_port}", "--plaintext", "--api-key", sim.keys[who],
                   "sim", *args])
    return status, json.loads(capsys.readouterr().out)


@pytest.fixture
def sqlite_only(request):
    if "postgresql" in request.node.name:
        pytest.skip("the CLI is backend-independent: SQLite is enough")


def test_cli_register_list_outbox_audit_deactivate(sqlite_only, sim, capsys, tmp_path):
    image = tmp_path / "1.bsm"
    image.write_bytes(matcher.formats.dumps(random_template(1)))
    args = ["register", "--national-id", national_id(1), "--msisdn", "0551234567", "--operator", "mobily",
            "--sim-type", "prepaid", "--channel", "store", "--idempotency-key", "cli-1", "--finger", "2",
            "--template", "native", str(image)]
    status, out = _run(capsys, sim, "mobily", *args)
    assert status == 0 and out["decision"] == "approved" and out["reason"] == "VERIFIED" and out["score"] > 0.5
    assert len(out["registration_id"]) == 32 and out["msisdn"] == "+966551234567" and not out["replayed"]
    status, again = _run(capsys, sim, "mobily", *args)
    assert again["replayed"] and again["registration_id"] == out["registration_id"]
    status, listed = _run(capsys, sim, "mobily", "list", "--national-id", national_id(1))
    assert [s["msisdn"] for s in listed["sims"]] == ["+966551234567"] and listed["sims"][0]["sim_type"] == "prepaid"
    sim.wait_delivered(1)
    status, box = _run(capsys, sim, "admin", "outbox")
    assert status == 0 and box["messages"][0]["kind"] == "register" and box["messages"][0]["status"] == "delivered"
    assert "باسمك" in box["messages"][0]["text_ar"] and "registered to you" in box["messages"][0]["text_en"]
    status, log = _run(capsys, sim, "admin", "audit", "--action", "register")
    assert status == 0 and [e["reason"] for e in log["entries"]] == ["VERIFIED"]
    assert log["entries"][0]["national_id"] != national_id(1)
    status, gone = _run(capsys, sim, "mobily", "deactivate", "--msisdn", "+966551234567")
    assert status == 0 and gone == {"deactivated": True, "registration_id": out["registration_id"]}
    status, error = _run(capsys, sim, "mobily", "deactivate", "--msisdn", "+966551234567")
    assert status == 1 and error["code"] == "NOT_FOUND"
    status, error = _run(capsys, sim, "mobily", "register", *args[1:3], "--msisdn", "123", *args[5:])
    assert status == 1 and error["code"] == "INVALID_ARGUMENT" and "msisdn" in error["message"]
    status, out = _run(capsys, sim, "admin", "business-add", "--cr", BUSINESS, "--name", "Acme")
    assert status == 0 and out == {"created": True}
    status, out = _run(capsys, sim, "admin", "business-user-add", "--cr", BUSINESS, "--national-id", national_id(2))
    assert status == 0 and out == {"created": True}
    status, out = _run(capsys, sim, "admin", "business-users", "--cr", BUSINESS)
    assert out == {"users": [{"national_id": national_id(2), "enrolled": True, "sims": []}]}


@pytest.mark.dataset
def test_demo_sim_register_command_with_a_real_capture(sqlite_only, start_sim, fvc2002, capsys):
    sim = start_sim()
    fingers = demo_fingers(fvc2002)[:3]
    subject, first, second = fingers[0]
    assert check_national_id(subject) == subject
    from server.client import Client, image_sample

    with Client(f"127.0.0.1:{sim.service.grpc_port}", plaintext=True, api_key=sim.keys["admin"]) as admin:
        for sid, impression_1, _ in fingers:
            admin.enroll(sid, [image_sample(impression_1, finger=int(DEMO_POSITION))])
    status, out = _run(capsys, sim, "mobily", "register", "--national-id", subject, "--msisdn", DEMO_MSISDN,
                       "--operator", "mobily", "--sim-type", "prepaid", "--channel", "store",
                       "--finger", str(int(DEMO_POSITION)), str(second))
    assert status == 0 and (out["decision"], out["reason"]) == ("approved", "VERIFIED"), out
    impostor = fingers[1][2]
    status, out = _run(capsys, sim, "mobily", "register", "--national-id", subject, "--msisdn", "0551234568",
                       "--operator", "mobily", "--sim-type", "prepaid", "--channel", "store", str(impostor))
    assert out["decision"] == "refused" and out["reason"] in ("NOT_MATCHED", "FRAUD_SUSPECTED"), out
    assert sim.wait_sms(1)[0]["kind"] == "register"
