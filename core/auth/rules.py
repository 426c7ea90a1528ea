"""Row-level rules: which rows an actor may read, on which it may act, and which roles fit which organization.

Every service checks its rows through these predicates (never the UI alone):

* **read** — an enterprise user reads only its own enterprise; institution staff (banks, guarantors,
  insurers, lessors) read only their own institution's family — its head office and every branch
  under it; regulators and the operator (``Permission.oversight``) read every row, read-only;
* **act** — writes on an enterprise's or an institution's business rows are for that enterprise's
  users and that institution family's staff only. Oversight grants no write: regulators act only in
  oversight workflows (user administration, rule publication …), which check their own permission;
* **fit** — a role is granted only to a user of an organization of a fitting kind
  (``ROLE_ORG_KINDS``): enterprise roles in enterprises, institution roles in institutions,
  regulator and operator roles in regulators and the operator; ``system`` never.

Helpers that read the organization tree take the caller's session (the use case owns the transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from core.auth.actor import Actor
from core.auth.permissions import Permission, Role
from core.errors import ForbiddenError
from core.models import Organization
from core.models.types import OrgKind

INSTITUTION_KINDS = (OrgKind.bank, OrgKind.guarantee, OrgKind.insurer, OrgKind.leasing)
OVERSIGHT_KINDS = (OrgKind.regulator, OrgKind.operator)

ENTERPRISE_ROLES = frozenset({Role.enterprise_user, Role.enterprise_admin})
BANK_STAFF_ROLES = frozenset({Role.bank_officer, Role.bank_manager, Role.bank_admin})
INSTITUTION_ROLES = BANK_STAFF_ROLES | {Role.guarantee_staff, Role.insurer_staff}
OVERSIGHT_ROLES = frozenset({Role.regulator_analyst, Role.regulator_admin, Role.operator, Role.wall_viewer})

# Which organization kinds each assignable role fits (``system`` fits none: it is never assigned).
ROLE_ORG_KINDS: dict[Role, frozenset[OrgKind]] = {
    **{role: frozenset({OrgKind.enterprise}) for role in ENTERPRISE_ROLES},
    **{role: frozenset(INSTITUTION_KINDS) for role in BANK_STAFF_ROLES},
    Role.guarantee_staff: frozenset({OrgKind.guarantee}),
    Role.insurer_staff: frozenset({OrgKind.insurer}),
    **{role: frozenset(OVERSIGHT_KINDS) for role in OVERSIGHT_ROLES},
}


# ----------------------------------------------------------------------------- organization tree


def institution_descendants(session: Session, organization_id: int) -> set[int]:
    """``organization_id`` and every branch below it."""
    found = {organization_id}
    frontier = {organization_id}
    while frontier:
        children = set(session.exec(select(Organization.id).where(col(Organization.parent_id).in_(frontier))))
        frontier = children - found
        found |= frontier
    return found


def institution_ancestors(session: Session, organization_id: int) -> set[int]:
    """``organization_id`` and every head office above it."""
    found: set[int] = set()
    current: int | None = organization_id
    while current is not None and current not in found:
        found.add(current)
        current = session.exec(select(Organization.parent_id).where(Organization.id == current)).first()
    return found


def institution_family(session: Session, organization_id: int) -> set[int]:
    """Every organization in the tree that holds ``organization_id``: its head office and all branches."""
    root = organization_id
    seen: set[int] = set()
    while root not in seen:
        seen.add(root)
        parent = session.exec(select(Organization.parent_id).where(Organization.id == root)).first()
        if parent is None:
            break
        root = parent
    return institution_descendants(session, root)


# ------------------------------------------------------------------------------------ who is who


def reads_everything(actor: Actor) -> bool:
    """Regulators and the operator read every row (read-only oversight)."""
    return actor.can(Permission.oversight)


def is_enterprise_actor(actor: Actor) -> bool:
    """The actor acts for one enterprise (an enterprise user or admin)."""
    return actor.enterprise_id is not None and actor.has_role(*ENTERPRISE_ROLES)


def is_institution_staff(actor: Actor) -> bool:
    """The actor works for a financial institution (bank, guarantor, insurer, lessor)."""
    return (
        actor.organization_id is not None
        and actor.enterprise_id is None
        and actor.has_role(*INSTITUTION_ROLES)
    )


# ------------------------------------------------------------------------------------------ read


def assert_enterprise_access(actor: Actor, enterprise_id: int) -> None:
    """Refuse unless ``actor`` may read enterprise ``enterprise_id`` (its own, or oversight).

    Raises:
        ForbiddenError: the actor is neither that enterprise's user nor a regulator or the operator.
    """
    if reads_everything(actor):
        return
    if actor.enterprise_id is not None and actor.enterprise_id == enterprise_id:
        return
    raise ForbiddenError("error.forbidden")


def assert_institution_access(session: Session, actor: Actor, institution_id: int) -> None:
    """Refuse unless ``actor`` works in ``institution_id``'s family (head office or branch), or oversees.

    Raises:
        ForbiddenError: the actor is neither staff of that family nor a regulator or the operator.
    """
    if reads_everything(actor):
        return
    if actor.organization_id is None or actor.enterprise_id is not None:
        raise ForbiddenError("error.forbidden")
    if institution_id not in institution_family(session, actor.organization_id):
        raise ForbiddenError("error.forbidden")


# ------------------------------------------------------------------------------------------- act


def assert_acts_for_enterprise(actor: Actor, enterprise_id: int) -> None:
    """Refuse a write on enterprise ``enterprise_id``'s rows unless the actor is that enterprise's user.

    Oversight does not help: regulators read an enterprise's rows but never act on them.

    Raises:
        ForbiddenError: the actor does not act for this enterprise.
    """
    if is_enterprise_actor(actor) and actor.enterprise_id == enterprise_id:
        return
    raise ForbiddenError("error.forbidden")


def assert_acts_for_institution(session: Session, actor: Actor, institution_id: int) -> None:
    """Refuse a write on institution ``institution_id``'s rows unless the actor is staff of its family.

    Raises:
        ForbiddenError: the actor is not staff of this institution's family (oversight does not count).
    """
    if not is_institution_staff(actor):
        raise ForbiddenError("error.forbidden")
    if institution_id not in institution_family(session, int(actor.organization_id)):
        raise ForbiddenError("error.forbidden")


# ------------------------------------------------------------------------------------------- fit


def roles_for_kind(kind: OrgKind | str) -> list[Role]:
    """The roles a user of an organization of ``kind`` may hold, in ``Role`` order."""
    kind = OrgKind(kind)
    return [role for role in Role if kind in ROLE_ORG_KINDS.get(role, frozenset())]


def misfit_roles(roles: Iterable[str], kind: OrgKind | str) -> list[str]:
    """The roles of ``roles`` that do not fit an organization of ``kind`` (unknown roles included)."""
    allowed = {r.value for r in roles_for_kind(kind)}
    return [str(r) for r in roles if str(r) not in allowed]
