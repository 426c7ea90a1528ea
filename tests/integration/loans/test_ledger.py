"""The matchmaking ledger: rows derived from needs, leads, applications, events and loans, with SLA compliance."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from core.db import session_scope
from core.errors import ForbiddenError
from core.models import ApplicationEvent, FinancingNeed, Lead, Product
from core.models.types import ApplicationStatus as S
from core.models.types import NeedStatus
from core.services import ledger
from tests import factories

T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)  # Monday 09:00 in Shanghai
NOW = datetime(2026, 4, 1, 4, tzinfo=UTC)


def _need(s, enterprise_id: int, published: datetime) -> FinancingNeed:
    need = FinancingNeed(enterprise_id=enterprise_id, amount=Decimal("500000"), term_months=12, purpose="扩大生产",
                         status=NeedStatus.published, published_at=published)
    s.add(need)
    s.flush()
    return need


def _lead(s, need, institution_id, *, responded=None, status="pending", channel="dispatch") -> Lead:
    lead = Lead(need_id=need.id, institution_id=institution_id, channel=channel, status=status, dispatched_at=T0,
                first_response_due=T0 + timedelta(days=2), decision_due=T0 + timedelta(days=7), responded_at=responded)
    s.add(lead)
    s.flush()
    return lead


def _event(s, app, to, at):
    s.add(ApplicationEvent(application_id=app.id, to_status=to, occurred_at=at))


@pytest.fixture
def ledger_world(world):
    with session_scope() as s:
        prod = s.get(Product, world.product_id)
        other_bank = factories.institution(s, name="另一家银行")
        ent = factories.enterprise(s, district_code="131102")
        far = factories.enterprise(s, district_code="131121")
        n1 = _need(s, ent.id, T0)
        met = _lead(s, n1, world.branch_id, responded=T0 + timedelta(days=1), status="applied")
        expired = _lead(s, n1, other_bank.id, status="expired")
        a1 = factories.application(s, ent, prod, need_id=n1.id, lead_id=met.id, status=S.repaying,
                                   submitted_at=T0 + timedelta(days=1), decided_at=T0 + timedelta(days=3))
        _event(s, a1, S.approved, T0 + timedelta(days=3))
        factories.loan(s, a1, is_first_loan=True, disbursed_at=T0 + timedelta(days=6))
        a2 = factories.application(s, far, prod, status=S.rejected, submitted_at=T0 + timedelta(days=10),
                                   decision_reason_code="cash_flow", decision_text="现金流不足")
        _event(s, a2, S.accepted, T0 + timedelta(days=20))
        _event(s, a2, S.rejected, T0 + timedelta(days=21))
        lonely = _need(s, far.id, T0 + timedelta(days=12))
        return {"met": met.id, "expired": expired.id, "a1": a1.id, "a2": a2.id, "lonely": lonely.id,
                "other_bank": other_bank.id, "n1": n1.id}


def test_ledger_rows_are_derived_from_the_recorded_rows(world, ledger_world):
    rows = ledger.matchmaking_ledger(actor=world.operator, now=NOW)
    assert len(rows) == 4
    by_lead = rows.set_index("lead_id")
    pushed = by_lead.loc[ledger_world["met"]]
    assert (pushed["channel"], pushed["application_id"], pushed["response_sla"], pushed["decision"],
            pushed["decision_sla"], bool(pushed["is_first_loan"])) == ("dispatch", ledger_world["a1"], "met",
                                                                        "approved", "met", True)
    missed = by_lead.loc[ledger_world["expired"]]
    assert (missed["response_sla"], missed["lead_status"], missed["institution_name"]) == ("missed", "expired",
                                                                                          "另一家银行")
    direct = rows[rows["channel"] == "direct"].iloc[0]
    assert (direct["application_id"], direct["decision"], direct["reason_code"]) == (ledger_world["a2"], "rejected",
                                                                                    "cash_flow")
    assert direct["response_sla"] == "missed" and direct["decision_sla"] == "missed"  # accepted after 10 days
    lonely = rows[rows["channel"] == "none"].iloc[0]
    assert lonely["need_id"] == ledger_world["lonely"] and pd_isna(lonely["institution_id"])


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_ledger_filters(world, ledger_world):
    def ids(**kw):
        return len(ledger.matchmaking_ledger(actor=world.operator, now=NOW, **kw))

    assert ids(institution_id=world.bank_id) == 2  # the branch's push and the direct application
    assert ids(institution_id=ledger_world["other_bank"]) == 1
    assert ids(district_code="131121") == 2
    assert ids(status="rejected") == 1 and ids(status="expired") == 1
    assert ids(date_from=date(2026, 3, 10)) == 2 and ids(date_to=date(2026, 3, 5)) == 2


def test_ledger_view_kpis_and_league_table(world, ledger_world):
    view = ledger.ledger_view(actor=world.operator)
    assert view.kpis["pushes"] == 2 and view.kpis["applications"] == 2 and view.kpis["approved"] == 1
    assert view.kpis["approval_rate"] == 0.5 and view.kpis["loans"] == 1 and view.kpis["first_loans"] == 1
    assert view.kpis["response_sla"] == pytest.approx(1 / 3, abs=1e-4)
    bank = view.league.set_index("institution_id").loc[world.bank_id]
    assert (bank["applications"], bank["approved"], bank["approval_rate"]) == (2, 1, 0.5)
    assert bank["median_days_to_decision"] == pytest.approx(6.5)  # 2 days and 11 days
    assert set(view.funnel.totals["stage"]) == {"visit", "guidance", "application", "first_loan", "repeat_loan"}
    options = ledger.ledger_options(actor=world.operator)
    assert world.bank_id in options["institutions"] and world.branch_id not in options["institutions"]


def test_only_oversight_reads_the_ledger(world, ledger_world):
    for actor in (world.manager, world.owner):
        with pytest.raises(ForbiddenError):
            ledger.matchmaking_ledger(actor=actor)


def test_decision_clock_starts_when_the_enterprise_applies(world):
    """A bank is timed on deciding an application from its submission, not from the push; a lead answered but
    never applied through has no decision clock; a declined lead is decided when it was declined."""
    with session_scope() as s:
        prod = s.get(Product, world.product_id)
        ent = factories.enterprise(s, district_code="131102")
        need = _need(s, ent.id, T0)
        late_apply = _lead(s, need, world.branch_id, responded=T0 + timedelta(days=1), status="applied")
        # Submitted 15 days after the push (long past the lead's decision_due), decided 2 days later.
        app = factories.application(s, ent, prod, need_id=need.id, lead_id=late_apply.id, status=S.approved,
                                    submitted_at=T0 + timedelta(days=15), decided_at=T0 + timedelta(days=17))
        contacted = _lead(s, need, factories.institution(s, name="联系过的银行").id,
                          responded=T0 + timedelta(days=1), status="responded")
        declined = _lead(s, need, factories.institution(s, name="婉拒的银行").id,
                         responded=T0 + timedelta(days=1), status="declined")
        ids = {"late": late_apply.id, "contacted": contacted.id, "declined": declined.id, "app": app.id}
    rows = ledger.matchmaking_ledger(actor=world.operator, now=NOW).set_index("lead_id")
    late = rows.loc[ids["late"]]
    assert late["application_id"] == ids["app"] and late["decision_sla"] == "met"
    assert late["decision_due"] > late["submitted_at"] > T0 + timedelta(days=7)
    assert pd_isna(rows.loc[ids["contacted"], "decision_sla"])
    assert rows.loc[ids["declined"], "decision_sla"] == "met"
