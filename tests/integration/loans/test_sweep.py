"""The daily sweep: overdue, cured and defaulted transitions, repayment holidays and reminders sent once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import col, select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ForbiddenError
from core.models import Application, ApplicationEvent, Loan, Notification, RepaymentInstallment
from core.models.types import InstallmentStatus, LoanStatus
from core.services import loan_repayments, loans
from core.services.loan_sweep import loan_daily_sweep, reminder_of
from tests.integration.loans.conftest import key, make_application

DAY = date(2026, 1, 15)  # first due date 2026-02-15


def _loan(world, **kw):
    app = make_application(world, **kw)
    return loans.disburse_loan(actor=world.officer, application_id=app.id, method="equal_principal",
                               disbursed_on=DAY, idempotency_key=key())


def _status(loan_id: int) -> tuple[str, str]:
    with session_scope() as s:
        loan = s.get(Loan, loan_id)
        return str(loan.status), str(s.get(Application, loan.application_id).status)


def _reminders(loan_id: int) -> list[str]:
    with session_scope() as s:
        rows = s.exec(select(Notification.dedupe_key).where(col(Notification.dedupe_key).like(f"loan:{loan_id}:inst:%"))
                      .order_by(Notification.id)).all()
        return [k.split(":", 4)[-1] for k in rows]


def test_sweep_marks_overdue_then_defaults_after_the_configured_days(world, monkeypatch):
    loan = _loan(world)
    assert loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 15)).became_overdue == 0  # due today: not late
    first = loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 16))
    assert first.became_overdue == 1 and _status(loan.id) == ("overdue", "overdue")
    with session_scope() as s:
        inst = s.exec(select(RepaymentInstallment).where(RepaymentInstallment.loan_id == loan.id,
                                                         RepaymentInstallment.seq == 1)).one()
        assert (inst.status, inst.days_past_due) == (InstallmentStatus.overdue, 1)
    assert loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 5, 15)).defaulted == 0  # 89 days
    result = loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 5, 16))  # 90 days
    assert result.defaulted == 1 and _status(loan.id) == ("defaulted", "defaulted")
    with session_scope() as s:
        moves = s.exec(select(ApplicationEvent.to_status).where(ApplicationEvent.application_id == loan.application_id)
                       .order_by(ApplicationEvent.id)).all()
        assert [str(m) for m in moves][-2:] == ["overdue", "defaulted"]
        assert s.get(Loan, loan.id).defaulted_at is not None


def test_default_days_are_a_setting(world, monkeypatch):
    from core.config import get_settings

    monkeypatch.setenv("LOAN_DEFAULT_DPD", "30")
    get_settings.cache_clear()
    loan = _loan(world)
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 3, 17))  # 30 days past 02-15
    assert _status(loan.id)[0] == LoanStatus.defaulted


def test_a_repayment_holiday_pauses_overdue_handling(world):
    loan = _loan(world)
    with session_scope() as s:
        row = s.get(Loan, loan.id)
        row.paused_until = date(2026, 3, 31)
        s.add(row)
    result = loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 3, 1))
    assert (result.paused, result.became_overdue, result.reminders) == (1, 0, 0)
    assert _status(loan.id) == ("active", "disbursed")
    after = loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 4, 1))
    assert after.paused == 0 and after.became_overdue == 1


def test_paying_the_arrears_then_sweeping_keeps_it_current(world):
    loan = _loan(world)
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 20))
    loan_repayments.record_repayment(actor=world.officer, loan_id=loan.id, amount="10480.00", paid_on=date(2026, 2, 21),
                                     idempotency_key=key())
    assert loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 22)).became_overdue == 0
    assert _status(loan.id) == ("active", "repaying")


def test_reminders_are_sent_once_each_at_7_3_1_days_and_on_overdue(world):
    loan = _loan(world)
    for day in (date(2026, 2, 7), date(2026, 2, 8), date(2026, 2, 8), date(2026, 2, 10)):  # 8 and 7 days before
        loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=day)
    assert _reminders(loan.id) == ["due_in_7"]
    for day in (date(2026, 2, 12), date(2026, 2, 13), date(2026, 2, 14), date(2026, 2, 14), date(2026, 2, 15)):
        loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=day)
    assert _reminders(loan.id) == ["due_in_7", "due_in_3", "due_in_1"]
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 16))
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 17))
    assert _reminders(loan.id) == ["due_in_7", "due_in_3", "due_in_1", "overdue", "overdue:org"]
    with session_scope() as s:
        org = s.exec(select(Notification).where(Notification.dedupe_key == f"loan:{loan.id}:inst:1:overdue:org")).one()
        assert org.organization_id == world.branch_id and org.enterprise_id is None


def test_a_missed_day_is_caught_up_without_a_duplicate(world):
    loan = _loan(world)
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 11))  # 4 days before: inside the 7-day window
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 8))  # the 7-day reminder again: no duplicate
    assert _reminders(loan.id) == ["due_in_7"]


@pytest.mark.parametrize(("days_before", "kind"), [(8, None), (7, "due_in_7"), (4, "due_in_7"), (3, "due_in_3"),
                                                    (2, "due_in_3"), (1, "due_in_1"), (0, None), (-1, "overdue")])
def test_reminder_windows(days_before, kind):
    from datetime import timedelta

    inst = RepaymentInstallment(loan_id=1, seq=1, due_date=date(2026, 2, 15), principal_due=1, interest_due=0)
    assert reminder_of(inst, date(2026, 2, 15) - timedelta(days=days_before)) == kind


def test_only_the_operator_or_a_job_runs_the_sweep(world):
    with pytest.raises(ForbiddenError):
        loan_daily_sweep(actor=world.manager, as_of=date(2026, 2, 1))
    assert loan_daily_sweep(actor=world.operator, as_of=date(2026, 2, 1)).loans_checked == 0
