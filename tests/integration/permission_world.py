"""The permission matrix's shared pieces: row rules, the two worlds of organizations, argument helpers.

Per-area rule modules (``tests/integration/permission_rules/*.py``) import from here and each export
``RULES`` and ``ARGUMENTS`` for their services; ``test_permission_matrix`` merges them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core.auth import PERSON_ROLES, ROLE_PERMISSIONS, Actor, Permission, Role
from core.auth.rules import ENTERPRISE_ROLES, INSTITUTION_ROLES
from core.db import session_scope
from core.errors import ForbiddenError, JinfuError
from core.models import ConsentGrant, Credential, Organization
from core.models.types import OrgKind, ProductStatus, utcnow
from tests import factories

ROLES = sorted(PERSON_ROLES, key=list(Role).index)
SCOPES = ("own", "other")
PASSWORD = "Matrix-Password-2026"
PG_SLICE = (Role.enterprise_user, Role.bank_officer, Role.regulator_admin)

# ------------------------------------------------------------------------------------------ rules


@dataclass(frozen=True)
class Rule:
    """Who may call one service: the permission its decorator declares, and the row rule inside it.

    Row rules (checked after the permission):
        ``any``: every holder of the permission, on any organization's rows (platform-wide services:
            aggregates, public directory entries, administration);
        ``public_identity``: only the provider (``identity.provider``); the sign-in services that run as its anonymous
            actor before anyone is identified (made safe by lock-out and rate limits, not by the actor);
        ``own_enterprise``: read — the enterprise's own users, and oversight (regulators, operator);
        ``own_enterprise_act``: write — the enterprise's own users only (oversight does not act);
        ``own_institution_family``: read — staff of the institution's family (head office and
            branches), and oversight;
        ``institution_family_or_published``: institution staff only their own family; everyone else
            holding the permission any institution (published rows only for outsiders);
        ``own_institution_implicit``: the service reads only the caller's own institution's rows (no
            target argument), so every holder of the permission may call it;
        ``own_or_consented_enterprise``: read — the enterprise's own users, oversight, and staff of an
            institution its active consent covers;
        ``consented_enterprise``: institution staff, only for an enterprise whose active consent covers
            their institution.
    """

    permission: Permission | None
    row: str
    refused: tuple[type[JinfuError], ...] = (ForbiddenError,)
    note: str = ""


ROW_RULES = {
    "any",
    "public_identity",
    "own_enterprise",
    "own_enterprise_act",
    "own_institution_family",
    "institution_family_or_published",
    "own_institution_implicit",
    "consented_enterprise",
    "own_or_consented_enterprise",
}

def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def expected(rule: Rule, role: Role, scope: str) -> bool:
    """Whether ``role`` may call a service under ``rule`` on ``scope`` rows (True: allowed)."""
    granted = permissions_of(role)
    if rule.permission is not None and rule.permission not in granted:
        return False
    oversight = Permission.oversight in granted
    enterprise = role in ENTERPRISE_ROLES
    staff = role in INSTITUTION_ROLES
    own = scope == "own"
    verdicts = {
        "any": True,
        "public_identity": True,
        "own_institution_implicit": True,
        "own_enterprise": oversight or (enterprise and own),
        "own_enterprise_act": enterprise and own,
        "own_institution_family": oversight or (staff and own),
        "institution_family_or_published": oversight or own or not staff,
        "consented_enterprise": staff and own,
        "own_or_consented_enterprise": oversight or (enterprise and own) or (staff and own),
    }
    return verdicts[rule.row]


# ----------------------------------------------------------------------------------------- worlds


@dataclass
class Side:
    """One set of organizations with a user of every role: the acting role's own, or the other."""

    name: str
    enterprise_id: int
    enterprise_org_id: int
    bank_id: int  # head office
    branch_id: int
    guarantee_id: int
    insurer_id: int
    regulator_id: int
    operator_id: int
    users: dict[Role, int] = field(default_factory=dict)
    subjects: dict[Role, str] = field(default_factory=dict)

    def org_of(self, role: Role) -> int:
        if role in ENTERPRISE_ROLES:
            return self.enterprise_org_id
        return {
            Role.bank_officer: self.branch_id,  # a branch officer: the family reaches the head office
            Role.bank_manager: self.bank_id,
            Role.bank_admin: self.bank_id,
            Role.guarantee_staff: self.guarantee_id,
            Role.insurer_staff: self.insurer_id,
            Role.regulator_analyst: self.regulator_id,
            Role.regulator_admin: self.regulator_id,
            Role.operator: self.operator_id,
            Role.wall_viewer: self.operator_id,
        }[role]


