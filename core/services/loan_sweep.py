"""The daily loan sweep: days past due, overdue / cured / defaulted transitions and repayment reminders.

Run once a day by ``scripts/loan_daily.py`` (as the ``system`` actor). For every active or overdue
loan not in an agreed repayment holiday (``paused_until`` on or after the day): each unpaid
installment's days past due and status as of the day; the loan becomes overdue when an installment
is past due (the application: mark_overdue), active again when nothing is (cure), and defaulted at
``LOAN_DEFAULT_DPD`` days past due (default 90). Reminders 7, 3 and 1 days before a due date and on
overdue (to the enterprise; an overdue one also to the institution) are ``Notification`` rows with a
``dedupe_key`` per loan, installment and reminder, so re-running a day never sends one twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlmodel import col, select

from core.auth import Actor, Permission
from core.config import get_settings
from core.lending.workdays import SHANGHAI
from core.models import Application, Loan, RepaymentInstallment
from core.models.types import InstallmentStatus, LoanStatus, utcnow
from core.services.loans import (
    OPEN_LOAN,
    installment_state,
    move_application,
    parse_day,
    to_engine,
    today_local,
)
from core.services.notifications import existing_keys, notify
from core.usecase import use_case

CHUNK = 500


@dataclass(frozen=True)
class SweepResult:
    """What one daily sweep did."""

    as_of: date
    loans_checked: int
    paused: int
    became_overdue: int
    cured: int
    defaulted: int
    installments_updated: int
    reminders: int

    def as_dict(self) -> dict:
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out


def reminder_of(inst: RepaymentInstallment, as_of: date) -> str | None:
    """Which reminder an unpaid installment is due for on ``as_of``: ``due_in_7|3|1``, ``overdue`` or None.

    Each window runs until the next one opens (7: 7–4 days before, 3: 3–2, 1: the day before), so a day
    the sweep did not run is caught up without a second reminder.
    """
    days_left = (inst.due_date - as_of).days
    if days_left < 0:
        return "overdue"
    if days_left == 0 or days_left > 7:
        return None
    return "due_in_7" if days_left > 3 else "due_in_3" if days_left > 1 else "due_in_1"


@use_case(permission=Permission.rating_run, write=True)
def loan_daily_sweep(uow, *, actor: Actor, as_of: date | str | None = None) -> SweepResult:
    """The daily run: days past due, overdue / cured / defaulted transitions and repayment reminders.

    Args:
        as_of: the day of the run (default: today in Asia/Shanghai).
    """
    session = uow.session
    day = today_local() if as_of is None else parse_day(as_of, "as_of")
    default_dpd = int(getattr(get_settings(), "loan_default_dpd", 90))
    now = utcnow() if day >= today_local() else datetime.combine(day, time(23, 0), SHANGHAI)
    loans = session.exec(select(Loan).where(col(Loan.status).in_(OPEN_LOAN)).order_by(col(Loan.id))).all()
    counts = {"paused": 0, "became_overdue": 0, "cured": 0, "defaulted": 0, "installments_updated": 0, "reminders": 0}
    live = [loan for loan in loans if not (loan.paused_until and loan.paused_until >= day)]
    counts["paused"] = len(loans) - len(live)
    unpaid: dict[int, list[RepaymentInstallment]] = {}
    ids = [int(loan.id) for loan in live]
    for start in range(0, len(ids), CHUNK):
        query = select(RepaymentInstallment).where(
            col(RepaymentInstallment.loan_id).in_(ids[start : start + CHUNK]),
            RepaymentInstallment.status != InstallmentStatus.paid,
        )
        for row in session.exec(query):
            unpaid.setdefault(row.loan_id, []).append(row)
    wanted: list[tuple[str, Loan, RepaymentInstallment, str, bool]] = []
    for loan in live:
        dpd = 0
        for row in unpaid.get(int(loan.id), []):
            status, inst_dpd = installment_state(to_engine(row), day)
            if (status, inst_dpd) != (row.status, row.days_past_due):
                row.status, row.days_past_due = status, inst_dpd
                session.add(row)
                counts["installments_updated"] += 1
            dpd = max(dpd, inst_dpd if status == InstallmentStatus.overdue else 0)
            kind = reminder_of(row, day)
            if kind:
                wanted.append((f"loan:{loan.id}:inst:{row.seq}:{kind}", loan, row, kind, False))
                if kind == "overdue":
                    wanted.append((f"loan:{loan.id}:inst:{row.seq}:overdue:org", loan, row, kind, True))
        app = session.get(Application, loan.application_id)
        if dpd > 0 and loan.status == LoanStatus.active:
            loan.status = LoanStatus.overdue
            counts["became_overdue"] += 1
            move_application(session, app, "mark_overdue", actor, now, note=f"dpd={dpd}", system=True)
        elif dpd == 0 and loan.status == LoanStatus.overdue:
            loan.status = LoanStatus.active
            counts["cured"] += 1
            move_application(session, app, "cure", actor, now, system=True)
        if dpd >= default_dpd and loan.status == LoanStatus.overdue:
            loan.status = LoanStatus.defaulted
            loan.defaulted_at = now
            counts["defaulted"] += 1
            move_application(session, app, "default", actor, now, note=f"dpd={dpd}", system=True)
        if session.is_modified(loan):
            loan.updated_at = now
            session.add(loan)
    done = existing_keys(session, [w[0] for w in wanted])
    for dedupe, loan, row, kind, to_org in wanted:
        if dedupe in done:
            continue
        owed = Decimal(row.principal_due) + Decimal(row.interest_due) - Decimal(row.principal_paid or 0) - Decimal(
            row.interest_paid or 0)
        params = {"loan": int(loan.id), "seq": row.seq, "due": row.due_date.isoformat(), "amount": f"{owed:,.2f}",
                  "days": max((row.due_date - day).days, 0)}
        title = "loans.notify.overdue.title" if kind == "overdue" else "loans.notify.due.title"
        notify(session, kind=f"loan.{kind}", title_key=title, params=params,
               enterprise_id=None if to_org else loan.enterprise_id,
               organization_id=loan.institution_id if to_org else None,
               dedupe_key=dedupe, payload={"loan_id": int(loan.id), "seq": row.seq})
        done.add(dedupe)
        counts["reminders"] += 1
    session.flush()
    result = SweepResult(as_of=day, loans_checked=len(loans), **counts)
    uow.audit("loan.daily_sweep", entity_type="loan", after=result.as_dict())
    return result
