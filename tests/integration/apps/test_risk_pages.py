"""The risk screens under AppTest with real rows on both databases: the bank officer handles a signal
step by step (a stale version is refused), sees the portfolio, overdue follow-up and a borrower's
ownership; the enterprise reads its warnings without any rule parameter; the regulator reads the
oversight charts, edits a draft rule set (a bad parameter refused, nothing changed) and works a
large-default case; the read-side aggregates behind the wall mask names.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.enums import HolderType, LoanStatus
from core.models import LargeDefaultCase, RiskRule, RiskRuleSet, RiskSignal, RiskSignalEvent, Shareholding
from core.services import risk_queues, risk_rules, risk_views
from tests import factories

ROOT = Path(__file__).resolve().parents[3]
BANK = ROOT / "apps/bank/app_pages/risk/post_loan.py"
WARNINGS = ROOT / "apps/enterprise/app_pages/risk/warnings.py"
OVERSIGHT = ROOT / "apps/regulator/app_pages/risk/oversight.py"
RULES = ROOT / "apps/regulator/app_pages/risk/rule_sets.py"
CASES = ROOT / "apps/regulator/app_pages/risk/cases.py"
RULE = "JUD.NEW_CASE_DEFENDANT"  # its params include lookback_days = 90
pytestmark = pytest.mark.slow


def build() -> dict:
    """A bank lending to a borrower held 60 % by a parent firm; one red signal on it and a large-default case."""
    regulator = factories.actor("regulator_admin")
    risk_rules.risk_rule_set_history(actor=regulator)  # the shipped v1 becomes the published set
    with session_scope() as s:
        bank = factories.institution(s, name="衡水测试银行")
        borrower = factories.enterprise(s, name="衡水华泰机械制造有限公司", district_code="131102")
        parent = factories.enterprise(s, name="衡水华泰控股有限公司")
        s.add(Shareholding(enterprise_id=borrower.id, holder_type=HolderType.enterprise,
                           holder_enterprise_id=parent.id, holder_name=parent.name, share_pct=Decimal("60"),
                           since=date(2020, 1, 1)))
        s.add(Shareholding(enterprise_id=parent.id, holder_type=HolderType.person, holder_name="张三丰",
                           holder_id_number="130102198001011234", share_pct=Decimal("100"), since=date(2019, 1, 1)))
        product = factories.product(s, bank.id)
        app = factories.application(s, borrower, product)
        loan = factories.loan(s, app, status=LoanStatus.defaulted, outstanding_principal=Decimal("3000000"))
        rule_id = s.exec(select(RiskRule.id).where(RiskRule.code == RULE)).first()
        signal = RiskSignal(enterprise_id=borrower.id, loan_id=None, institution_id=bank.id, rule_id=rule_id,
                            rule_code=RULE, rule_version=1, set_version=1, level=7, colour="red",
                            detail={"case_ref": "(2026)冀1102民初123号"}, fingerprint="f" * 64,
                            raised_at=datetime.now(UTC) - timedelta(days=3))
        s.add(signal)
        s.add(LargeDefaultCase(loan_id=loan.id, enterprise_id=borrower.id, institution_id=bank.id,
                               amount=Decimal("3000000")))
        s.flush()
        return {"bank": bank.id, "borrower": borrower.id, "parent": parent.id, "signal": signal.id, "loan": loan.id}


def page(path: Path, actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def signal_row(signal_id: int) -> RiskSignal:
    with session_scope() as s:
        row = s.get(RiskSignal, signal_id)
        s.expunge(row)
        return row


def test_the_bank_officer_handles_a_signal_from_acknowledge_to_close(db):
    w = build()
    officer = factories.actor("bank_officer", organization_id=w["bank"])
    at = page(BANK, officer, lang="en")
    ok(at)
    assert at.title[0].value == "Post-loan monitoring"
    assert [m.label for m in at.metric][:4] == ["M0 loans", "M1 loans", "M2 loans", "M3+ loans"]
    at.button(key="bank_risk_ack").click().run()
    ok(at)
    assert signal_row(w["signal"]).status == "acknowledged"
    assert at.success and f"#{w['signal']}" in at.success[0].value
    assert not [b for b in at.button if b.key == "bank_risk_close"]  # closing needs feedback first

    at.button(key="bank_risk_investigate").click().run()
    ok(at)
    assert signal_row(w["signal"]).status == "investigating"
    at.radio(key="bank_risk_outcome").set_value("true_alarm")
    at.selectbox(key="bank_risk_action").set_value("visit")
    next(b for b in at.button if b.label == "Submit feedback").click().run()
    ok(at)
    assert signal_row(w["signal"]).feedback == "true_alarm"
    at.button(key="bank_risk_close").click().run()
    ok(at)
    row = signal_row(w["signal"])
    assert row.status == "closed"
    with session_scope() as s:
        steps = [e.step for e in s.exec(select(RiskSignalEvent).where(RiskSignalEvent.signal_id == w["signal"])
                                        .order_by(RiskSignalEvent.id))]
    assert steps[-4:] == ["acknowledged", "investigating", "feedback", "closed"]


def test_a_signal_changed_meanwhile_is_refused_with_the_stale_version_message(db, monkeypatch):
    w = build()
    officer = factories.actor("bank_officer", organization_id=w["bank"])
    queue = risk_queues.institution_signal_queue

    def read_then_someone_else_writes(**kwargs):
        frame = queue(**kwargs)
        with session_scope() as s:  # another officer touches the signal right after this page read it
            row = s.get(RiskSignal, w["signal"])
            row.last_seen_at = datetime.now(UTC)
            s.add(row)
        return frame

    at = page(BANK, officer)
    ok(at)
    monkeypatch.setattr(risk_queues, "institution_signal_queue", read_then_someone_else_writes)
    at.button(key="bank_risk_ack").click().run()
    assert not at.exception
    assert at.error and "已被他人修改" in at.error[0].value
    assert signal_row(w["signal"]).status == "open"


def test_the_bank_sees_overdue_loans_and_a_borrowers_ownership_with_persons_masked(db):
    w = build()
    officer = factories.actor("bank_officer", organization_id=w["bank"])
    at = page(BANK, officer)
    ok(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the DPD bars and the ownership network
    network = json.loads(charts[1].proto.spec)
    names = " ".join(str(x) for trace in network["data"] for x in (trace.get("text") or []))
    assert "衡水华泰控股有限公司" in names and "张*" in names and "张三丰" not in names
    tables = [d.value for d in at.dataframe]
    controllers = tables[-1]
    assert controllers.iloc[0, 0] == "张**" and float(controllers.iloc[0, 2]) == pytest.approx(60.0)


def test_the_enterprise_reads_its_warning_in_plain_words_without_the_rule_parameters(db):
    w = build()
    at = page(WARNINGS, factories.actor("enterprise_user", enterprise_id=w["borrower"]), lang="en")
    ok(at)
    text = " ".join(str(m.value) for m in [*at.markdown, *at.caption]) + " ".join(str(m.value) for m in at.text)
    assert "Court cases" in text and "How to clear it" in text
    assert "90" not in text and "lookback" not in text
    assert at.metric[0].label == "Red" and at.metric[0].value == "1"


def test_an_enterprise_without_warnings_is_told_so(db):
    w = build()
    at = page(WARNINGS, factories.actor("enterprise_user", enterprise_id=w["parent"]))
    ok(at)
    assert at.success and "没有" in at.success[0].value


def test_the_regulator_sees_signals_by_level_district_and_industry_with_the_list(db):
    build()
    at = page(OVERSIGHT, factories.actor("regulator_analyst"), lang="en")
    ok(at)
    assert [m.value for m in at.metric][:3] == ["1", "1", "1"]
    assert {"By level (eight levels)", "By district", "Signals"} <= {s.value for s in at.subheader}
    listing = at.dataframe[-1].value
    assert "Taocheng" in " ".join(listing.astype(str).iloc[0].tolist())


def test_analysts_read_the_rules_but_only_managers_edit_and_a_bad_parameter_changes_nothing(db):
    build()
    analyst = page(RULES, factories.actor("regulator_analyst"))
    ok(analyst)
    assert not [b for b in analyst.button if b.key == "reg_rules_create"]
    assert analyst.dataframe[0].value.shape[0] >= 40  # the shipped library

    at = page(RULES, factories.actor("regulator_admin"), lang="en")
    at.button(key="reg_rules_create").click().run()
    ok(at)
    assert at.success and "Draft version 2" in at.success[0].value
    at.selectbox(key="reg_rules_code").set_value(RULE).run()
    at.text_area(key=f"reg_rules_params_{RULE}").input('{"lookback_days": -5}')
    next(b for b in at.button if b.label == "Save the rule").click().run()
    assert not at.exception and at.error
    with session_scope() as s:
        draft = s.exec(select(RiskRuleSet).where(RiskRuleSet.status == "draft")).one()
    rule = next(r for r in draft.rules["rules"] if r["code"] == RULE)
    assert rule["params"]["lookback_days"] == 90

    at.text_area(key=f"reg_rules_params_{RULE}").input('{"lookback_days": 120}')
    at.number_input(key=f"reg_rules_level_{RULE}").set_value(4)
    next(b for b in at.button if b.label == "Save the rule").click().run()
    ok(at)
    at.button(key="reg_rules_publish").click().run()
    ok(at)
    assert at.success and "Version 2 published" in at.success[0].value
    with session_scope() as s:
        published = s.exec(select(RiskRuleSet).where(RiskRuleSet.status == "published")).one()
    assert published.set_version == 2
    published_rule = next(r for r in published.rules["rules"] if r["code"] == RULE)
    assert published_rule["level"] == 4 and published_rule["params"]["lookback_days"] == 120


def test_a_regulator_admin_assigns_a_large_default_case_and_analysts_only_read(db):
    build()
    analyst = page(CASES, factories.actor("regulator_analyst"))
    ok(analyst)
    assert analyst.info and not [b for b in analyst.button if b.label == "分派"]
    at = page(CASES, factories.actor("regulator_admin"), lang="en")
    ok(at)
    case_id = at.selectbox(key="reg_cases_pick").value
    at.multiselect(key=f"reg_cases_departments_{case_id}").set_value(["court", "pboc_branch"])
    at.checkbox(key=f"reg_cases_me_{case_id}").uncheck()
    next(b for b in at.button if b.label == "Assign").click().run()
    ok(at)
    with session_scope() as s:
        case = s.get(LargeDefaultCase, case_id)
        assert case.status == "assigned" and case.departments == ["court", "pboc_branch"]


def test_the_walls_risk_aggregates_count_open_signals_and_mask_case_names(db):
    build()
    wall = factories.actor("wall_viewer")
    summary = risk_views.risk_map(actor=wall)
    assert summary.open_signals == 1 and summary.enterprises_flagged == 1
    assert summary.by_colour.set_index("colour").loc["red", "enterprises"] == 1
    assert summary.by_district.set_index("district_code").loc["131102", "red"] == 1
    assert summary.by_level.set_index("level").loc[7, "signals"] == 1
    cases = risk_views.open_cases_masked(actor=wall)
    assert cases.count == 1 and cases.amount == pytest.approx(3_000_000)
    assert cases.cases.iloc[0]["enterprise"] == "衡水******有限公司"
