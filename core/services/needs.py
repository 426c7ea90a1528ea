"""Financing needs: validate and publish a need (then dispatch it), and an enterprise's own needs.

The need's journey, across modules: publishing dispatches it (派单) to at most K institution families
(:mod:`core.services.need_dispatch`: ranking, routing, the SLA clocks of
:func:`~core.services.need_dispatch.first_response_days` and
:func:`~core.services.need_dispatch.decision_days` working days); institutions may also claim (抢单)
an open need that was not pushed to them (:mod:`core.services.need_claims`); the periodic
:func:`~core.services.lead_sweep.sweep_leads` expires leads past their first-response deadline,
escalates them to the institution's managers and re-dispatches the need to the next eligible family
(channel ``redispatch``); a responded lead past its decision deadline is escalated once.

Every step is recorded and the regulator's ledger is a query over it (never a form):

* ``lead`` — ``need_id``, ``institution_id`` (the routed branch or head office), ``product_id``,
  ``channel`` (dispatch / claim / redispatch), ``rank``, ``fit_score``, ``status`` (pending,
  responded, applied, declined, expired), ``officer_id``, ``dispatched_at``, ``first_response_due``,
  ``decision_due``, ``responded_at``, ``response_note`` (the decline reason), ``escalated_at``,
  ``closed_at``. First-response SLA met ⇔ ``responded_at <= first_response_due``.
* ``application.lead_id`` → ``application_event`` (from_status, to_status, actor_user_id, occurred_at).
* ``audit_event.action`` in ``need.publish``, ``lead.dispatch``, ``lead.claim``, ``lead.respond``,
  ``lead.expire``, ``lead.escalate``, ``lead.redispatch`` with ``entity_type`` ``financing_need`` /
  ``lead`` and ``entity_id``; ``after`` holds the lead's need, institution and channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_enterprise, assert_enterprise_access
from core.config import get_settings
from core.errors import ConflictError, ForbiddenError, InvalidError, JinfuError, ValidationErrors
from core.lending.workdays import working_days_left
from core.models import FinancingNeed, FinancingNeedCreate, FinancingNeedPublic, Lead, Organization, Product
from core.models.types import NeedStatus, utcnow
from core.services.need_dispatch import dispatch_need
from core.usecase import use_case

# Default; a Settings field of the same name (lower case) overrides it when the platform adds one.
NEED_AMOUNT_CEILING_YUAN = Decimal("100000000")  # 1 亿元: above this a need goes to a syndicate desk, not here
# Annual percent a need may name as its acceptable maximum: above 0 and at most 24 (the historical
# ceiling of judicial protection for private lending; the 2020 rule of 4 × LPR lies below it).
NEED_RATE_MAX_PCT = Decimal("24")
ACTIVE_LEAD_STATUSES = ("pending", "responded")
OPEN_NEED_STATUSES = (NeedStatus.published,)


def _setting(name: str, default: Any) -> Any:
    return getattr(get_settings(), name, default)


def amount_ceiling() -> Decimal:
    """The largest amount (yuan) one need may ask for."""
    return Decimal(str(_setting("need_amount_ceiling_yuan", NEED_AMOUNT_CEILING_YUAN)))


class NeedKeyReusedError(ConflictError):
    key = "matching.error.key_reused"


@dataclass(frozen=True)
class PublishedNeed:
    """A published need and where it went: ``leads`` has :data:`NEED_LEAD_COLUMNS`."""

    need: FinancingNeedPublic
    leads: pd.DataFrame
    replayed: bool = False  # the idempotency key had been used: nothing new was stored


@dataclass(frozen=True)
class MyNeeds:
    """An enterprise's needs (``needs``: :data:`NEED_COLUMNS`) and their leads (:data:`NEED_LEAD_COLUMNS`)."""

    needs: pd.DataFrame
    leads: pd.DataFrame


NEED_COLUMNS = ["need_id", "amount", "term_months", "purpose", "max_rate", "accepts_collateral", "dispatch_limit",
                "status", "published_at", "n_leads", "version"]
NEED_LEAD_COLUMNS = ["lead_id", "need_id", "institution_id", "institution_name", "institution_name_en", "product_id",
                     "product_name", "channel", "rank", "status", "dispatched_at", "first_response_due",
                     "decision_due", "responded_at", "response_note", "escalated_at", "days_left", "overdue"]


