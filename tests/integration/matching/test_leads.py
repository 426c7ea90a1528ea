"""The institution's side: the inbox with clocks and explanations, responding (optimistic locking),
and the workbench."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError
from core.models import Lead, Notification
from core.services import lead_sweep, leads, needs
from tests.integration.matching.world import NOW, build


def _publish(w, key="need-lead-001", **overrides):
    return needs.publish_need(actor=w.owner, need=w.need(**overrides), idempotency_key=key, now=NOW)


def test_the_inbox_shows_the_branch_its_leads_with_grade_clock_and_reasons(db):
    w = build(grade="AA")
    _publish(w)
    inbox = leads.lead_inbox(actor=w.officers["a"], institution_id=w.branches["a_local"], now=NOW)
    assert list(inbox.columns) == leads.INBOX_COLUMNS
    row = inbox.iloc[0]
    assert len(inbox) == 1 and row["grade"] == "AA" and row["status"] == "pending"
    assert row["days_left"] == 2 and not row["overdue"]  # 30 Sep → 9 Oct: two working days
    assert [r.key for r in row["reasons"]][:1] == ["matching.reason.rate"]
    # the head office sees its branches' leads; the other bank's officer may not look
    assert len(leads.lead_inbox(actor=w.officers["a"], institution_id=w.banks["a"], now=NOW)) == 1
    with pytest.raises(ForbiddenError):
        leads.lead_inbox(actor=w.officers["b"], institution_id=w.banks["a"], now=NOW)


def test_accept_and_decline_record_the_response_and_tell_the_enterprise(db):
    w = build()
    out = _publish(w)
    by_inst = out.leads.set_index("institution_id")["lead_id"]
    accepted = leads.respond_to_lead(actor=w.officers["a"], lead_id=int(by_inst[w.branches["a_local"]]),
                                     accept=True, now=NOW + timedelta(hours=2))
    assert accepted.status == "responded" and accepted.responded_at == NOW + timedelta(hours=2)
    with pytest.raises(InvalidError) as caught:
        leads.respond_to_lead(actor=w.officers["b"], lead_id=int(by_inst[w.banks["b"]]), accept=False, reason=" ")
    assert caught.value.field == "reason"
    declined = leads.respond_to_lead(actor=w.officers["b"], lead_id=int(by_inst[w.banks["b"]]), accept=False,
                                     reason="超出本行授信区域", now=NOW)
    assert declined.status == "declined" and declined.response_note == "超出本行授信区域"
    with pytest.raises(leads.LeadClosedError):
        leads.respond_to_lead(actor=w.officers["b"], lead_id=declined.id, accept=True)
    with pytest.raises(ForbiddenError):
        leads.respond_to_lead(actor=w.officers["c"], lead_id=accepted.id, accept=True)
    with session_scope() as s:
        kinds = sorted(n.kind for n in s.exec(select(Notification)) if n.enterprise_id == w.enterprise_id)
    assert kinds == ["lead.accepted", "lead.declined"]


def test_a_response_based_on_a_stale_version_is_refused(db):
    w = build()
    out = _publish(w, dispatch_limit=1)
    lead_id = int(out.leads["lead_id"].iloc[0])
    shown = leads.lead_inbox(actor=w.officers["a"], institution_id=w.branches["a_local"], now=NOW)
    version = int(shown["version"].iloc[0])
    with session_scope() as s:  # someone else touches the lead after the inbox was drawn
        row = s.get(Lead, lead_id)
        row.response_note = "电话未接通"
        s.add(row)
    with pytest.raises(StaleVersionError):
        leads.respond_to_lead(actor=w.officers["a"], lead_id=lead_id, accept=True, version=version)
    with session_scope() as s:
        assert s.get(Lead, lead_id).status == "pending"


def test_an_expired_lead_can_no_longer_be_answered(db):
    w = build()
    out = _publish(w, dispatch_limit=1)
    lead_sweep.sweep_leads(actor=SYSTEM_ACTOR, now=NOW + timedelta(days=10))
    with pytest.raises(leads.LeadClosedError):
        leads.respond_to_lead(actor=w.officers["a"], lead_id=int(out.leads["lead_id"].iloc[0]), accept=True)


def test_the_workbench_counts_clocks_funnel_and_alerts(db):
    w = build()
    _publish(w, key="need-lead-002", dispatch_limit=1)
    _publish(w, key="need-lead-003", dispatch_limit=1, amount=Decimal("800000"))
    inbox = leads.lead_inbox(actor=w.officers["a"], institution_id=w.banks["a"], now=NOW)
    leads.respond_to_lead(actor=w.officers["a"], lead_id=int(inbox["lead_id"].iloc[0]), accept=True, now=NOW)
    on_deadline = NOW + timedelta(days=9)  # 9 Oct: the pending lead's first-response clock ends today
    wb = leads.workbench_summary(actor=w.officers["a"], institution_id=w.banks["a"], now=on_deadline)
    assert wb.kpis["pending"] == 1 and wb.kpis["due_today"] == 1 and wb.kpis["overdue"] == 0
    assert dict(zip(wb.funnel["stage"], wb.funnel["count"], strict=True))["contacted"] == 1
    assert wb.alerts.empty
    late = leads.workbench_summary(actor=w.officers["a"], institution_id=w.banks["a"], now=NOW + timedelta(days=16))
    assert late.kpis["overdue"] == 2
    assert sorted(late.alerts["kind"]) == ["overdue_decision", "overdue_response"]
