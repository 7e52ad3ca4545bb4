"""The ``basma.v1.SimRegistration`` servicer: convert the request, call the flow, convert the reply.

Authentication, method roles, rate limits, request ids, metrics, logging and the mapping of
errors to status codes happen in :mod:`server.interceptors`; finer scope (operator, channel,
business) in :mod:`server.sim.flow` and :mod:`server.sim.business`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import grpc

import matcher
from server import convert
from server.auth import Principals
from server.interceptors import current_call
from server.sim import audit, bindings, business, otp, outbox
from server.sim.audit import Actor
from server.sim.bindings import BindingRow
from server.sim.flow import CHANNELS, REASONS, SIM_TYPES, Outcome, Registration, SimFlow
from server.sim.ids import (
    check_cr_number,
    check_idempotency_key,
    check_msisdn,
    check_national_id,
    check_operator,
)
from server.sim.wire import simpb, simrpc

__all__ = ["SimRegistrationServicer"]

_MAX_LIMIT = 1000
_DEFAULT_LIMIT = 100
_DECISIONS = {"approved": simpb.DECISION_APPROVED, "refused": simpb.DECISION_REFUSED, "retry": simpb.DECISION_RETRY}
_OTP_OUTCOMES = {"confirmed": simpb.OTP_OUTCOME_CONFIRMED, "wrong_code": simpb.OTP_OUTCOME_WRONG_CODE,
                 "expired": simpb.OTP_OUTCOME_EXPIRED, "too_many_attempts": simpb.OTP_OUTCOME_TOO_MANY_ATTEMPTS}


def _ms(when: datetime | None) -> int:
    return 0 if when is None else int(when.timestamp() * 1000)


def _enum_name(enum, value: int, prefix: str, allowed: tuple[str, ...], field: str) -> str:  # type: ignore[no-untyped-def]
    try:
        name = enum.Name(value).removeprefix(prefix).lower()
    except ValueError:
        name = ""
    if name not in allowed:
        raise matcher.InvalidParameterError(f"{field} must be one of {list(allowed)}, got {value}")
    return name


def channel_name(value: int) -> str:
    return _enum_name(simpb.Channel, value, "CHANNEL_", CHANNELS, "channel")


def _actor() -> Actor:
    call = current_call()
    principal = call.principal
    assert principal is not None  # current_call() guarantees an authenticated call
    return Actor(principal=principal.name, roles=principal.roles, operator=principal.operator,
                 business=principal.business, request_id=call.request_id)


def _limit(value: int) -> int:
    if value > _MAX_LIMIT:
        raise matcher.InvalidParameterError(f"limit must be 0..{_MAX_LIMIT}, got {value}")
    return value or _DEFAULT_LIMIT


def binding_message(b: BindingRow) -> simpb.SimBinding:
    return simpb.SimBinding(registration_id=b.id, msisdn=b.msisdn, operator=b.operator,
                            sim_type=simpb.SimType.Value("SIM_TYPE_" + b.sim_type.upper()),
                            channel=simpb.Channel.Value("CHANNEL_" + b.channel.upper()), active=b.active,
                            created_at_unix_ms=_ms(b.created_at), verified_at_unix_ms=_ms(b.verified_at),
                            deactivated_at_unix_ms=_ms(b.deactivated_at), business=b.business)


def outcome_message(o: Outcome) -> simpb.RegisterSimResponse:
    return simpb.RegisterSimResponse(decision=_DECISIONS[o.decision], reason=simpb.Reason.Value("REASON_" + o.reason),
                                     score=o.score, registration_id=o.registration_id, replayed=o.replayed,
                                     detail=o.detail, fraud_flag_id=o.fraud_flag_id, msisdn=o.msisdn)


class SimRegistrationServicer(simrpc.SimRegistrationServicer):
    """Thin servicer over a :class:`server.sim.flow.SimFlow`."""

    def __init__(self, flow: SimFlow, principals: Principals) -> None:
        self._flow = flow
        self._principals = principals

    def _registration(self, request, sim_type: str, transfer: bool) -> Registration:  # type: ignore[no-untyped-def]
        subject = check_national_id(request.national_id)
        msisdn = check_msisdn(request.msisdn)
        operator = check_operator(request.operator)
        channel = channel_name(request.channel)
        key = check_idempotency_key(request.idempotency_key)
        digest = hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()
        captures = convert.samples(request.captures, self._flow.core.extract, "captures", distinct=False)
        return Registration(subject=subject, msisdn=msisdn, operator=operator, sim_type=sim_type, channel=channel,
                            captures=tuple(captures), key=key, digest=digest, otp_id=request.otp_id,
                            transfer=transfer)

    def RegisterSim(self, request: simpb.RegisterSimRequest, context: grpc.ServicerContext
                    ) -> simpb.RegisterSimResponse:
        sim_type = _enum_name(simpb.SimType, request.sim_type, "SIM_TYPE_", SIM_TYPES, "sim_type")
        return outcome_message(self._flow.register(_actor(), self._registration(request, sim_type, False)))

    def TransferSim(self, request: simpb.TransferSimRequest, context: grpc.ServicerContext
                    ) -> simpb.RegisterSimResponse:
        return outcome_message(self._flow.register(_actor(), self._registration(request, "prepaid", True)))

    def ListSims(self, request: simpb.ListSimsRequest, context: grpc.ServicerContext) -> simpb.ListSimsResponse:
        rows = bindings.list_sims(self._flow.store, _actor(), check_national_id(request.national_id))
        return simpb.ListSimsResponse(sims=[binding_message(b) for b in rows])

    def DeactivateSim(self, request: simpb.DeactivateSimRequest, context: grpc.ServicerContext
                      ) -> simpb.DeactivateSimResponse:
        registration_id = bindings.deactivate(self._flow.store, _actor(), check_msisdn(request.msisdn))
        if self._flow.worker is not None:
            self._flow.worker.notify()
        return simpb.DeactivateSimResponse(registration_id=registration_id)

    def RequestOtp(self, request: simpb.RequestOtpRequest, context: grpc.ServicerContext) -> simpb.RequestOtpResponse:
        subject, msisdn = check_national_id(request.national_id), check_msisdn(request.msisdn)
        otp_id, expires = otp.request(self._flow.store, self._flow.metrics, self._flow.policy, _actor(),
                                      subject=subject, msisdn=msisdn, operator=check_operator(request.operator))
        if self._flow.worker is not None:
            self._flow.worker.notify()
        return simpb.RequestOtpResponse(otp_id=otp_id, expires_at_unix_ms=_ms(expires))

    def ConfirmOtp(self, request: simpb.ConfirmOtpRequest, context: grpc.ServicerContext) -> simpb.ConfirmOtpResponse:
        outcome, left = otp.confirm(self._flow.store, self._flow.metrics, self._flow.policy, _actor(),
                                    otp_id=request.otp_id, code=request.code)
        return simpb.ConfirmOtpResponse(outcome=_OTP_OUTCOMES[outcome], attempts_left=left)

    def RegisterBusiness(self, request: simpb.RegisterBusinessRequest, context: grpc.ServicerContext
                         ) -> simpb.RegisterBusinessResponse:
        name = request.name.strip()
        if not 1 <= len(name) <= 200:
            raise matcher.InvalidParameterError(f"name must be 1-200 characters, got {len(name)}")
        created = business.register_business(self._flow.store, _actor(), check_cr_number(request.cr_number), name)
        return simpb.RegisterBusinessResponse(created=created)

    def RegisterDelegate(self, request: simpb.RegisterDelegateRequest, context: grpc.ServicerContext
                         ) -> simpb.RegisterDelegateResponse:
        created = business.register_delegate(
            self._flow.store, _actor(), check_cr_number(request.cr_number), check_national_id(request.national_id),
            request.principal, enrolled=self._flow.enrolled, find_principal=self._principals.by_name)
        return simpb.RegisterDelegateResponse(created=created)

    def AddBusinessUser(self, request: simpb.AddBusinessUserRequest, context: grpc.ServicerContext
                        ) -> simpb.AddBusinessUserResponse:
        created = business.add_user(self._flow.store, _actor(), check_cr_number(request.cr_number),
                                    check_national_id(request.national_id))
        return simpb.AddBusinessUserResponse(created=created)

    def ListBusinessUsers(self, request: simpb.ListBusinessUsersRequest, context: grpc.ServicerContext
                          ) -> simpb.ListBusinessUsersResponse:
        users = business.list_users(self._flow.store, _actor(), check_cr_number(request.cr_number),
                                    enrolled=self._flow.enrolled)
        return simpb.ListBusinessUsersResponse(users=[
            simpb.BusinessUser(national_id=u.subject, enrolled=u.enrolled, sims=[binding_message(b) for b in u.sims])
            for u in users])

    def ListAudit(self, request: simpb.ListAuditRequest, context: grpc.ServicerContext) -> simpb.ListAuditResponse:
        if request.action and request.action not in audit.ACTIONS:
            raise matcher.InvalidParameterError(f"action must be one of {list(audit.ACTIONS)}, got {request.action!r}")
        channel = channel_name(request.channel) if request.channel else ""
        reason = ""
        if request.reason:
            reason = _enum_name(simpb.Reason, request.reason, "REASON_", tuple(r.lower() for r in REASONS),
                                "reason").upper()
        if request.after_seq < 0:
            raise matcher.InvalidParameterError(f"after_seq must be >= 0, got {request.after_seq}")
        entries = audit.query(self._flow.store, action=request.action, operator=request.operator, channel=channel,
                              reason=reason, after_seq=request.after_seq, limit=_limit(request.limit))
        return simpb.ListAuditResponse(entries=[simpb.AuditEntry(
            seq=e.seq, at_unix_ms=_ms(e.at), action=e.action, principal=e.principal, operator=e.operator,
            business=e.business, channel=simpb.Channel.Value("CHANNEL_" + e.channel.upper()) if e.channel else 0,
            national_id_masked=e.national_id_masked, msisdn_masked=e.msisdn_masked,
            decision=_DECISIONS.get(e.decision, simpb.DECISION_UNSPECIFIED),
            reason=simpb.Reason.Value("REASON_" + e.reason) if e.reason in REASONS else simpb.REASON_UNSPECIFIED,
            registration_id=e.registration_id, request_id=e.request_id) for e in entries])

    def ListOutbox(self, request: simpb.ListOutboxRequest, context: grpc.ServicerContext) -> simpb.ListOutboxResponse:
        if request.status not in ("", "pending", "delivered"):
            raise matcher.InvalidParameterError(f"status must be pending, delivered or empty, got {request.status!r}")
        messages = outbox.list_messages(self._flow.store, status=request.status, limit=_limit(request.limit))
        return simpb.ListOutboxResponse(messages=[simpb.OutboxMessage(
            id=m["id"], kind=m["kind"], msisdn_masked=m["msisdn_masked"], text_ar=m["text_ar"], text_en=m["text_en"],
            status=m["status"], attempts=m["attempts"], created_at_unix_ms=_ms(m["created_at"]),  # type: ignore[arg-type]
            delivered_at_unix_ms=_ms(m["delivered_at"])) for m in messages])  # type: ignore[arg-type]
