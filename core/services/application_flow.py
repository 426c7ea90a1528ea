"""The application lifecycle's one door: every status change is made and recorded here.

``transition`` asks the pure engine (``core.lending.lifecycle.next_status``) whether the action is
allowed from the current status for this kind of actor, moves the status, writes an
``ApplicationEvent`` (who, when, from, to, note) and, when the application closes, ends the consent it
implied. The use cases in ``core.services.applications`` (enterprise) and ``core.services.review``
(institution) call it inside their unit of work; so will contract signing and disbursement.
Also here: the parsers and range checks those use cases share.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from core.auth import Actor, Permission
from core.auth.rules import is_enterprise_actor, is_institution_staff
from core.errors import ConflictError, ForbiddenError, InvalidError, JinfuError, NotFoundError
from core.i18n import format_number, translate
from core.lending.lifecycle import IllegalTransitionError, next_status
from core.models import Application, ApplicationEvent, Product
from core.models.financing import ApplicationPublic
from core.models.types import ApplicationStatus, utcnow
from core.services.consent import CLOSED_APPLICATION, ensure_application_consent


class ApplicationTransitionError(ConflictError):
    """The action is not possible from the application's current status (the engine's refusal)."""

    key = "error.application.illegal_transition"

    def message(self, locale: str | None = None) -> str:
        params = dict(self.params)
        if "status" in params:
            params["status"] = translate(f"app_status.{params['status']}", locale)
        if "action" in params:
            params["action"] = translate(f"review.action.{params['action']}", locale)
        return translate(self.key, locale, **params)


class ApplicationWrongActorError(ForbiddenError):
    """The action is not for this kind of actor (an officer deciding, an enterprise accepting …)."""

    key = "error.application.wrong_actor"

    def message(self, locale: str | None = None) -> str:
        params = dict(self.params)
        if "action" in params:
            params["action"] = translate(f"review.action.{params['action']}", locale)
        return translate(self.key, locale, **params)


def actor_kind(actor: Actor) -> str:
    """The lifecycle's kind of actor: ``enterprise``, ``officer`` or ``manager`` (holds applications.decide)."""
    if is_enterprise_actor(actor):
        return "enterprise"
    if is_institution_staff(actor):
        return "manager" if actor.can(Permission.applications_decide) else "officer"
    raise ForbiddenError("error.forbidden")


def allowed_target(application: Application, action: str, actor: Actor) -> ApplicationStatus:
    """Where ``action`` by ``actor`` would take the application (the engine's answer, errors localized).

    Raises:
        ApplicationTransitionError: not possible from the current status.
        ApplicationWrongActorError: not for this kind of actor.
    """
    try:
        return next_status(application.status, action, actor_kind(actor))
    except IllegalTransitionError as exc:
        if exc.key == "error.application.wrong_actor":
            raise ApplicationWrongActorError(exc.key, **exc.params) from exc
        raise ApplicationTransitionError(exc.key, **exc.params) from exc


def transition(
    session: Session,
    application: Application,
    *,
    action: str,
    actor: Actor,
    note: str | None = None,
    now: datetime | None = None,
) -> ApplicationEvent:
    """Move ``application`` by ``action`` (or record a proposal) and write its ``ApplicationEvent``.

    The one place a status changes: the engine's ``next_status`` decides; a closing transition ends the
    consent the application implied. The caller owns the transaction and has checked the people.

    Args:
        session: the caller's open session.
        application: the loaded application.
        action: a ``core.lending.lifecycle.TRANSITIONS`` action.
        actor: who acts (its kind is derived from its roles).
        note: stored on the event (at most 1,000 characters).
        now: the transition time (default: now).

    Raises:
        ApplicationTransitionError: not possible from the current status.
        ApplicationWrongActorError: not for this kind of actor.
    """
    now = now or utcnow()
    target = allowed_target(application, action, actor)
    source = ApplicationStatus(application.status)
    application.status = target
    application.updated_at = now
    session.add(application)
    event = ApplicationEvent(
        application_id=int(application.id),
        from_status=source,
        to_status=target,
        actor_user_id=actor.user_id,
        note=(note or None) and note[:1000],
        occurred_at=now,
    )
    session.add(event)
    session.flush()
    if target in CLOSED_APPLICATION:
        ensure_application_consent(session, application, now=now)
    return event


def load_application(session: Session, application_id: object) -> Application:
    """The application, or NotFoundError."""
    try:
        row = session.get(Application, int(application_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFoundError("review.error.application_not_found")
    return row


def public_application(row: Application) -> ApplicationPublic:
    return ApplicationPublic.model_validate(row, from_attributes=True)


def parse_money(value: object, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidError("review.error.amount", field=field) from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidError("review.error.amount", field=field)
    return amount


def parse_whole(value: object, field: str, key: str) -> int:
    if isinstance(value, bool):
        raise InvalidError(key, field=field)
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidError(key, field=field) from None
    if number != value and str(number) != str(value):
        raise InvalidError(key, field=field)
    return number


def check_terms(product: Product, amount: Decimal, term_months: int) -> list[JinfuError]:
    """The errors of an amount and term against the product's ranges (empty: they fit)."""
    errors: list[JinfuError] = []
    if not Decimal(product.amount_min) <= amount <= Decimal(product.amount_max):
        errors.append(
            InvalidError(
                "review.error.amount_range",
                field="amount",
                min=format_number(Decimal(product.amount_min) / 10_000, None, 1),
                max=format_number(Decimal(product.amount_max) / 10_000, None, 1),
            )
        )
    if not product.term_min_months <= term_months <= product.term_max_months:
        errors.append(
            InvalidError(
                "review.error.term_range", field="term_months", min=product.term_min_months,
                max=product.term_max_months,
            )
        )
    return errors



