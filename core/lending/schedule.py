"""Repayment schedules in exact cents, payments against them, days past due and reminder dates.

Methods (``core.models.types.RepaymentMethod``): equal installments (等额本息), equal principal
(等额本金) and interest-only with the principal at maturity (先息后本), paid monthly or quarterly.
Interest accrues at the nominal annual rate / periods per year on the outstanding principal. Every
amount is a ``Decimal`` rounded half-up to the cent; rounding differences go to the last installment,
so the principal parts always sum exactly to the loan. Due dates keep the disbursement's day of the
month, clamped to the month's end (a loan disbursed on 31 January is due on 28/29 February).

Payments (:func:`apply_payment`) settle the oldest installment first, interest before principal;
money beyond what is due pays the coming installments ahead, or — on an early-repayment request —
prepays principal from the last installment backwards (shortening the loan, the default Chinese
banks apply to 提前还款). Pure: no clock, no session.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
FREQUENCIES = {"monthly": 1, "quarterly": 3}
METHODS = ("equal_installment", "equal_principal", "interest_only_bullet")
REMINDER_DAYS = (7, 3, 1)


class ScheduleError(ValueError):
    """Inputs no schedule can be built from (carries an i18n key and the field)."""

    def __init__(self, key: str, field: str) -> None:
        super().__init__(key)
        self.key = key
        self.field = field


@dataclass(frozen=True)
class Installment:
    """One scheduled repayment and what has been paid against it."""

    seq: int
    due_date: date
    principal_due: Decimal
    interest_due: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    paid_on: date | None = None  # the day it was fully paid

    @property
    def total_due(self) -> Decimal:
        return self.principal_due + self.interest_due

    @property
    def outstanding(self) -> Decimal:
        return self.total_due - self.principal_paid - self.interest_paid

    @property
    def settled(self) -> bool:
        return self.outstanding <= ZERO


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(start: date, months: int) -> date:
    """``start`` plus ``months`` calendar months, the day clamped to the month's end."""
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def build_schedule(
    principal: Decimal,
    annual_rate_pct: Decimal,
    term_months: int,
    method: str,
    start: date,
    frequency: str = "monthly",
) -> list[Installment]:
    """The installments of a loan of ``principal`` yuan at ``annual_rate_pct`` % for ``term_months``.

    Args:
        principal: the amount lent, yuan (> 0).
        annual_rate_pct: the nominal annual rate in percent (≥ 0), e.g. ``Decimal("3.65")``.
        term_months: the term; a multiple of 3 for quarterly payments.
        method: one of :data:`METHODS`.
        start: the disbursement date; the first installment is due one period later.
        frequency: ``monthly`` or ``quarterly``.

    Raises:
        ScheduleError: a non-positive principal, a negative rate, a term that is not a whole number
            of periods, or an unknown method or frequency.
    """
    principal = Decimal(principal)
    rate = Decimal(annual_rate_pct)
    if principal <= 0 or cents(principal) != principal:
        raise ScheduleError("error.schedule.principal", "principal")
    if rate < 0:
        raise ScheduleError("error.schedule.rate", "annual_rate_pct")
    if frequency not in FREQUENCIES:
        raise ScheduleError("error.schedule.frequency", "frequency")
    step = FREQUENCIES[frequency]
    if term_months < 1 or term_months % step:
        raise ScheduleError("error.schedule.term", "term_months")
    if method not in METHODS:
        raise ScheduleError("error.schedule.method", "method")
    n = term_months // step
    r = rate / Decimal(100) * step / Decimal(12)  # periodic rate, exact
    dues = [add_months(start, step * (k + 1)) for k in range(n)]

    principals: list[Decimal] = []
    if method == "equal_principal":
        base = (principal / n).quantize(CENT, rounding=ROUND_DOWN)  # the last takes the remainder (< n cents)
        principals = [base] * (n - 1) + [principal - base * (n - 1)]
    elif method == "interest_only_bullet":
        principals = [ZERO] * (n - 1) + [principal]
    else:  # equal installments: a constant payment, principal = payment − interest on the balance
        if r == 0:
            payment = cents(principal / n)
        else:
            growth = (1 + r) ** n
            payment = cents(principal * r * growth / (growth - 1))
        balance = principal
        for _k in range(n - 1):
            part = min(payment - cents(balance * r), balance)
            principals.append(part)
            balance -= part
        principals.append(balance)

    out: list[Installment] = []
    balance = principal
    for k in range(n):
        interest = cents(balance * r)
        out.append(Installment(seq=k + 1, due_date=dues[k], principal_due=principals[k], interest_due=interest))
        balance -= principals[k]
    return out


