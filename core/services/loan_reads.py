"""Loan reads: an enterprise's loans and schedules, an institution's servicing queue, loans and DPD portfolio.

* an enterprise user reads its own enterprise's loans (regulators read any);
* institution staff read their institution family's loans (regulators read any);
* the schedule preview before a disbursement is for the staff who will disburse.

Days past due are computed from the stored installments as of the day asked for (default today,
Asia/Shanghai), so a screen is right even on a day the sweep has not run yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_enterprise_access,
    assert_institution_access,
    institution_descendants,
)
from core.errors import ForbiddenError
from core.lending.schedule import ZERO, days_past_due, dpd_bucket
from core.models import Application, Enterprise, Loan, Organization, Product, Repayment, RepaymentInstallment
from core.models.types import ApplicationStatus, LoanStatus
from core.services.directory import load_institution
from core.services.loans import (
    LoanPublic,
    installment_rows,
    load_loan,
    loan_public,
    loan_terms,
    parse_day,
    schedule_for,
    to_engine,
    today_local,
)
from core.services.review import staff_application
from core.usecase import use_case

BUCKETS = ["M0", "M1", "M2", "M3+"]
LOAN_COLUMNS = [
    "id", "application_id", "enterprise_name", "credit_code", "product_name", "institution_name", "amount",
    "annual_rate", "term_months", "repayment_method", "frequency", "status", "outstanding_principal",
    "next_due_date", "next_due_amount", "days_past_due", "bucket", "is_first_loan", "disbursed_at", "paused_until",
    "version",
]
SCHEDULE_COLUMNS = ["seq", "due_date", "principal_due", "interest_due", "total_due", "principal_paid",
                    "interest_paid", "outstanding", "paid_on", "status", "days_past_due"]
REPAYMENT_COLUMNS = ["id", "paid_on", "amount", "to_interest", "to_principal", "prepaid_principal", "prepay",
                     "created_at"]
QUEUE_COLUMNS = ["id", "enterprise_name", "credit_code", "product_name", "amount", "rate", "term_months",
                 "status", "first_loan", "repayment_methods", "version", "decided_at"]


@dataclass(frozen=True)
class LoanDetail:
    """One loan with its schedule (``SCHEDULE_COLUMNS``) and its repayments (``REPAYMENT_COLUMNS``)."""

    loan: LoanPublic
    enterprise_name: str
    product_name: str
    institution_name: str
    days_past_due: int
    bucket: str
    next_due_date: date | None
    next_due_amount: object
    schedule: pd.DataFrame
    repayments: pd.DataFrame


def _loans_frame(session: Session, loans: list[Loan], as_of: date) -> pd.DataFrame:
    if not loans:
        return pd.DataFrame(columns=LOAN_COLUMNS)
    ids = [int(loan.id) for loan in loans]
    unpaid: dict[int, list] = {}
    for start in range(0, len(ids), 500):
        query = select(RepaymentInstallment).where(
            col(RepaymentInstallment.loan_id).in_(ids[start : start + 500]), RepaymentInstallment.status != "paid"
        )
        for row in session.exec(query):
            unpaid.setdefault(row.loan_id, []).append(to_engine(row))
    names = _names(session, loans)
    out = []
    for loan in loans:
        rows = sorted(unpaid.get(int(loan.id), []), key=lambda i: i.seq)
        live = loan.status not in (LoanStatus.settled, LoanStatus.written_off)
        nxt = next((i for i in rows if not i.settled), None) if live else None
        dpd = days_past_due(rows, as_of) if live else 0
        ent, prod, inst = names["enterprise"].get(loan.enterprise_id), names["product"].get(loan.product_id), names[
            "institution"].get(loan.institution_id)
        out.append({
            "id": int(loan.id), "application_id": loan.application_id, "enterprise_name": ent[0] if ent else "",
            "credit_code": ent[1] if ent else "", "product_name": prod or "", "institution_name": inst or "",
            "amount": loan.amount, "annual_rate": loan.annual_rate, "term_months": loan.term_months,
            "repayment_method": str(loan.repayment_method), "frequency": loan.frequency, "status": str(loan.status),
            "outstanding_principal": loan.outstanding_principal,
            "next_due_date": nxt.due_date if nxt else None, "next_due_amount": nxt.outstanding if nxt else None,
            "days_past_due": dpd, "bucket": dpd_bucket(dpd), "is_first_loan": bool(loan.is_first_loan),
            "disbursed_at": loan.disbursed_at, "paused_until": loan.paused_until, "version": loan.version,
        })
    return pd.DataFrame(out, columns=LOAN_COLUMNS)


def _names(session: Session, loans: list[Loan]) -> dict[str, dict]:
    ent_ids = {loan.enterprise_id for loan in loans}
    prod_ids = {loan.product_id for loan in loans}
    inst_ids = {loan.institution_id for loan in loans}
    ents = session.exec(select(Enterprise.id, Enterprise.name, Enterprise.credit_code)
                        .where(col(Enterprise.id).in_(ent_ids))).all()
    prods = session.exec(select(Product.id, Product.name).where(col(Product.id).in_(prod_ids))).all()
    insts = session.exec(select(Organization.id, Organization.name).where(col(Organization.id).in_(inst_ids))).all()
    return {
        "enterprise": {i: (n, c) for i, n, c in ents},
        "product": dict(prods),
        "institution": dict(insts),
    }


def _detail(session: Session, loan: Loan, as_of: date) -> LoanDetail:
    rows = installment_rows(session, int(loan.id))
    engine = [to_engine(r) for r in rows]
    schedule = pd.DataFrame(
        [
            {
                "seq": r.seq, "due_date": r.due_date, "principal_due": r.principal_due, "interest_due": r.interest_due,
                "total_due": e.total_due, "principal_paid": e.principal_paid, "interest_paid": e.interest_paid,
                "outstanding": e.outstanding, "paid_on": r.paid_on, "status": str(r.status),
                "days_past_due": r.days_past_due,
            }
            for r, e in zip(rows, engine, strict=True)
        ],
        columns=SCHEDULE_COLUMNS,
    )
    reps = session.exec(select(Repayment).where(Repayment.loan_id == loan.id)
                        .order_by(col(Repayment.paid_on).desc(), col(Repayment.id).desc())).all()
    repayments = pd.DataFrame([{c: getattr(r, c) for c in REPAYMENT_COLUMNS} for r in reps], columns=REPAYMENT_COLUMNS)
    frame = _loans_frame(session, [loan], as_of)
    first = frame.iloc[0]
    return LoanDetail(
        loan=loan_public(loan), enterprise_name=first.enterprise_name, product_name=first.product_name,
        institution_name=first.institution_name, days_past_due=int(first.days_past_due), bucket=first.bucket,
        next_due_date=first.next_due_date, next_due_amount=first.next_due_amount, schedule=schedule,
        repayments=repayments,
    )


def _family(session: Session, actor: Actor, institution_id: int) -> set[int]:
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    load_institution(session, institution_id)
    assert_institution_access(session, actor, institution_id)
    return institution_descendants(session, institution_id)


def _as_of(as_of: object) -> date:
    return today_local() if as_of is None else parse_day(as_of, "as_of")


# ---------------------------------------------------------------------------------- enterprise


@use_case(permission=None)
def my_loans(uow, *, actor: Actor, enterprise_id: int, as_of: date | None = None) -> pd.DataFrame:
    """The enterprise's loans, newest first, with the next due date and amount and days past due.

    Args:
        enterprise_id: the enterprise (its own users; oversight reads any).
        as_of: the day days past due are counted to (default today).
    """
    assert_enterprise_access(actor, enterprise_id)
    loans = uow.session.exec(select(Loan).where(Loan.enterprise_id == enterprise_id)
                             .order_by(col(Loan.disbursed_at).desc())).all()
    return _loans_frame(uow.session, list(loans), _as_of(as_of))


@use_case(permission=None)
def my_loan_detail(uow, *, actor: Actor, loan_id: int, as_of: date | None = None) -> LoanDetail:
    """One of the enterprise's loans with its schedule and repayment history.

    Args:
        loan_id: the loan (of the actor's enterprise; oversight reads any).
        as_of: the day days past due are counted to (default today).
    """
    loan = load_loan(uow.session, loan_id)
    assert_enterprise_access(actor, loan.enterprise_id)
    return _detail(uow.session, loan, _as_of(as_of))


# --------------------------------------------------------------------------------- institution


@use_case(permission=None)
def servicing_queue(uow, *, actor: Actor, institution_id: int) -> pd.DataFrame:
    """Approved applications to sign and signed contracts to disburse (institution family), oldest first.

    Returns:
        DataFrame ``QUEUE_COLUMNS``; ``first_loan`` is True when the enterprise never borrowed.
    """
    scope = _family(uow.session, actor, institution_id)
    rows = uow.session.exec(
        select(Application, Enterprise, Product)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .join(Product, Product.id == Application.product_id)
        .where(col(Application.institution_id).in_(scope),
               col(Application.status).in_([ApplicationStatus.approved, ApplicationStatus.contract_signed]))
        .order_by(col(Application.decided_at), col(Application.id))
    ).all()
    return pd.DataFrame(
        [
            {
                "id": int(a.id), "enterprise_name": e.name, "credit_code": e.credit_code, "product_name": p.name,
                "amount": a.approved_amount or a.amount_requested,
                "rate": a.approved_rate if a.approved_rate is not None else p.rate_min,
                "term_months": a.term_months, "status": str(a.status), "first_loan": not e.has_had_loan,
                "repayment_methods": [str(m) for m in (p.repayment_methods or [])], "version": a.version,
                "decided_at": a.decided_at,
            }
            for a, e, p in rows
        ],
        columns=QUEUE_COLUMNS,
    )


@use_case(permission=Permission.applications_institution)
def schedule_preview(
    uow, *, actor: Actor, application_id: int, method: str, frequency: str = "monthly",
    disbursed_on: date | str | None = None,
) -> pd.DataFrame:
    """The schedule a disbursement of the application would create (nothing is written).

    Args:
        application_id: an application of the actor's institution family.
        method: the repayment method (one the product offers).
        frequency: ``monthly`` or ``quarterly``.
        disbursed_on: the value date (default today).

    Returns:
        DataFrame ``seq``, ``due_date``, ``principal_due``, ``interest_due``, ``total_due``.
    """
    app = staff_application(uow.session, actor, application_id)
    product, principal, rate = loan_terms(uow.session, app)
    start = _as_of(disbursed_on)
    rows = schedule_for(app, product, principal, rate, method=method, frequency=frequency, start=start)
    return pd.DataFrame(
        [{"seq": i.seq, "due_date": i.due_date, "principal_due": i.principal_due, "interest_due": i.interest_due,
          "total_due": i.total_due} for i in rows],
        columns=["seq", "due_date", "principal_due", "interest_due", "total_due"],
    )


@use_case(permission=None)
def servicing_loans(
    uow, *, actor: Actor, institution_id: int, status: str | list[str] | None = None, as_of: date | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """The institution family's loans, newest first, with days past due and bucket.

    Args:
        institution_id: the institution (staff of its family; oversight reads any).
        status: one loan status or several (default: all).
        as_of: the day days past due are counted to (default today).
        limit: at most this many loans.
    """
    scope = _family(uow.session, actor, institution_id)
    query = select(Loan).where(col(Loan.institution_id).in_(scope))
    if status:
        wanted = [status] if isinstance(status, str) else list(status)
        query = query.where(col(Loan.status).in_([LoanStatus(s) for s in wanted]))
    loans = uow.session.exec(query.order_by(col(Loan.disbursed_at).desc()).limit(max(1, min(int(limit), 20000))))
    return _loans_frame(uow.session, list(loans), _as_of(as_of))


@use_case(permission=None)
def servicing_loan_detail(uow, *, actor: Actor, loan_id: int, as_of: date | None = None) -> LoanDetail:
    """One loan of the institution family with its schedule and repayments (oversight reads any)."""
    loan = load_loan(uow.session, loan_id)
    _family(uow.session, actor, loan.institution_id)
    return _detail(uow.session, loan, _as_of(as_of))


@use_case(permission=None)
def portfolio_by_bucket(uow, *, actor: Actor, institution_id: int, as_of: date | None = None) -> pd.DataFrame:
    """Live loans (active, overdue, defaulted) of the institution family by DPD bucket M0, M1, M2, M3+.

    Returns:
        DataFrame ``bucket`` (all four, in order), ``loans``, ``outstanding`` (yuan), ``share`` (of outstanding).
    """
    scope = _family(uow.session, actor, institution_id)
    loans = uow.session.exec(select(Loan).where(
        col(Loan.institution_id).in_(scope),
        col(Loan.status).in_([LoanStatus.active, LoanStatus.overdue, LoanStatus.defaulted]),
    )).all()
    frame = _loans_frame(uow.session, list(loans), _as_of(as_of))
    out = []
    total = sum((v for v in frame["outstanding_principal"]), ZERO) if not frame.empty else ZERO
    for bucket in BUCKETS:
        part = frame[frame["bucket"] == bucket] if not frame.empty else frame
        amount = sum((v for v in part["outstanding_principal"]), ZERO)
        out.append({"bucket": bucket, "loans": len(part), "outstanding": amount,
                    "share": float(amount / total) if total else 0.0})
    return pd.DataFrame(out, columns=["bucket", "loans", "outstanding", "share"])
