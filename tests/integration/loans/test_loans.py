"""Contract, disbursement and repayments: exact schedules, idempotency, bad input writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError
from core.models import Application, Enterprise, Loan, Notification, Repayment, RepaymentInstallment
from core.models.types import ApplicationStatus, InstallmentStatus, LoanStatus
from core.services import loan_reads, loan_repayments, loans
from core.services.application_flow import ApplicationTransitionError
from tests.integration.loans.conftest import key, make_application

DAY = date(2026, 1, 15)


def _disburse(world, app_id: int, **kw):
    args = {"method": "equal_installment", "frequency": "monthly", "disbursed_on": DAY, "idempotency_key": key()}
    args.update(kw)
    return loans.disburse_loan(actor=world.officer, application_id=app_id, **args)


def _count(model) -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count(model.id))).one())


def test_officer_signs_the_contract_of_an_approved_application(world):
    app = make_application(world, status=ApplicationStatus.approved)
    out = loans.sign_contract(actor=world.officer, application_id=app.id, expected_version=app.version)
    assert out.status == ApplicationStatus.contract_signed
    with pytest.raises(StaleVersionError):
        loans.sign_contract(actor=world.officer, application_id=app.id, expected_version=app.version)
    with pytest.raises(ApplicationTransitionError):
        loans.sign_contract(actor=world.officer, application_id=app.id, expected_version=out.version)


def test_outsider_cannot_sign_or_disburse(world):
    app = make_application(world, status=ApplicationStatus.approved)
    with pytest.raises(ForbiddenError):
        loans.sign_contract(actor=world.outsider, application_id=app.id, expected_version=app.version)
    signed = make_application(world)
    with pytest.raises(ForbiddenError):
        loans.disburse_loan(actor=world.outsider, application_id=signed.id, method="equal_installment",
                            disbursed_on=DAY, idempotency_key=key())


@pytest.mark.parametrize("method", ["equal_installment", "equal_principal", "interest_only_bullet"])
def test_disbursement_creates_a_schedule_whose_principal_sums_to_the_loan(world, method):
    app = make_application(world, amount="123456.78", term=12)
    loan = _disburse(world, app.id, method=method)
    assert loan.amount == Decimal("123456.78") and loan.annual_rate == Decimal("4.80")
    assert loan.is_first_loan and loan.status == LoanStatus.active
    with session_scope() as s:
        rows = s.exec(select(RepaymentInstallment).where(RepaymentInstallment.loan_id == loan.id)).all()
        assert len(rows) == 12
        assert sum(Decimal(r.principal_due) for r in rows) == Decimal("123456.78")
        assert min(r.due_date for r in rows) == date(2026, 2, 15)
        assert max(r.due_date for r in rows) == loan.maturity_date == date(2027, 1, 15)
        assert s.get(Application, app.id).status == ApplicationStatus.disbursed
        assert s.get(Enterprise, world.enterprise_id).has_had_loan
        assert s.exec(select(Notification).where(Notification.enterprise_id == world.enterprise_id)).first()


def test_second_loan_is_not_a_first_loan_and_quarterly_has_four_installments(world):
    first = _disburse(world, make_application(world).id)
    second = _disburse(world, make_application(world).id, frequency="quarterly")
    assert first.is_first_loan and not second.is_first_loan
    detail = loan_reads.servicing_loan_detail(actor=world.officer, loan_id=second.id)
    assert len(detail.schedule) == 4 and detail.schedule["principal_due"].sum() == Decimal("120000")


def test_disbursement_is_idempotent_by_key(world):
    app = make_application(world)
    k = key()
    one = _disburse(world, app.id, idempotency_key=k)
    again = _disburse(world, app.id, idempotency_key=k)
    assert again.id == one.id and _count(Loan) == 1
    with pytest.raises(loans.KeyReusedError):
        _disburse(world, app.id, idempotency_key=k, method="equal_principal")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"disbursed_on": date.today() + timedelta(days=3)}, "disbursed_on"),
        ({"disbursed_on": date(2025, 1, 1)}, "disbursed_on"),
        ({"frequency": "quarterly", "_term": 10}, "term_months"),
        ({"frequency": "weekly"}, "frequency"),
        ({"method": "balloon"}, "method"),
        ({"idempotency_key": "short"}, "idempotency_key"),
        ({"disbursed_on": "not-a-date"}, "disbursed_on"),
    ],
)
def test_bad_disbursement_input_is_refused_and_writes_nothing(world, changes, field):
    changes = dict(changes)  # the parameter is shared by both databases' runs: never mutate it
    term = changes.pop("_term", 12)
    app = make_application(world, term=term)
    with pytest.raises(InvalidError) as caught:
        _disburse(world, app.id, **changes)
    assert caught.value.field == field
    assert _count(Loan) == 0 and _count(RepaymentInstallment) == 0
    with session_scope() as s:
        assert s.get(Application, app.id).status == ApplicationStatus.contract_signed


def test_disbursing_an_unsigned_application_is_refused(world):
    app = make_application(world, status=ApplicationStatus.approved)
    with pytest.raises(ApplicationTransitionError):
        _disburse(world, app.id)
    assert _count(Loan) == 0


def _schedule(loan_id: int) -> list[RepaymentInstallment]:
    with session_scope() as s:
        return list(s.exec(select(RepaymentInstallment).where(RepaymentInstallment.loan_id == loan_id)
                           .order_by(RepaymentInstallment.seq)).all())


def _repay(world, loan_id, amount, paid_on, **kw):
    return loan_repayments.record_repayment(actor=world.officer, loan_id=loan_id, amount=amount, paid_on=paid_on,
                                            idempotency_key=kw.pop("idempotency_key", key()), **kw)


def test_partial_repayment_settles_interest_first(world):
    loan = _disburse(world, make_application(world, amount="120000").id, method="equal_principal")
    first = _schedule(loan.id)[0]
    assert (first.principal_due, first.interest_due) == (Decimal("10000.00"), Decimal("480.00"))
    out = _repay(world, loan.id, "500.00", date(2026, 2, 14))
    assert (out.to_interest, out.to_principal) == (Decimal("480.00"), Decimal("20.00"))
    assert out.outstanding_principal == Decimal("119980.00") and out.loan_status == LoanStatus.active
    row = _schedule(loan.id)[0]
    assert row.status == InstallmentStatus.partial and row.paid_amount == Decimal("500.00")
    assert (row.interest_paid, row.principal_paid, row.paid_on) == (Decimal("480.00"), Decimal("20.00"), None)
    with session_scope() as s:
        assert s.get(Application, loan.application_id).status == ApplicationStatus.repaying


def test_early_repayment_prepays_principal_from_the_end(world):
    loan = _disburse(world, make_application(world, amount="120000").id, method="equal_principal")
    out = _repay(world, loan.id, "30480.00", date(2026, 2, 15), prepay=True)
    # installment 1 (10,480.00) is due; 20,000 prepays installments 12 and 11, their interest waived
    assert out.prepaid_principal == Decimal("20000.00") and out.outstanding_principal == Decimal("90000.00")
    rows = _schedule(loan.id)
    assert [r.status for r in (rows[0], rows[10], rows[11])] == [InstallmentStatus.paid] * 3
    assert rows[11].interest_due == Decimal("0.00") and rows[9].status == InstallmentStatus.scheduled


def test_late_repayment_after_the_sweep_cures_the_loan(world):
    from core.services.loan_sweep import loan_daily_sweep

    loan = _disburse(world, make_application(world, amount="120000").id, method="equal_principal")
    result = loan_daily_sweep(actor=world.operator, as_of=date(2026, 2, 25))
    assert result.became_overdue == 1
    with session_scope() as s:
        assert s.get(Loan, loan.id).status == LoanStatus.overdue
        assert s.get(Application, loan.application_id).status == ApplicationStatus.overdue
    out = _repay(world, loan.id, "10480.00", date(2026, 2, 26))
    assert out.loan_status == LoanStatus.active
    row = _schedule(loan.id)[0]
    assert row.status == InstallmentStatus.paid and row.days_past_due == 11
    with session_scope() as s:
        assert s.get(Application, loan.application_id).status == ApplicationStatus.repaying


def test_repaying_everything_settles_the_loan_and_the_application(world):
    loan = _disburse(world, make_application(world, amount="120000", term=6).id, method="interest_only_bullet")
    out = _repay(world, loan.id, "120000.00", date(2026, 1, 20), prepay=True)
    assert out.loan_status == LoanStatus.settled and out.outstanding_principal == Decimal("0.00")
    with session_scope() as s:
        assert s.get(Application, loan.application_id).status == ApplicationStatus.settled
    with pytest.raises(loans.LoanClosedError):
        _repay(world, loan.id, "1.00", date(2026, 1, 21))


def test_repayment_is_idempotent_by_key(world):
    loan = _disburse(world, make_application(world).id)
    k = key()
    one = _repay(world, loan.id, "1000.00", date(2026, 2, 10), idempotency_key=k)
    two = _repay(world, loan.id, "1000.00", date(2026, 2, 10), idempotency_key=k)
    assert one.id == two.id and _count(Repayment) == 1
    assert _schedule(loan.id)[0].paid_amount == Decimal("1000.00")
    with pytest.raises(loans.KeyReusedError):
        _repay(world, loan.id, "999.00", date(2026, 2, 10), idempotency_key=k)


@pytest.mark.parametrize(
    ("amount", "paid_on", "field"),
    [
        ("0", date(2026, 2, 10), "amount"),
        ("-5", date(2026, 2, 10), "amount"),
        ("1.001", date(2026, 2, 10), "amount"),
        ("abc", date(2026, 2, 10), "amount"),
        ("99999999", date(2026, 2, 10), "amount"),
        ("100", date(2026, 1, 1), "paid_on"),
        ("100", date.today() + timedelta(days=2), "paid_on"),
    ],
)
def test_bad_repayment_is_refused_and_writes_nothing(world, amount, paid_on, field):
    loan = _disburse(world, make_application(world).id)
    with pytest.raises(InvalidError) as caught:
        _repay(world, loan.id, amount, paid_on)
    assert caught.value.field == field
    assert _count(Repayment) == 0
    assert all(r.paid_amount == 0 for r in _schedule(loan.id))


def test_enterprise_sees_its_loans_and_not_another_ones(world):
    loan = _disburse(world, make_application(world).id)
    mine = loan_reads.my_loans(actor=world.owner, enterprise_id=world.enterprise_id, as_of=date(2026, 2, 1))
    assert list(mine["id"]) == [loan.id]
    assert mine.iloc[0]["next_due_date"] == date(2026, 2, 15)
    detail = loan_reads.my_loan_detail(actor=world.owner, loan_id=loan.id, as_of=date(2026, 2, 1))
    assert len(detail.schedule) == 12 and detail.days_past_due == 0
    with pytest.raises(ForbiddenError):
        loan_reads.my_loan_detail(actor=world.stranger, loan_id=loan.id)
    with pytest.raises(ForbiddenError):
        loan_reads.my_loans(actor=world.stranger, enterprise_id=world.enterprise_id)


def test_portfolio_by_bucket_counts_days_past_due(world):
    current = _disburse(world, make_application(world).id)
    first = _schedule(current.id)[0]
    _repay(world, current.id, str(first.principal_due + first.interest_due), date(2026, 2, 15))
    _disburse(world, make_application(world).id, disbursed_on=date(2026, 1, 10))  # due 02-10: 19 days late
    _disburse(world, make_application(world).id, disbursed_on=date(2025, 12, 5))  # due 01-05: 55 days late
    frame = loan_reads.portfolio_by_bucket(actor=world.manager, institution_id=world.bank_id, as_of=date(2026, 3, 1))
    assert dict(zip(frame["bucket"], frame["loans"], strict=True)) == {"M0": 1, "M1": 1, "M2": 1, "M3+": 0}
    assert frame["share"].sum() == pytest.approx(1.0)
    with pytest.raises(ForbiddenError):
        loan_reads.portfolio_by_bucket(actor=world.outsider, institution_id=world.bank_id)
