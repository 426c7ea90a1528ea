"""Applications: the institution's reads, the lifecycle's one transition helper, submit and withdraw.

* **Transitions** — every status change goes through ``transition`` which asks the engine
  (``core.lending.lifecycle.next_status``) and writes an ``ApplicationEvent``; staff transitions and the
  maker-checker decision live in ``core.services.review``.
* **Submit** — enterprise users only; a published loan product; amount and term within its ranges;
  one open application per product; the consent step is part of the submission (a grant of every
  credit-file scope to the product's institution for the days the enterprise chose, ended when the
  application closes); idempotent by key (same key and payload: the first application; different
  payload: refused).
* **Withdraw** — the enterprise, while the application is open, with the version it saw.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_acts_for_enterprise,
    assert_institution_access,
    institution_descendants,
    institution_family,
    is_enterprise_actor,
)
from core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    JinfuError,
    ValidationErrors,
)
from core.lending.lifecycle import OPEN_STATUSES
from core.models import Application, ApplicationEvent, Enterprise, FinancingNeed, Lead, Product
from core.models.financing import ApplicationPublic
from core.models.types import ApplicationStatus, ProductStatus, ProductType, utcnow
from core.services.application_flow import (
    check_terms,
    load_application,
    parse_money,
    parse_whole,
    public_application,
    transition,
)
from core.services.consent import (
    APPLICATION_CONSENT_DAYS,
    MAX_DAYS,
    ensure_application_consent,
)
from core.services.directory import load_institution
from core.usecase import expect_version, use_case

STATUS_ORDER = [s.value for s in ApplicationStatus]  # lifecycle order, for charts and filters

APPLICATION_COLUMNS = [
    "id",
    "enterprise_name",
    "credit_code",
    "product_name",
    "amount_requested",
    "term_months",
    "status",
    "submitted_at",
]


def _check(uow, actor: Actor, institution_id: int) -> set[int]:
    """Refuse the wrong caller; return the institution and its branches (the rows in scope)."""
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    load_institution(uow.session, institution_id)
    assert_institution_access(uow.session, actor, institution_id)
    return institution_descendants(uow.session, institution_id)


@use_case(permission=None)
def applications_by_status(uow, *, actor: Actor, institution_id: int) -> pd.DataFrame:
    """How many applications the institution (with its branches) holds in each status.

    Args:
        institution_id: the institution; staff may ask only about their own family.

    Returns:
        DataFrame ``status`` (lifecycle order, only statuses that occur), ``count``.

    Raises:
        ForbiddenError: the actor is not staff of this institution nor a regulator.
        NotFoundError: no such institution.
    """
    scope = _check(uow, actor, institution_id)
    rows = uow.session.exec(
        select(Application.status, func.count(Application.id))
        .where(col(Application.institution_id).in_(scope))
        .group_by(Application.status)
    ).all()
    counts = {ApplicationStatus(s).value: int(n) for s, n in rows}
    return pd.DataFrame(
        [{"status": s, "count": counts[s]} for s in STATUS_ORDER if s in counts], columns=["status", "count"]
    )


@use_case(permission=None)
def list_applications(
    uow,
    *,
    actor: Actor,
    institution_id: int,
    status: ApplicationStatus | str | list[ApplicationStatus | str] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The institution's (and its branches') applications, newest first.

    Args:
        institution_id: the institution; staff may ask only about their own family.
        status: one status or several (default: all).
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame with ``APPLICATION_COLUMNS``; ``amount_requested`` in float yuan, ``submitted_at`` UTC.

    Raises:
        ForbiddenError: the actor is not staff of this institution nor a regulator.
        NotFoundError: no such institution.
    """
    scope = _check(uow, actor, institution_id)
    limit = max(1, min(int(limit), 5000))
    query = (
        select(
            Application.id,
            Enterprise.name,
            Enterprise.credit_code,
            Product.name,
            Application.amount_requested,
            Application.term_months,
            Application.status,
            Application.submitted_at,
        )
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .join(Product, col(Product.id) == col(Application.product_id))
        .where(col(Application.institution_id).in_(scope))
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
        .limit(limit)
    )
    if status:
        wanted = [status] if isinstance(status, str | ApplicationStatus) else list(status)
        query = query.where(col(Application.status).in_([ApplicationStatus(s) for s in wanted]))
    rows = uow.session.exec(query).all()
    frame = pd.DataFrame(
        [(i, e, c, p, float(a), t, ApplicationStatus(s).value, at) for i, e, c, p, a, t, s, at in rows],
        columns=APPLICATION_COLUMNS,
    )
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    return frame


