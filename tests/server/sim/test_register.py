"""RegisterSim end to end against a real server on SQLite and PostgreSQL: each channel's happy
path, every reason code from the input that causes it, idempotent retries, scope."""

from __future__ import annotations

import grpc
import pytest

import matcher
from server.sim.wire import simpb
from tests.server.conftest import random_template
from tests.server.sim.conftest import BUSINESS, capture, msisdn, national_id


def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def test_store_and_kiosk_registrations_bind_queue_sms_and_audit(sim):
    reply = sim.register("mobily", national_id(1), msisdn(1), 1)
    assert reply.decision == simpb.DECISION_APPROVED and reply.reason == simpb.REASON_VERIFIED
    assert reply.score > 0.5 and len(reply.registration_id) == 32 and reply.msisdn == "+966500000001"
    kiosk = sim.register("zain", national_id(1), "+966500000002", 1, channel=simpb.CHANNEL_KIOSK,
                         sim_type=simpb.SIM_TYPE_DATA)
    assert kiosk.decision == simpb.DECISION_APPROVED and not kiosk.replayed
    listed = sim.call("admin", "ListSims", national_id=national_id(1)).sims
    assert {(s.msisdn, s.operator, s.channel, s.sim_type, s.active) for s in listed} == {
        ("+966500000001", "mobily", simpb.CHANNEL_STORE, simpb.SIM_TYPE_PREPAID, True),
        ("+966500000002", "zain", simpb.CHANNEL_KIOSK, simpb.SIM_TYPE_DATA, True)}
    assert [s.msisdn for s in sim.call("mobily", "ListSims", national_id=national_id(1)).sims] == ["+966500000001"]
    sms = sim.wait_sms(2)
    assert {m["ref"] for m in sms} == {reply.registration_id, kiosk.registration_id}
    first = next(m for m in sms if m["ref"] == reply.registration_id)
    assert first["kind"] == "register" and first["to"] == "+9" + "*" * 9 + "01"
    assert "تم توثيق بصمتك" in first["ar"] and "fingerprint was verified" in first["en"] and "MOBILY" not in first["en"]
    entries = sim.call("admin", "ListAudit", action="register").entries
    assert [(e.reason, e.channel) for e in entries] == [(simpb.REASON_VERIFIED, simpb.CHANNEL_STORE),
                                                        (simpb.REASON_VERIFIED, simpb.CHANNEL_KIOSK)]
    assert entries[0].national_id_masked == "10******" + national_id(1)[-2:] and entries[0].principal == "mobily"
    assert all(national_id(1) not in str(e) and "500000001" not in str(e) for e in entries)


