"""The working-day SLA clock across holidays and make-up days; the lifecycle transition table."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from core.lending import workdays as wd
from core.lending.lifecycle import TRANSITIONS, IllegalTransitionError, actions_from, next_status
from core.models.types import ApplicationStatus as S

SH = wd.SHANGHAI


def test_national_day_holiday_and_make_up_saturday_2026():
    assert not wd.is_working_day(date(2026, 10, 1))  # National Day
    assert not wd.is_working_day(date(2026, 10, 7))
    assert wd.is_working_day(date(2026, 10, 10))  # a Saturday made a working day (调休)
    assert wd.is_working_day(date(2026, 10, 9))


def test_add_working_days_skips_the_spring_festival_week():
    # 2026 Spring Festival: 15–23 February are rest days; 14 and 28 February are make-up working days
    assert wd.is_working_day(date(2026, 2, 14)) and wd.is_working_day(date(2026, 2, 28))
    assert not wd.is_working_day(date(2026, 2, 16))
    assert wd.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert wd.add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)
    assert wd.working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2


def test_sla_deadline_counts_from_the_next_working_morning_after_the_cutoff():
    monday_morning = datetime(2026, 11, 16, 10, 0, tzinfo=SH)
    monday_evening = datetime(2026, 11, 16, 18, 0, tzinfo=SH)
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=SH)
    assert wd.sla_deadline(monday_morning, 2).date() == date(2026, 11, 18)
    assert wd.sla_deadline(monday_evening, 2).date() == date(2026, 11, 19)
    assert wd.sla_deadline(saturday, 2).date() == date(2026, 11, 25)
    # received before National Day: the holiday week does not count, the make-up Saturday does
    assert wd.sla_deadline(datetime(2026, 9, 30, 9, 0, tzinfo=SH), 2).date() == date(2026, 10, 9)
    assert wd.sla_deadline(datetime(2026, 9, 30, 9, 0, tzinfo=SH), 3).date() == date(2026, 10, 10)


def test_working_days_left_goes_negative_once_overdue():
    deadline = wd.sla_deadline(datetime(2026, 11, 16, 10, 0, tzinfo=SH), 2)
    assert wd.working_days_left(deadline, datetime(2026, 11, 16, 12, 0, tzinfo=SH)) == 2
    assert wd.working_days_left(deadline, datetime(2026, 11, 18, 12, 0, tzinfo=SH)) == 0
    assert wd.working_days_left(deadline, datetime(2026, 11, 19, 9, 0, tzinfo=SH)) == -1


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError):
        wd.sla_deadline(datetime(2026, 11, 16, 10, 0), 2)


def test_years_beyond_the_package_fall_back_to_weekdays_and_say_so(tmp_path, monkeypatch):
    future = date(2031, 5, 1)  # a Thursday; no official data for that year in the package
    assert not wd.calendar_covers(future)
    assert wd.is_working_day(future)
    assert not wd.is_working_day(future + timedelta(days=2))  # Saturday
    overrides = tmp_path / "o.json"
    overrides.write_text('{"holidays": ["2031-05-01"], "workdays": ["2031-05-03"]}', encoding="utf-8")
    monkeypatch.setattr(wd, "OVERRIDES_PATH", overrides)
    assert not wd.is_working_day(future)
    assert wd.is_working_day(date(2031, 5, 3))
    assert wd.calendar_covers(future)


def test_the_happy_path_of_an_application():
    path = [("accept", "officer"), ("start_due_diligence", "officer"), ("propose", "officer"),
            ("approve", "manager"), ("sign_contract", "officer"), ("disburse", "officer"),
            ("start_repaying", "system"), ("settle", "system")]
    status = S.submitted
    seen = []
    for action, who in path:
        status = next_status(status, action, who)
        seen.append(status)
    assert seen == [S.accepted, S.due_diligence, S.due_diligence, S.approved, S.contract_signed, S.disbursed,
                    S.repaying, S.settled]


def test_every_illegal_transition_is_refused():
    kinds = {"enterprise", "officer", "manager", "system"}
    for action, rule in TRANSITIONS.items():
        for status in S:
            for kind in kinds:
                allowed = status in rule.sources and kind in rule.by
                if allowed:
                    assert next_status(status, action, kind) == (rule.target or status)
                else:
                    with pytest.raises(IllegalTransitionError):
                        next_status(status, action, kind)


def test_an_officer_cannot_approve_and_an_enterprise_can_only_withdraw():
    with pytest.raises(IllegalTransitionError) as err:
        next_status(S.due_diligence, "approve", "officer")
    assert err.value.key == "error.application.wrong_actor"
    assert actions_from(S.due_diligence, "enterprise") == ["withdraw"]
    assert actions_from(S.settled, "manager") == []
    with pytest.raises(IllegalTransitionError) as err:
        next_status(S.submitted, "teleport", "manager")
    assert err.value.key == "error.application.unknown_action"
