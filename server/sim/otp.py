"""One-time codes of the online channel: request (code sent through the outbox), confirm (expiry,
attempt limit), and consumption by exactly one online registration.

Only a salted SHA-256 of the code is stored; the code itself exists in the queued SMS alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import datetime, timedelta

from matcher import InvalidParameterError, UnknownIdError
from server.errors import PermissionDeniedError
from server.metrics import Metrics
from server.sim import audit, outbox
from server.sim.audit import Actor
from server.sim.policy import SimPolicy
from server.storage import Store
from server.storage.sql import Cursor, as_datetime, utc_now

__all__ = ["request", "confirm", "usable", "consume", "OUTCOMES", "CODE_DIGITS"]

CODE_DIGITS = 6
#: ConfirmOtp outcomes.
OUTCOMES = ("confirmed", "wrong_code", "expired", "too_many_attempts")
_CODE = re.compile(r"^[0-9]{4,10}$")
_OTP_ID = re.compile(r"^[0-9a-f]{32}$")


def _digest(otp_id: str, code: str) -> str:
    return hashlib.sha256(f"{otp_id}:{code}".encode()).hexdigest()


def _for_update(cur: Cursor) -> str:
    return " FOR UPDATE" if cur.dialect == "postgresql" else ""


def check_otp_id(value: str) -> str:
    if not _OTP_ID.match(value or ""):
        raise InvalidParameterError("otp_id must be the 32 hex digits RequestOtp returned")
    return value


def request(store: Store, metrics: Metrics, policy: SimPolicy, actor: Actor, *, subject: str, msisdn: str,
            operator: str) -> tuple[str, datetime]:
    """Create a code for (subject, msisdn, operator) and queue its SMS; returns ``(otp_id, expires_at)``."""
    if actor.operator != operator:
        raise PermissionDeniedError(f"principal {actor.principal!r} acts for operator {actor.operator!r}, "
                                    f"not {operator!r}")
    otp_id = uuid.uuid4().hex
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    now = utc_now()
    expires = now + timedelta(seconds=policy.otp_ttl_seconds)
    minutes = max(1, round(policy.otp_ttl_seconds / 60))
    text_ar, text_en = outbox.texts("otp", msisdn=msisdn, operator=operator, code=code, minutes=minutes)
    with store.transaction() as cur:
        cur.execute("INSERT INTO sim_otp (id, subject, msisdn, operator, code_sha256, status, attempts, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    (otp_id, subject, msisdn, operator, _digest(otp_id, code), now, expires))
        outbox.enqueue(cur, "otp", otp_id, msisdn, text_ar, text_en)
        audit.append(cur, actor, "otp_request", operator=operator, channel="online", subject=subject,
                     msisdn=msisdn, decision="sent")
    metrics.sim_otp_total.labels("requested").inc()
    return otp_id, expires


def confirm(store: Store, metrics: Metrics, policy: SimPolicy, actor: Actor, *, otp_id: str, code: str
            ) -> tuple[str, int]:
    """Check ``code``; returns ``(outcome, attempts_left)`` with outcome one of :data:`OUTCOMES`.

    Raises
    ------
    InvalidParameterError
        A malformed id or code (no attempt is used).
    UnknownIdError
        No such code.
    PermissionDeniedError
        The code was requested by another operator.
    """
    check_otp_id(otp_id)
    if not _CODE.match(code or ""):
        raise InvalidParameterError("code must be 4-10 digits")
    now = utc_now()
    with store.transaction() as cur:
        cur.execute("SELECT subject, msisdn, operator, code_sha256, status, attempts, expires_at FROM sim_otp "
                    "WHERE id = ?" + _for_update(cur), (otp_id,))
        row = cur.fetchone()
        if row is None:
            raise UnknownIdError("no one-time code with this otp_id")
        subject, msisdn, operator, digest, status, attempts, expires = row
        if operator != actor.operator:
            raise PermissionDeniedError(f"this one-time code belongs to another operator than {actor.operator!r}")
        attempts = int(attempts)
        if status in ("confirmed", "used"):
            outcome = "confirmed" if hmac.compare_digest(digest, _digest(otp_id, code)) else "wrong_code"
        elif status == "failed":
            outcome = "too_many_attempts"
        elif status == "expired" or now >= as_datetime(expires):
            outcome = "expired"
            cur.execute("UPDATE sim_otp SET status = 'expired' WHERE id = ?", (otp_id,))
        elif hmac.compare_digest(digest, _digest(otp_id, code)):
            outcome = "confirmed"
            cur.execute("UPDATE sim_otp SET status = 'confirmed', confirmed_at = ? WHERE id = ?", (now, otp_id))
        else:
            attempts += 1
            failed = attempts >= policy.otp_max_attempts
            outcome = "too_many_attempts" if failed else "wrong_code"
            cur.execute("UPDATE sim_otp SET attempts = ?, status = ? WHERE id = ?",
                        (attempts, "failed" if failed else "pending", otp_id))
        audit.append(cur, actor, "otp_confirm", operator=operator, channel="online", subject=subject, msisdn=msisdn,
                     decision="confirmed" if outcome == "confirmed" else "refused", reason=outcome.upper())
    metrics.sim_otp_total.labels(outcome).inc()
    left = 0 if outcome in ("expired", "too_many_attempts") else max(0, policy.otp_max_attempts - attempts)
    return outcome, left


def _usable_sql(cur: Cursor) -> str:
    return ("FROM sim_otp WHERE id = ? AND status = 'confirmed' AND subject = ? AND msisdn = ? AND operator = ? "
            "AND confirmed_at >= ?")


def usable(store: Store, policy: SimPolicy, *, otp_id: str, subject: str, msisdn: str, operator: str) -> bool:
    """Whether ``otp_id`` is confirmed, unused and recent, for this subject, MSISDN and operator."""
    if not _OTP_ID.match(otp_id or ""):
        return False
    since = utc_now() - timedelta(seconds=policy.otp_session_seconds)
    with store.transaction(readonly=True) as cur:
        cur.execute("SELECT 1 " + _usable_sql(cur), (otp_id, subject, msisdn, operator, since))
        return cur.fetchone() is not None


def consume(cur: Cursor, policy: SimPolicy, *, otp_id: str, subject: str, msisdn: str, operator: str) -> bool:
    """Mark the code used inside the registration's transaction; False when it is no longer usable."""
    since = utc_now() - timedelta(seconds=policy.otp_session_seconds)
    cur.execute("UPDATE sim_otp SET status = 'used' WHERE id IN (SELECT id " + _usable_sql(cur) + ")",
                (otp_id, subject, msisdn, operator, since))
    return cur.rowcount == 1
