"""Risk runs: persisting signals safely (no duplicates, seen again, aging), propagation to the related
party's lenders, a failing rule reported, incremental runs, regulator notices and large-default cases."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import InvalidError
from core.models import LargeDefaultCase, Notification, RiskRule, RiskSignal, RiskSignalEvent
from core.risk import rule_types
from core.services.risk import run_risk
from core.services.scoring import today_local
from tests.integration.risk.world import AS_OF, build, default_loan, gov


def _signals(**where) -> list[RiskSignal]:
    with session_scope() as s:
        stmt = select(RiskSignal).filter_by(**where).order_by(RiskSignal.id)
        rows = s.execute(stmt).scalars().all()
        s.expunge_all()
        return rows


def _count(model) -> int:
    with session_scope() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar())


def test_running_twice_on_the_same_day_creates_no_duplicates(db):
    build()
    first = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    signals, events = _count(RiskSignal), _count(RiskSignalEvent)
    second = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    assert first.raised == signals > 0
    assert second.raised == 0 and second.seen_again == signals
    assert (_count(RiskSignal), _count(RiskSignalEvent)) == (signals, events)
    assert not first.failed_rules


def test_new_signals_carry_rule_row_set_version_expiry_and_a_raised_event(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [signal] = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    assert (signal.level, signal.colour, signal.institution_id, signal.set_version) == (8, "red", w.bank_a, 1)
    assert signal.expires_at - signal.raised_at == timedelta(days=730)
    with session_scope() as s:
        rule = s.get(RiskRule, signal.rule_id)
        assert (rule.code, rule.rule_version) == ("JUD.DISHONEST_EXECUTEE", signal.rule_version)
        steps = s.execute(select(RiskSignalEvent.step).where(RiskSignalEvent.signal_id == signal.id)).scalars().all()
    assert steps == ["raised"]


def test_a_fact_seen_again_updates_last_seen_and_keeps_raised_at(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF - timedelta(days=10))
    [before] = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    report = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [after] = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    assert report.raised == 0
    assert after.id == before.id and after.raised_at == before.raised_at
    assert after.last_seen_at - before.last_seen_at == timedelta(days=10)
    assert after.expires_at - before.expires_at == timedelta(days=10)


def test_a_closed_signal_stays_closed_when_the_fact_is_seen_again(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [signal] = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    with session_scope() as s:
        row = s.get(RiskSignal, signal.id)
        row.status = "closed"
    report = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [again] = _signals(id=signal.id)
    assert report.kept_closed >= 1 and report.raised == 0
    assert again.status == "closed" and again.last_seen_at == signal.last_seen_at


def test_signals_not_seen_again_age_out_after_their_ttl(db):
    w = build()
    early = date(2026, 1, 31)
    with session_scope() as s:  # a penalty early in the year: PEN.PENALTY looks back 180 days, ttl 180
        gov(s, w.quiet, "penalty", date(2025, 12, 20), source="penalty", ref="早期处罚", value=1000.0)
    run_risk(actor=SYSTEM_ACTOR, as_of=early)
    [signal] = _signals(enterprise_id=w.quiet, rule_code="PEN.PENALTY")
    assert signal.status == "open"
    report = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)  # 273 days later: outside the look-back, past expiry
    [aged] = _signals(id=signal.id)
    assert report.aged_out >= 1
    assert aged.status == "closed" and aged.closed_at is not None
    with session_scope() as s:
        steps = s.execute(select(RiskSignalEvent.step).where(RiskSignalEvent.signal_id == signal.id)
                          .order_by(RiskSignalEvent.id)).scalars().all()
    assert steps == ["raised", "aged_out"]
    assert _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")[0].status == "open"


def test_a_signal_propagates_to_the_related_party_and_warns_its_lenders(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [source] = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    related = _signals(enterprise_id=w.parent, rule_code="GRAPH.RELATED")
    assert related, "the parent company holding 60 % is warned"
    assert {r.institution_id for r in related} == {w.bank_b}
    assert all(r.source_signal_id == source.id and r.level < source.level for r in related)
    assert not _signals(enterprise_id=w.quiet, rule_code="GRAPH.RELATED")


def test_every_lending_institution_gets_its_own_copy_of_a_signal(db):
    w = build()
    with session_scope() as s:
        from core.models import Enterprise
        from tests.integration.risk.world import lend

        lend(s, s.get(Enterprise, w.dishonest), w.bank_b)
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    copies = _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    assert sorted(c.institution_id for c in copies) == sorted([w.bank_a, w.bank_b])
    assert len({c.fingerprint for c in copies}) == 2


def test_an_enterprise_without_lenders_gets_one_signal_without_institution(db):
    w = build()
    with session_scope() as s:
        gov(s, w.plaintiff, "dishonest_executee", date(2026, 8, 1), ref="(2026)冀1102执9号")
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [signal] = _signals(enterprise_id=w.plaintiff, rule_code="JUD.DISHONEST_EXECUTEE")
    assert signal.institution_id is None


def test_a_failing_rule_is_reported_and_the_others_complete(db, monkeypatch):
    w = build()

    def boom(ctx, spec):
        raise RuntimeError("broken on purpose")

    monkeypatch.setitem(rule_types.RULE_TYPES, "gov_event",
                        dataclasses.replace(rule_types.RULE_TYPES["gov_event"], evaluate=boom))
    report = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    failed = {r["rule_code"]: r for r in report.rules if r["status"] == "error"}
    assert "JUD.DISHONEST_EXECUTEE" in failed and "broken on purpose" in failed["JUD.DISHONEST_EXECUTEE"]["error"]
    assert "JUD.DISHONEST_EXECUTEE" in report.failed_rules
    assert any(r["status"] == "evaluated" for r in report.rules)
    assert not _signals(enterprise_id=w.dishonest, rule_code="JUD.DISHONEST_EXECUTEE")
    assert _signals(enterprise_id=w.plaintiff) == [] and report.raised >= 0


def test_an_incremental_run_touches_only_the_changed_enterprises(db):
    w = build()
    today = today_local()  # records arrive now: only a run as of today sees them
    full = run_risk(actor=SYSTEM_ACTOR, as_of=today)
    assert full.mode == "full"
    before = {s.id: s.last_seen_at for s in _signals()}
    with session_scope() as s:
        gov(s, w.quiet, "dishonest_executee", today - timedelta(days=3), ref="(2026)冀1102执77号", received_at=None)
    report = run_risk(actor=SYSTEM_ACTOR, as_of=today, incremental=True)
    assert report.mode == "incremental"
    assert report.enterprise_ids == [w.quiet] and report.enterprises == 1
    new = [s for s in _signals() if s.id not in before]
    assert new and {s.enterprise_id for s in new} == {w.quiet}
    unchanged = [s for s in _signals() if s.id in before]
    assert all(s.last_seen_at == before[s.id] for s in unchanged)


def test_an_incremental_run_without_a_previous_run_is_a_full_run(db):
    build()
    report = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF, incremental=True)
    assert report.mode == "full" and report.enterprises == 5


def test_high_levels_notify_every_regulator_once(db):
    w = build()
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    with session_scope() as s:
        notices = s.execute(select(Notification).where(Notification.kind == "risk.signal")).scalars().all()
        assert notices and {n.organization_id for n in notices} == {w.regulator}
        assert all(n.payload["enterprise_id"] in (w.dishonest,) for n in notices)
        assert len(notices) == len({n.dedupe_key for n in notices}) == 1


def test_a_future_as_of_and_a_bad_notify_level_are_refused(db):
    build()
    with pytest.raises(InvalidError):
        run_risk(actor=SYSTEM_ACTOR, as_of=date.today() + timedelta(days=30))
    with pytest.raises(InvalidError):
        run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF, notify_level=9)
    assert _count(RiskSignal) == 0


def test_a_large_default_opens_one_case_however_often_the_run_repeats(db):
    w = build()
    big = default_loan(w.quiet, w.bank_b)
    default_loan(w.penalised, w.bank_a, amount="4000000")  # below the 5,000,000 yuan threshold
    first = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    second = run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    assert (first.cases_opened, second.cases_opened) == (1, 0)
    with session_scope() as s:
        [case] = s.execute(select(LargeDefaultCase)).scalars().all()
        assert (case.loan_id, case.enterprise_id, case.institution_id, case.status) == (big, w.quiet, w.bank_b, "open")
        assert int(case.amount) == 6_000_000
