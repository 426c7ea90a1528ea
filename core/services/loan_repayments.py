"""Repayments: a payment received on a loan, applied to its schedule.

Rules (tested in ``tests/integration/loans/``):

* **Repayment** — :func:`core.lending.schedule.apply_payment` (oldest first, interest before principal;
  ``prepay`` repays principal from the last installment) — one ``Repayment`` row (idempotent by its
  key), the installments and the loan's outstanding principal updated; a fully repaid loan is settled,
  an overdue loan whose arrears are paid is cured; the application follows through the lifecycle
  engine. More than everything still owed is refused. Statuses of installments are evaluated as of the
  payment's date; the daily sweep (:mod:`core.services.loan_sweep`) re-evaluates them as of its day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel
from sqlmodel import select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_institution
from core.errors import InvalidError
from core.lending.schedule import ZERO, apply_payment, days_past_due
from core.lending.workdays import SHANGHAI
from core.models import Application, Loan, Repayment
from core.models.types import LoanStatus, utcnow
from core.services.loans import (
    KeyReusedError,
    LoanClosedError,
    check_key,
    installment_rows,
    installment_state,
    load_loan,
    move_application,
    parse_day,
    to_engine,
    today_local,
)
from core.services.notifications import notify
from core.usecase import use_case


class RepaymentPublic(BaseModel):
    """A recorded repayment, where the money went and the loan after it."""

    id: int
    loan_id: int
    amount: Decimal
    paid_on: date
    prepay: bool
    to_interest: Decimal
    to_principal: Decimal
    prepaid_principal: Decimal
    unapplied: Decimal
    loan_status: str
    outstanding_principal: Decimal


def _money(value: object) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidError("loans.error.amount", field="amount") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidError("loans.error.amount", field="amount")
    return amount


def _repayment_public(rep: Repayment, loan: Loan) -> RepaymentPublic:
    return RepaymentPublic(
        id=int(rep.id), loan_id=rep.loan_id, amount=rep.amount, paid_on=rep.paid_on, prepay=rep.prepay,
        to_interest=rep.to_interest, to_principal=rep.to_principal, prepaid_principal=rep.prepaid_principal,
        unapplied=rep.unapplied, loan_status=str(loan.status), outstanding_principal=loan.outstanding_principal,
    )


@use_case(permission=Permission.applications_institution, write=True)
def record_repayment(
    uow,
    *,
    actor: Actor,
    loan_id: int,
    amount: Decimal | str,
    paid_on: date | str,
    prepay: bool = False,
    idempotency_key: str,
) -> RepaymentPublic:
    """Record a payment received on a loan and apply it to the schedule.

    Args:
        loan_id: a loan of the actor's institution family.
        amount: yuan, above zero, in cents, at most what is still owed.
        paid_on: the value date (not in the future, not before the disbursement).
        prepay: an early-repayment request (提前还款): what exceeds the amount due repays principal
            from the last installment backwards.
        idempotency_key: a double-clicked submit stores one repayment; another request under the same
            key is refused.

    Raises:
        InvalidError: a bad amount, date or key; more than is owed.
        LoanClosedError: the loan is settled or written off.
        KeyReusedError: the key was used for another repayment.
    """
    session = uow.session
    key = check_key(idempotency_key)
    money = _money(amount)
    day = parse_day(paid_on, "paid_on")
    loan = load_loan(session, loan_id)
    assert_acts_for_institution(session, actor, loan.institution_id)
    seen = session.exec(select(Repayment).where(Repayment.idempotency_key == key)).first()
    if seen is not None:
        if (seen.loan_id, Decimal(seen.amount), seen.paid_on, bool(seen.prepay)) != (loan.id, money, day, bool(prepay)):
            raise KeyReusedError()
        return _repayment_public(seen, loan)
    if loan.status in (LoanStatus.settled, LoanStatus.written_off):
        raise LoanClosedError()
    if day > today_local():
        raise InvalidError("loans.error.date_future", field="paid_on")
    if day < loan.disbursed_at.astimezone(SHANGHAI).date():
        raise InvalidError("loans.error.date_before_loan", field="paid_on")
    rows = installment_rows(session, int(loan.id))
    before = [to_engine(r) for r in rows]
    owed = sum((i.outstanding for i in before), ZERO)
    if money > owed:
        raise InvalidError("loans.error.amount_too_high", field="amount", max=f"{owed:,.2f}")
    result = apply_payment(before, money, day, prepay=bool(prepay))
    if prepay and all(i.principal_paid == i.principal_due for i in result.installments):
        # All principal repaid early: the interest of installments not yet due would accrue on nothing.
        waived = [replace(i, interest_due=i.interest_paid, paid_on=i.paid_on or day) if i.due_date > day else i
                  for i in result.installments]
        result = replace(result, installments=waived)
    for row, inst in zip(rows, result.installments, strict=True):
        status, dpd = installment_state(inst, day)
        row.principal_paid, row.interest_paid, row.interest_due = inst.principal_paid, inst.interest_paid, inst.interest_due
        row.paid_amount = inst.principal_paid + inst.interest_paid
        row.paid_on, row.status, row.days_past_due = inst.paid_on, status, dpd
        session.add(row)
    loan.outstanding_principal = sum((i.principal_due - i.principal_paid for i in result.installments), ZERO)
    app = session.get(Application, loan.application_id)
    now = utcnow()
    move_application(session, app, "start_repaying", actor, now)
    if all(i.settled for i in result.installments):
        loan.status = LoanStatus.settled
        move_application(session, app, "settle", actor, now)
    elif loan.status == LoanStatus.overdue and days_past_due(result.installments, day) == 0:
        loan.status = LoanStatus.active
        move_application(session, app, "cure", actor, now)
    loan.updated_at = now
    session.add(loan)
    rep = Repayment(loan_id=int(loan.id), amount=money, paid_on=day, prepay=bool(prepay),
                    to_interest=result.to_interest, to_principal=result.to_principal,
                    prepaid_principal=result.prepaid_principal, unapplied=result.unapplied,
                    recorded_by_id=actor.user_id, idempotency_key=key, created_at=now)
    session.add(rep)
    session.flush()
    notify(session, kind="loan.repayment", title_key="loans.notify.repayment.title",
           params={"amount": f"{money:,.2f}", "day": day.isoformat()}, enterprise_id=loan.enterprise_id,
           dedupe_key=f"repayment:{rep.id}", payload={"loan_id": int(loan.id), "repayment_id": int(rep.id)})
    uow.audit("loan.repayment", entity_type="loan", entity_id=loan.id,
              after={"repayment_id": int(rep.id), "amount": str(money), "paid_on": day.isoformat(),
                     "prepay": bool(prepay), "outstanding": str(loan.outstanding_principal), "status": str(loan.status)})
    return _repayment_public(rep, loan)
