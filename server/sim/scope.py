"""Who may act for which operator, channel and business (beyond the method roles of
:mod:`server.auth`); every refusal is a :class:`PermissionDeniedError`."""

from __future__ import annotations

from server.errors import PermissionDeniedError
from server.sim.audit import Actor
from server.storage import Store

__all__ = ["check_registration_scope", "check_delegate_scope"]


def check_registration_scope(store: Store, actor: Actor, operator: str, channel: str, subject: str) -> None:
    """May ``actor`` register (or transfer) a SIM of ``subject`` for ``operator`` through ``channel``?

    Store, kiosk and online need the operator role, the delegate channel the delegate role; the
    operator must be the principal's own; a delegate must be registered for its business and
    the subject one of the business's users.
    """
    if channel == "delegate":
        if "delegate" not in actor.roles:
            raise PermissionDeniedError("the delegate channel needs the delegate role")
    elif "operator" not in actor.roles:
        raise PermissionDeniedError(f"the {channel} channel needs the operator role")
    if actor.operator != operator:
        raise PermissionDeniedError(f"principal {actor.principal!r} acts for operator {actor.operator!r}, "
                                    f"not {operator!r}")
    if channel == "delegate":
        check_delegate_scope(store, actor, subject)


def check_delegate_scope(store: Store, actor: Actor, subject: str | None = None) -> None:
    """PERMISSION_DENIED unless the caller is a registered delegate of its business (and, with
    ``subject``, that subject is one of the business's users)."""
    if not actor.business:
        raise PermissionDeniedError(f"principal {actor.principal!r} carries no business")
    with store.transaction(readonly=True) as cur:
        cur.execute("SELECT 1 FROM sim_delegates WHERE business = ? AND principal = ?",
                    (actor.business, actor.principal))
        if cur.fetchone() is None:
            raise PermissionDeniedError(f"principal {actor.principal!r} is not a registered delegate of business "
                                        f"{actor.business}")
        if subject is not None:
            cur.execute("SELECT 1 FROM sim_business_users WHERE business = ? AND subject = ?", (actor.business, subject))
            if cur.fetchone() is None:
                raise PermissionDeniedError(f"the subject is not a user of business {actor.business}")
