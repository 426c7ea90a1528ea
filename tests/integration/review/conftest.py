"""A lender (head office and branch) with officers and managers, two enterprises, a guarantor and products."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlmodel import func, select

from core.auth import Actor
from core.db import session_scope
from core.models import Application, ApplicationEvent, AuditEvent, CreditEnhancement
from core.models.types import OrgKind, ProductStatus, ProductType
from core.services import applications, review
from tests import factories


@dataclass
class Lending:
    enterprise_id: int
    owner: Actor  # the enterprise's admin
    stranger: Actor  # another enterprise's admin
    officer: Actor  # branch officer
    officer2: Actor
    manager: Actor  # head office manager
    manager2: Actor
    outsider: Actor  # a manager of an unrelated bank
    guarantor: Actor  # guarantee company staff
    insurer: Actor
    bank_id: int
    branch_id: int
    guarantee_id: int
    product_id: int  # published loan product of the branch: 100k–3m yuan, 6–36 months, 3.45–6.00 %
    withdrawn_id: int
    guarantee_product_id: int


def _actor(session, org, role: str, enterprise_id: int | None = None) -> Actor:
    user = factories.user(session, org, [role])
    return Actor(user.id, f"{role}:{user.id}", frozenset({role}), org.id, enterprise_id)


@pytest.fixture
def world(db) -> Lending:
    with session_scope() as s:
        ent = factories.enterprise(s)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        other = factories.enterprise(s)
        other_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=other.id)
        bank = factories.institution(s, name="衡水测试银行")
        branch = factories.institution(s, name="衡水测试银行桃城支行", parent_id=bank.id)
        unrelated = factories.institution(s, name="无关银行")
        guarantee = factories.institution(s, kind=OrgKind.guarantee, name="衡水融资担保")
        insurer = factories.institution(s, kind=OrgKind.insurer, name="衡水保险")
        product = factories.product(s, branch.id)
        withdrawn = factories.product(s, branch.id, status=ProductStatus.withdrawn)
        g_product = factories.product(
            s, guarantee.id, product_type=ProductType.guarantee_service, name="小微融资担保",
            rate_min=Decimal("1.00"), rate_max=Decimal("2.00"),
        )
        return Lending(
            enterprise_id=ent.id,
            owner=_actor(s, ent_org, "enterprise_admin", ent.id),
            stranger=_actor(s, other_org, "enterprise_admin", other.id),
            officer=_actor(s, branch, "bank_officer"),
            officer2=_actor(s, branch, "bank_officer"),
            manager=_actor(s, bank, "bank_manager"),
            manager2=_actor(s, bank, "bank_manager"),
            outsider=_actor(s, unrelated, "bank_manager"),
            guarantor=_actor(s, guarantee, "guarantee_staff"),
            insurer=_actor(s, insurer, "insurer_staff"),
            bank_id=bank.id,
            branch_id=branch.id,
            guarantee_id=guarantee.id,
            product_id=product.id,
            withdrawn_id=withdrawn.id,
            guarantee_product_id=g_product.id,
        )


def key() -> str:
    return uuid.uuid4().hex


def submit(w: Lending, **overrides):
    fields = {"product_id": w.product_id, "amount": "500000", "term_months": 12, "idempotency_key": key()}
    fields.update(overrides)
    return applications.submit_application(actor=w.owner, **fields)


def in_due_diligence(w: Lending):
    """A submitted application taken to due diligence by the officer; returns it (current version)."""
    app = submit(w)
    app = review.accept_application(actor=w.officer, application_id=app.id, expected_version=app.version)
    return review.start_due_diligence(actor=w.officer, application_id=app.id, expected_version=app.version)


def proposed(w: Lending, *, by: Actor | None = None, action: str = "approve"):
    """An application in due diligence with a proposal (approve 400k at 4.2 % for 12 months by default)."""
    app = in_due_diligence(w)
    if action == "approve":
        return review.propose_decision(
            actor=by or w.officer, application_id=app.id, expected_version=app.version, action="approve",
            checklist=list(review.CHECKLIST), amount="400000", rate="4.2", term_months=12, note="经营稳定",
        )
    return review.propose_decision(
        actor=by or w.officer, application_id=app.id, expected_version=app.version, action="reject",
        reason_code="cash_flow", note="现金流不足以覆盖月供",
    )


def snapshot(application_id: int | None = None) -> tuple:
    """What a refused call must leave unchanged: the rows and versions it could touch, and the audit."""
    with session_scope() as s:
        apps = s.exec(select(Application.id, Application.status, Application.version).order_by(Application.id)).all()
        events = s.exec(select(func.count()).select_from(ApplicationEvent)).one()
        audits = s.exec(select(func.count()).select_from(AuditEvent)).one()
        enh = s.exec(select(CreditEnhancement.id, CreditEnhancement.status)).all()
        return (tuple(map(tuple, apps)), events, audits, tuple(map(tuple, enh)))
