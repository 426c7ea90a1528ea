"""Review of an application by its institution: the lifecycle's transition helper, accept, due diligence,
the officer's proposal and the manager's decision (maker-checker).

Rules (tested in ``tests/integration/review/``):

* every status change goes through ``transition`` — the engine ``core.lending.lifecycle.next_status``
  decides, an ``ApplicationEvent`` records who and when, a closing transition ends the implied consent;
* staff act only on applications of their own institution family, with the version they saw
  (``expected_version``): a second person who opened the same application is told it changed;
* **maker** — an officer (or manager) in due diligence *proposes* approval (amount within the product's
  range and at most the amount requested, rate within the product's range, term within its range, and
  every due-diligence checklist item confirmed) or rejection (a reason code and words); the status does
  not move; a new proposal replaces the last one;
* **checker** — a manager (``applications.decide``) approves or rejects; refused when there is no
  proposal, when the manager made the proposal, when approving a proposal to reject, and — for an
  approval — while a credit enhancement attached to the application awaits its provider's decision
  (``core.services.enhancement``): the guarantor or insurer decides its part first. A declined
  enhancement does not block; the manager sees it and decides.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    BANK_STAFF_ROLES,
    assert_acts_for_institution,
    institution_family,
)
from core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    JinfuError,
    ValidationErrors,
)
from core.i18n import format_number
from core.models import Application, ApplicationEvent, CreditEnhancement, Product, User
from core.models.financing import ApplicationPublic
from core.models.types import utcnow
from core.services.application_flow import (
    allowed_target,
    check_terms,
    load_application,
    parse_money,
    parse_whole,
    public_application,
    transition,
)
from core.usecase import expect_version, use_case

# The due-diligence checklist an approval proposal must confirm (labels: ``review.checklist.<code>``).
CHECKLIST = ("identity", "credit_report", "financials", "site_visit", "use_of_funds", "repayment_source")
# Why an application is rejected (labels: ``review.reason.<code>``); "other" needs words.
REASON_CODES = ("cash_flow", "leverage", "credit_history", "documents", "policy", "collateral", "other")
NOTE_MAX = 1000

def _rate(value: object, product: Product) -> Decimal:
    try:
        rate = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidError("review.error.rate", field="rate") from None
    if not rate.is_finite() or not Decimal(product.rate_min) <= rate <= Decimal(product.rate_max):
        raise InvalidError(
            "review.error.rate_range", field="rate", min=format_number(product.rate_min, None, 2),
            max=format_number(product.rate_max, None, 2),
        )
    return rate.quantize(Decimal("0.0001"))


def _text(value: object, *, limit: int = NOTE_MAX) -> str:
    return " ".join(str(value or "").split())[:limit]


def staff_application(session: Session, actor: Actor, application_id: object) -> Application:
    """The application, if ``actor`` is staff of its institution's family (else ForbiddenError)."""
    row = load_application(session, application_id)
    assert_acts_for_institution(session, actor, row.institution_id)
    return row


def proposal_details(session: Session, application_id: int) -> dict:
    """The latest proposal's structured part (checklist, term, reason code) from its event note."""
    note = session.exec(
        select(ApplicationEvent.note)
        .where(
            ApplicationEvent.application_id == application_id,
            ApplicationEvent.from_status == ApplicationEvent.to_status,
            col(ApplicationEvent.note).like("{%"),
        )
        .order_by(col(ApplicationEvent.occurred_at).desc(), col(ApplicationEvent.id).desc())
        .limit(1)
    ).first()
    try:
        found = json.loads(note) if note else {}
    except ValueError:
        found = {}
    return found if isinstance(found, dict) else {}


