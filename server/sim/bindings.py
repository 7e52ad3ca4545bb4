"""Stored SIM bindings: their row type, and listing and deactivation.

Registration and transfer, which create bindings, are in :mod:`server.sim.flow`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from matcher import UnknownIdError
from server.errors import PermissionDeniedError
from server.sim import audit, outbox
from server.sim.audit import Actor
from server.sim.scope import check_delegate_scope
from server.storage import Store
from server.storage.sql import Cursor, as_datetime, utc_now

__all__ = ["BindingRow", "BINDING_COLUMNS", "binding_row", "list_sims", "deactivate"]

BINDING_COLUMNS = ("id, msisdn, subject, operator, sim_type, channel, business, active, created_at, verified_at, "
                   "deactivated_at")


@dataclass(frozen=True)
class BindingRow:
    """One stored SIM binding."""

    id: str
    msisdn: str
    subject: str
    operator: str
    sim_type: str
    channel: str
    business: str
    active: bool
    created_at: datetime
    verified_at: datetime
    deactivated_at: datetime | None


def binding_row(row: tuple) -> BindingRow:  # type: ignore[type-arg]
    return BindingRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]), as_datetime(row[8]),
                      as_datetime(row[9]), as_datetime(row[10]) if row[10] is not None else None)


def _for_update(cur: Cursor) -> str:
    return " FOR UPDATE" if cur.dialect == "postgresql" else ""


def list_sims(store: Store, actor: Actor, subject: str) -> list[BindingRow]:
    """The subject's bindings visible to ``actor``, newest first: admins all, operators their
    own operator's, delegates (for a user of their business) those registered through it."""
    sql = f"SELECT {BINDING_COLUMNS} FROM sim_bindings WHERE subject = ?"
    params: list[str] = [subject]
    if "admin" not in actor.roles:
        if "operator" in actor.roles:
            sql += " AND operator = ?"
            params.append(actor.operator)
        else:
            check_delegate_scope(store, actor, subject)
            sql += " AND business = ?"
            params.append(actor.business)
    with store.transaction() as cur:
        cur.execute(sql + " ORDER BY created_at DESC, id", params)
        rows = [binding_row(r) for r in cur.fetchall()]
        audit.append(cur, actor, "list", subject=subject, decision="listed")
    return rows


def deactivate(store: Store, actor: Actor, msisdn: str) -> str:
    """End the active binding of ``msisdn`` (operators: their own only) and queue an SMS; returns its id."""
    with store.transaction() as cur:
        cur.execute(f"SELECT {BINDING_COLUMNS} FROM sim_bindings WHERE msisdn = ? AND active = 1" + _for_update(cur),
                    (msisdn,))
        row = cur.fetchone()
        if row is None:
            raise UnknownIdError("the MSISDN has no active binding")
        binding = binding_row(row)
        if "admin" not in actor.roles and binding.operator != actor.operator:
            raise PermissionDeniedError(f"the MSISDN is bound with another operator than {actor.operator!r}")
        cur.execute("UPDATE sim_bindings SET active = 0, deactivated_at = ? WHERE id = ?", (utc_now(), binding.id))
        text_ar, text_en = outbox.texts("deactivate", msisdn=msisdn, operator=binding.operator, ref=binding.id)
        outbox.enqueue(cur, "deactivate", binding.id, msisdn, text_ar, text_en)
        audit.append(cur, actor, "deactivate", operator=binding.operator, channel=binding.channel,
                     subject=binding.subject, msisdn=msisdn, decision="deactivated", registration_id=binding.id)
    return binding.id
