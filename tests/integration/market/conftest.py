"""A constructed market: two banks (one with a branch), a guarantor, rated enterprises and products."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from core.auth import Actor
from core.db import session_scope
from core.models import CreditScore, ScoringModel
from core.models.types import ModelStatus, OrgKind, ProductStatus, ProductType, Scale
from tests import factories


@dataclass
class Market:
    bank_id: int
    branch_id: int
    other_bank_id: int
    guarantee_id: int
    officer: Actor  # branch officer of the bank
    manager: Actor  # head-office manager of the bank
    outsider: Actor  # officer of the other bank
    owner: Actor  # enterprise admin of ``enterprise_ids[0]``
    regulator: Actor
    enterprise_ids: list[int]  # AAA, AA, BBB, BBB (district 131102), B (131121), unrated (131102)
    products: dict[str, int]


def _actor(session, org, role: str, enterprise_id: int | None = None) -> Actor:
    user = factories.user(session, org, [role])
    return Actor(user.id, f"{role}:{user.id}", frozenset({role}), org.id, enterprise_id)


def good_product(**overrides) -> dict:
    """Valid form data of a credit loan open to everyone (first-loan friendly)."""
    data = {
        "name": "衡信快贷",
        "name_en": "Hengxin Quick Loan",
        "product_type": "credit_loan",
        "amount_min": "100000",
        "amount_max": "3000000",
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_min": "3.45",
        "rate_max": "6.00",
        "repayment_methods": ["equal_installment"],
        "first_loan_friendly": True,
        "tags": ["纳税贷", "线上"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def market(db) -> Market:
    with session_scope() as s:
        bank = factories.institution(s, name="衡水商业银行", short_name="衡水银行", name_en="Hengshui Bank")
        branch = factories.institution(s, name="衡水商业银行桃城支行", parent_id=bank.id)
        other = factories.institution(s, name="冀州农商银行", name_en="Jizhou Rural Bank")
        guarantee = factories.institution(s, kind=OrgKind.guarantee, name="衡水融资担保")
        regulator_org = factories.institution(s, kind=OrgKind.regulator, name="衡水金融办")
        model = ScoringModel(name="市场测试评分卡", model_version="1.0", status=ModelStatus.approved)
        s.add(model)
        s.flush()
        grades = ["AAA", "AA", "BBB", "BBB", "B", None]
        districts = ["131102"] * 4 + ["131121", "131102"]
        ids = []
        for n, (grade, district) in enumerate(zip(grades, districts, strict=True)):
            ent = factories.enterprise(s, district_code=district, scale=Scale.small if n % 2 else Scale.micro,
                                       founded_on=date(2012 + n, 1, 1), has_had_loan=n % 3 == 0)
            if grade:
                s.add(CreditScore(enterprise_id=ent.id, model_id=model.id, score=700 - 40 * n, grade=grade,
                                  pd=0.02, as_of=date(2026, 1, 1)))
            ids.append(ent.id)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ids[0])
        products = {
            "cheap": factories.product(s, bank.id, name="衡水银行税易贷", rate_min=Decimal("3.10"),
                                       rate_max=Decimal("4.00"), tags=["纳税", "信用"], first_loan_friendly=True,
                                       amount_max=Decimal("1000000")).id,
            "big": factories.product(s, branch.id, name="桃城抵押贷", product_type=ProductType.mortgage,
                                     collateral_required=True, amount_max=Decimal("20000000"),
                                     rate_min=Decimal("3.80"), rate_max=Decimal("5.20")).id,
            "local": factories.product(s, other.id, name="冀州创业贷", name_en="Jizhou Startup Loan",
                                       eligible_districts=["131121"], rate_min=Decimal("4.35"),
                                       rate_max=Decimal("7.00"), first_loan_friendly=True,
                                       term_min_months=3, term_max_months=12).id,
            "guaranteed": factories.product(s, guarantee.id, name="担保增信贷", product_type=ProductType.guaranteed,
                                            rate_min=Decimal("5.00"), rate_max=Decimal("8.00")).id,
            "draft": factories.product(s, bank.id, name="草稿产品", status=ProductStatus.draft).id,
        }
        return Market(
            bank_id=bank.id,
            branch_id=branch.id,
            other_bank_id=other.id,
            guarantee_id=guarantee.id,
            officer=_actor(s, branch, "bank_officer"),
            manager=_actor(s, bank, "bank_manager"),
            outsider=_actor(s, other, "bank_officer"),
            owner=_actor(s, ent_org, "enterprise_admin", ids[0]),
            regulator=_actor(s, regulator_org, "regulator_analyst"),
            enterprise_ids=ids,
            products=products,
        )