def test_every_reason_code_from_the_input_that_causes_it(sim):
    def reason(name, subject, number, seed, **options):  # type: ignore[no-untyped-def]
        reply = sim.register(name, subject, number, seed, **options)
        return simpb.Decision.Name(reply.decision), simpb.Reason.Name(reply.reason)

    assert reason("mobily", national_id(2), msisdn(10), 2) == ("DECISION_APPROVED", "REASON_VERIFIED")
    # a finger nobody enrolled: not the claimed subject, not anyone else either
    assert reason("mobily", national_id(2), msisdn(11), 900) == ("DECISION_REFUSED", "REASON_NOT_MATCHED")
    assert reason("mobily", national_id(2), msisdn(12), 2, captures=[capture(2, minutiae=6)]) == (
        "DECISION_RETRY", "REASON_POOR_QUALITY")
    low = capture(2)
    t = random_template(2)
    low.native_template = matcher.formats.dumps(matcher.Template(t.x, t.y, t.angle, t.kind, t.quality, t.width,
                                                                 t.height, t.dpi, image_quality=5))
    assert reason("mobily", national_id(2), msisdn(12), 2, captures=[low]) == ("DECISION_RETRY", "REASON_POOR_QUALITY")
    assert reason("mobily", national_id(50), msisdn(13), 50) == ("DECISION_REFUSED", "REASON_NOT_ENROLLED")
    assert reason("zain", national_id(3), msisdn(10), 3) == ("DECISION_REFUSED", "REASON_MSISDN_TAKEN")
    # subject 3 claims its id but presents subject 4's finger: identified 1:N as someone else
    fraud = sim.register("mobily", national_id(3), msisdn(14), 4)
    assert fraud.reason == simpb.REASON_FRAUD_SUSPECTED and fraud.fraud_flag_id
    assert sim.rows("SELECT claimed_subject, matched_subject, status FROM sim_fraud_flags") == [
        (national_id(3), national_id(4), "open")]
    assert reason("mobily", national_id(2), msisdn(15), 2, channel=simpb.CHANNEL_ONLINE) == (
        "DECISION_RETRY", "REASON_OTP_REQUIRED")
    # limits: 2 per operator, 3 in total (POLICY)
    assert reason("mobily", national_id(2), msisdn(16), 2)[1] == "REASON_VERIFIED"
    limited = sim.register("mobily", national_id(2), msisdn(17), 2)
    assert limited.reason == simpb.REASON_LIMIT_REACHED and "mobily" in limited.detail
    assert reason("zain", national_id(2), msisdn(18), 2)[1] == "REASON_VERIFIED"
    total = sim.register("zain", national_id(2), msisdn(19), 2)
    assert total.reason == simpb.REASON_LIMIT_REACHED and "in total" in total.detail
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings WHERE subject = ? AND active = 1", (national_id(2),)) == [(3,)]
    reasons = {simpb.Reason.Name(e.reason) for e in sim.call("admin", "ListAudit", limit=1000).entries}
    assert reasons >= {"REASON_" + r for r in ("VERIFIED", "NOT_MATCHED", "POOR_QUALITY", "NOT_ENROLLED",
                                              "MSISDN_TAKEN", "FRAUD_SUSPECTED", "OTP_REQUIRED", "LIMIT_REACHED")}
    # re-registering a number one already holds re-verifies it: same binding, no new SIM
    again = sim.register("mobily", national_id(2), msisdn(10), 2)
    assert again.reason == simpb.REASON_VERIFIED and again.detail == "existing binding re-verified"


@pytest.mark.parametrize("field, value", [
    ("national_id", "1000000009"), ("national_id", "3000000002"), ("national_id", "12345"),
    ("msisdn", "0451234567"), ("msisdn", "+96655123456"), ("operator", "Mobily!"), ("idempotency_key", ""),
    ("sim_type", 0), ("channel", 0), ("captures", []),
])
def test_bad_input_is_invalid_argument_and_stores_nothing(sim, field, value):
    request = dict(national_id=national_id(1), msisdn=msisdn(1), operator="mobily", sim_type=simpb.SIM_TYPE_PREPAID,
                   channel=simpb.CHANNEL_STORE, captures=[capture(1)], idempotency_key="k-1")
    request[field] = value
    assert _code(lambda: sim.call("mobily", "RegisterSim", **request)) == grpc.StatusCode.INVALID_ARGUMENT
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings") == [(0,)]
    assert sim.rows("SELECT COUNT(*) FROM sim_idempotency") == [(0,)]


def test_idempotent_retry_returns_the_first_reply_and_changes_nothing(sim):
    first = sim.register("mobily", national_id(1), msisdn(1), 1, key="order-42")
    counts = sim.rows("SELECT (SELECT COUNT(*) FROM sim_bindings), (SELECT COUNT(*) FROM sim_outbox), "
                      "(SELECT COUNT(*) FROM sim_audit)")
    again = sim.register("mobily", national_id(1), msisdn(1), 1, key="order-42")
    assert again.replayed and not first.replayed
    assert (again.registration_id, again.reason, again.score) == (first.registration_id, first.reason, first.score)
    assert sim.rows("SELECT (SELECT COUNT(*) FROM sim_bindings), (SELECT COUNT(*) FROM sim_outbox), "
                    "(SELECT COUNT(*) FROM sim_audit)") == counts
    # a refusal is final too: the same key keeps answering NOT_MATCHED
    refused = sim.register("mobily", national_id(1), msisdn(2), 900, key="order-43")
    assert sim.register("mobily", national_id(1), msisdn(2), 900, key="order-43").reason == refused.reason
    # the same key with another request is refused; another operator's key space is separate
    assert _code(lambda: sim.register("mobily", national_id(1), msisdn(3), 1, key="order-42")
                 ) == grpc.StatusCode.ALREADY_EXISTS
    other = sim.register("zain", national_id(1), msisdn(3), 1, key="order-42")
    assert other.decision == simpb.DECISION_APPROVED and not other.replayed
    # POOR_QUALITY is not final: recapture and retry with the same key
    poor = sim.register("mobily", national_id(1), msisdn(4), 1, key="order-44", captures=[capture(1, minutiae=5)])
    assert poor.decision == simpb.DECISION_RETRY
    assert sim.register("mobily", national_id(1), msisdn(4), 1, key="order-44").decision == simpb.DECISION_APPROVED


