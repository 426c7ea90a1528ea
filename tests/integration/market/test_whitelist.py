"""Eligibility preview by grade and failed criterion, the pre-approval white-list with masking, and
offers pushed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError
from core.models import ConsentGrant, Enterprise, Notification
from core.models.types import utcnow
from core.services import whitelist
from tests.integration.market.conftest import good_product


def _notifications() -> list[Notification]:
    with session_scope() as s:
        return list(s.exec(select(Notification).order_by(Notification.id)))


def test_preview_counts_eligible_enterprises_by_grade_and_failed_criterion(market):
    preview = whitelist.eligibility_preview(
        actor=market.officer,
        product=good_product(eligible_districts=["131102"], min_credit_grade="BBB", first_loan_friendly=False),
    )
    assert (preview.enterprises, preview.eligible) == (6, 2)
    grades = preview.by_grade.set_index("grade")
    assert grades.loc[["AAA", "AA", "BBB", "B", "unrated"], "enterprises"].tolist() == [1, 1, 2, 1, 1]
    assert grades.loc[["AAA", "AA", "BBB", "B", "unrated"], "eligible"].tolist() == [1, 0, 1, 0, 0]
    assert grades.loc["BBB", "share"] == pytest.approx(0.5)
    assert grades["enterprises"].sum() == 6 and grades.loc["CCC", "enterprises"] == 0
    criteria = preview.by_criterion.set_index("criterion")
    assert criteria.loc["first_loan"].tolist() == [4, 2]  # failing, failing only this
    assert criteria.loc["grade"].tolist() == [2, 0]
    assert criteria.loc["district"].tolist() == [1, 0]
    assert "industry" not in criteria.index


def test_preview_of_a_saved_product_and_refusals(market):
    saved = whitelist.eligibility_preview(actor=market.manager, product=market.products["draft"])
    assert (saved.enterprises, saved.eligible) == (6, 2)  # not first-loan friendly: only the two with loans
    with pytest.raises(ForbiddenError):
        whitelist.eligibility_preview(actor=market.outsider, product=market.products["draft"])
    with pytest.raises(InvalidError):
        whitelist.eligibility_preview(actor=market.officer, product=good_product(rate_max="30"))


def test_the_white_list_ranks_eligible_enterprises_and_masks_those_without_consent(market):
    now = utcnow()
    with session_scope() as s:
        s.add(ConsentGrant(enterprise_id=market.enterprise_ids[0], institution_id=market.bank_id, scopes=["basic"],
                           purpose="贷款", granted_at=now, expires_at=now + timedelta(days=30)))
        names = {e.id: (e.name, e.credit_code) for e in s.exec(select(Enterprise))}
    listed = whitelist.product_whitelist(actor=market.officer, product_id=market.products["cheap"], k=50)
    assert list(listed.columns) == whitelist.WHITELIST_COLUMNS
    assert sorted(listed["enterprise_id"]) == sorted(market.enterprise_ids)
    assert listed["rank"].tolist() == list(range(1, 7))
    assert listed["fit_score"].is_monotonic_decreasing
    rows = listed.set_index("enterprise_id")
    consented = market.enterprise_ids[0]
    assert rows.loc[consented, "enterprise_name"] == names[consented][0] and rows.loc[consented, "consented"]
    for other in market.enterprise_ids[1:]:
        name, code = names[other]
        assert rows.loc[other, "enterprise_name"] != name and rows.loc[other, "enterprise_name"].startswith(name[0])
        assert "*" in rows.loc[other, "credit_code"] and rows.loc[other, "credit_code"][-4:] == code[-4:]
    assert rows["offered_at"].isna().all()
    top = whitelist.product_whitelist(actor=market.officer, product_id=market.products["cheap"], k=2)
    assert len(top) == 2
    with pytest.raises(ForbiddenError):
        whitelist.product_whitelist(actor=market.outsider, product_id=market.products["cheap"])
    with pytest.raises(InvalidError):
        whitelist.product_whitelist(actor=market.officer, product_id=market.products["cheap"], k=0)


def test_pushing_offers_twice_sends_each_enterprise_one_notification(market):
    cheap, ids = market.products["cheap"], market.enterprise_ids
    first = whitelist.push_offers(actor=market.officer, product_id=cheap, enterprise_ids=ids[:2],
                                  message="欢迎申请我行税易贷")
    again = whitelist.push_offers(actor=market.manager, product_id=cheap, enterprise_ids=ids[:3],
                                  message="再次推荐")
    assert (first.sent, first.already, again.sent, again.already) == (2, 0, 1, 2)
    sent = _notifications()
    assert [n.enterprise_id for n in sent] == ids[:3]
    assert sent[0].kind == "product.offer" and "税易贷" in sent[0].title and sent[0].body == "欢迎申请我行税易贷"
    listed = whitelist.product_whitelist(actor=market.officer, product_id=cheap).set_index("enterprise_id")
    assert listed.loc[ids[:3], "offered_at"].notna().all() and listed.loc[ids[3:], "offered_at"].isna().all()


@pytest.mark.parametrize(
    ("product", "targets", "message"),
    [
        ("draft", [0], "草稿不能推送"),  # not published
        ("big", [1], "抵押贷推荐"),  # ids[1] never borrowed: the mortgage is not first-loan friendly
        ("cheap", [], "没有企业"),
        ("cheap", [0], " "),
        ("cheap", [0], "长" * 501),
    ],
)
def test_bad_pushes_are_refused_and_send_nothing(market, product, targets, message):
    with pytest.raises(InvalidError):
        whitelist.push_offers(actor=market.officer, product_id=market.products[product],
                              enterprise_ids=[market.enterprise_ids[i] for i in targets], message=message)
    assert _notifications() == []


def test_another_bank_cannot_push_my_product(market):
    with pytest.raises(ForbiddenError):
        whitelist.push_offers(actor=market.outsider, product_id=market.products["cheap"],
                              enterprise_ids=market.enterprise_ids[:1], message="冒名推送")
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Notification)).one() == 0
