"""A lender (head office and branch) with an officer and a manager, a first-time borrower and helpers that
bring an application to ``approved`` or ``contract_signed`` directly (review has its own tests)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.auth import Actor
from core.db import session_scope
from core.models import Application
from core.models.types import ApplicationStatus, OrgKind, RepaymentMethod
from tests import factories

_keys = itertools.count(1)


def key(prefix: str = "test-key") -> str:
    return f"{prefix}-{next(_keys):06d}"


@dataclass
class LoanWorld:
    enterprise_id: int
    owner: Actor
    stranger: Actor
    officer: Actor
    manager: Actor
    outsider: Actor
    operator: Actor
    bank_id: int
    branch_id: int
    product_id: int


def _actor(session, org, role: str, enterprise_id: int | None = None) -> Actor:
    user = factories.user(session, org, [role])
    return Actor(user.id, f"{role}:{user.id}", frozenset({role}), org.id, enterprise_id)


@pytest.fixture
def world(db) -> LoanWorld:
    return build_world()


def build_world() -> LoanWorld:
    """The lender, two enterprises and the operator (in the current database)."""
    with session_scope() as s:
        ent = factories.enterprise(s)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        other = factories.enterprise(s)
        other_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=other.id)
        bank = factories.institution(s, name="衡水测试银行")
        branch = factories.institution(s, name="衡水测试银行桃城支行", parent_id=bank.id)
        unrelated = factories.institution(s, name="无关银行")
        operator = factories.institution(s, kind=OrgKind.operator, name="平台运营")
        product = factories.product(
            s, branch.id, first_loan_friendly=True,
            repayment_methods=[m.value for m in RepaymentMethod],
        )
        return LoanWorld(
            enterprise_id=ent.id,
            owner=_actor(s, ent_org, "enterprise_admin", ent.id),
            stranger=_actor(s, other_org, "enterprise_admin", other.id),
            officer=_actor(s, branch, "bank_officer"),
            manager=_actor(s, bank, "bank_manager"),
            outsider=_actor(s, unrelated, "bank_manager"),
            operator=_actor(s, operator, "operator"),
            bank_id=bank.id,
            branch_id=branch.id,
            product_id=product.id,
        )


def make_application(
    world: LoanWorld,
    *,
    status: ApplicationStatus = ApplicationStatus.contract_signed,
    amount: str = "120000",
    rate: str | None = "4.80",
    term: int = 12,
    submitted: datetime = datetime(2025, 12, 1, 2, tzinfo=UTC),
    enterprise_id: int | None = None,
) -> Application:
    with session_scope() as s:
        from core.models import Enterprise, Product

        prod = s.get(Product, world.product_id)
        ent = s.get(Enterprise, enterprise_id or world.enterprise_id)
        return factories.application(
            s, ent, prod, status=status, amount_requested=Decimal(amount), term_months=term,
            approved_amount=Decimal(amount), approved_rate=None if rate is None else Decimal(rate),
            submitted_at=submitted, created_at=submitted, decided_at=submitted,
        )
