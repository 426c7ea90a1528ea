"""Needs and dispatch: publish (validated, idempotent), K leads routed by district and branch, SLA
clocks across the National Day holiday, claims, and the sweep that expires, escalates and re-dispatches."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, ValidationErrors
from core.lending.workdays import SHANGHAI, sla_deadline
from core.models import AuditEvent, FinancingNeed, Lead, Notification
from core.services import lead_sweep, need_claims, needs
from tests.integration.matching.world import NOW, build


def _rows(model):
    with session_scope() as s:
        return list(s.exec(select(model)))


def test_a_need_goes_to_at_most_k_institutions_best_fit_first_routed_to_the_local_branch(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=2), idempotency_key="need-key-0001", now=NOW)
    leads = out.leads.sort_values("rank")
    assert len(leads) == 2
    # bank a (cheapest) first, reached through its branch in the enterprise's district; b at its head office
    assert leads["institution_id"].tolist() == [w.branches["a_local"], w.banks["b"]]
    assert leads["channel"].tolist() == ["dispatch", "dispatch"]
    assert leads["product_id"].tolist() == [w.products["a"], w.products["b"]]
    notes = _rows(Notification)
    assert {n.organization_id for n in notes} == {w.branches["a_local"], w.banks["b"]}
    assert all(n.kind == "lead.dispatch" for n in notes)


def test_sla_clocks_count_working_days_across_national_day(db):
    w = build()
    needs.publish_need(actor=w.owner, need=w.need(), idempotency_key="need-key-0002", now=NOW)
    lead = _rows(Lead)[0]
    # received Wed 30 Sep 10:00; 1–7 Oct are holidays: first response by Fri 9 Oct, decision by Tue 13 Oct
    # (Sat 10 Oct is a make-up working day)
    assert lead.first_response_due.astimezone(SHANGHAI).date().isoformat() == "2026-10-09"
    assert lead.decision_due.astimezone(SHANGHAI).date().isoformat() == "2026-10-13"


def test_publishing_twice_with_one_key_stores_one_need_and_one_set_of_leads(db):
    w = build()
    first = needs.publish_need(actor=w.owner, need=w.need(), idempotency_key="need-key-0003", now=NOW)
    again = needs.publish_need(actor=w.owner, need=w.need(), idempotency_key="need-key-0003", now=NOW)
    assert again.replayed and again.need.id == first.need.id
    assert len(_rows(FinancingNeed)) == 1
    assert len(_rows(Lead)) == 2
    with pytest.raises(needs.NeedKeyReusedError):
        needs.publish_need(actor=w.owner, need=w.need(amount=Decimal("600000")), idempotency_key="need-key-0003",
                           now=NOW)


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"amount": Decimal("0")}, {"amount"}),
        ({"amount": Decimal("-5")}, {"amount"}),
        ({"amount": Decimal("200000000")}, {"amount"}),
        ({"term_months": 0}, {"term_months"}),
        ({"term_months": 361}, {"term_months"}),
        ({"purpose": " "}, {"purpose"}),
        ({"max_rate": Decimal("36.5")}, {"max_rate"}),
        ({"max_rate": Decimal("0")}, {"max_rate"}),
        ({"amount": "abc", "term_months": 1.5, "purpose": "", "dispatch_limit": 11},
         {"amount", "term_months", "purpose", "dispatch_limit"}),
    ],
)
def test_bad_needs_are_refused_with_field_errors_and_nothing_is_written(db, overrides, fields):
    w = build()
    with pytest.raises(InvalidError) as caught:
        needs.publish_need(actor=w.owner, need=w.need(**overrides), idempotency_key="need-key-bad1", now=NOW)
    errors = caught.value.errors if isinstance(caught.value, ValidationErrors) else [caught.value]
    assert {e.field for e in errors} == fields
    assert all(e.message("zh_CN") != e.key for e in errors)  # every message is in the catalog
    assert _rows(FinancingNeed) == [] and _rows(Lead) == []


def test_only_the_enterprise_itself_publishes(db):
    w = build()
    with pytest.raises(ForbiddenError):
        needs.publish_need(actor=w.officers["a"], need=w.need(), idempotency_key="need-key-0004", now=NOW)
    assert _rows(FinancingNeed) == []


def test_a_rate_cap_below_every_product_reaches_nobody_but_the_need_is_published(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(max_rate=Decimal("3.00")), idempotency_key="need-key-0005",
                             now=NOW)
    assert out.leads.empty and out.need.status == "published"


def test_the_enterprise_sees_who_received_each_need_and_the_clock(db):
    w = build()
    needs.publish_need(actor=w.owner, need=w.need(), idempotency_key="need-key-0006", now=NOW)
    mine = needs.list_my_needs(actor=w.owner, enterprise_id=w.enterprise_id, now=NOW + timedelta(days=9))
    assert mine.needs["n_leads"].tolist() == [2]
    # 9 Oct: the first-response clock ends today (0 days left), not overdue yet
    assert mine.leads["days_left"].tolist() == [0, 0] and not mine.leads["overdue"].any()
    late = needs.list_my_needs(actor=w.owner, enterprise_id=w.enterprise_id, now=NOW + timedelta(days=10))
    assert late.leads["overdue"].all() and (late.leads["days_left"] < 0).all()


# ------------------------------------------------------------------------------------------- sweep


def test_the_sweep_expires_escalates_and_redispatches_exactly_once(db):
    w = build()
    needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=2), idempotency_key="need-key-0007", now=NOW)
    from core.auth import SYSTEM_ACTOR

    before = lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=NOW + timedelta(days=9))  # 9 Oct, still in time
    assert before.expired == [] and before.redispatched == []
    after = NOW + timedelta(days=10)  # Sat 10 Oct: both first-response clocks have run out
    first = lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=after)
    assert len(first.expired) == 2 and first.escalated == first.expired
    assert len(first.redispatched) == 1  # only bank c is left
    again = lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=after)
    assert again.expired == [] and again.redispatched == [] and again.escalated == []
    leads = {lead.institution_id: lead for lead in _rows(Lead)}
    assert leads[w.banks["c"]].channel == "redispatch" and leads[w.banks["c"]].status == "pending"
    assert leads[w.banks["c"]].first_response_due.astimezone(SHANGHAI).date().isoformat() == "2026-10-13"
    expired = [lead for lead in leads.values() if lead.status == "expired"]
    assert len(expired) == 2 and all(lead.escalated_at == after and lead.closed_at == after for lead in expired)
    escalations = [n for n in _rows(Notification) if n.kind == "lead.escalated"]
    assert {n.user_id for n in escalations} == {w.managers["a"], w.managers["b"]}
    actions = [e.action for e in _rows(AuditEvent)]
    assert actions.count("lead.expire") == 2 and actions.count("lead.redispatch") == 1


def test_a_late_decision_is_escalated_once(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1), idempotency_key="need-key-0008",
                             now=NOW)
    from core.auth import SYSTEM_ACTOR
    from core.services import leads

    lead_id = int(out.leads["lead_id"].iloc[0])
    leads.respond_to_lead(actor=w.officers["a"], lead_id=lead_id, accept=True, now=NOW + timedelta(hours=1))
    late = NOW + timedelta(days=14)
    assert lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=late).decision_escalated == [lead_id]
    assert lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=late).decision_escalated == []


# ------------------------------------------------------------------------------------------ claims


def test_an_institution_claims_an_open_need_that_was_not_pushed_to_it(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=3), idempotency_key="need-key-0009",
                             now=NOW)
    assert len(out.leads) == 3
    need_id = out.need.id
    # every family already holds a lead: nobody may claim it
    with pytest.raises(need_claims.NeedAlreadyLeadError):
        need_claims.claim_need(actor=w.officers["c"], need_id=need_id, now=NOW)
    from core.services import leads

    # b declines: one active lead fewer, but b's family still holds a lead (declined) for it
    lead_b = out.leads.set_index("institution_id").loc[w.banks["b"], "lead_id"]
    leads.respond_to_lead(actor=w.officers["b"], lead_id=int(lead_b), accept=False, reason="超出授信区域", now=NOW)
    with pytest.raises(need_claims.NeedAlreadyLeadError):
        need_claims.claim_need(actor=w.officers["b"], need_id=need_id, now=NOW)


def test_claim_rules_room_eligibility_and_the_family(db):
    w = build(bank_rates={"c": "9.00"})
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1, max_rate=Decimal("8.0")),
                             idempotency_key="need-key-0010", now=NOW)
    need_id = out.need.id
    assert out.leads["institution_id"].tolist() == [w.branches["a_local"]]
    with pytest.raises(need_claims.NeedFullError):  # K = 1 and a's lead is active
        need_claims.claim_need(actor=w.officers["b"], need_id=need_id, now=NOW)
    from core.services import leads

    leads.respond_to_lead(actor=w.officers["a"], lead_id=int(out.leads["lead_id"].iloc[0]), accept=False,
                          reason="额度已满", now=NOW)
    claimable_c = need_claims.claimable_needs(actor=w.officers["c"], institution_id=w.banks["c"], now=NOW)
    assert need_id not in claimable_c["need_id"].tolist()  # c's 9 % product is above the 8 % cap
    with pytest.raises(need_claims.NeedNotEligibleError):
        need_claims.claim_need(actor=w.officers["c"], need_id=need_id, now=NOW)
    claimable_b = need_claims.claimable_needs(actor=w.officers["b"], institution_id=w.banks["b"], now=NOW)
    assert claimable_b["need_id"].tolist() == [need_id]
    with pytest.raises(ForbiddenError):  # b's officer cannot claim for bank c
        need_claims.claim_need(actor=w.officers["b"], need_id=need_id, institution_id=w.banks["c"], now=NOW)
    claimed = need_claims.claim_need(actor=w.officers["b"], need_id=need_id, now=NOW)
    assert claimed["channel"].tolist() == ["claim"] and claimed["status"].tolist() == ["responded"]
    with pytest.raises(need_claims.NeedAlreadyLeadError):
        need_claims.claim_need(actor=w.officers["b"], need_id=need_id, now=NOW)
    assert need_claims.claimable_needs(actor=w.officers["b"], institution_id=w.banks["b"], now=NOW).empty


def test_a_closed_need_cannot_be_claimed(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1), idempotency_key="need-key-0011", now=NOW)
    with session_scope() as s:
        row = s.get(FinancingNeed, out.need.id)
        row.status = "closed"
        s.add(row)
    with pytest.raises(need_claims.NeedNotOpenError):
        need_claims.claim_need(actor=w.officers["b"], need_id=out.need.id, now=NOW)


def test_time_is_never_naive():
    with pytest.raises(ValueError):
        sla_deadline(datetime(2026, 9, 30, 10), 2)


def test_the_sweep_script_prints_one_json_line(db, capsys):
    import json

    from scripts.sla_sweep import main

    w = build()
    needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1), idempotency_key="need-key-0012", now=NOW)
    assert main(["--json", "--now", "2026-10-10T09:00:00+08:00"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["expired"] == 1 and summary["redispatched"] == 1
    assert main(["--json", "--now", "2026-10-10T09:00:00+08:00"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["expired"] == 0