def test_operator_scope(sim):
    assert _code(lambda: sim.register("mobily", national_id(1), msisdn(1), 1, operator="zain")
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.register("mobily", national_id(1), msisdn(1), 1, channel=simpb.CHANNEL_DELEGATE)
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.register("acme-delegate", national_id(1), msisdn(1), 1)
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.register("admin", national_id(1), msisdn(1), 1)) == grpc.StatusCode.PERMISSION_DENIED
    sim.register("mobily", national_id(1), msisdn(1), 1)
    assert _code(lambda: sim.call("zain", "DeactivateSim", msisdn=msisdn(1))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.call("mobily", "ListAudit")) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.call("mobily", "ListOutbox")) == grpc.StatusCode.PERMISSION_DENIED
    assert sim.rows("SELECT COUNT(*) FROM sim_bindings") == [(1,)]


def test_delegate_registers_only_its_business_users(sim):
    assert sim.call("admin", "RegisterBusiness", cr_number=BUSINESS, name="Acme Trading").created
    assert not sim.call("admin", "RegisterBusiness", cr_number=BUSINESS, name="Acme Trading").created
    # not yet a registered delegate
    assert _code(lambda: sim.register("acme-delegate", national_id(2), msisdn(2), 2, channel=simpb.CHANNEL_DELEGATE)
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.call("admin", "RegisterDelegate", cr_number=BUSINESS, national_id=national_id(50),
                                  principal="acme-delegate")) == grpc.StatusCode.FAILED_PRECONDITION  # not enrolled
    assert _code(lambda: sim.call("admin", "RegisterDelegate", cr_number=BUSINESS, national_id=national_id(1),
                                  principal="other-delegate")) == grpc.StatusCode.FAILED_PRECONDITION  # other business
    assert sim.call("admin", "RegisterDelegate", cr_number=BUSINESS, national_id=national_id(1),
                    principal="acme-delegate").created
    assert sim.call("admin", "AddBusinessUser", cr_number=BUSINESS, national_id=national_id(2)).created
    assert _code(lambda: sim.call("admin", "AddBusinessUser", cr_number="7000000000", national_id=national_id(2))
                 ) == grpc.StatusCode.NOT_FOUND
    reply = sim.register("acme-delegate", national_id(2), msisdn(2), 2, channel=simpb.CHANNEL_DELEGATE)
    assert reply.decision == simpb.DECISION_APPROVED
    # subject 3 is no user of the business
    assert _code(lambda: sim.register("acme-delegate", national_id(3), msisdn(3), 3, channel=simpb.CHANNEL_DELEGATE)
                 ) == grpc.StatusCode.PERMISSION_DENIED
    # re-verification of the business user's SIM
    again = sim.register("acme-delegate", national_id(2), msisdn(2), 2, channel=simpb.CHANNEL_DELEGATE)
    assert again.registration_id == reply.registration_id and again.detail == "existing binding re-verified"
    users = sim.call("acme-delegate", "ListBusinessUsers", cr_number=BUSINESS).users
    assert [(u.national_id, u.enrolled, [s.msisdn for s in u.sims]) for u in users] == [
        (national_id(2), True, ["+966500000002"])]
    assert users[0].sims[0].business == BUSINESS and users[0].sims[0].channel == simpb.CHANNEL_DELEGATE
    assert _code(lambda: sim.call("other-delegate", "ListBusinessUsers", cr_number=BUSINESS)
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: sim.call("acme-delegate", "ListSims", national_id=national_id(3))
                 ) == grpc.StatusCode.PERMISSION_DENIED
    assert [s.msisdn for s in sim.call("acme-delegate", "ListSims", national_id=national_id(2)).sims] == [
        "+966500000002"]


