"""The registration flow: scope, idempotency, capture quality, OTP, fraud check (1:N),
verification (1:1, fused, at the operator's FMR), policy limits, binding, SMS and audit.

Matching uses the service's in-process :class:`server.core.Core` (no network hop). Every final
decision is committed in ONE transaction with its effects: the binding, the queued SMS, the
audit entry, a fraud case, and the reply stored under ``(operator, idempotency key)``; a retry
with that key returns the stored reply and changes nothing. ``POOR_QUALITY`` and
``OTP_REQUIRED`` are not final (recapture, or confirm a code, then retry with the same key):
they are audited but not stored under the key.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from matcher import DuplicateIdError, FingerPosition, Template, UnknownIdError
from server.core import Core
from server.errors import FailedPreconditionError, NotReadyError, PermissionDeniedError
from server.metrics import Metrics
from server.sim import audit, otp, outbox
from server.sim.audit import Actor
from server.sim.bindings import BINDING_COLUMNS, binding_row
from server.sim.outbox import OutboxWorker
from server.sim.policy import SimPolicy
from server.sim.scope import check_registration_scope
from server.storage import Store
from server.storage.sql import Cursor, utc_now

__all__ = ["SimFlow", "Registration", "Outcome", "IdempotencyConflictError", "CHANNELS", "SIM_TYPES", "REASONS"]

log = logging.getLogger(__name__)

CHANNELS = ("store", "kiosk", "online", "delegate")
SIM_TYPES = ("prepaid", "postpaid", "data")
REASONS = ("VERIFIED", "NOT_MATCHED", "POOR_QUALITY", "LIMIT_REACHED", "MSISDN_TAKEN", "NOT_ENROLLED",
           "FRAUD_SUSPECTED", "OTP_REQUIRED")


class IdempotencyConflictError(DuplicateIdError):
    """The idempotency key was used before with a different request (ALREADY_EXISTS)."""


@dataclass(frozen=True)
class Registration:
    """A validated RegisterSim (or, with ``transfer``, TransferSim) request.

    ``digest`` is the SHA-256 of the request's canonical bytes: it tells a retry (same digest)
    from a reuse of the key for another request.
    """

    subject: str
    msisdn: str
    operator: str
    sim_type: str
    channel: str
    captures: tuple[tuple[FingerPosition, Template], ...]
    key: str
    digest: str
    otp_id: str = ""
    transfer: bool = False


@dataclass(frozen=True)
class Outcome:
    """The reply of a registration: ``decision`` approved/refused/retry and a reason of :data:`REASONS`."""

    decision: str
    reason: str
    score: float = 0.0
    registration_id: str = ""
    detail: str = ""
    fraud_flag_id: str = ""
    msisdn: str = ""
    replayed: bool = False


class _Replay(Exception):
    """Another request with the same key committed first: roll back and return its reply."""


class _Transient(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def _for_update(cur: Cursor) -> str:
    return " FOR UPDATE" if cur.dialect == "postgresql" else ""


class SimFlow:
    """The SIM-registration operations over the store and the biometric core.

    Parameters
    ----------
    store : Store
    core : Core
        The running service's core (gallery, 1:1 and 1:N matching).
    metrics : Metrics
    policy : SimPolicy
    worker : OutboxWorker, optional
        Notified after each commit that queued an SMS.
    after_commit : callable, optional
        Called with the operation name right after a registration committed, before the reply
        (the test-only fault hook of :mod:`server.config`).
    """

    def __init__(self, store: Store, core: Core, metrics: Metrics, policy: SimPolicy, *,
                 worker: OutboxWorker | None = None, after_commit: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.core = core
        self.metrics = metrics
        self.policy = policy
        self.worker = worker
        self._after_commit = after_commit

    # -- scope ---------------------------------------------------------------------------------

    def check_scope(self, actor: Actor, operator: str, channel: str, subject: str) -> None:
        """PERMISSION_DENIED unless ``actor`` may register for ``operator`` through ``channel``."""
        check_registration_scope(self.store, actor, operator, channel, subject)

    def enrolled(self, subject: str) -> bool:
        if not self.core.ready:
            raise NotReadyError("the service is not ready (gallery loading or shutting down); retry later")
        return subject in self.core.gallery

    # -- registration --------------------------------------------------------------------------

    def register(self, actor: Actor, req: Registration) -> Outcome:
        """Run the flow for a RegisterSim/TransferSim request; see the module docstring."""
        self.check_scope(actor, req.operator, req.channel, req.subject)
        stored = self._stored(req)
        if stored is not None:
            return stored
        operation = "transfer" if req.transfer else "register"
        enrolled = self.enrolled(req.subject)
        for i, (_, template) in enumerate(req.captures):
            if template.image_quality < self.policy.min_image_quality or len(template) < self.policy.min_minutiae:
                return self._transient(actor, req, Outcome(
                    "retry", "POOR_QUALITY", detail=f"capture {i}: image quality {template.image_quality} "
                    f"(floor {self.policy.min_image_quality}), {len(template)} minutiae "
                    f"(floor {self.policy.min_minutiae}); capture the finger again"))
        if req.channel == "online" and not otp.usable(self.store, self.policy, otp_id=req.otp_id,
                                                      subject=req.subject, msisdn=req.msisdn, operator=req.operator):
            return self._transient(actor, req, Outcome(
                "retry", "OTP_REQUIRED", detail="the online channel needs a confirmed, unused one-time code "
                "for this national id, MSISDN and operator (RequestOtp, ConfirmOtp)"))
        if not enrolled:
            return self._final(actor, req, lambda cur: Outcome("refused", "NOT_ENROLLED",
                                                               detail="the national id has no enrolled fingers"))
        suspect = self._fraud_check(req)
        if suspect is not None:
            matched, score = suspect
            self.metrics.sim_fraud_flags_total.inc()

            def flag(cur: Cursor) -> Outcome:
                flag_id = uuid.uuid4().hex
                cur.execute("INSERT INTO sim_fraud_flags (id, at, operator, channel, claimed_subject, matched_subject, "
                            "score, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'open')",
                            (flag_id, utc_now(), req.operator, req.channel, req.subject, matched, score))
                return Outcome("refused", "FRAUD_SUSPECTED", detail="a capture matches another enrolled person; "
                               "the registration was flagged for review", fraud_flag_id=flag_id)
            return self._final(actor, req, flag)
        result = self.core.verify(req.subject, list(req.captures), fmr=self.policy.fmr_for(req.operator))
        if not result.match:
            return self._final(actor, req, lambda cur: Outcome(
                "refused", "NOT_MATCHED", score=result.score,
                detail=f"score below the threshold of FMR {result.fmr:g}"))
        outcome = self._final(actor, req, lambda cur: self._bind(cur, actor, req, result.score))
        if not outcome.replayed:
            if self._after_commit is not None:
                self._after_commit(operation)
            if self.worker is not None:
                self.worker.notify()
        return outcome

    def _fraud_check(self, req: Registration) -> tuple[str, float] | None:
        """The best other subject that a capture identifies at the fraud FMR, if any."""
        if not self.policy.fraud_check:
            return None
        best: tuple[str, float] | None = None
        for position, template in req.captures:
            found = self.core.identify({position: template}, k=5, max_fmr=self.policy.fraud_fmr)
            for candidate in found.candidates:
                if candidate.subject != req.subject and (best is None or candidate.score > best[1]):
                    best = (candidate.subject, float(candidate.score))
        return best

    def _bind(self, cur: Cursor, actor: Actor, req: Registration, score: float) -> Outcome:
        """The binding step of a verified request, inside the decision's transaction."""
        policy = self.policy
        if cur.dialect == "postgresql":  # serialise a subject's registrations: the limits count its bindings
            cur.execute("SELECT subject FROM subjects WHERE subject = ? FOR UPDATE", (req.subject,))
        cur.execute(f"SELECT {BINDING_COLUMNS} FROM sim_bindings WHERE msisdn = ? AND active = 1" + _for_update(cur),
                    (req.msisdn,))
        row = cur.fetchone()
        current = binding_row(row) if row is not None else None
        now = utc_now()
        kind = "transfer" if req.transfer else "register"
        if req.transfer:
            if current is None or current.operator != req.operator:
                raise UnknownIdError(f"the MSISDN has no active binding with operator {req.operator!r}")
            if current.subject == req.subject:
                raise FailedPreconditionError("the MSISDN is already bound to this subject; nothing to transfer")
            if req.channel == "delegate" and current.business != actor.business:
                raise PermissionDeniedError(f"the MSISDN was not registered through business {actor.business}")
        elif current is not None:
            if current.subject != req.subject or current.operator != req.operator:
                return Outcome("refused", "MSISDN_TAKEN", score=score, msisdn=req.msisdn,
                               detail="the MSISDN is actively bound to another holder or operator")
            cur.execute("UPDATE sim_bindings SET verified_at = ? WHERE id = ?", (now, current.id))
            self._queue(cur, "reverify", current.id, req)
            return Outcome("approved", "VERIFIED", score=score, registration_id=current.id, msisdn=req.msisdn,
                           detail="existing binding re-verified")
        cur.execute("SELECT operator, COUNT(*) FROM sim_bindings WHERE subject = ? AND active = 1 GROUP BY operator",
                    (req.subject,))
        counts = {op: int(n) for op, n in cur.fetchall()}
        if sum(counts.values()) >= policy.max_active_sims_total:
            return Outcome("refused", "LIMIT_REACHED", score=score, msisdn=req.msisdn,
                           detail=f"the subject holds {policy.max_active_sims_total} active SIMs, the maximum in total")
        limit = policy.max_sims_for(req.operator)
        if counts.get(req.operator, 0) >= limit:
            return Outcome("refused", "LIMIT_REACHED", score=score, msisdn=req.msisdn,
                           detail=f"the subject holds {limit} active SIMs with {req.operator}, the operator maximum")
        sim_type = req.sim_type
        if req.transfer:
            assert current is not None
            sim_type = current.sim_type
            cur.execute("UPDATE sim_bindings SET active = 0, deactivated_at = ? WHERE id = ?", (now, current.id))
        registration_id = uuid.uuid4().hex
        cur.execute("INSERT INTO sim_bindings (id, msisdn, subject, operator, sim_type, channel, business, active, "
                    "created_at, verified_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT (msisdn) WHERE active = 1 DO NOTHING RETURNING id",
                    (registration_id, req.msisdn, req.subject, req.operator, sim_type, req.channel,
                     actor.business if req.channel == "delegate" else "", now, now))
        if cur.fetchone() is None:  # a concurrent registration of the MSISDN committed first
            return Outcome("refused", "MSISDN_TAKEN", score=score, msisdn=req.msisdn,
                           detail="the MSISDN is actively bound to another holder or operator")
        if req.channel == "online" and not otp.consume(cur, policy, otp_id=req.otp_id, subject=req.subject,
                                                       msisdn=req.msisdn, operator=req.operator):
            raise _Transient(Outcome("retry", "OTP_REQUIRED", detail="the one-time code was used or expired "
                                     "meanwhile; request a new one"))
        self._queue(cur, kind, registration_id, req)
        return Outcome("approved", "VERIFIED", score=score, registration_id=registration_id, msisdn=req.msisdn)

    @staticmethod
    def _queue(cur: Cursor, kind: str, ref: str, req: Registration) -> None:
        text_ar, text_en = outbox.texts(kind, msisdn=req.msisdn, operator=req.operator, ref=ref)
        outbox.enqueue(cur, kind, ref, req.msisdn, text_ar, text_en)

    # -- idempotency and recording -------------------------------------------------------------

    def _stored(self, req: Registration) -> Outcome | None:
        with self.store.transaction(readonly=True) as cur:
            cur.execute("SELECT request_sha256, reply FROM sim_idempotency WHERE operator = ? AND key = ?",
                        (req.operator, req.key))
            row = cur.fetchone()
        if row is None:
            return None
        if row[0] != req.digest:
            raise IdempotencyConflictError("the idempotency key was already used with a different request; "
                                           "use a new key for a new request")
        return replace(Outcome(**json.loads(row[1])), replayed=True)

    def _final(self, actor: Actor, req: Registration, decide: Callable[[Cursor], Outcome]) -> Outcome:
        """Commit a final decision with its effects, audit entry and stored reply, atomically."""
        operation = "transfer" if req.transfer else "register"
        try:
            with self.store.transaction() as cur:
                outcome = replace(decide(cur), msisdn=req.msisdn)
                self._audit(cur, actor, req, outcome)
                cur.execute("INSERT INTO sim_idempotency (operator, key, request_sha256, reply, created_at) "
                            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (operator, key) DO NOTHING RETURNING key",
                            (req.operator, req.key, req.digest, json.dumps(asdict(outcome)), utc_now()))
                if cur.fetchone() is None:
                    raise _Replay()
        except _Replay:
            stored = self._stored(req)
            assert stored is not None, "the conflicting reply is committed"
            return stored
        except _Transient as transient:
            return self._transient(actor, req, transient.outcome)
        self.metrics.sim_registrations_total.labels(operation, req.channel, outcome.decision, outcome.reason).inc()
        return outcome

    def _transient(self, actor: Actor, req: Registration, outcome: Outcome) -> Outcome:
        outcome = replace(outcome, msisdn=req.msisdn)
        with self.store.transaction() as cur:
            self._audit(cur, actor, req, outcome)
        self.metrics.sim_registrations_total.labels("transfer" if req.transfer else "register", req.channel,
                                                    outcome.decision, outcome.reason).inc()
        return outcome

    @staticmethod
    def _audit(cur: Cursor, actor: Actor, req: Registration, outcome: Outcome) -> None:
        audit.append(cur, actor, "transfer" if req.transfer else "register", operator=req.operator,
                     channel=req.channel, subject=req.subject, msisdn=req.msisdn, decision=outcome.decision,
                     reason=outcome.reason, registration_id=outcome.registration_id)