@dataclass(frozen=True)
class PaymentResult:
    """The schedule after a payment, and where the money went."""

    installments: list[Installment]
    to_interest: Decimal
    to_principal: Decimal
    prepaid_principal: Decimal  # beyond what was due: shortens the loan from the end
    unapplied: Decimal  # more than the whole loan: returned to the payer


def apply_payment(
    installments: Sequence[Installment], amount: Decimal, paid_on: date, *, prepay: bool = False
) -> PaymentResult:
    """Apply a payment of ``amount`` yuan made on ``paid_on``: oldest first, interest before principal.

    Without ``prepay`` the money settles what is due and then the coming installments in order (a
    borrower paying ahead). With ``prepay`` (an early-repayment request, 提前还款) what remains after
    everything due is settled repays principal from the last installment backwards; the interest of a
    fully prepaid installment is waived (it would have accrued on principal no longer lent).
    """
    amount = Decimal(amount)
    if amount <= 0 or cents(amount) != amount:
        raise ScheduleError("error.payment.amount", "amount")
    rows = list(installments)
    left = amount
    to_interest = to_principal = ZERO
    # 1. everything due, oldest first; then (not prepaying) the coming installments in order
    for i, inst in enumerate(rows):
        if left <= 0 or (prepay and inst.due_date > paid_on):
            break
        if inst.settled:
            continue
        pay_i = min(left, inst.interest_due - inst.interest_paid)
        pay_p = min(left - pay_i, inst.principal_due - inst.principal_paid)
        inst = replace(inst, interest_paid=inst.interest_paid + pay_i, principal_paid=inst.principal_paid + pay_p)
        if inst.settled:
            inst = replace(inst, paid_on=paid_on)
        rows[i] = inst
        left -= pay_i + pay_p
        to_interest += pay_i
        to_principal += pay_p
    # 2. prepayment: principal of the last installments, backwards; their interest is waived
    prepaid = ZERO
    for i in range(len(rows) - 1, -1, -1):
        if left <= 0 or not prepay:
            break
        inst = rows[i]
        if inst.settled:
            continue
        owed_p = inst.principal_due - inst.principal_paid
        pay_p = min(left, owed_p)
        new_principal_paid = inst.principal_paid + pay_p
        if new_principal_paid == inst.principal_due:
            inst = replace(inst, principal_paid=new_principal_paid, interest_due=inst.interest_paid, paid_on=paid_on)
        else:
            inst = replace(inst, principal_paid=new_principal_paid)
        rows[i] = inst
        left -= pay_p
        prepaid += pay_p
    return PaymentResult(rows, to_interest, to_principal, prepaid, max(left, ZERO))


def outstanding_principal(installments: Sequence[Installment]) -> Decimal:
    return sum((i.principal_due - i.principal_paid for i in installments), ZERO)


def days_past_due(installments: Sequence[Installment], as_of: date) -> int:
    """Days since the oldest unpaid installment fell due (0 when nothing is overdue)."""
    overdue = [i.due_date for i in installments if not i.settled and i.due_date < as_of]
    return (as_of - min(overdue)).days if overdue else 0


def dpd_bucket(dpd: int) -> str:
    """M0 current, M1 1–30, M2 31–60, M3+ over 60 days past due (the buckets banks report)."""
    if dpd <= 0:
        return "M0"
    if dpd <= 30:
        return "M1"
    if dpd <= 60:
        return "M2"
    return "M3+"


def reminder_dates(due_date: date) -> dict[str, date]:
    """When to remind: 7, 3 and 1 days before a due date, and the day after it if still unpaid."""
    out = {f"due_in_{d}": due_date - timedelta(days=d) for d in REMINDER_DAYS}
    out["overdue"] = due_date + timedelta(days=1)
    return out