def test_deactivate_and_transfer(sim):
    first = sim.register("mobily", national_id(1), msisdn(1), 1)
    not_matched = sim.call("mobily", "TransferSim", national_id=national_id(2), msisdn=msisdn(1), operator="mobily",
                           channel=simpb.CHANNEL_STORE, captures=[capture(901)], idempotency_key="t-1")
    assert not_matched.reason == simpb.REASON_NOT_MATCHED
    moved = sim.call("mobily", "TransferSim", national_id=national_id(2), msisdn=msisdn(1), operator="mobily",
                     channel=simpb.CHANNEL_STORE, captures=[capture(2)], idempotency_key="t-2")
    assert moved.decision == simpb.DECISION_APPROVED and moved.registration_id != first.registration_id
    old = sim.call("admin", "ListSims", national_id=national_id(1)).sims
    new = sim.call("admin", "ListSims", national_id=national_id(2)).sims
    assert [(s.active, s.deactivated_at_unix_ms > 0) for s in old] == [(False, True)]
    assert [(s.msisdn, s.active, s.sim_type) for s in new] == [("+966500000001", True, simpb.SIM_TYPE_PREPAID)]
    assert _code(lambda: sim.call("zain", "TransferSim", national_id=national_id(3), msisdn=msisdn(1),
                                  operator="zain", channel=simpb.CHANNEL_STORE, captures=[capture(3)],
                                  idempotency_key="t-3")) == grpc.StatusCode.NOT_FOUND
    assert sim.call("mobily", "DeactivateSim", msisdn="+966500000001").registration_id == moved.registration_id
    assert _code(lambda: sim.call("mobily", "DeactivateSim", msisdn=msisdn(1))) == grpc.StatusCode.NOT_FOUND
    # the number is free again
    assert sim.register("zain", national_id(3), msisdn(1), 3).decision == simpb.DECISION_APPROVED
    kinds = sorted(m["kind"] for m in sim.wait_sms(4))
    assert kinds == ["deactivate", "register", "register", "transfer"]


def test_audit_and_outbox_queries_filter_and_page(sim):
    sim.register("mobily", national_id(1), msisdn(1), 1)
    sim.register("zain", national_id(1), msisdn(2), 1, channel=simpb.CHANNEL_KIOSK)
    sim.register("zain", national_id(1), msisdn(3), 900, channel=simpb.CHANNEL_KIOSK)
    everything = sim.call("admin", "ListAudit").entries
    assert [e.seq for e in everything] == sorted(e.seq for e in everything) and len(everything) == 3
    assert [e.operator for e in sim.call("admin", "ListAudit", operator="zain").entries] == ["zain", "zain"]
    assert len(sim.call("admin", "ListAudit", channel=simpb.CHANNEL_KIOSK).entries) == 2
    refused = sim.call("admin", "ListAudit", reason=simpb.REASON_NOT_MATCHED).entries
    assert [(e.decision, e.msisdn_masked) for e in refused] == [(simpb.DECISION_REFUSED, "+9*********03")]
    page = sim.call("admin", "ListAudit", after_seq=everything[0].seq, limit=1).entries
    assert [e.seq for e in page] == [everything[1].seq]
    for bad in (dict(limit=1001), dict(action="drop"), dict(after_seq=-1)):
        with pytest.raises(grpc.RpcError) as caught:
            sim.call("admin", "ListAudit", **bad)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    sim.wait_delivered(2)
    assert {m.status for m in sim.call("admin", "ListOutbox", status="delivered").messages} == {"delivered"}
    assert len(sim.call("admin", "ListOutbox", limit=1).messages) == 1
    with pytest.raises(grpc.RpcError) as caught:
        sim.call("admin", "ListOutbox", status="lost")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
