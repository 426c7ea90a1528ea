"""Small builders of valid rows for tests (each call makes a new, unique row)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlmodel import Session

from core.auth import Actor
from core.models import Application, Enterprise, Loan, Organization, Product, User
from core.models.types import ApplicationStatus, OrgKind, ProductStatus, RepaymentMethod, Scale
from core.validators import make_credit_code

_counter = itertools.count(1)


def credit_code(n: int | None = None, district: str = "131102") -> str:
    n = next(_counter) if n is None else n
    return make_credit_code(f"91{district}MA{n:07d}")


def enterprise(session: Session, **overrides) -> Enterprise:
    n = next(_counter)
    fields = {
        "credit_code": credit_code(n),
        "name": f"衡水测试企业{n}有限公司",
        "district_code": "131102",
        "industry_section": "C",
        "industry_division": "29",
        "scale": Scale.small,
        "founded_on": date(2015, 3, 1),
        "registered_capital": Decimal("1000000.00"),
        "employees": 25,
        "legal_rep_name": "张三",
    }
    fields.update(overrides)
    row = Enterprise(**fields)
    session.add(row)
    session.flush()
    return row


def institution(session: Session, kind: OrgKind = OrgKind.bank, **overrides) -> Organization:
    n = next(_counter)
    fields = {"name": f"测试银行{n}", "kind": kind, "code": f"ORG{n:05d}"}
    fields.update(overrides)
    row = Organization(**fields)
    session.add(row)
    session.flush()
    return row


def user(session: Session, organization: Organization, roles: list[str], **overrides) -> User:
    n = next(_counter)
    fields = {"subject": f"test-{n}", "display_name": f"用户{n}", "organization_id": organization.id, "roles": roles}
    fields.update(overrides)
    row = User(**fields)
    session.add(row)
    session.flush()
    return row


def product(session: Session, institution_id: int, **overrides) -> Product:
    n = next(_counter)
    fields = {
        "code": f"P{n:06d}",
        "name": f"测试贷{n}",
        "institution_id": institution_id,
        "product_type": "credit_loan",
        "amount_min": Decimal("100000"),
        "amount_max": Decimal("3000000"),
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_min": Decimal("3.45"),
        "rate_max": Decimal("6.00"),
        "repayment_methods": [RepaymentMethod.equal_installment],
        "status": ProductStatus.published,
    }
    fields.update(overrides)
    row = Product(**fields)
    session.add(row)
    session.flush()
    return row


def application(session: Session, ent: Enterprise, prod: Product, **overrides) -> Application:
    fields = {
        "enterprise_id": ent.id,
        "product_id": prod.id,
        "institution_id": prod.institution_id,
        "amount_requested": Decimal("500000"),
        "term_months": 12,
        "status": ApplicationStatus.submitted,
    }
    fields.update(overrides)
    row = Application(**fields)
    session.add(row)
    session.flush()
    return row


def loan(session: Session, app: Application, **overrides) -> Loan:
    fields = {
        "application_id": app.id,
        "enterprise_id": app.enterprise_id,
        "institution_id": app.institution_id,
        "product_id": app.product_id,
        "amount": app.amount_requested,
        "annual_rate": Decimal("4.35"),
        "term_months": app.term_months,
        "repayment_method": RepaymentMethod.equal_installment,
        "disbursed_at": datetime(2026, 5, 10, 3, tzinfo=UTC),
        "maturity_date": date(2027, 5, 10),
        "outstanding_principal": app.amount_requested,
    }
    fields.update(overrides)
    row = Loan(**fields)
    session.add(row)
    session.flush()
    return row


def actor(*roles: str, organization_id: int | None = None, enterprise_id: int | None = None, user_id=None) -> Actor:
    return Actor(
        user_id=user_id,
        label="test:" + ",".join(roles),
        roles=frozenset(roles),
        organization_id=organization_id,
        enterprise_id=enterprise_id,
    )
