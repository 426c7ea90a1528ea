"""Credit enhancement: a guarantee or insurance product attached to an application, decided by its provider.

Rules (tested in ``tests/integration/review/test_enhancement.py``):

* **attach** — the application's enterprise (``attach_enhancement``) or staff of the lending
  institution's family (``attach_enhancement_for_application``) attach a published product of type
  ``guarantee_service`` or ``insurance`` to an open application, with the share of the loan it covers
  (1–100 %); the fee rate is the product's minimum rate; one attachment per product and application.
  The enhancement is ``pending``;
* **decide** — the provider's own staff (users of the organization that publishes the guarantee or
  insurance product, or of its family: guarantee_staff at a guarantee company, insurer_staff at an
  insurer) approve or decline their part in their own step, with the version they saw; the
  application's status does not move;
* **blocking** — a manager's approval of an application with a pending enhancement is refused until
  the provider decided (``core.services.review.decide_application``). A declined enhancement does not
  block: the manager sees it and decides whether to lend without it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

import pandas as pd
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_acts_for_enterprise,
    assert_acts_for_institution,
    assert_institution_access,
    institution_descendants,
)
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from core.lending.lifecycle import OPEN_STATUSES
from core.models import Application, CreditEnhancement, Enterprise, Organization, Product
from core.models.types import ApplicationStatus, ProductStatus, ProductType, utcnow
from core.services.application_flow import load_application
from core.services.directory import load_institution
from core.usecase import expect_version, use_case

ENHANCEMENT_TYPES = frozenset({ProductType.guarantee_service, ProductType.insurance})
QUEUE_COLUMNS = [
    "id", "version", "application_id", "enterprise_name", "lender_name", "product_name", "product_type",
    "amount_requested", "coverage_pct", "fee_rate", "status", "created_at", "decided_at", "note",
]


class EnhancementPublic(BaseModel):
    """A credit enhancement as services return it, with the product's and provider's names."""

    id: int
    application_id: int
    product_id: int
    product_name: str
    product_type: str
    provider_id: int
    provider_name: str
    provider_name_en: str | None
    coverage_pct: Decimal
    fee_rate: Decimal | None
    status: str  # pending, approved, declined
    note: str | None
    created_at: datetime
    decided_at: datetime | None
    version: int


def public_enhancement(session: Session, row: CreditEnhancement) -> EnhancementPublic:
    product = session.get(Product, row.product_id)
    provider = session.get(Organization, row.provider_id)
    return EnhancementPublic(
        id=int(row.id), application_id=row.application_id, product_id=row.product_id,
        product_name=product.name if product else "", product_type=str(product.product_type) if product else "",
        provider_id=row.provider_id, provider_name=provider.name if provider else "",
        provider_name_en=provider.name_en if provider else None, coverage_pct=Decimal(row.coverage_pct),
        fee_rate=None if row.fee_rate is None else Decimal(row.fee_rate), status=row.status, note=row.note,
        created_at=row.created_at, decided_at=row.decided_at, version=row.version,
    )


def enhancements_of(session: Session, application_id: int) -> list[EnhancementPublic]:
    """The application's enhancements, oldest first."""
    rows = session.exec(
        select(CreditEnhancement)
        .where(CreditEnhancement.application_id == application_id)
        .order_by(col(CreditEnhancement.created_at), col(CreditEnhancement.id))
    )
    return [public_enhancement(session, r) for r in rows]