def pending_enhancements(session: Session, application_id: int) -> int:
    """How many credit enhancements of the application await their provider's decision."""
    rows = session.exec(
        select(CreditEnhancement.id).where(
            CreditEnhancement.application_id == application_id, CreditEnhancement.status == "pending"
        )
    ).all()
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Staff transitions
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.applications_institution, write=True)
def accept_application(
    uow, *, actor: Actor, application_id: int, expected_version: int, officer_id: int | None = None
) -> ApplicationPublic:
    """Accept a submitted application and assign its officer (the actor, or a colleague a manager names).

    Args:
        application_id: the application (of the actor's institution family).
        expected_version: the version the actor saw.
        officer_id: the officer to assign (default: the actor); only a manager may name someone else.

    Raises:
        ForbiddenError: not staff of the application's institution, or naming an officer without being a manager.
        StaleVersionError: someone else changed it since it was shown.
        ApplicationTransitionError: it is not waiting to be accepted.
        InvalidError: the named officer is not active bank staff of the family.
    """
    session = uow.session
    row = staff_application(session, actor, application_id)
    expect_version(row, expected_version)
    officer = actor.user_id if officer_id is None else officer_id
    if officer != actor.user_id:
        if not actor.can(Permission.applications_decide):
            raise ForbiddenError("error.forbidden")
        user = session.get(User, officer)
        family = institution_family(session, row.institution_id)
        if (
            user is None
            or not user.is_active
            or user.organization_id not in family
            or not set(user.roles or []) & {str(r) for r in BANK_STAFF_ROLES}
        ):
            raise InvalidError("review.error.officer", field="officer_id")
    transition(session, row, action="accept", actor=actor)
    row.officer_id = officer
    uow.audit("application.accept", entity_type="application", entity_id=row.id, after={"officer_id": officer})
    return public_application(row)


@use_case(permission=Permission.applications_institution, write=True)
def start_due_diligence(
    uow, *, actor: Actor, application_id: int, expected_version: int, note: str | None = None
) -> ApplicationPublic:
    """Move an accepted application into due diligence.

    Raises:
        ForbiddenError: not staff of the application's institution.
        StaleVersionError: someone else changed it since it was shown.
        ApplicationTransitionError: it is not accepted.
    """
    session = uow.session
    row = staff_application(session, actor, application_id)
    expect_version(row, expected_version)
    transition(session, row, action="start_due_diligence", actor=actor, note=_text(note))
    if row.officer_id is None:
        row.officer_id = actor.user_id
    uow.audit("application.due_diligence", entity_type="application", entity_id=row.id)
    return public_application(row)


@use_case(permission=Permission.applications_institution, write=True)
def propose_decision(
    uow,
    *,
    actor: Actor,
    application_id: int,
    expected_version: int,
    action: str,
    checklist: list[str] | tuple[str, ...] = (),
    amount: Decimal | str | None = None,
    rate: Decimal | str | None = None,
    term_months: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
) -> ApplicationPublic:
    """The maker's step: propose approval (amount, rate, term) or rejection (reason code and words).

    Args:
        application_id: an application in due diligence of the actor's institution family.
        expected_version: the version the actor saw.
        action: ``approve`` or ``reject``.
        checklist: the due-diligence items confirmed (``CHECKLIST``); an approval needs all of them.
        amount: yuan for an approval: within the product's range and at most the amount requested.
        rate: annual percent for an approval, within the product's range.
        term_months: months for an approval, within the product's range (default: as requested).
        reason_code: for a rejection, one of ``REASON_CODES``.
        note: the officer's words (required for ``other`` and for every rejection).

    Raises:
        ForbiddenError: not staff of the application's institution.
        StaleVersionError: someone else changed it since it was shown.
        ApplicationTransitionError: it is not in due diligence.
        ValidationErrors: a bad action, amount, rate, term, checklist, reason or note (each names its field).
    """
    session = uow.session
    row = staff_application(session, actor, application_id)
    expect_version(row, expected_version)
    product = session.get(Product, row.product_id)
    errors: list[JinfuError] = []
    text = _text(note)
    items = [c for c in CHECKLIST if c in set(checklist or ())]
    if set(checklist or ()) - set(CHECKLIST):
        errors.append(InvalidError("review.error.checklist", field="checklist"))
    details: dict = {"action": action, "checklist": items}
    if action == "approve":
        if len(items) != len(CHECKLIST):
            errors.append(InvalidError("review.error.checklist", field="checklist"))
        value = term = None
        try:
            value = parse_money(amount, "amount")
            if value > Decimal(row.amount_requested):
                errors.append(InvalidError("review.error.above_requested", field="amount"))
        except InvalidError as exc:
            errors.append(exc)
        try:
            proposed_rate = _rate(rate, product)
        except InvalidError as exc:
            errors.append(exc)
        try:
            term = row.term_months if term_months is None else parse_whole(term_months, "term_months", "review.error.term")
        except InvalidError as exc:
            errors.append(exc)
        if value is not None and term is not None:
            errors.extend(check_terms(product, value, term))
        details["term_months"] = term
    elif action == "reject":
        if reason_code not in REASON_CODES:
            errors.append(InvalidError("review.error.reason_code", field="reason_code"))
        if len(text) < 4:
            errors.append(InvalidError("review.error.note", field="note"))
        details["reason_code"] = reason_code
    else:
        errors.append(InvalidError("review.error.proposal_action", field="action"))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)

    now = utcnow()
    transition(session, row, action="propose", actor=actor, note=json.dumps(details), now=now)
    row.proposed_action = action
    row.proposed_amount = value if action == "approve" else None
    row.proposed_rate = proposed_rate if action == "approve" else None
    row.proposal_note = text or None
    row.proposed_by_id = actor.user_id
    row.proposed_at = now
    uow.audit("application.propose", entity_type="application", entity_id=row.id, after=details)
    return public_application(row)


