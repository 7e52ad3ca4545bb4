"""The append-only audit log of the SIM flow: who did what, when, through which channel, and
with which result. National ids and MSISDNs are stored masked; no fingerprint data is written.

The only write is :func:`append` (an INSERT inside the transaction of the decision it records);
the database refuses UPDATE and DELETE on the table (triggers of migration 0002).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.sim.ids import mask_id
from server.storage import Store
from server.storage.sql import Cursor, as_datetime, utc_now

__all__ = ["Actor", "AuditEntry", "append", "query", "ACTIONS"]

ACTIONS = ("register", "transfer", "deactivate", "list", "otp_request", "otp_confirm", "business",
           "delegate", "business_user", "business_list")


@dataclass(frozen=True)
class Actor:
    """The caller of a SIM operation, as the servicer learned it from the interceptors."""

    principal: str
    roles: frozenset[str]
    operator: str = ""
    business: str = ""
    request_id: str = ""


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    action: str
    principal: str
    operator: str
    business: str
    channel: str
    national_id_masked: str
    msisdn_masked: str
    decision: str
    reason: str
    registration_id: str
    request_id: str


def append(cur: Cursor, actor: Actor, action: str, *, operator: str = "", channel: str = "", subject: str = "",
           msisdn: str = "", decision: str = "", reason: str = "", registration_id: str = "") -> None:
    """Record one decision inside the caller's transaction (ids masked here)."""
    cur.execute("INSERT INTO sim_audit (at, action, principal, operator, business, channel, subject_masked, "
                "msisdn_masked, decision, reason, registration_id, request_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (utc_now(), action, actor.principal, operator or actor.operator, actor.business, channel,
                 mask_id(subject), mask_id(msisdn), decision, reason, registration_id, actor.request_id))


def query(store: Store, *, action: str = "", operator: str = "", channel: str = "", reason: str = "",
          after_seq: int = 0, limit: int = 100) -> list[AuditEntry]:
    """Entries matching every non-empty filter, with ``seq > after_seq``, oldest first."""
    where, params = ["seq > ?"], [after_seq]
    for column, value in (("action", action), ("operator", operator), ("channel", channel), ("reason", reason)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    with store.transaction(readonly=True) as cur:
        cur.execute("SELECT seq, at, action, principal, operator, business, channel, subject_masked, msisdn_masked, "
                    f"decision, reason, registration_id, request_id FROM sim_audit WHERE {' AND '.join(where)} "
                    "ORDER BY seq LIMIT ?", (*params, limit))
        rows = cur.fetchall()
    return [AuditEntry(int(r[0]), as_datetime(r[1]), *r[2:]) for r in rows]
