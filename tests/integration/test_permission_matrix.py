"""The permission matrix: every role × every registered service × own versus another organization's data.

The cases are generated from ``core.usecase.REGISTRY`` (every ``core.services`` module is imported
first), so a new service is in the matrix the day it is written — and the suite fails until ``RULES``
says who may call it:

* ``RULES`` gives, per service, the permission its decorator must declare and its row rule;
* ``ARGUMENTS`` builds valid keyword arguments for one case, pointing at the acting role's own
  organization's rows (``own``) or at a second, unrelated set of organizations (``other``);
* each case calls the service and asserts it succeeds, or is refused (``ForbiddenError``, or the
  refusal the rule names), as ``expected(rule, role, scope)`` says.

Roles are every ``Role`` but ``system``. One test per role builds the two worlds once and runs that
role's cases (all services × both scopes) on SQLite; a slice of roles runs on PostgreSQL too.
"""

from __future__ import annotations

import importlib
import itertools
import pkgutil
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

import core.services
from core.auth import PERSON_ROLES, ROLE_PERMISSIONS, Actor, Permission, Role
from core.auth.rules import ENTERPRISE_ROLES, INSTITUTION_ROLES
from core.db import session_scope
from core.errors import ForbiddenError, JinfuError, NotFoundError
from core.models import ConsentGrant, Credential, Organization
from core.models.types import OrgKind, ProductStatus, utcnow
from core.usecase import REGISTRY
from tests import factories

for _module in pkgutil.iter_modules(core.services.__path__):
    importlib.import_module(f"core.services.{_module.name}")

SERVICES = sorted(name for name in REGISTRY if name.startswith("core.services."))
# Roles a person can hold. ``identity_provider`` is the sign-in provider's process: the matrix proves
# every person role is refused its services; tests/integration/sso drive them as the provider.
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
}

A = "core.services.analytics."
D = "core.services.directory."
AP = "core.services.applications."
P = "core.services.products."
ID = "core.services.identity."
AD = "core.services.admin."
C = "core.services.consent."
PUBLIC = Rule(Permission.identity_provider, "public_identity")
SELF = Rule(None, "any", note="reads only the caller's own account")