# ------------------------------------------------------------------------------------ validation


def clean_need(raw: FinancingNeedCreate | dict[str, Any]) -> dict[str, Any]:
    """Check a need's fields; return clean values or raise every field error at once.

    Args:
        raw: a ``FinancingNeedCreate`` or a dict of its fields as a form produced them.

    Raises:
        ValidationErrors (or one InvalidError): each naming its field with a ``matching.error.*`` key.
    """
    data = raw.model_dump() if isinstance(raw, FinancingNeedCreate) else dict(raw or {})
    errors: list[JinfuError] = []
    out: dict[str, Any] = {}
    ceiling = amount_ceiling()
    try:
        amount = Decimal(str(data.get("amount"))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if not amount.is_finite() or amount <= 0 or amount > ceiling:
            raise ValueError
        out["amount"] = amount
    except (InvalidOperation, ValueError, TypeError):
        errors.append(InvalidError("matching.error.amount", field="amount", max=f"{ceiling / 10_000:,.0f}"))
    term = data.get("term_months")
    if isinstance(term, bool) or not isinstance(term, int | float) or int(term) != term or not 1 <= term <= 360:
        errors.append(InvalidError("matching.error.term", field="term_months"))
    else:
        out["term_months"] = int(term)
    purpose = str(data.get("purpose") or "").strip()
    if not 2 <= len(purpose) <= 200:
        errors.append(InvalidError("matching.error.purpose", field="purpose"))
    else:
        out["purpose"] = purpose
    max_rate = data.get("max_rate")
    if max_rate in (None, ""):
        out["max_rate"] = None
    else:
        try:
            rate = Decimal(str(max_rate)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            if not rate.is_finite() or rate <= 0 or rate > NEED_RATE_MAX_PCT:
                raise ValueError
            out["max_rate"] = rate
        except (InvalidOperation, ValueError, TypeError):
            errors.append(InvalidError("matching.error.max_rate", field="max_rate", max=str(NEED_RATE_MAX_PCT)))
    limit = data.get("dispatch_limit", 3)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10:
        errors.append(InvalidError("matching.error.dispatch_limit", field="dispatch_limit"))
    else:
        out["dispatch_limit"] = limit
    out["accepts_collateral"] = bool(data.get("accepts_collateral", False))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)
    return out


# ------------------------------------------------------------------------------------------ reads


def leads_frame(session: Session, leads: list[Lead], now: datetime) -> pd.DataFrame:
    """Leads as a frame with :data:`NEED_LEAD_COLUMNS`, their SLA clocks read at ``now``."""
    orgs = {o.id: o for o in session.exec(
        select(Organization).where(col(Organization.id).in_({lead.institution_id for lead in leads})))}
    products = {p.id: p for p in session.exec(
        select(Product).where(col(Product.id).in_({lead.product_id for lead in leads if lead.product_id})))}
    rows = []
    for lead in leads:
        org, product = orgs.get(lead.institution_id), products.get(lead.product_id)
        clock = lead.first_response_due if lead.status == "pending" else lead.decision_due
        active = lead.status in ACTIVE_LEAD_STATUSES
        rows.append({
            "lead_id": lead.id, "need_id": lead.need_id, "institution_id": lead.institution_id,
            "institution_name": org.name if org else "", "institution_name_en": org.name_en if org else None,
            "product_id": lead.product_id, "product_name": product.name if product else None,
            "channel": lead.channel, "rank": lead.rank, "status": lead.status, "dispatched_at": lead.dispatched_at,
            "first_response_due": lead.first_response_due, "decision_due": lead.decision_due,
            "responded_at": lead.responded_at, "response_note": lead.response_note,
            "escalated_at": lead.escalated_at,
            "days_left": working_days_left(clock, now) if active else None,
            "overdue": bool(active and now > clock),
        })
    frame = pd.DataFrame(rows, columns=NEED_LEAD_COLUMNS)
    for name in ("dispatched_at", "first_response_due", "decision_due", "responded_at", "escalated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["days_left"] = frame["days_left"].astype("Int64")
    return frame


def _public(need: FinancingNeed) -> FinancingNeedPublic:
    return FinancingNeedPublic.model_validate(need, from_attributes=True)


# -------------------------------------------------------------------------------------- services


@use_case(permission=Permission.applications_own, write=True)
def publish_need(
    uow,
    *,
    actor: Actor,
    need: FinancingNeedCreate | dict[str, Any],
    idempotency_key: str,
    enterprise_id: int | None = None,
    now: datetime | None = None,
) -> PublishedNeed:
    """Publish the actor's enterprise's financing need and dispatch it to at most K institutions.

    Args:
        need: amount (yuan, > 0 and ≤ the ceiling), term_months (1–360), purpose (2–200 characters),
            max_rate (optional annual percent, > 0 and ≤ 24), accepts_collateral, dispatch_limit K (1–10).
        idempotency_key: generated once by the form; a retry with it returns the first need unchanged.
        enterprise_id: optional; if given it must be the actor's own enterprise.
        now: the publication time (default: now; tests pass a fixed time).

    Raises:
        ForbiddenError: the actor does not act for this enterprise.
        ValidationErrors / InvalidError: bad fields, each naming its field; nothing is written.
        NeedKeyReusedError: the key was used for a different need.
    """
    own = actor.enterprise_id if enterprise_id is None else enterprise_id
    if own is None:
        raise ForbiddenError("error.forbidden")
    assert_acts_for_enterprise(actor, int(own))
    values = clean_need(need)
    key = str(idempotency_key or "").strip()
    if not 8 <= len(key) <= 80:
        raise InvalidError("error.invalid", field="idempotency_key")
    session = uow.session
    now = now or utcnow()
    existing = session.exec(select(FinancingNeed).where(FinancingNeed.idempotency_key == key)).first()
    if existing is not None:
        same = existing.enterprise_id == own and all(getattr(existing, k) == v for k, v in values.items())
        if not same:
            raise NeedKeyReusedError()
        uow.audit("need.publish.replayed", entity_type="financing_need", entity_id=existing.id)
        leads = list(session.exec(select(Lead).where(Lead.need_id == existing.id).order_by(col(Lead.rank))))
        return PublishedNeed(_public(existing), leads_frame(session, leads, now), replayed=True)
    row = FinancingNeed(enterprise_id=int(own), status=NeedStatus.published, published_at=now,
                        idempotency_key=key, created_at=now, **values)
    session.add(row)
    session.flush()
    uow.audit("need.publish", entity_type="financing_need", entity_id=row.id,
              after={k: str(v) for k, v in values.items()})
    leads = dispatch_need(uow, row, now=now)
    return PublishedNeed(_public(row), leads_frame(session, leads, now))


@use_case(permission=None)
def list_my_needs(uow, *, actor: Actor, enterprise_id: int, now: datetime | None = None) -> MyNeeds:
    """An enterprise's needs, newest first, with every institution each reached and its SLA clock.

    Args:
        enterprise_id: the enterprise (its own users; oversight reads any).
        now: the time clocks are read at (default: now).

    Raises:
        ForbiddenError: the actor may not read this enterprise.
    """
    assert_enterprise_access(actor, enterprise_id)
    session = uow.session
    now = now or utcnow()
    needs = list(session.exec(select(FinancingNeed).where(FinancingNeed.enterprise_id == enterprise_id)
                              .order_by(col(FinancingNeed.created_at).desc(), col(FinancingNeed.id).desc())))
    leads = list(session.exec(select(Lead).where(col(Lead.need_id).in_([n.id for n in needs]))
                              .order_by(col(Lead.need_id), col(Lead.rank)))) if needs else []
    lead_frame = leads_frame(session, leads, now)
    counts = lead_frame.groupby("need_id").size().to_dict() if not lead_frame.empty else {}
    frame = pd.DataFrame([{
        "need_id": n.id, "amount": float(n.amount), "term_months": n.term_months, "purpose": n.purpose,
        "max_rate": None if n.max_rate is None else float(n.max_rate), "accepts_collateral": n.accepts_collateral,
        "dispatch_limit": n.dispatch_limit, "status": NeedStatus(n.status).value, "published_at": n.published_at,
        "n_leads": int(counts.get(n.id, 0)), "version": n.version,
    } for n in needs], columns=NEED_COLUMNS)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return MyNeeds(frame, lead_frame)