@use_case(permission=Permission.applications_decide, write=True)
def decide_application(
    uow,
    *,
    actor: Actor,
    application_id: int,
    expected_version: int,
    action: str,
    reason_code: str | None = None,
    note: str | None = None,
) -> ApplicationPublic:
    """The checker's step: a manager approves the proposal or rejects the application.

    Args:
        application_id: an application in due diligence of the actor's institution family, with a proposal.
        expected_version: the version the manager saw; two managers deciding at once — one wins.
        action: ``approve`` (the proposed amount, rate and term) or ``reject``.
        reason_code: for a rejection, one of ``REASON_CODES`` (default: the proposal's).
        note: the manager's words (kept on the event and shown to the enterprise on a rejection).

    Raises:
        ForbiddenError: not a manager of the application's institution, or the manager made the proposal.
        StaleVersionError: someone else changed it since it was shown.
        ConflictError: no proposal yet; an enhancement awaits its provider (approval only).
        ApplicationTransitionError: it is not in due diligence.
        InvalidError: approving a proposal to reject, or a bad reason code.
    """
    session = uow.session
    row = staff_application(session, actor, application_id)
    expect_version(row, expected_version)
    if action not in ("approve", "reject"):
        raise InvalidError("review.error.decision_action", field="action")
    allowed_target(row, action, actor)  # the status first: an illegal move says so
    if not row.proposed_action or row.proposed_by_id is None:
        raise ConflictError("review.error.no_proposal")
    if actor.user_id is None or row.proposed_by_id == actor.user_id:
        raise ForbiddenError("review.error.own_proposal")
    details = proposal_details(session, int(row.id))
    text = _text(note)
    now = utcnow()
    if action == "approve":
        if row.proposed_action != "approve":
            raise InvalidError("review.error.approve_rejection", field="action")
        if pending_enhancements(session, int(row.id)):
            raise ConflictError("review.error.enhancement_pending")
        row.approved_amount = row.proposed_amount
        row.approved_rate = row.proposed_rate
        row.term_months = int(details.get("term_months") or row.term_months)
        row.decision_reason_code = None
    else:
        code = reason_code or details.get("reason_code")
        if code not in REASON_CODES:
            raise InvalidError("review.error.reason_code", field="reason_code")
        row.decision_reason_code = code
    row.decision_text = text or (row.proposal_note if action == "reject" else None)
    row.decided_by_id = actor.user_id
    row.decided_at = now
    transition(session, row, action=action, actor=actor, note=text or None, now=now)
    uow.audit(
        f"application.{action}",
        entity_type="application",
        entity_id=row.id,
        after={"reason_code": row.decision_reason_code, "proposed_by_id": row.proposed_by_id},
    )
    return public_application(row)
