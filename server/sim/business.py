"""Businesses, their authorized delegates ("مفوض") and users, and the delegate's scope.

A delegate principal (principals file: role ``delegate``, ``business`` = the commercial
registration number) may act once an admin registered it as a delegate of that business, tied
to the delegate's own enrolled (fingerprint-verified) national id; it may register and
re-verify SIMs only of the users an admin added to that business, and list their status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matcher import UnknownIdError
from server.auth import Principal
from server.errors import FailedPreconditionError, PermissionDeniedError
from server.sim import audit
from server.sim.audit import Actor
from server.sim.bindings import BINDING_COLUMNS, BindingRow, binding_row
from server.sim.scope import check_delegate_scope
from server.storage import Store
from server.storage.sql import Cursor, utc_now

__all__ = ["register_business", "register_delegate", "add_user", "list_users", "BusinessUser"]

@dataclass(frozen=True)
class BusinessUser:
    subject: str
    enrolled: bool
    sims: tuple[BindingRow, ...]


def _require_business(cur: Cursor, cr_number: str) -> None:
    cur.execute("SELECT 1 FROM sim_businesses WHERE cr_number = ?", (cr_number,))
    if cur.fetchone() is None:
        raise UnknownIdError(f"no business with commercial registration {cr_number}")


def register_business(store: Store, actor: Actor, cr_number: str, name: str) -> bool:
    """Create the business (False when it exists already)."""
    with store.transaction() as cur:
        cur.execute("INSERT INTO sim_businesses (cr_number, name, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (cr_number) DO NOTHING RETURNING cr_number", (cr_number, name, utc_now()))
        created = cur.fetchone() is not None
        audit.append(cur, actor, "business", decision="created" if created else "exists")
    return created


def register_delegate(store: Store, actor: Actor, cr_number: str, subject: str, principal: str, *,
                      enrolled: Callable[[str], bool], find_principal: Callable[[str], Principal | None]) -> bool:
    """Make ``principal`` (the enrolled subject ``subject``) a delegate of the business."""
    found = find_principal(principal)
    if found is None or "delegate" not in found.roles or found.business != cr_number:
        raise FailedPreconditionError(f"principal {principal!r} must exist with the delegate role and business "
                                      f"{cr_number} in the principals file")
    if not enrolled(subject):
        raise FailedPreconditionError("a delegate must be an enrolled, fingerprint-verified subject")
    with store.transaction() as cur:
        _require_business(cur, cr_number)
        cur.execute("INSERT INTO sim_delegates (business, principal, subject, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (business, principal) DO NOTHING RETURNING principal",
                    (cr_number, principal, subject, utc_now()))
        created = cur.fetchone() is not None
        audit.append(cur, actor, "delegate", subject=subject, decision="created" if created else "exists")
    return created


def add_user(store: Store, actor: Actor, cr_number: str, subject: str) -> bool:
    """Add ``subject`` to the business's users (False when already there)."""
    with store.transaction() as cur:
        _require_business(cur, cr_number)
        cur.execute("INSERT INTO sim_business_users (business, subject, created_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (business, subject) DO NOTHING RETURNING subject", (cr_number, subject, utc_now()))
        created = cur.fetchone() is not None
        audit.append(cur, actor, "business_user", subject=subject, decision="created" if created else "exists")
    return created


def list_users(store: Store, actor: Actor, cr_number: str, *, enrolled: Callable[[str], bool]) -> list[BusinessUser]:
    """The business's users, whether each is enrolled, and their active SIMs registered for the business."""
    if "admin" not in actor.roles:
        if actor.business != cr_number:
            raise PermissionDeniedError(f"principal {actor.principal!r} may list only business {actor.business}")
        check_delegate_scope(store, actor)
    with store.transaction() as cur:
        _require_business(cur, cr_number)
        cur.execute("SELECT subject FROM sim_business_users WHERE business = ? ORDER BY subject", (cr_number,))
        subjects = [r[0] for r in cur.fetchall()]
        cur.execute(f"SELECT {BINDING_COLUMNS} FROM sim_bindings WHERE business = ? AND active = 1 "
                    "ORDER BY created_at", (cr_number,))
        bindings = [binding_row(r) for r in cur.fetchall()]
        audit.append(cur, actor, "business_list", decision="listed")
    by_subject: dict[str, list[BindingRow]] = {}
    for b in bindings:
        by_subject.setdefault(b.subject, []).append(b)
    return [BusinessUser(s, enrolled(s), tuple(by_subject.get(s, ()))) for s in subjects]
