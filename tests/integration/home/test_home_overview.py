"""The enterprise home read: every block with the right next step and urgency, only the enterprise's own
rows, the empty state of a brand-new enterprise, and refusals that write nothing (both databases)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ForbiddenError
from core.lending.workdays import SHANGHAI
from core.models import AuditEvent
from core.services.enterprise_home import home_overview
from tests import factories
from tests.integration.home.world import build_home


@pytest.fixture
def home(db):
    return build_home()


def _overview(home, actor=None, **kwargs):
    actor = actor or home.owner
    return home_overview(actor=actor, enterprise_id=actor.enterprise_id, now=home.now, **kwargs)


def test_greeting_shows_the_name_grade_and_borrower_status(home):
    out = _overview(home)
    g = out.greeting
    assert g.enterprise_id == home.owner.enterprise_id and g.name.startswith("衡水测试企业")
    assert (g.grade, g.score) == ("A", 700)
    assert g.first_time is False and g.loans == 2
    assert g.daypart in {"morning", "afternoon", "evening"}
    assert out.as_of == home.now.astimezone(SHANGHAI).date()


def test_recommended_products_come_with_why_they_fit_and_the_near_miss_says_what_is_missing(home):
    out = _overview(home)
    ids = [p.product_id for p in out.recommended]
    assert set(ids) == {home.w.products[k] for k in "abc"}
    assert [p.rate_min for p in out.recommended] == sorted(p.rate_min for p in out.recommended)  # cheapest fits best
    assert out.eligible_total == 3
    for product in out.recommended:
        assert product.why_key.startswith("home.why.")
        assert product.why_params["rate"] == f"{product.rate_min:.2f}"
        assert "matching.reason.rate" in [r.key for r in product.reasons]
    assert out.near_miss is not None and out.near_miss.product_id == home.near_product_id
    assert [m.criterion for m in out.near_miss.missing] == ["grade"]
    assert (out.near_miss.missing[0].key, out.near_miss.missing[0].params) == (
        "matching.missing.grade", {"required": "AAA", "actual": "A"})


def test_an_open_need_shows_its_institutions_responses_and_nearest_clock(home):
    out = _overview(home)
    assert [n.need_id for n in out.needs] == [home.need_id]
    need = out.needs[0]
    assert (need.institutions, need.responses, need.waiting) == (2, 1, 2)
    assert need.amount == Decimal("500000") and need.purpose == "采购原材料"
    assert need.earliest_due is not None and need.earliest_due > home.now
    assert need.earliest_days_left is not None and need.earliest_days_left >= 0
    assert need.overdue is False


def test_open_applications_carry_the_next_step_and_who_acts(home):
    out = _overview(home)
    by_id = {a.application_id: a for a in out.applications}
    assert set(by_id) == {home.doc_app_id, home.approved_app_id}
    doc = by_id[home.doc_app_id]
    assert (doc.next_step, doc.who_acts, doc.documents_requested) == ("review.next.upload", "you", 1)
    assert doc.document_notes == ["近 6 个月银行流水"]
    approved = by_id[home.approved_app_id]
    assert (approved.status, approved.next_step, approved.who_acts) == ("approved", "review.next.approved", "you")


def test_due_reminders_show_the_next_installment_and_highlight_the_overdue_one(home):
    out = _overview(home)
    assert [r.loan_id for r in out.reminders] == [home.overdue_loan_id, home.due_loan_id]  # overdue first
    overdue, due = out.reminders
    assert overdue.overdue_amount == Decimal("20500.00") and overdue.overdue_installments == 1
    assert overdue.days_past_due == 10 and overdue.bucket == "M1"
    assert overdue.days_left == 20 and overdue.next_due_amount == Decimal("20500.00")
    assert due.overdue_amount == 0 and due.days_past_due == 0
    assert due.days_left == 3 and due.next_due_amount == Decimal("16500.00")
    assert due.next_due_date == out.as_of + timedelta(days=3)


def test_unread_count_and_latest_three_notices(home):
    out = _overview(home, locale="en")
    # the bank's acceptance of the need, two reminders and the dispute answer; the read reminder is not counted
    assert out.unread == 4
    assert [n.kind for n in out.notifications] == ["lead.accepted", "dispute_answered", "loan.due_in_3"]
    assert all(n.unread for n in out.notifications)  # unread first, newest first within them
    assert out.notifications[2].title.isascii()  # a reminder written with a message key, shown in English
    assert not _overview(home).notifications[2].title.isascii()  # and in Chinese by default


def test_the_to_do_list_is_ordered_by_urgency(home):
    out = _overview(home)
    kinds = [(i.kind, i.urgency) for i in out.todo]
    assert kinds == [
        ("overdue", "high"),
        ("repayment_due", "high"),
        ("document", "high"),
        ("consent_expiring", "medium"),  # within one urgency, what has a date comes first, nearest first
        ("sign_contract", "medium"),
        ("dispute_answered", "low"),
    ]
    overdue, due, doc, grant, sign, dispute = out.todo
    assert (overdue.entity_id, overdue.days_left, overdue.page) == (home.overdue_loan_id, -10, "my-loans")
    assert overdue.params["amount"] == "20,500.00"
    assert (due.entity_id, due.days_left) == (home.due_loan_id, 3)
    assert (doc.entity_id, doc.page, doc.params["note"]) == (home.doc_app_id, "my-applications", "近 6 个月银行流水")
    assert sign.entity_id == home.approved_app_id
    assert (grant.entity_id, grant.days_left, grant.page) == (home.consent_id, 5, "consent")
    assert (dispute.entity_id, dispute.page) == (7, "my-data")


def test_a_repayment_due_in_five_days_is_medium_and_follows_the_document_request(db):
    home = build_home()
    out = home_overview(actor=home.owner, enterprise_id=home.owner.enterprise_id, now=home.now + timedelta(days=-2))
    due = next(i for i in out.todo if i.kind == "repayment_due")
    assert (due.days_left, due.urgency) == (5, "medium")
    kinds = [i.kind for i in out.todo]
    assert kinds.index("document") < kinds.index("repayment_due")
    assert "overdue" in kinds  # 8 days overdue two days earlier


def test_another_enterprises_rows_never_appear(home):
    out = _overview(home)
    theirs = home.other_ids
    assert theirs["need"] not in [n.need_id for n in out.needs]
    assert not {theirs["doc_app"], theirs["approved_app"]} & {a.application_id for a in out.applications}
    assert not {theirs["due_loan"], theirs["overdue_loan"]} & {r.loan_id for r in out.reminders}
    assert theirs["consent"] not in [i.entity_id for i in out.todo if i.kind == "consent_expiring"]
    assert theirs["dispute_note"] not in [n.id for n in out.notifications]
    assert out.unread == 4
    # and the other enterprise's own page holds its own rows only
    mine = _overview(home, actor=home.other)
    assert [n.need_id for n in mine.needs] == [theirs["need"]]
    assert {r.loan_id for r in mine.reminders} == {theirs["due_loan"], theirs["overdue_loan"]}


def test_a_user_of_another_enterprise_or_a_bank_or_a_regulator_is_refused_and_nothing_is_written(home):
    with session_scope() as s:
        audits = s.exec(select(func.count()).select_from(AuditEvent)).one()
    with pytest.raises(ForbiddenError):
        home_overview(actor=home.other, enterprise_id=home.owner.enterprise_id, now=home.now)
    with pytest.raises(ForbiddenError):
        home_overview(actor=home.w.officers["a"], enterprise_id=home.owner.enterprise_id, now=home.now)
    regulator = factories.actor("regulator_admin", organization_id=1)
    with pytest.raises(ForbiddenError):
        home_overview(actor=regulator, enterprise_id=home.owner.enterprise_id, now=home.now)
    _overview(home)  # a read writes no audit event either
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(AuditEvent)).one() == audits


def test_a_brand_new_enterprise_gets_the_empty_state(home):
    out = _overview(home, actor=home.newcomer)
    assert out.is_new is True
    assert out.greeting.first_time is True and out.greeting.grade is None and out.greeting.score is None
    assert (out.needs, out.applications, out.reminders, out.todo, out.notifications) == ([], [], [], [], [])
    assert out.unread == 0
    # still shown what it could apply for: the first-loan friendly products, why they fit
    assert {p.product_id for p in out.recommended} >= {home.w.products[k] for k in "abc"}
    assert all(p.why_key == "home.why.first_loan" for p in out.recommended if p.first_loan_friendly)
    assert _overview(home).is_new is False