# ---------------------------------------------------------------------------------------------
# The enterprise's side: submit (with the consent step) and withdraw
# ---------------------------------------------------------------------------------------------

LOAN_PRODUCT_TYPES = frozenset(ProductType) - {ProductType.guarantee_service, ProductType.insurance}


class ApplicationKeyReusedError(ConflictError):
    """An idempotency key already used for a different application."""

    key = "review.error.key_reused"


def _published_loan_product(session: Session, product_id: object) -> Product:
    try:
        product = session.get(Product, int(product_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        product = None
    if product is None or ProductStatus(product.status) != ProductStatus.published:
        raise InvalidError("review.error.product_unavailable", field="product_id")
    if ProductType(product.product_type) not in LOAN_PRODUCT_TYPES:
        raise InvalidError("review.error.not_a_loan", field="product_id")
    return product


def _need_and_lead(
    session: Session, enterprise_id: int, product: Product, need_id: object, lead_id: object
) -> tuple[int | None, Lead | None]:
    """Check the optional need and lead the application answers; return the need id and the lead."""
    lead = None
    if lead_id is not None:
        lead = session.get(Lead, parse_whole(lead_id, "lead_id", "review.error.lead"))
        family = institution_family(session, product.institution_id)
        if lead is None or lead.institution_id not in family:
            raise InvalidError("review.error.lead", field="lead_id")
        if need_id is None:
            need_id = lead.need_id
        elif lead.need_id != need_id:
            raise InvalidError("review.error.lead", field="lead_id")
    if need_id is not None:
        need = session.get(FinancingNeed, parse_whole(need_id, "need_id", "review.error.need"))
        if need is None or need.enterprise_id != enterprise_id:
            raise InvalidError("review.error.need", field="need_id")
        need_id = int(need.id)
    return need_id, lead


@use_case(permission=Permission.applications_own, write=True)
def submit_application(
    uow,
    *,
    actor: Actor,
    product_id: int,
    amount: Decimal | str | int,
    term_months: int,
    idempotency_key: str,
    consent_days: int = APPLICATION_CONSENT_DAYS,
    need_id: int | None = None,
    lead_id: int | None = None,
) -> ApplicationPublic:
    """Apply for a published loan product; the consent step is part of the submission.

    The application implies a grant of every credit-file scope to the product's institution (and its
    branches) for ``consent_days`` days; it ends when the application closes. Idempotent by key.

    Args:
        product_id: a published loan product (not a guarantee or insurance product).
        amount: yuan, within the product's range, in whole cents.
        term_months: within the product's range.
        idempotency_key: generated once by the form (8–80 characters); a retry returns the first application.
        consent_days: how long the institution may read the credit file (1–365).
        need_id: the enterprise's own financing need this answers (optional).
        lead_id: the dispatched lead this answers (optional; it is marked ``applied``).

    Raises:
        ForbiddenError: the actor acts for no enterprise.
        ValidationErrors: a withdrawn/unknown product, an amount or term out of range, a bad need or lead.
        ApplicationKeyReusedError: the key was used for a different application.
        ConflictError: an open application for this product already exists.
    """
    session = uow.session
    if not is_enterprise_actor(actor):
        raise ForbiddenError("error.forbidden")
    enterprise_id = int(actor.enterprise_id)
    key = str(idempotency_key or "").strip()
    if not 8 <= len(key) <= 80:
        raise InvalidError("error.invalid", field="idempotency_key")
    errors: list[JinfuError] = []

    def attempt(check, *args):
        try:
            return check(*args)
        except InvalidError as exc:
            errors.append(exc)
            return None

    product = attempt(_published_loan_product, session, product_id)
    amount_value = attempt(parse_money, amount, "amount")
    term = attempt(parse_whole, term_months, "term_months", "review.error.term")
    days = attempt(parse_whole, consent_days, "consent_days", "review.error.consent_days")
    if days is not None and not 1 <= days <= MAX_DAYS:
        errors.append(InvalidError("review.error.consent_days", field="consent_days"))
    if product is not None and amount_value is not None and term is not None:
        errors.extend(check_terms(product, amount_value, term))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)

    existing = session.exec(select(Application).where(Application.idempotency_key == key)).first()
    if existing is not None:
        same = (
            existing.enterprise_id == enterprise_id
            and existing.product_id == product.id
            and Decimal(existing.amount_requested) == amount_value
            and existing.term_months == term
        )
        if not same:
            raise ApplicationKeyReusedError()
        uow.audit("application.submit.replayed", entity_type="application", entity_id=existing.id)
        return public_application(existing)
    open_one = session.exec(
        select(Application.id).where(
            Application.enterprise_id == enterprise_id,
            Application.product_id == product.id,
            col(Application.status).in_(list(OPEN_STATUSES)),
        )
    ).first()
    if open_one is not None:
        raise ConflictError("review.error.already_open", id=open_one)
    need, lead = _need_and_lead(session, enterprise_id, product, need_id, lead_id)

    now = utcnow()
    row = Application(
        enterprise_id=enterprise_id,
        product_id=int(product.id),
        institution_id=product.institution_id,
        need_id=need,
        lead_id=lead.id if lead else None,
        amount_requested=amount_value,
        term_months=term,
        status=ApplicationStatus.submitted,
        idempotency_key=key,
        submitted_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    session.add(
        ApplicationEvent(
            application_id=int(row.id), from_status=None, to_status=ApplicationStatus.submitted,
            actor_user_id=actor.user_id, occurred_at=now,
        )
    )
    grant = ensure_application_consent(session, row, now=now, granted_by_id=actor.user_id)
    if grant is not None and grant.application_id == row.id:
        grant.expires_at = now + timedelta(days=days)
    if lead is not None and lead.status in ("pending", "responded"):
        lead.status = "applied"
        lead.closed_at = now
    session.flush()
    uow.audit(
        "application.submit",
        entity_type="application",
        entity_id=row.id,
        after={"product_id": row.product_id, "amount": str(amount_value), "term_months": term,
               "consent_days": days},
    )
    return public_application(row)


@use_case(permission=Permission.applications_own, write=True)
def withdraw_application(
    uow, *, actor: Actor, application_id: int, expected_version: int, reason: str | None = None
) -> ApplicationPublic:
    """The enterprise withdraws its own open application (submitted, accepted or in due diligence).

    Args:
        application_id: the application.
        expected_version: the version the enterprise saw; a changed application is refused.
        reason: optional words, kept on the event.

    Raises:
        ForbiddenError: another enterprise's application.
        StaleVersionError: the application changed since it was shown.
        ApplicationTransitionError: it is no longer open.
    """
    session = uow.session
    row = load_application(session, application_id)
    assert_acts_for_enterprise(actor, row.enterprise_id)
    expect_version(row, expected_version)
    before = ApplicationStatus(row.status).value
    transition(session, row, action="withdraw", actor=actor, note=" ".join(str(reason or "").split())[:500])
    uow.audit("application.withdraw", entity_type="application", entity_id=row.id, before={"status": before},
              after={"status": "withdrawn"})
    return public_application(row)
