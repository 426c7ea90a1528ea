"""Recommendations explained on constructed cases, the approval model learned from decisions, and the
reverse direction (enterprises and needs for a product)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError
from core.i18n import translate
from core.models.types import ApplicationStatus
from core.services import matching, needs
from tests import factories
from tests.integration.matching.world import NOW, build

AS_OF = date(2026, 9, 30)


def _words(items) -> list[str]:
    return [translate(m.key, "zh_CN", **m.params) for m in items]


def test_eligible_products_are_ranked_with_reasons_and_ineligible_ones_say_what_is_missing(db):
    w = build(grade="BBB")
    with session_scope() as s:
        strict = factories.institution(s, name="严格银行")
        factories.product(s, strict.id, name="老企业贷", min_years_in_business=15, first_loan_friendly=True)
        factories.product(s, strict.id, name="优质贷", min_credit_grade="AA", first_loan_friendly=True)
        factories.product(s, strict.id, name="老客户贷", first_loan_friendly=False)
        factories.product(s, strict.id, name="房抵贷", collateral_required=True, first_loan_friendly=True,
                          rate_min=Decimal("6.00"), rate_max=Decimal("8.00"))
    rec = matching.recommend_products(actor=w.owner, enterprise_id=w.enterprise_id, as_of=AS_OF)
    assert rec.grade == "BBB"
    # cheapest first among equally fitting products; the collateral product is eligible without a need
    assert rec.eligible["product_name"].tolist()[:3] == ["A行首贷", "B行首贷", "C行首贷"]
    assert "房抵贷" in rec.eligible["product_name"].tolist()
    assert rec.eligible["fit_score"].is_monotonic_decreasing
    first = _words(rec.eligible["reasons"].iloc[0])
    assert "年利率低至 3.50%" in first and any("首贷友好" in r for r in first)
    missing = dict(zip(rec.ineligible["product_name"], rec.ineligible["missing"].map(_words), strict=True))
    assert missing["老企业贷"] == ["要求成立满 15 年（贵企业已成立 11 年）"]
    assert missing["优质贷"] == ["要求信用等级不低于 AA（贵企业当前为 BBB）"]
    assert missing["老客户贷"] == ["要求有过往贷款记录（非首贷产品）"]
    assert rec.ineligible_total == 3


def test_a_need_adds_amount_term_collateral_and_rate_to_the_explanation(db):
    w = build(grade=None)
    with session_scope() as s:
        bank = factories.institution(s, name="抵押银行")
        factories.product(s, bank.id, name="房抵贷", collateral_required=True, first_loan_friendly=True,
                          amount_min=Decimal("1000000"), amount_max=Decimal("5000000"), term_min_months=24,
                          term_max_months=60, min_credit_grade="BB")
    need = needs.publish_need(actor=w.owner, need=w.need(max_rate=Decimal("4.2")), idempotency_key="need-rec-001",
                              now=NOW).need
    rec = matching.recommend_products(actor=w.owner, enterprise_id=w.enterprise_id, need_id=need.id, as_of=AS_OF)
    assert rec.grade is None
    assert rec.eligible["product_name"].tolist() == ["A行首贷", "B行首贷"]
    missing = dict(zip(rec.ineligible["product_name"], rec.ineligible["missing"].map(_words), strict=True))
    assert missing["C行首贷"] == ["最低年利率 4.50% 高于您可接受的 4.20%"]
    assert missing["房抵贷"] == [
        "要求信用等级不低于 BB（贵企业尚未评级）",
        "额度 100–500 万元，您需要 50 万元",
        "期限 24–60 个月，您需要 12 个月",
        "需要抵押或质押，您的需求未提供抵押",
    ]
    reasons = _words(rec.eligible["reasons"].iloc[0])
    assert "额度 10–300 万元，覆盖您需要的 50 万元" in reasons


def test_recommendations_are_private_to_the_enterprise_and_k_is_checked(db):
    w = build()
    with pytest.raises(ForbiddenError):
        matching.recommend_products(actor=w.officers["a"], enterprise_id=w.enterprise_id)
    with pytest.raises(InvalidError):
        matching.recommend_products(actor=w.owner, enterprise_id=w.enterprise_id, k=0)


def test_the_approval_model_learns_from_decisions_and_is_retrained_when_they_change(db):
    w = build()
    with session_scope() as s:
        for i in range(30):
            ent = factories.enterprise(s)
            approve_a = i % 10 != 0  # bank a approves 90 %, bank b 10 %
            factories.application(s, ent, s.get(factories.Product, w.products["a"]),
                                  status=ApplicationStatus.approved if approve_a else ApplicationStatus.rejected)
            factories.application(s, ent, s.get(factories.Product, w.products["b"]),
                                  status=ApplicationStatus.rejected if approve_a else ApplicationStatus.approved)
    with session_scope() as s:
        model = matching.approval_model(s, as_of=AS_OF)
        assert model.trained_on == 60
        assert model.coef_institution[w.banks["a"]] > model.coef_institution[w.banks["b"]]
        assert matching.approval_model(s, as_of=AS_OF) == model  # cached, same decisions
        factories.application(s, factories.enterprise(s), s.get(factories.Product, w.products["c"]),
                              status=ApplicationStatus.rejected)
        assert matching.approval_model(s, as_of=AS_OF).trained_on == 61
    rec = matching.recommend_products(actor=w.owner, enterprise_id=w.enterprise_id, as_of=AS_OF)
    by_name = rec.eligible.set_index("product_name")["p_approval"]
    assert by_name["A行首贷"] > by_name["B行首贷"]


def test_leads_for_a_product_lists_fitting_enterprises_and_open_needs(db):
    w = build()
    needs.publish_need(actor=w.owner, need=w.need(), idempotency_key="need-rec-002", now=NOW)
    with session_scope() as s:
        factories.enterprise(s, founded_on=date(2025, 1, 1))  # fits too (no minimum years)
    found = matching.leads_for_product(actor=w.officers["a"], product_id=w.products["a"], as_of=AS_OF)
    assert list(found.columns) == matching.LEAD_CANDIDATE_COLUMNS
    assert found["kind"].value_counts().to_dict() == {"need": 1, "enterprise": 2}
    need_row = found[found["kind"] == "need"].iloc[0]
    assert need_row["enterprise_id"] == w.enterprise_id and need_row["need_amount"] == 500000.0
    with pytest.raises(ForbiddenError):
        matching.leads_for_product(actor=w.officers["b"], product_id=w.products["a"], as_of=AS_OF)


def test_a_decision_reaches_the_ranking_at_the_next_data_version_or_after_the_recheck_interval(db, monkeypatch):
    from core import cache
    from core.services import matching_load

    w = build()

    def decide(n: int) -> None:
        with session_scope() as s:
            for i in range(n):
                factories.application(s, factories.enterprise(s), s.get(factories.Product, w.products["a"]),
                                      status=ApplicationStatus.approved if i % 3 else ApplicationStatus.rejected)

    def trained_on() -> int:
        return matching.recommend_products(actor=w.owner, enterprise_id=w.enterprise_id, as_of=AS_OF).model_trained_on

    assert trained_on() == 0
    decide(30)  # written behind the services' back: the data version does not move
    cache.bump_data_version()  # what every writing service does on commit
    assert trained_on() == 30
    decide(3)
    monkeypatch.setattr(matching_load, "RECHECK_SECONDS", 0.0)  # the interval has passed
    assert trained_on() == 33