def _attach(session: Session, app: Application, product_id: object, coverage_pct: object) -> CreditEnhancement:
    if ApplicationStatus(app.status) not in OPEN_STATUSES:
        raise ConflictError("review.error.application_closed")
    try:
        product = session.get(Product, int(product_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        product = None
    if (
        product is None
        or ProductStatus(product.status) != ProductStatus.published
        or ProductType(product.product_type) not in ENHANCEMENT_TYPES
    ):
        raise InvalidError("review.error.enhancement_product", field="product_id")
    try:
        coverage = Decimal(str(coverage_pct)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        coverage = Decimal(0)
    if not Decimal(1) <= coverage <= Decimal(100):
        raise InvalidError("review.error.coverage", field="coverage_pct")
    taken = session.exec(
        select(CreditEnhancement.id).where(
            CreditEnhancement.application_id == app.id, CreditEnhancement.product_id == product.id
        )
    ).first()
    if taken is not None:
        raise ConflictError("review.error.enhancement_exists")
    row = CreditEnhancement(
        application_id=int(app.id), product_id=int(product.id), provider_id=product.institution_id,
        coverage_pct=coverage, fee_rate=product.rate_min, created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


@use_case(permission=Permission.applications_own, write=True)
def attach_enhancement(
    uow, *, actor: Actor, application_id: int, product_id: int, coverage_pct: Decimal | str | int
) -> EnhancementPublic:
    """The enterprise attaches a guarantee or insurance product to its own open application.

    Args:
        application_id: the enterprise's open application.
        product_id: a published ``guarantee_service`` or ``insurance`` product.
        coverage_pct: the share of the loan covered, 1–100.

    Raises:
        ForbiddenError: another enterprise's application.
        ConflictError: the application is closed, or this product is already attached.
        InvalidError: not a published guarantee or insurance product; coverage out of range.
    """
    session = uow.session
    app = load_application(session, application_id)
    assert_acts_for_enterprise(actor, app.enterprise_id)
    row = _attach(session, app, product_id, coverage_pct)
    uow.audit("enhancement.attach", entity_type="credit_enhancement", entity_id=row.id,
              after={"application_id": app.id, "product_id": row.product_id})
    return public_enhancement(session, row)


@use_case(permission=Permission.applications_institution, write=True)
def attach_enhancement_for_application(
    uow, *, actor: Actor, application_id: int, product_id: int, coverage_pct: Decimal | str | int
) -> EnhancementPublic:
    """Staff of the lending institution attach a guarantee or insurance product to an open application.

    Args:
        application_id: an open application of the actor's institution family.
        product_id: a published ``guarantee_service`` or ``insurance`` product.
        coverage_pct: the share of the loan covered, 1–100.

    Raises:
        ForbiddenError: not staff of the application's institution.
        ConflictError: the application is closed, or this product is already attached.
        InvalidError: not a published guarantee or insurance product; coverage out of range.
    """
    session = uow.session
    app = load_application(session, application_id)
    assert_acts_for_institution(session, actor, app.institution_id)
    row = _attach(session, app, product_id, coverage_pct)
    uow.audit("enhancement.attach", entity_type="credit_enhancement", entity_id=row.id,
              after={"application_id": app.id, "product_id": row.product_id})
    return public_enhancement(session, row)


@use_case(permission=Permission.applications_institution, write=True)
def decide_enhancement(
    uow, *, actor: Actor, enhancement_id: int, approve: bool, expected_version: int, note: str | None = None
) -> EnhancementPublic:
    """The provider's step: its staff approve or decline the guarantee or insurance of one application.

    Args:
        enhancement_id: a pending enhancement whose provider is the actor's organization family.
        approve: True to approve, False to decline.
        expected_version: the version the actor saw.
        note: the provider's words (required to decline, at most 1,000 characters).

    Raises:
        ForbiddenError: not staff of the provider.
        StaleVersionError: someone else decided since it was shown.
        ConflictError: already decided, or the application is closed.
        InvalidError: declining without words.
    """
    session = uow.session
    try:
        row = session.get(CreditEnhancement, int(enhancement_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFoundError("review.error.enhancement_not_found")
    assert_acts_for_institution(session, actor, row.provider_id)
    expect_version(row, expected_version)
    if row.status != "pending":
        raise ConflictError("review.error.enhancement_decided")
    app = load_application(session, row.application_id)
    if ApplicationStatus(app.status) not in OPEN_STATUSES:
        raise ConflictError("review.error.application_closed")
    text = " ".join(str(note or "").split())[:1000]
    if not approve and len(text) < 2:
        raise InvalidError("review.error.decline_note", field="note")
    row.status = "approved" if approve else "declined"
    row.note = text or None
    row.decided_by_id = actor.user_id
    row.decided_at = utcnow()
    session.add(row)
    session.flush()
    uow.audit(f"enhancement.{row.status}", entity_type="credit_enhancement", entity_id=row.id,
              after={"application_id": row.application_id})
    return public_enhancement(session, row)


@use_case(permission=None)
def enhancement_queue(uow, *, actor: Actor, provider_id: int, status: str | None = "pending") -> pd.DataFrame:
    """A provider's enhancement requests, oldest pending first (its staff; regulators read).

    Args:
        provider_id: the guarantee company or insurer (its branches included).
        status: ``pending``, ``approved``, ``declined`` or None for all.

    Returns:
        DataFrame with ``QUEUE_COLUMNS``; money in float yuan, times UTC.

    Raises:
        ForbiddenError: neither staff of the provider's family nor a regulator.
        NotFoundError: no such institution.
    """
    session = uow.session
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    load_institution(session, provider_id)
    assert_institution_access(session, actor, provider_id)
    lender = Organization.__table__.alias("lender")
    query = (
        select(
            CreditEnhancement, Application.amount_requested, Enterprise.name, lender.c.name, Product.name,
            Product.product_type,
        )
        .join(Application, col(Application.id) == col(CreditEnhancement.application_id))
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .join(lender, lender.c.id == col(Application.institution_id))
        .join(Product, col(Product.id) == col(CreditEnhancement.product_id))
        .where(col(CreditEnhancement.provider_id).in_(institution_descendants(session, provider_id)))
        .order_by(col(CreditEnhancement.created_at), col(CreditEnhancement.id))
        .limit(2000)
    )
    if status:
        query = query.where(CreditEnhancement.status == status)
    records = [
        {
            "id": e.id, "version": e.version, "application_id": e.application_id, "enterprise_name": ent,
            "lender_name": lender_name, "product_name": prod, "product_type": str(ptype),
            "amount_requested": float(amount), "coverage_pct": float(e.coverage_pct),
            "fee_rate": None if e.fee_rate is None else float(e.fee_rate), "status": e.status,
            "created_at": e.created_at, "decided_at": e.decided_at, "note": e.note,
        }
        for e, amount, ent, lender_name, prod, ptype in session.exec(query)
    ]
    frame = pd.DataFrame(records, columns=QUEUE_COLUMNS)
    for name in ("created_at", "decided_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame
