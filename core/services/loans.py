"""Loans: the loan record and its shared helpers, contract signing and disbursement with its schedule.

Rules (tested in ``tests/integration/loans/``):

* **Contract** — staff of the application's institution family sign an approved application's contract
  with the version they saw (approved → contract_signed).
* **Disbursement** — a signed application becomes a ``Loan`` of the approved amount (else the amount
  requested) at the approved rate (else the product's lowest), for the application's term, with its
  ``RepaymentInstallment`` rows from :func:`core.lending.schedule.build_schedule` (exact cents; the
  principal parts sum to the loan). A method the product does not offer, a disbursement date in the
  future or before the application, or a term that is no whole number of quarters for quarterly
  repayment is refused. The loan is the enterprise's first loan (首贷) when it never had one; the
  enterprise is then marked as having borrowed. Idempotent by key (``IdempotencyKey``).

Repayments are recorded by :mod:`core.services.loan_repayments`, the daily sweep (days past due,
overdue / cured / defaulted, reminders) runs in :mod:`core.services.loan_sweep`, and the loan reads
are in :mod:`core.services.loan_reads`; the helpers below are shared with them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time
from decimal import Decimal

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_institution
from core.errors import ConflictError, InvalidError, NotFoundError
from core.lending.lifecycle import actions_from, next_status
from core.lending.schedule import Installment, ScheduleError, build_schedule
from core.lending.workdays import SHANGHAI
from core.models import (
    Application,
    ApplicationEvent,
    Enterprise,
    IdempotencyKey,
    Loan,
    Product,
    RepaymentInstallment,
)
from core.models.financing import ApplicationPublic
from core.models.types import ApplicationStatus, InstallmentStatus, LoanStatus, utcnow
from core.services.application_flow import actor_kind, public_application, transition
from core.services.consent import CLOSED_APPLICATION, ensure_application_consent
from core.services.notifications import notify
from core.services.review import staff_application
from core.usecase import expect_version, use_case

OPEN_LOAN = (LoanStatus.active, LoanStatus.overdue)
KEY_MIN, KEY_MAX = 8, 80


class LoanNotFoundError(NotFoundError):
    key = "loans.error.loan_not_found"


class LoanClosedError(ConflictError):
    """The loan is settled or written off: nothing more can be paid on it."""

    key = "loans.error.loan_closed"


class KeyReusedError(ConflictError):
    """An idempotency key already used for a different request."""

    key = "loans.error.key_reused"


class LoanPublic(BaseModel):
    """A loan as services return it."""

    id: int
    application_id: int
    enterprise_id: int
    institution_id: int
    product_id: int
    amount: Decimal
    annual_rate: Decimal
    term_months: int
    repayment_method: str
    frequency: str
    is_first_loan: bool
    disbursed_at: datetime
    maturity_date: date
    status: str
    outstanding_principal: Decimal
    paused_until: date | None
    version: int


# --------------------------------------------------------------------------------------- helpers


def today_local() -> date:
    return utcnow().astimezone(SHANGHAI).date()


def loan_public(loan: Loan) -> LoanPublic:
    return LoanPublic.model_validate(loan, from_attributes=True)


def check_key(value: object) -> str:
    key = str(value or "").strip()
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise InvalidError("loans.error.key", field="idempotency_key", min=KEY_MIN, max=KEY_MAX)
    return key


def parse_day(value: object, field: str) -> date:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidError("loans.error.date", field=field) from None


def load_loan(session: Session, loan_id: object) -> Loan:
    try:
        row = session.get(Loan, int(loan_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise LoanNotFoundError()
    return row


def installment_rows(session: Session, loan_id: int) -> list[RepaymentInstallment]:
    query = select(RepaymentInstallment).where(RepaymentInstallment.loan_id == loan_id)
    return list(session.exec(query.order_by(col(RepaymentInstallment.seq))).all())


def to_engine(row: RepaymentInstallment) -> Installment:
    return Installment(
        seq=row.seq, due_date=row.due_date, principal_due=Decimal(row.principal_due),
        interest_due=Decimal(row.interest_due), principal_paid=Decimal(row.principal_paid or 0),
        interest_paid=Decimal(row.interest_paid or 0), paid_on=row.paid_on,
    )


def installment_state(inst: Installment, as_of: date) -> tuple[InstallmentStatus, int]:
    """An installment's status and days past due as of ``as_of`` (late days kept once paid)."""
    if inst.settled:
        late = (inst.paid_on - inst.due_date).days if inst.paid_on else 0
        return InstallmentStatus.paid, max(late, 0)
    if inst.due_date < as_of:
        return InstallmentStatus.overdue, (as_of - inst.due_date).days
    if inst.principal_paid + inst.interest_paid > 0:
        return InstallmentStatus.partial, 0
    return InstallmentStatus.scheduled, 0


def _request_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def move_application(session: Session, app: Application, action: str, actor: Actor, now: datetime, note: str | None = None,
          *, system: bool = False):
    """Move the application by ``action`` when the lifecycle allows it from its status (else leave it).

    The daily sweep acts as the lifecycle's ``system`` kind (whoever starts it); people go through
    ``application_flow.transition``.
    """
    kind = "system" if system else actor_kind(actor)
    if action not in actions_from(app.status, kind):
        return
    if kind != "system":
        transition(session, app, action=action, actor=actor, note=note, now=now)
        return
    source = ApplicationStatus(app.status)
    target = next_status(source, action, "system")
    app.status = target
    app.updated_at = now
    session.add(app)
    session.add(ApplicationEvent(application_id=int(app.id), from_status=source, to_status=target,
                                 actor_user_id=None, note=note, occurred_at=now))
    session.flush()
    if target in CLOSED_APPLICATION:
        ensure_application_consent(session, app, now=now)


# ------------------------------------------------------------------------------------- contract


@use_case(permission=Permission.applications_institution, write=True)
def sign_contract(uow, *, actor: Actor, application_id: int, expected_version: int) -> ApplicationPublic:
    """Record the signed loan contract of an approved application (approved → contract_signed).

    Args:
        application_id: the application (of the actor's institution family).
        expected_version: the version the actor saw.

    Raises:
        ForbiddenError: not staff of the application's institution family.
        StaleVersionError: someone else changed it since it was shown.
        ApplicationTransitionError: it is not approved.
    """
    session = uow.session
    app = staff_application(session, actor, application_id)
    expect_version(app, expected_version)
    transition(session, app, action="sign_contract", actor=actor)
    notify(session, kind="loan.contract_signed", title_key="loans.notify.contract.title",
           params={"application": int(app.id)}, enterprise_id=app.enterprise_id,
           dedupe_key=f"application:{app.id}:contract_signed", payload={"application_id": int(app.id)})
    uow.audit("loan.sign_contract", entity_type="application", entity_id=app.id, after={"status": app.status})
    return public_application(app)


def loan_terms(session: Session, app: Application) -> tuple[Product, Decimal, Decimal]:
    """The product, the principal and the annual rate a disbursement of ``app`` uses."""
    product = session.get(Product, app.product_id)
    principal = Decimal(app.approved_amount or app.amount_requested)
    rate = Decimal(app.approved_rate if app.approved_rate is not None else product.rate_min)
    return product, principal, rate


def schedule_for(app: Application, product: Product, principal: Decimal, rate: Decimal, *, method: str,
                 frequency: str, start: date) -> list[Installment]:
    """The schedule a disbursement would create (validation errors as localized InvalidError)."""
    offered = [str(m) for m in (product.repayment_methods or [])]
    if offered and str(method) not in offered:
        raise InvalidError("loans.error.method_not_offered", field="method")
    try:
        return build_schedule(principal, rate, int(app.term_months), str(method), start, str(frequency))
    except ScheduleError as exc:
        raise InvalidError(exc.key, field=exc.field) from exc


@use_case(permission=Permission.applications_institution, write=True)
def disburse_loan(
    uow,
    *,
    actor: Actor,
    application_id: int,
    method: str,
    frequency: str = "monthly",
    disbursed_on: date | str,
    idempotency_key: str,
    expected_version: int | None = None,
) -> LoanPublic:
    """Disburse a signed application: the ``Loan``, its installments, and the application → disbursed.

    Args:
        application_id: a contract_signed application of the actor's institution family.
        method: ``equal_installment``, ``equal_principal`` or ``interest_only_bullet`` (offered by the product).
        frequency: ``monthly`` or ``quarterly``.
        disbursed_on: the value date (not in the future, not before the application).
        idempotency_key: the same key and request return the first loan; another request is refused.
        expected_version: the application's version the actor saw (optional).

    Raises:
        InvalidError: a bad method, frequency, date or key.
        KeyReusedError: the key was used for another request.
        ApplicationTransitionError: the application's contract is not signed.
    """
    session = uow.session
    key = check_key(idempotency_key)
    day = parse_day(disbursed_on, "disbursed_on")
    request = {"op": "loan.disburse", "application_id": int(application_id), "method": str(method),
               "frequency": str(frequency), "disbursed_on": day.isoformat()}
    seen = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == key)).first()
    if seen is not None:
        if seen.request_hash != _request_hash(request) or not (seen.response or {}).get("loan_id"):
            raise KeyReusedError()
        loan = load_loan(session, seen.response["loan_id"])
        assert_acts_for_institution(session, actor, loan.institution_id)
        return loan_public(loan)
    app = staff_application(session, actor, application_id)
    expect_version(app, expected_version)
    today = today_local()
    if day > today:
        raise InvalidError("loans.error.date_future", field="disbursed_on")
    if day < app.submitted_at.astimezone(SHANGHAI).date():
        raise InvalidError("loans.error.date_before_application", field="disbursed_on")
    product, principal, rate = loan_terms(session, app)
    schedule = schedule_for(app, product, principal, rate, method=method, frequency=frequency, start=day)
    now = utcnow()
    disbursed_at = now if day == today else datetime.combine(day, time(10, 0), SHANGHAI)
    transition(session, app, action="disburse", actor=actor, now=now)
    enterprise = session.get(Enterprise, app.enterprise_id)
    had_loan = bool(enterprise.has_had_loan) or session.exec(
        select(Loan.id).where(Loan.enterprise_id == app.enterprise_id).limit(1)
    ).first() is not None
    loan = Loan(
        application_id=int(app.id), enterprise_id=app.enterprise_id, institution_id=app.institution_id,
        product_id=app.product_id, amount=principal, annual_rate=rate, term_months=app.term_months,
        repayment_method=str(method), frequency=str(frequency), is_first_loan=not had_loan,
        is_pure_credit=str(product.product_type) == "credit_loan", disbursed_at=disbursed_at,
        maturity_date=schedule[-1].due_date, status=LoanStatus.active, outstanding_principal=principal,
    )
    session.add(loan)
    session.flush()
    for inst in schedule:
        session.add(RepaymentInstallment(loan_id=loan.id, seq=inst.seq, due_date=inst.due_date,
                                         principal_due=inst.principal_due, interest_due=inst.interest_due))
    if not enterprise.has_had_loan:
        enterprise.has_had_loan = True
        session.add(enterprise)
    session.add(IdempotencyKey(key=key, operation="loan.disburse", actor_user_id=actor.user_id,
                               request_hash=_request_hash(request), response={"loan_id": int(loan.id)}))
    notify(session, kind="loan.disbursed", title_key="loans.notify.disbursed.title",
           params={"amount": f"{principal / 10_000:,.2f}", "first": schedule[0].due_date.isoformat()},
           enterprise_id=app.enterprise_id, dedupe_key=f"loan:{loan.id}:disbursed", payload={"loan_id": int(loan.id)})
    session.flush()
    uow.audit("loan.disburse", entity_type="loan", entity_id=loan.id,
              after={"application_id": int(app.id), "amount": str(principal), "rate": str(rate), "method": str(method),
                     "frequency": str(frequency), "installments": len(schedule), "first_loan": loan.is_first_loan})
    return loan_public(loan)