RULES: dict[str, Rule] = {
    # read side: platform-wide aggregates
    A + "platform_kpis": Rule(Permission.platform_stats, "any"),
    A + "monthly_trend": Rule(Permission.platform_stats, "any"),
    A + "district_breakdown": Rule(Permission.platform_stats, "any"),
    # directory
    D + "list_demo_enterprises": Rule(Permission.enterprise_list, "any"),
    D + "enterprise_profile": Rule(None, "own_enterprise"),
    D + "list_institutions": Rule(Permission.products_browse, "any"),
    D + "get_organization": Rule(None, "any", note="public directory entry"),
    # applications (institution side)
    AP + "applications_by_status": Rule(None, "own_institution_family"),
    AP + "list_applications": Rule(None, "own_institution_family"),
    # products
    P + "list_products": Rule(Permission.products_browse, "institution_family_or_published"),
    P + "eligible_products_for": Rule(Permission.products_browse, "own_enterprise"),
    # identity: the provider's own services (anonymous actor), then administration
    ID + "_authenticate": PUBLIC,
    ID + "_verify_totp": PUBLIC,
    ID + "enroll_totp": PUBLIC,
    ID + "identity_for_user": PUBLIC,
    ID + "_request_code": PUBLIC,
    ID + "_register_enterprise": PUBLIC,
    ID + "_reset_password": PUBLIC,
    ID + "sync_oauth_clients": PUBLIC,
    ID + "get_oauth_client": PUBLIC,
    ID + "active_user_id": SELF,
    ID + "save_authorization_code": PUBLIC,
    ID + "consume_authorization_code": PUBLIC,
    ID + "nonce_used": PUBLIC,
    ID + "save_access_token": PUBLIC,
    ID + "identity_for_access_token": PUBLIC,
    ID + "revoke_user_tokens": PUBLIC,
    ID + "set_password": Rule(Permission.admin_users, "any"),
    ID + "unlock_account": Rule(Permission.admin_users, "any"),
    ID + "ensure_demo_credentials": Rule(Permission.seed, "any"),
    # operator user administration
    AD + "list_organizations": Rule(Permission.admin_users, "any"),
    AD + "list_users": Rule(Permission.admin_users, "any"),
    AD + "create_user": Rule(Permission.admin_users, "any"),
    AD + "change_user_roles": Rule(Permission.admin_users, "any"),
    AD + "deactivate_user": Rule(Permission.admin_users, "any"),
    AD + "reactivate_user": Rule(Permission.admin_users, "any"),
    AD + "lock_user": Rule(Permission.admin_users, "any"),
    AD + "audit_log": Rule(Permission.admin_users, "any"),
    AD + "audit_chain_status": Rule(Permission.admin_users, "any"),
    # consent ledger
    C + "grant_consent": Rule(Permission.consent_manage, "own_enterprise_act"),
    C + "revoke_consent": Rule(
        Permission.consent_manage,
        "own_enterprise_act",
        refused=(ForbiddenError, NotFoundError),
        note="another enterprise's grant is reported as not found (its existence is not revealed)",
    ),
    C + "list_consents": Rule(None, "own_enterprise"),
    C + "data_access_log": Rule(None, "own_enterprise"),
    C + "consented_enterprises": Rule(Permission.credit_file_read, "own_institution_implicit"),
    C + "read_credit_file": Rule(Permission.credit_file_read, "consented_enterprise"),
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


ARGUMENTS: dict[str, Builder] = {
    A + "platform_kpis": lambda w, sc, r: {},
    A + "monthly_trend": lambda w, sc, r: {"months": 12},
    A + "district_breakdown": lambda w, sc, r: {},
    D + "list_demo_enterprises": lambda w, sc, r: {"limit": 10},
    D + "enterprise_profile": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    D + "list_institutions": lambda w, sc, r: {},
    D + "get_organization": lambda w, sc, r: {"organization_id": w.side(sc).bank_id},
    AP + "applications_by_status": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    AP + "list_applications": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    P + "list_products": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    P + "eligible_products_for": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    ID + "_authenticate": lambda w, sc, r: {
        "identifier": w.side(sc).subjects[r],
        "password": PASSWORD,
        "client_address": _address(w),
    },
    ID + "_verify_totp": lambda w, sc, r: {
        "user_id": _target_user(w, sc, r),
        "code": "000000",
        "client_address": _address(w),
    },
    ID + "enroll_totp": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "identity_for_user": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "_request_code": lambda w, sc, r: {
        "purpose": "reset",
        "email": f"{w.side(sc).name}.{r.value}@matrix.example",
        "client_address": _address(w),
        "locale": "zh_CN",
        "signup": None,
        "notifier": _CapturingNotifier(),
    },
    ID + "_register_enterprise": lambda w, sc, r: _signup(w),
    ID + "_reset_password": lambda w, sc, r: {
        "email": f"{w.side(sc).name}.{r.value}@matrix.example",
        "code": "123456",
        "new_password": PASSWORD + "x",
    },
    ID + "sync_oauth_clients": lambda w, sc, r: {"registrations": []},
    ID + "get_oauth_client": lambda w, sc, r: {"client_id": "jinfu-matrix"},
    ID + "active_user_id": lambda w, sc, r: {},
    ID + "save_authorization_code": lambda w, sc, r: {
        "code": w.unique("code-"),
        "client_id": "jinfu-matrix",
        "user_id": _target_user(w, sc, r),
        "redirect_uri": "http://127.0.0.1:9/cb",
        "scope": "openid",
        "nonce": None,
        "code_challenge": None,
        "code_challenge_method": None,
        "auth_time": int(time.time()),
        "amr": ["pwd"],
    },
    ID + "consume_authorization_code": lambda w, sc, r: {"code": "no-such-code", "client_id": "jinfu-matrix"},
    ID + "nonce_used": lambda w, sc, r: {"client_id": "jinfu-matrix", "nonce": "n-0"},
    ID + "save_access_token": lambda w, sc, r: {
        "access_token": w.unique("token-"),
        "client_id": "jinfu-matrix",
        "user_id": _target_user(w, sc, r),
        "scope": "openid",
        "expires_in": 300,
    },
    ID + "identity_for_access_token": lambda w, sc, r: {"access_token": "no-such-token"},
    ID + "revoke_user_tokens": lambda w, sc, r: {"user_id": _target_user(w, sc, r)},
    ID + "set_password": lambda w, sc, r: {"user_id": _fresh_user(w, sc), "password": PASSWORD},
    ID + "unlock_account": lambda w, sc, r: {"user_id": _fresh_user(w, sc)},
    ID + "ensure_demo_credentials": lambda w, sc, r: {"password": PASSWORD},
    AD + "list_organizations": lambda w, sc, r: {},
    AD + "list_users": lambda w, sc, r: {"organization_id": w.side(sc).bank_id},
    AD + "create_user": lambda w, sc, r: {
        "organization_id": w.side(sc).bank_id,
        "subject": w.unique("matrix-new-"),
        "display_name": "新用户",
        "roles": [Role.bank_officer.value],
    },
    AD + "change_user_roles": lambda w, sc, r: {
        "user_id": _fresh_user(w, sc),
        "roles": [Role.bank_officer.value, Role.bank_manager.value],
        "expected_roles": [Role.bank_officer.value],
    },
    AD + "deactivate_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc)},
    AD + "reactivate_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc, active=False)},
    AD + "lock_user": lambda w, sc, r: {"user_id": _fresh_user(w, sc), "minutes": 60},
    AD + "audit_log": lambda w, sc, r: {"page_size": 10},
    AD + "audit_chain_status": lambda w, sc, r: {},
    C + "grant_consent": lambda w, sc, r: {
        "institution_id": w.own.bank_id,
        "scopes": ["basic"],
        "purpose": "矩阵测试授权",
        "days": 30,
        "idempotency_key": w.unique("matrix-key-"),
        "enterprise_id": w.side(sc).enterprise_id,
    },
    C + "revoke_consent": lambda w, sc, r: {"consent_id": _fresh_grant(w, sc)},
    C + "list_consents": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    C + "data_access_log": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    C + "consented_enterprises": lambda w, sc, r: {},
    C + "read_credit_file": lambda w, sc, r: {
        "enterprise_id": w.side(sc).enterprise_id,
        "scope": "basic",
        "purpose": "贷前调查",
    },
}


# ---------------------------------------------------------------------------------- the matrix


@dataclass(frozen=True)
class Outcome:
    service: str
    scope: str
    allowed_expected: bool
    got: str  # "allowed", the refusal's class name, or "unexpected …" for any other error

    @property
    def ok(self) -> bool:
        if self.allowed_expected:
            return self.got == "allowed"
        return self.got != "allowed" and not self.got.startswith("unexpected")


def run_case(world: World, service: str, role: Role, scope: str) -> Outcome:
    rule = RULES[service]
    want = expected(rule, role, scope)
    kwargs = ARGUMENTS[service](world, scope, role)
    try:
        REGISTRY[service].function(actor=world.actor(role), **kwargs)
    except rule.refused as exc:
        got = type(exc).__name__ if not want else f"{type(exc).__name__}: {exc}"
        return Outcome(service, scope, want, got)
    except JinfuError as exc:  # neither allowed nor a refusal: always a failure, with its reason
        return Outcome(service, scope, want, f"unexpected {type(exc).__name__}: {exc}")
    return Outcome(service, scope, want, "allowed")


def run_matrix(roles) -> tuple[int, list[str]]:
    """Run every case of ``roles`` on a fresh world; return (cases run, failures as readable lines)."""
    world = build_world()
    cases, failures = 0, []
    for role in roles:
        for service in SERVICES:
            for scope in SCOPES:
                outcome = run_case(world, service, role, scope)
                cases += 1
                if not outcome.ok:
                    verdict = "allowed" if outcome.allowed_expected else "refused"
                    failures.append(
                        f"{role.value} × {service} × {scope}: expected {verdict}, got {outcome.got}"
                    )
    return cases, failures


@pytest.fixture
def fast_identity(monkeypatch):
    """Cheap password hashing and no resend delay: the matrix signs in and sends codes many times."""
    monkeypatch.setenv("SSO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SSO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SSO_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("SSO_CODE_RESEND_SECONDS", "0")


def test_every_registered_service_has_a_rule():
    missing = sorted(set(SERVICES) - set(RULES))
    assert not missing, f"services without a permission rule in RULES: {missing}"


def test_every_rule_names_a_registered_service():
    stale = sorted(set(RULES) - set(SERVICES))
    assert not stale, f"RULES names services that no longer exist: {stale}"


def test_every_rule_has_an_argument_builder_and_a_known_row_rule():
    assert set(ARGUMENTS) == set(RULES), sorted(set(ARGUMENTS) ^ set(RULES))
    assert {rule.row for rule in RULES.values()} <= ROW_RULES


@pytest.mark.parametrize("service", SERVICES)
def test_declared_permission_matches_the_decorator(service):
    if service not in RULES:
        pytest.fail(f"{service} has no rule")
    declared = RULES[service].permission
    assert REGISTRY[service].permission == (None if declared is None else str(declared))


def test_matrix_size():
    """Roles × services × scopes: the number reported in the closing note."""
    assert len(ROLES) == len(Role) - 2  # all but system and identity_provider
    assert len(ROLES) * len(SERVICES) * len(SCOPES) >= 11 * 40 * 2


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_role_against_every_service(db, fast_identity, role):
    cases, failures = run_matrix([role])
    assert cases == len(SERVICES) * len(SCOPES)
    assert not failures, "\n".join(failures)


@pytest.mark.postgres
@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_representative_slice_on_postgres(db, fast_identity):
    cases, failures = run_matrix(PG_SLICE)
    assert cases == len(PG_SLICE) * len(SERVICES) * len(SCOPES)
    assert not failures, "\n".join(failures)


def test_an_unknown_service_fails_the_rule_check(monkeypatch):
    """The guard itself: a service registered without a rule is reported by name."""
    from core.usecase import use_case

    @use_case(permission=None)
    def matrix_probe(uow, *, actor):  # registered under this test module's name
        return None

    name = "core.services.matrix_probe.matrix_probe"
    monkeypatch.setitem(REGISTRY, name, REGISTRY.pop(f"{__name__}.{matrix_probe.__qualname__}"))
    services = sorted(n for n in REGISTRY if n.startswith("core.services."))
    assert name in set(services) - set(RULES)