@dataclass
class World:
    own: Side
    other: Side
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def side(self, scope: str) -> Side:
        return self.own if scope == "own" else self.other

    def actor(self, role: Role) -> Actor:
        return Actor(
            user_id=self.own.users[role],
            label=f"matrix:{role.value}",
            roles=frozenset({role.value}),
            organization_id=self.own.org_of(role),
            enterprise_id=self.own.enterprise_id if role in ENTERPRISE_ROLES else None,
        )

    def institution(self, scope: str, role: Role) -> int:
        """The institution a case targets: the role's own (a branch officer: its head office), or the
        same kind of institution on the other side; a bank for roles outside institutions."""
        side = self.side(scope)
        if role in (Role.guarantee_staff, Role.insurer_staff):
            return side.org_of(role)
        return side.bank_id

    def unique(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"


def _build_side(session, name: str, password_hash: str) -> Side:
    ent = factories.enterprise(session)
    ent_org = factories.institution(
        session, kind=OrgKind.enterprise, enterprise_id=ent.id, name=f"{name}企业组织"
    )
    bank = factories.institution(session, kind=OrgKind.bank)
    branch = factories.institution(session, kind=OrgKind.bank, parent_id=bank.id)
    side = Side(
        name=name,
        enterprise_id=ent.id,
        enterprise_org_id=ent_org.id,
        bank_id=bank.id,
        branch_id=branch.id,
        guarantee_id=factories.institution(session, kind=OrgKind.guarantee).id,
        insurer_id=factories.institution(session, kind=OrgKind.insurer).id,
        regulator_id=factories.institution(session, kind=OrgKind.regulator).id,
        operator_id=factories.institution(session, kind=OrgKind.operator).id,
    )
    product = factories.product(session, bank.id)
    factories.product(session, branch.id, status=ProductStatus.draft)
    factories.application(session, ent, product)
    for role in ROLES:
        user = factories.user(
            session,
            _org(session, side.org_of(role)),
            [role.value],
            email=f"{name}.{role.value}@matrix.example",
        )
        session.add(Credential(user_id=user.id, password_hash=password_hash))
        side.users[role] = user.id
        side.subjects[role] = user.subject
    return side


def _org(session, organization_id: int) -> Organization:
    return session.get(Organization, organization_id)


def build_world() -> World:
    from core.services.identity import hash_password

    password_hash = hash_password(PASSWORD)
    with session_scope() as s:
        own = _build_side(s, "own", password_hash)
        other = _build_side(s, "other", password_hash)
        # The own enterprise lets every own institution read its whole file (a head-office grant
        # covers the branch); the other enterprise grants nothing to the own side.
        now = utcnow()
        for institution_id in (own.bank_id, own.guarantee_id, own.insurer_id):
            s.add(
                ConsentGrant(
                    enterprise_id=own.enterprise_id,
                    institution_id=institution_id,
                    scopes=["basic", "gov_records", "financials", "credit"],
                    purpose="矩阵测试授权",
                    granted_at=now,
                    expires_at=now + timedelta(days=30),
                )
            )
    return World(own=own, other=other)


# ------------------------------------------------------------------------------ argument builders

Builder = Callable[[World, str, Role], dict[str, Any]]


class _CapturingNotifier:
    """Keeps the messages a service sends, so a test can read a verification code."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, message, *, session=None) -> None:
        self.bodies.append(message.body)


def _target_user(w: World, scope: str, role: Role) -> int:
    """The acting user itself (own), or the other side's user of the same role."""
    return w.side(scope).users[role]


def _fresh_user(w: World, scope: str, *, active: bool = True) -> int:
    """A new bank officer in the scope's head office: a target an administration case may change."""
    side = w.side(scope)
    with session_scope() as s:
        user = factories.user(s, _org(s, side.bank_id), [Role.bank_officer.value], is_active=active)
        return user.id


def _fresh_grant(w: World, scope: str) -> int:
    side = w.side(scope)
    now = utcnow()
    with session_scope() as s:
        grant = ConsentGrant(
            enterprise_id=side.enterprise_id,
            institution_id=side.bank_id,
            scopes=["basic"],
            purpose="矩阵测试撤回",
            granted_at=now,
            expires_at=now + timedelta(days=30),
        )
        s.add(grant)
        s.flush()
        return grant.id


def _address(w: World) -> str:
    return f"10.9.{next(w.counter) % 250}.{next(w.counter) % 250}"


def _signup(w: World):
    from core.services.identity import EnterpriseSignup, anonymous_actor, request_verification_code

    form = EnterpriseSignup(
        credit_code=factories.credit_code(),
        enterprise_name="衡水矩阵测试有限公司",
        contact_name="赵六",
        email=f"{w.unique('signup')}@matrix.example",
    )
    notifier = _CapturingNotifier()
    request_verification_code(
        actor=anonymous_actor("10.8.0.1"),
        purpose="signup",
        client_address=_address(w),
        signup=form,
        notifier=notifier,
    )
    code = re.search(r"\b(\d{6})\b", notifier.bodies[-1]).group(1)
    return {"signup": form, "code": code, "password": PASSWORD, "locale": "zh_CN"}


