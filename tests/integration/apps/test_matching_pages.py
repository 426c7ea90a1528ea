"""The matchmaking pages under AppTest with real rows: publish a need (double-click safe, field errors),
answer a lead in the inbox, claim an open need, and read the workbench."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.models import FinancingNeed, Lead
from core.services import leads, needs
from tests.integration.matching.world import build

ROOT = Path(__file__).resolve().parents[3]
NEEDS_PAGE = ROOT / "apps/enterprise/app_pages/needs/needs.py"
INBOX_PAGE = ROOT / "apps/bank/app_pages/leads/inbox.py"
WORKBENCH_PAGE = ROOT / "apps/bank/app_pages/workbench/workbench.py"
pytestmark = pytest.mark.slow


def page(path: Path, actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def rows(model):
    with session_scope() as s:
        return list(s.exec(select(model)))


def test_the_enterprise_publishes_once_even_when_the_button_is_pressed_twice(db):
    w = build()
    at = page(NEEDS_PAGE, w.owner)
    assert not at.exception
    at.number_input(key="ent_needs_amount").set_value(50.0).run()
    at.text_input(key="ent_needs_purpose").input("采购原材料").run()
    at.slider(key="ent_needs_limit").set_value(2).run()
    at.button(key="ent_needs_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "已推送给 2 家机构" in at.success[0].value
    at.button(key="ent_needs_submit").click().run()  # the second press of a double-click: same inputs
    assert not at.exception
    assert len(rows(FinancingNeed)) == 1 and len(rows(Lead)) == 2
    # my needs: who received it, with the clock
    text = " ".join(str(m.value) for m in at.markdown)
    assert "测试银行A桃城支行" in text and "测试银行B" in text


def test_bad_input_shows_messages_next_to_the_fields_and_stores_nothing(db):
    w = build()
    at = page(NEEDS_PAGE, w.owner, lang="en")
    at.number_input(key="ent_needs_amount").set_value(0.0).run()
    at.button(key="ent_needs_submit").click().run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert any("Enter an amount above 0" in m for m in messages)
    assert any("purpose" in m for m in messages)
    assert rows(FinancingNeed) == []


def test_the_officer_declines_without_a_reason_is_told_then_accepts(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1), idempotency_key="page-need-01")
    lead_id = int(out.leads["lead_id"].iloc[0])
    at = page(INBOX_PAGE, w.officers["a"])
    assert not at.exception
    assert any(w_name in str(m.value) for m in at.markdown for w_name in ["衡水测试企业"])
    at.button(key=f"bank_leads_decline_{lead_id}").click().run()
    assert at.error and "原因" in at.error[0].value
    at.button(key=f"bank_leads_accept_{lead_id}").click().run()
    assert not at.exception and at.success
    assert rows(Lead)[0].status == "responded"


def test_another_bank_claims_an_open_need_from_the_inbox(db):
    w = build()
    out = needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=2), idempotency_key="page-need-02")
    lead_b = int(out.leads.set_index("institution_id").loc[w.banks["b"], "lead_id"])
    leads.respond_to_lead(actor=w.officers["b"], lead_id=lead_b, accept=False, reason="额度已满")
    at = page(INBOX_PAGE, w.officers["c"])
    assert not at.exception
    at.selectbox(key="bank_leads_claim_pick").select(out.need.id).run()
    at.button(key="bank_leads_claim").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    claimed = [lead for lead in rows(Lead) if lead.channel == "claim"]
    assert len(claimed) == 1 and claimed[0].institution_id == w.banks["c"]


def test_the_workbench_counts_pending_leads_and_draws_the_funnel(db):
    w = build()
    needs.publish_need(actor=w.owner, need=w.need(dispatch_limit=1), idempotency_key="page-need-03")
    at = page(WORKBENCH_PAGE, w.officers["a"], lang="en")
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Leads awaiting response"] == "1"
    assert "Matchmaking funnel" in [s.value for s in at.subheader]
