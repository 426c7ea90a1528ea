"""The permission matrix: every role × every registered service × own versus another organization's data.

The cases are generated from ``core.usecase.REGISTRY`` (every ``core.services`` module is imported
first), so a new service is in the matrix the day it is written — and the suite fails until ``RULES``
says who may call it:

* ``RULES`` (merged from ``tests/integration/permission_rules/*.py``, one module per area) gives, per service, the permission its decorator must declare and its row rule;
* ``ARGUMENTS`` builds valid keyword arguments for one case, pointing at the acting role's own
  organization's rows (``own``) or at a second, unrelated set of organizations (``other``);
* each case calls the service and asserts it succeeds, or is refused (``ForbiddenError``, or the
  refusal the rule names), as ``expected(rule, role, scope)`` says.

Roles are every ``Role`` but ``system``. One test per role builds the two worlds once and runs that
role's cases (all services × both scopes) on SQLite; a slice of roles runs on PostgreSQL too.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

import pytest

import core.services
import tests.integration.permission_rules as rule_modules
from core.auth import Role
from core.errors import JinfuError
from core.usecase import REGISTRY
from tests.integration.permission_world import (
    PG_SLICE,
    ROLES,
    ROW_RULES,
    SCOPES,
    Builder,
    Rule,
    World,
    build_world,
    expected,
)

for _module in pkgutil.iter_modules(core.services.__path__):
    importlib.import_module(f"core.services.{_module.name}")

SERVICES = sorted(name for name in REGISTRY if name.startswith("core.services."))

RULES: dict[str, Rule] = {}
ARGUMENTS: dict[str, Builder] = {}
for _info in pkgutil.iter_modules(rule_modules.__path__):
    _part = importlib.import_module(f"{rule_modules.__name__}.{_info.name}")
    _clash = (set(RULES) & set(_part.RULES)) | (set(ARGUMENTS) & set(_part.ARGUMENTS))
    assert not _clash, f"services ruled twice ({_info.name}): {sorted(_clash)}"
    RULES.update(_part.RULES)
    ARGUMENTS.update(_part.ARGUMENTS)

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
