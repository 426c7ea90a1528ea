"""Handling signals: the allowed steps with their events, every illegal step refused with nothing
written, row-level access, feedback feeding precision and lead time, queues and enterprise warnings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError
from core.models import Loan, RiskSignal, RiskSignalEvent
from core.services.risk import run_risk
from core.services.risk_performance import rule_performance
from core.services.risk_queues import (
    enterprise_warnings,
    institution_signal_queue,
    regulator_signals,
    signals_by_level_district_industry,
)
from core.services.risk_rules import risk_rule_table
from core.services.risk_signals import (
    SignalFeedbackRequiredError,
    SignalStepError,
    acknowledge_signal,
    close_signal,
    give_feedback,
    signal_detail,
    start_investigation,
)
from tests.integration.risk.world import AS_OF, build

RULE = "JUD.DISHONEST_EXECUTEE"


@pytest.fixture
def world(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    return w


def _signal(w, rule=RULE, enterprise=None) -> RiskSignal:
    with session_scope() as s:
        row = s.execute(select(RiskSignal).where(RiskSignal.enterprise_id == (enterprise or w.dishonest),
                                                 RiskSignal.rule_code == rule)).scalars().first()
        s.expunge(row)
        return row


def _events(signal_id: int) -> list[str]:
    with session_scope() as s:
        return s.execute(select(RiskSignalEvent.step).where(RiskSignalEvent.signal_id == signal_id)
                         .order_by(RiskSignalEvent.id)).scalars().all()


def test_an_officer_handles_a_signal_step_by_step(world):
    w, signal = world, _signal(world)
    a = acknowledge_signal(actor=w.officer_a, signal_id=signal.id, expected_version=signal.version, note="已签收")
    b = start_investigation(actor=w.officer_a, signal_id=signal.id, expected_version=a.version)
    c = give_feedback(actor=w.officer_a, signal_id=signal.id, expected_version=b.version, outcome="true_alarm",
                      action_taken="reduce_limit", note="压降授信额度 30%")
    d = close_signal(actor=w.officer_a, signal_id=signal.id, expected_version=c.version)
    assert [a.status, b.status, c.status, d.status] == ["acknowledged", "investigating", "investigating", "closed"]
    assert (d.feedback, d.feedback_action, d.feedback_note) == ("true_alarm", "reduce_limit", "压降授信额度 30%")
    assert d.handler_id == w.officer_a.user_id and d.closed_at is not None
    assert _events(signal.id) == ["raised", "acknowledged", "investigating", "feedback", "closed"]
    detail = signal_detail(actor=w.officer_a, signal_id=signal.id)
    assert [e["to_status"] for e in detail.events][-1] == "closed"


def _illegal(w, signal, step):
    kwargs = {"actor": w.officer_a, "signal_id": signal.id, "expected_version": signal.version}
    if step == "investigate":
        return start_investigation(**kwargs)
    if step == "feedback":
        return give_feedback(**kwargs, outcome="false_alarm", action_taken="none")
    if step == "close":
        return close_signal(**kwargs)
    return acknowledge_signal(**kwargs)


@pytest.mark.parametrize("step", ["investigate", "feedback", "close"])
def test_steps_on_an_open_signal_other_than_acknowledging_are_refused(world, step):
    signal = _signal(world)
    with pytest.raises(SignalStepError) as caught:
        _illegal(world, signal, step)
    assert "open" in caught.value.message("en")
    assert _events(signal.id) == ["raised"] and _signal(world).version == signal.version


@pytest.mark.parametrize("step", ["acknowledge", "investigate", "feedback", "close"])
def test_nothing_is_allowed_on_a_closed_signal(world, step):
    w, signal = world, _signal(world)
    a = acknowledge_signal(actor=w.officer_a, signal_id=signal.id, expected_version=signal.version)
    b = give_feedback(actor=w.officer_a, signal_id=signal.id, expected_version=a.version, outcome="false_alarm",
                      action_taken="none")
    closed = close_signal(actor=w.officer_a, signal_id=signal.id, expected_version=b.version)
    before = _events(signal.id)
    with pytest.raises(SignalStepError):
        _illegal(w, _signal(w), step)
    assert _events(signal.id) == before and _signal(w).version == closed.version


def test_acknowledging_twice_and_closing_without_feedback_are_refused(world):
    w, signal = world, _signal(world)
    a = acknowledge_signal(actor=w.officer_a, signal_id=signal.id, expected_version=signal.version)
    with pytest.raises(SignalStepError):
        acknowledge_signal(actor=w.officer_a, signal_id=signal.id, expected_version=a.version)
    with pytest.raises(SignalFeedbackRequiredError):
        close_signal(actor=w.officer_a, signal_id=signal.id, expected_version=a.version)
    with pytest.raises(InvalidError):
        give_feedback(actor=w.officer_a, signal_id=signal.id, expected_version=a.version, outcome="maybe",
                      action_taken="none")
    with pytest.raises(InvalidError):
        give_feedback(actor=w.officer_a, signal_id=signal.id, expected_version=a.version, outcome="true_alarm",
                      action_taken="pray")
    with pytest.raises(StaleVersionError):
        start_investigation(actor=w.officer_a, signal_id=signal.id, expected_version=signal.version)
    assert _events(signal.id) == ["raised", "acknowledged"]


def test_another_institution_cannot_handle_or_read_the_signal(world):
    w, signal = world, _signal(world)
    with pytest.raises(ForbiddenError):
        acknowledge_signal(actor=w.officer_b, signal_id=signal.id, expected_version=signal.version)
    with pytest.raises(ForbiddenError):
        signal_detail(actor=w.officer_b, signal_id=signal.id)
    with pytest.raises(ForbiddenError):  # a regulator reads but does not handle
        acknowledge_signal(actor=w.regulator_admin, signal_id=signal.id, expected_version=signal.version)
    assert _events(signal.id) == ["raised"]
    queue_a = institution_signal_queue(actor=w.officer_a)
    queue_b = institution_signal_queue(actor=w.officer_b)
    assert signal.id in set(queue_a["id"]) and signal.id not in set(queue_b["id"])
    assert set(queue_a["institution_id"]) == {w.bank_a} and set(queue_b["institution_id"]) == {w.bank_b}
    assert "GRAPH.RELATED" in set(queue_b["rule_code"])  # the parent's lender is warned


def test_queues_filter_by_level_status_district_and_industry(world):
    w = world
    assert set(institution_signal_queue(actor=w.officer_a, level_min=7)["level"]) == {8}
    red = regulator_signals(actor=w.regulator_admin)
    assert set(red["enterprise_id"]) == {w.dishonest} and (red["level"] >= 7).all()
    district = regulator_signals(actor=w.regulator_admin, level_min=1, district="131121")
    assert set(district["enterprise_id"]) == {w.penalised}
    assert regulator_signals(actor=w.regulator_admin, level_min=1, industry="Z").empty
    counts = signals_by_level_district_industry(actor=w.regulator_admin)
    assert counts["signals"].sum() == len(regulator_signals(actor=w.regulator_admin, level_min=1))
    assert set(counts.columns) == {"level", "colour", "district_code", "industry_section", "signals", "enterprises"}
    with pytest.raises(InvalidError):
        institution_signal_queue(actor=w.officer_a, level_min=0)
    with pytest.raises(InvalidError):
        regulator_signals(actor=w.regulator_admin, status="lost")
    assert institution_signal_queue(actor=w.officer_a, status="closed").empty


def test_feedback_changes_the_rules_precision_and_lead_time_is_measured(world):
    w = world
    perf = rule_performance(actor=w.regulator_admin).set_index("rule_code")
    assert perf.loc[RULE, "feedback"] == 0 and perf.loc[RULE, "precision"] != perf.loc[RULE, "precision"]  # NaN
    signal = _signal(w)
    a = acknowledge_signal(actor=w.officer_a, signal_id=signal.id, expected_version=signal.version)
    give_feedback(actor=w.officer_a, signal_id=signal.id, expected_version=a.version, outcome="true_alarm",
                  action_taken="recall")
    penalty = _signal(w, "PEN.PENALTY", w.penalised)
    p = acknowledge_signal(actor=w.officer_a, signal_id=penalty.id, expected_version=penalty.version)
    give_feedback(actor=w.officer_a, signal_id=penalty.id, expected_version=p.version, outcome="false_alarm",
                  action_taken="none")
    perf = rule_performance(actor=w.regulator_admin).set_index("rule_code")
    assert perf.loc[RULE, "precision"] == 1.0 and perf.loc["PEN.PENALTY", "precision"] == 0.0
    with session_scope() as s:  # the dishonest borrower defaults 30 days after the signal was raised
        loan = s.get(Loan, w.loans["dishonest"])
        loan.status, loan.defaulted_at = "defaulted", datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC)
    table = risk_rule_table(actor=w.regulator_admin).set_index("code")
    assert table.loc[RULE, "precision"] == 1.0 and table.loc[RULE, "defaults_after"] == 1
    assert table.loc[RULE, "lead_time_days"] == pytest.approx(30.0, abs=0.1)


def test_enterprise_warnings_say_what_concerns_it_and_what_clears_it_never_the_params(world):
    w = world
    warnings = enterprise_warnings(actor=w.enterprise_user, enterprise_id=w.dishonest)
    assert list(warnings["rule_code"]) == [RULE]
    row = warnings.iloc[0]
    assert row["message_key"] == f"risk.rule.{RULE}.message" and row["clear_key"] == f"risk.rule.{RULE}.clear"
    assert "params" not in warnings.columns
    shown = repr(warnings.to_dict("records"))
    assert "lookback_days" not in shown and "730" not in shown.replace("2026", "")
    with pytest.raises(ForbiddenError):
        enterprise_warnings(actor=w.enterprise_user, enterprise_id=w.parent)
    assert len(enterprise_warnings(actor=w.regulator_admin, enterprise_id=w.parent)) == 1
    with session_scope() as s:
        assert s.execute(select(func.count()).select_from(RiskSignal)).scalar() > 0
