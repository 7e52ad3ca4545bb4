"""The online channel: RequestOtp / ConfirmOtp (code sent through the outbox, expiry, attempt
limit) before the fingerprint step, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import time

import grpc
import pytest

from server.sim.wire import simpb
from tests.server.sim.conftest import POLICY, msisdn, national_id


def _code_of(sim, otp_id: str) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in sim.sms():
            if line["kind"] == "otp" and line["ref"] == otp_id:
                return line["en"].split("code is ")[1][:6]
        time.sleep(0.05)
    raise AssertionError("the one-time code SMS was not delivered")


def _outcome(reply) -> str:  # type: ignore[no-untyped-def]
    return simpb.OtpOutcome.Name(reply.outcome).removeprefix("OTP_OUTCOME_")


def test_online_registration_with_a_confirmed_code(sim):
    otp = sim.call("mobily", "RequestOtp", national_id=national_id(1), msisdn=msisdn(1), operator="mobily")
    assert otp.expires_at_unix_ms > time.time() * 1000
    code = _code_of(sim, otp.otp_id)
    sms = next(m for m in sim.sms() if m["ref"] == otp.otp_id)
    assert "رمز التحقق" in sms["ar"] and code in sms["ar"]
    # the outbox listing never shows the code
    listed = [m for m in sim.call("admin", "ListOutbox").messages if m.kind == "otp"]
    assert listed and code not in listed[0].text_en and code not in listed[0].text_ar
    # the code is needed before the fingerprint step
    before = sim.register("mobily", national_id(1), msisdn(1), 1, channel=simpb.CHANNEL_ONLINE, otp_id=otp.otp_id,
                          key="web-1")
    assert before.reason == simpb.REASON_OTP_REQUIRED
    assert _outcome(sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=code)) == "CONFIRMED"
    # another operator cannot use or confirm it, nor can it serve another number
    assert sim.register("zain", national_id(1), msisdn(1), 1, channel=simpb.CHANNEL_ONLINE,
                        otp_id=otp.otp_id).reason == simpb.REASON_OTP_REQUIRED
    with pytest.raises(grpc.RpcError) as denied:
        sim.call("zain", "ConfirmOtp", otp_id=otp.otp_id, code=code)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert sim.register("mobily", national_id(1), msisdn(2), 1, channel=simpb.CHANNEL_ONLINE,
                        otp_id=otp.otp_id).reason == simpb.REASON_OTP_REQUIRED
    reply = sim.register("mobily", national_id(1), msisdn(1), 1, channel=simpb.CHANNEL_ONLINE, otp_id=otp.otp_id,
                         key="web-1")
    assert reply.decision == simpb.DECISION_APPROVED and not reply.replayed
    assert sim.call("admin", "ListSims", national_id=national_id(1)).sims[0].channel == simpb.CHANNEL_ONLINE
    # used once: a second online registration with the same code needs a new one
    assert sim.register("mobily", national_id(1), msisdn(3), 1, channel=simpb.CHANNEL_ONLINE,
                        otp_id=otp.otp_id).reason == simpb.REASON_OTP_REQUIRED
    assert sim.rows("SELECT status FROM sim_otp") == [("used",)]


def test_wrong_codes_burn_the_code_after_the_attempt_limit(sim):
    otp = sim.call("mobily", "RequestOtp", national_id=national_id(1), msisdn=msisdn(1), operator="mobily")
    code = _code_of(sim, otp.otp_id)
    wrong = "000000" if code != "000000" else "111111"
    first = sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=wrong)
    assert (_outcome(first), first.attempts_left) == ("WRONG_CODE", 2)
    assert _outcome(sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=wrong)) == "WRONG_CODE"
    third = sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=wrong)
    assert (_outcome(third), third.attempts_left) == ("TOO_MANY_ATTEMPTS", 0)
    assert _outcome(sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=code)) == "TOO_MANY_ATTEMPTS"
    assert sim.register("mobily", national_id(1), msisdn(1), 1, channel=simpb.CHANNEL_ONLINE,
                        otp_id=otp.otp_id).reason == simpb.REASON_OTP_REQUIRED
    for bad in ("12ab", ""):
        with pytest.raises(grpc.RpcError) as caught:
            sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=bad)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        sim.call("mobily", "ConfirmOtp", otp_id="0" * 32, code="123456")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    outcomes = [e.reason for e in sim.call("admin", "ListAudit", action="otp_confirm").entries]
    assert len(outcomes) == 4


def test_an_expired_code_cannot_be_confirmed(start_sim):
    sim = start_sim(policy=dataclasses.replace(POLICY, otp_ttl_seconds=0.5))
    otp = sim.call("mobily", "RequestOtp", national_id=national_id(1), msisdn=msisdn(1), operator="mobily")
    code = _code_of(sim, otp.otp_id)
    time.sleep(0.6)
    assert _outcome(sim.call("mobily", "ConfirmOtp", otp_id=otp.otp_id, code=code)) == "EXPIRED"
    assert sim.rows("SELECT status FROM sim_otp") == [("expired",)]
