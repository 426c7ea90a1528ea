"""One application as its enterprise or its institution sees it: facts, timeline, documents, enhancements.

* ``my_applications`` — the enterprise's applications (its own users; regulators read), each with a
  timeline of what happened (transitions, document requests and uploads, enhancement steps, times in
  UTC), the next step in words (a message key) and the open document requests. The officer's
  proposal stays inside the bank: the enterprise sees decisions, not proposals.
* ``application_review`` — one application for staff of its institution family (regulators read),
  with the proposal, its due-diligence checklist and the guarantee or insurance products that could
  be attached.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.auth import Actor
from core.auth.rules import (
    assert_enterprise_access,
    assert_institution_access,
    is_institution_staff,
    reads_everything,
)
from core.errors import ForbiddenError
from core.lending.lifecycle import actions_from
from core.models import Application, ApplicationEvent, Enterprise, Organization, Product, User
from core.models.types import ApplicationStatus, ProductStatus
from core.services.application_flow import actor_kind, load_application
from core.services.documents import DocumentPublic, documents_of
from core.services.enhancement import ENHANCEMENT_TYPES, EnhancementPublic, enhancements_of
from core.services.review import CHECKLIST, proposal_details
from core.usecase import use_case

# The actions the review screens offer (contract and disbursement belong to the loans screens).
REVIEW_ACTIONS = ("accept", "start_due_diligence", "propose", "approve", "reject", "withdraw")


class TimelineItem(BaseModel):
    """One thing that happened to an application."""

    at: datetime
    kind: str  # submitted, transition, proposal, document_requested, document_uploaded, enhancement_*
    from_status: str | None = None
    to_status: str | None = None
    note: str | None = None
    by: str | None = None  # the person's name (staff view only)


class EnhancementOffer(BaseModel):
    """A published guarantee or insurance product that could be attached."""

    product_id: int
    name: str
    product_type: str
    provider_name: str
    fee_rate: Decimal


class ApplicationDetail(BaseModel):
    """An application with everything its screens show."""

    id: int
    version: int
    status: str
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    product_id: int
    product_name: str
    product_amount_min: Decimal
    product_amount_max: Decimal
    product_term_min: int
    product_term_max: int
    product_rate_min: Decimal
    product_rate_max: Decimal
    institution_id: int
    institution_name: str
    amount_requested: Decimal
    term_months: int
    submitted_at: datetime
    decided_at: datetime | None
    officer_name: str | None = None
    proposed_action: str | None = None
    proposed_amount: Decimal | None = None
    proposed_rate: Decimal | None = None
    proposed_term: int | None = None
    proposed_reason_code: str | None = None
    proposal_note: str | None = None
    proposed_by_id: int | None = None
    proposed_by_name: str | None = None
    proposed_at: datetime | None = None
    checklist: list[str] = []
    approved_amount: Decimal | None = None
    approved_rate: Decimal | None = None
    decision_reason_code: str | None = None
    decision_text: str | None = None
    next_step: str  # a message key
    actions: list[str] = []  # lifecycle actions the viewer's kind may take now
    timeline: list[TimelineItem] = []
    documents: list[DocumentPublic] = []
    enhancements: list[EnhancementPublic] = []
    enhancement_offers: list[EnhancementOffer] = []


def _name(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id else None
    return user.display_name if user else None


def _next_step(status: ApplicationStatus, staff: bool, docs: list[DocumentPublic],
               enh: list[EnhancementPublic], proposed: bool) -> str:
    waiting_docs = any(d.status == "requested" for d in docs)
    pending = any(e.status == "pending" for e in enh)
    if staff:
        if status == ApplicationStatus.submitted:
            return "review.staff_next.accept"
        if status == ApplicationStatus.accepted:
            return "review.staff_next.start"
        if status == ApplicationStatus.due_diligence:
            if not proposed:
                return "review.staff_next.propose"
            return "review.staff_next.enhancement" if pending else "review.staff_next.decide"
        return "review.staff_next.contract" if status == ApplicationStatus.approved else "review.staff_next.none"
    if status in (ApplicationStatus.submitted, ApplicationStatus.accepted, ApplicationStatus.due_diligence):
        if waiting_docs:
            return "review.next.upload"
        if pending:
            return "review.next.enhancement"
    return f"review.next.{status.value}"


def _timeline(session: Session, app: Application, staff: bool, docs: list[DocumentPublic],
              enh: list[EnhancementPublic]) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    events = session.exec(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == app.id)
        .order_by(col(ApplicationEvent.occurred_at), col(ApplicationEvent.id))
    )
    for e in events:
        source = None if e.from_status is None else ApplicationStatus(e.from_status).value
        target = ApplicationStatus(e.to_status).value
        if source == target:
            if not staff:
                continue  # a proposal stays inside the bank
            kind, note = "proposal", None
        else:
            kind = "submitted" if source is None else "transition"
            note = e.note if staff or target in ("rejected", "withdrawn") else None
        items.append(TimelineItem(at=e.occurred_at, kind=kind, from_status=source, to_status=target, note=note,
                                  by=_name(session, e.actor_user_id) if staff else None))
    for d in docs:
        items.append(TimelineItem(at=d.requested_at, kind="document_requested", note=d.request_note))
        if d.uploaded_at is not None:
            items.append(TimelineItem(at=d.uploaded_at, kind="document_uploaded", note=d.filename))
    for x in enh:
        items.append(TimelineItem(at=x.created_at, kind="enhancement_requested", note=x.product_name))
        if x.decided_at is not None:
            items.append(TimelineItem(at=x.decided_at, kind=f"enhancement_{x.status}", note=x.provider_name))
    return sorted(items, key=lambda i: i.at)


def _offers(session: Session) -> list[EnhancementOffer]:
    rows = session.exec(
        select(Product, Organization.name)
        .join(Organization, col(Organization.id) == col(Product.institution_id))
        .where(Product.status == ProductStatus.published, col(Product.product_type).in_(list(ENHANCEMENT_TYPES)))
        .order_by(col(Product.rate_min), col(Product.id))
        .limit(50)
    )
    return [
        EnhancementOffer(product_id=int(p.id), name=p.name, product_type=str(p.product_type),
                         provider_name=provider, fee_rate=Decimal(p.rate_min))
        for p, provider in rows
    ]


def build_detail(session: Session, app: Application, *, staff: bool, actor: Actor) -> ApplicationDetail:
    """The detail of ``app`` for a staff (True) or enterprise (False) viewer."""
    status = ApplicationStatus(app.status)
    ent = session.get(Enterprise, app.enterprise_id)
    product = session.get(Product, app.product_id)
    inst = session.get(Organization, app.institution_id)
    docs = documents_of(session, int(app.id))
    enh = enhancements_of(session, int(app.id))
    proposed = bool(app.proposed_action and app.proposed_by_id is not None)
    try:
        kind = actor_kind(actor)
    except ForbiddenError:
        kind = None
    detail = ApplicationDetail(
        id=int(app.id), version=app.version, status=status.value, enterprise_id=app.enterprise_id,
        enterprise_name=ent.name if ent else "", credit_code=ent.credit_code if ent else "",
        product_id=app.product_id, product_name=product.name if product else "",
        product_amount_min=Decimal(product.amount_min), product_amount_max=Decimal(product.amount_max),
        product_term_min=product.term_min_months, product_term_max=product.term_max_months,
        product_rate_min=Decimal(product.rate_min), product_rate_max=Decimal(product.rate_max),
        institution_id=app.institution_id, institution_name=inst.name if inst else "",
        amount_requested=Decimal(app.amount_requested), term_months=app.term_months,
        submitted_at=app.submitted_at, decided_at=app.decided_at,
        approved_amount=app.approved_amount, approved_rate=app.approved_rate,
        decision_reason_code=app.decision_reason_code, decision_text=app.decision_text,
        next_step=_next_step(status, staff, docs, enh, proposed),
        actions=[a for a in actions_from(status, kind) if a in REVIEW_ACTIONS] if kind else [],
        timeline=_timeline(session, app, staff, docs, enh), documents=docs, enhancements=enh,
        enhancement_offers=_offers(session) if status.value in ("submitted", "accepted", "due_diligence") else [],
    )
    if staff:
        details = proposal_details(session, int(app.id)) if proposed else {}
        detail.officer_name = _name(session, app.officer_id)
        detail.proposed_action = app.proposed_action
        detail.proposed_amount = app.proposed_amount
        detail.proposed_rate = app.proposed_rate
        detail.proposed_term = details.get("term_months")
        detail.proposed_reason_code = details.get("reason_code")
        detail.proposal_note = app.proposal_note
        detail.proposed_by_id = app.proposed_by_id
        detail.proposed_by_name = _name(session, app.proposed_by_id)
        detail.proposed_at = app.proposed_at
        detail.checklist = [c for c in details.get("checklist", []) if c in CHECKLIST]
    return detail


@use_case(permission=None)
def my_applications(
    uow, *, actor: Actor, enterprise_id: int | None = None, limit: int = 50
) -> list[ApplicationDetail]:
    """The enterprise's applications, newest first, each with its timeline and next step.

    Args:
        enterprise_id: the enterprise (default: the actor's own); regulators may name any.
        limit: at most this many (1–200).

    Raises:
        ForbiddenError: neither that enterprise's user nor a regulator.
    """
    session = uow.session
    target = enterprise_id if enterprise_id is not None else actor.enterprise_id
    if target is None:
        raise ForbiddenError("error.forbidden")
    assert_enterprise_access(actor, int(target))
    rows = session.exec(
        select(Application)
        .where(Application.enterprise_id == int(target))
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
        .limit(max(1, min(int(limit), 200)))
    )
    return [build_detail(session, a, staff=False, actor=actor) for a in rows]


@use_case(permission=None)
def application_review(uow, *, actor: Actor, application_id: int) -> ApplicationDetail:
    """One application for its institution family's staff (regulators read), proposal included.

    Raises:
        ForbiddenError: neither staff of the application's institution family nor a regulator.
        NotFoundError: no such application.
    """
    session = uow.session
    if not (is_institution_staff(actor) or reads_everything(actor)):
        raise ForbiddenError("error.forbidden")
    app = load_application(session, application_id)
    assert_institution_access(session, actor, app.institution_id)
    return build_detail(session, app, staff=True, actor=actor)
