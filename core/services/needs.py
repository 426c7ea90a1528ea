"""Financing needs and their dispatch (派单): publish, push to at most K institutions, claim (抢单), sweep.

A published need is matched against every lending product (:mod:`core.services.matching`); the
best-fitting product of each institution family ranks that family, and the top ``dispatch_limit``
families each receive one ``Lead`` — routed to the family's branch in the enterprise's district,
else to its head office. Each lead runs an SLA clock in China's working days
(:func:`core.lending.workdays.sla_deadline`): a first response within :func:`first_response_days`
and a decision within :func:`decision_days`. The periodic :func:`sweep_leads` expires leads past
their first-response deadline, escalates them to the institution's managers and re-dispatches the
need to the next eligible family (channel ``redispatch``); a responded lead past its decision
deadline is escalated once. Institutions may also claim an open need that was not pushed to them.

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

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_acts_for_enterprise,
    assert_acts_for_institution,
    assert_enterprise_access,
    assert_institution_access,
    institution_family,
)
from core.config import get_settings
from core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    JinfuError,
    NotFoundError,
    ValidationErrors,
)
from core.i18n import translate
from core.lending.workdays import SHANGHAI, sla_deadline, working_days_left
from core.matching.engine import match_chunk
from core.models import (
    Enterprise,
    FinancingNeed,
    FinancingNeedCreate,
    FinancingNeedPublic,
    Lead,
    Notification,
    Organization,
    Product,
    User,
)
from core.models.types import NeedStatus, utcnow
from core.services import matching
from core.services.directory import INSTITUTION_KINDS
from core.usecase import use_case

# Defaults; a Settings field of the same name (lower case) overrides each when the platform adds one.
LEAD_FIRST_RESPONSE_DAYS = 2  # working days to a first response
LEAD_DECISION_DAYS = 5  # working days to a decision
NEED_AMOUNT_CEILING_YUAN = Decimal("100000000")  # 1 亿元: above this a need goes to a syndicate desk, not here
# Annual percent a need may name as its acceptable maximum: above 0 and at most 24 (the historical
# ceiling of judicial protection for private lending; the 2020 rule of 4 × LPR lies below it).
NEED_RATE_MAX_PCT = Decimal("24")
ACTIVE_LEAD_STATUSES = ("pending", "responded")
OPEN_NEED_STATUSES = (NeedStatus.published,)


def _setting(name: str, default: Any) -> Any:
    return getattr(get_settings(), name, default)


def first_response_days() -> int:
    """Working days an institution has for its first response to a lead."""
    return int(_setting("lead_first_response_days", LEAD_FIRST_RESPONSE_DAYS))


def decision_days() -> int:
    """Working days an institution has to decide on a lead."""
    return int(_setting("lead_decision_days", LEAD_DECISION_DAYS))


def amount_ceiling() -> Decimal:
    """The largest amount (yuan) one need may ask for."""
    return Decimal(str(_setting("need_amount_ceiling_yuan", NEED_AMOUNT_CEILING_YUAN)))


class NeedKeyReusedError(ConflictError):
    key = "matching.error.key_reused"


class NeedNotOpenError(ConflictError):
    key = "matching.error.need_not_open"


class NeedAlreadyLeadError(ConflictError):
    key = "matching.error.already_lead"


class NeedFullError(ConflictError):
    key = "matching.error.need_full"


class NeedNotEligibleError(InvalidError):
    key = "matching.error.not_eligible"


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
CLAIMABLE_COLUMNS = ["need_id", "enterprise_id", "enterprise_name", "district_code", "grade", "amount",
                     "term_months", "purpose", "max_rate", "active_leads", "dispatch_limit", "product_id",
                     "product_name", "fit_score", "published_at"]


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


# -------------------------------------------------------------------------------------- dispatch


def _organizations(session: Session) -> pd.DataFrame:
    o = Organization.__table__
    frame = pd.read_sql(
        select(o.c.id, o.c.parent_id, o.c.district_code, o.c.is_active).where(
            o.c.kind.in_([k.value for k in INSTITUTION_KINDS])
        ),
        session.connection(),
    )
    return frame.set_index("id")


def _roots(orgs: pd.DataFrame) -> dict[int, int]:
    parent = {int(i): (None if pd.isna(p) else int(p)) for i, p in orgs["parent_id"].items()}
    roots: dict[int, int] = {}
    for start in parent:
        node, seen = start, set()
        while parent.get(node) is not None and node not in seen:
            seen.add(node)
            node = parent[node]
        roots[start] = node
    return roots


def route(orgs: pd.DataFrame, roots: dict[int, int], family_root: int, district_code: str) -> int:
    """The family's active branch in ``district_code`` (lowest id), else its head office.

    Args:
        orgs: institutions (index id; parent_id, district_code, is_active).
        roots: organization id → its family's head office.
        family_root: the family's head office.
        district_code: the enterprise's district.
    """
    members = [i for i, r in roots.items() if r == family_root and i != family_root]
    local = sorted(i for i in members if orgs.at[i, "district_code"] == district_code and bool(orgs.at[i, "is_active"]))
    return local[0] if local else family_root


def _ranked_families(session: Session, need: FinancingNeed, enterprise: Enterprise, *, as_of,
                     only_root: int | None = None) -> tuple[list[tuple[int, int, float]], pd.DataFrame, dict]:
    """[(family root, product id, fit)] best first: the best eligible lending product of each family."""
    side = matching.product_side(session, as_of=as_of)
    prep = side.prep
    orgs = _organizations(session)
    roots = _roots(orgs)
    if prep.products.empty:
        return [], orgs, roots
    facts = matching.need_frame(matching.one_enterprise_facts(session, enterprise.id), need)
    res = match_chunk(facts, prep, as_of=as_of, model=side.model)
    fit = res.fit[0].copy()
    fit[matching.rate_mask(prep, facts["max_rate"].iloc[0])] = np.nan
    fit[prep.products["product_type"].isin(matching.NON_LENDING_TYPES).to_numpy()] = np.nan
    product_roots = np.array([roots.get(int(i), int(i)) for i in prep.products["institution_id"]])
    if only_root is not None:
        fit[product_roots != only_root] = np.nan
    best: dict[int, tuple[int, float]] = {}
    for pos in np.argsort(-np.nan_to_num(fit, nan=-1.0), kind="stable"):
        if np.isnan(fit[pos]):
            break
        root = int(product_roots[pos])
        if root not in best:
            best[root] = (int(prep.products.index[pos]), float(fit[pos]))
    ranked = [(root, pid, score) for root, (pid, score) in best.items()]
    return ranked, orgs, roots


def _families_with_leads(session: Session, need_id: int, roots: dict[int, int]) -> set[int]:
    ids = session.exec(select(Lead.institution_id).where(Lead.need_id == need_id)).all()
    return {roots.get(int(i), int(i)) for i in ids}


def _new_lead(uow, *, need: FinancingNeed, institution_id: int, product_id: int | None, fit: float | None,
              channel: str, rank: int, now: datetime, status: str = "pending", officer_id: int | None = None) -> Lead:
    session = uow.session
    lead = Lead(
        need_id=need.id, institution_id=institution_id, product_id=product_id, channel=channel, rank=rank,
        fit_score=fit, status=status, officer_id=officer_id, dispatched_at=now,
        first_response_due=sla_deadline(now, first_response_days()), decision_due=sla_deadline(now, decision_days()),
        responded_at=now if status == "responded" else None,
    )
    session.add(lead)
    session.flush()
    locale = get_settings().default_locale
    session.add(Notification(
        organization_id=institution_id,
        kind=f"lead.{channel}",
        title=translate(f"matching.notify.{channel}.title", locale, need=need.id),
        body=translate("matching.notify.lead.body", locale, amount=f"{need.amount / 10_000:,.0f}",
                       term=need.term_months, due=lead.first_response_due.strftime("%Y-%m-%d")),
        payload={"need_id": need.id, "lead_id": lead.id, "channel": channel},
        dedupe_key=f"lead:{lead.id}:{channel}",
    ))
    uow.audit(f"lead.{channel}", entity_type="lead", entity_id=lead.id,
              after={"need_id": need.id, "institution_id": institution_id, "product_id": product_id,
                     "channel": channel, "rank": rank, "first_response_due": lead.first_response_due.isoformat()})
    return lead


def dispatch_need(uow, need: FinancingNeed, *, now: datetime, channel: str = "dispatch", limit: int | None = None
                  ) -> list[Lead]:
    """Push ``need`` to the next best families that hold no lead for it yet (helper; the caller commits).

    Args:
        uow: the caller's unit of work.
        need: the need (published).
        now: the dispatch time (starts the SLA clocks).
        channel: ``dispatch`` (on publish) or ``redispatch`` (after an expiry).
        limit: at most this many leads (default: the need's ``dispatch_limit``).
    """
    session = uow.session
    enterprise = session.get(Enterprise, need.enterprise_id)
    ranked, orgs, roots = _ranked_families(session, need, enterprise, as_of=now.astimezone(SHANGHAI).date())
    taken = _families_with_leads(session, need.id, roots)
    start = int(session.exec(select(func.count(Lead.id)).where(Lead.need_id == need.id)).one())
    leads = []
    for root, product_id, fit in ranked:
        if len(leads) >= (limit if limit is not None else need.dispatch_limit):
            break
        if root in taken:
            continue
        target = route(orgs, roots, root, enterprise.district_code)
        leads.append(_new_lead(uow, need=need, institution_id=target, product_id=product_id, fit=fit,
                               channel=channel, rank=start + len(leads) + 1, now=now))
        taken.add(root)
    return leads


# ------------------------------------------------------------------------------------------ reads


def _leads_frame(session: Session, leads: list[Lead], now: datetime) -> pd.DataFrame:
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
        return PublishedNeed(_public(existing), _leads_frame(session, leads, now), replayed=True)
    row = FinancingNeed(enterprise_id=int(own), status=NeedStatus.published, published_at=now,
                        idempotency_key=key, created_at=now, **values)
    session.add(row)
    session.flush()
    uow.audit("need.publish", entity_type="financing_need", entity_id=row.id,
              after={k: str(v) for k, v in values.items()})
    leads = dispatch_need(uow, row, now=now)
    return PublishedNeed(_public(row), _leads_frame(session, leads, now))


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
    lead_frame = _leads_frame(session, leads, now)
    counts = lead_frame.groupby("need_id").size().to_dict() if not lead_frame.empty else {}
    frame = pd.DataFrame([{
        "need_id": n.id, "amount": float(n.amount), "term_months": n.term_months, "purpose": n.purpose,
        "max_rate": None if n.max_rate is None else float(n.max_rate), "accepts_collateral": n.accepts_collateral,
        "dispatch_limit": n.dispatch_limit, "status": NeedStatus(n.status).value, "published_at": n.published_at,
        "n_leads": int(counts.get(n.id, 0)), "version": n.version,
    } for n in needs], columns=NEED_COLUMNS)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return MyNeeds(frame, lead_frame)


def _family_scope(session: Session, actor: Actor, institution_id: int) -> None:
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    org = session.get(Organization, institution_id)
    if org is None or org.kind not in INSTITUTION_KINDS:
        raise NotFoundError("error.not_found")
    assert_institution_access(session, actor, institution_id)


@use_case(permission=Permission.applications_institution, write=True)
def claim_need(uow, *, actor: Actor, need_id: int, institution_id: int | None = None,
               now: datetime | None = None) -> pd.DataFrame:
    """Claim (抢单) an open need that was not pushed to the actor's institution family.

    The lead is the institution's first response (status ``responded``; the decision clock runs).

    Args:
        need_id: the need.
        institution_id: the claiming branch or head office (default: the actor's own organization).
        now: the claim time (default: now).

    Returns:
        The new lead as a one-row frame with :data:`NEED_LEAD_COLUMNS`.

    Raises:
        ForbiddenError: the actor is not staff of that institution's family.
        NotFoundError: no such need.
        NeedNotOpenError: the need is not open; NeedAlreadyLeadError: the family already holds a lead
        for it; NeedFullError: it already has K active leads; NeedNotEligibleError: no product of the
        family fits it.
    """
    session = uow.session
    claimer = int(institution_id if institution_id is not None else (actor.organization_id or 0))
    assert_acts_for_institution(session, actor, claimer)
    need = session.get(FinancingNeed, need_id)
    if need is None:
        raise NotFoundError("matching.error.need_not_found")
    if NeedStatus(need.status) not in OPEN_NEED_STATUSES:
        raise NeedNotOpenError()
    now = now or utcnow()
    orgs = _organizations(session)
    roots = _roots(orgs)
    root = roots.get(claimer, claimer)
    if root in _families_with_leads(session, need.id, roots):
        raise NeedAlreadyLeadError()
    active = session.exec(select(func.count(Lead.id)).where(
        Lead.need_id == need.id, col(Lead.status).in_(ACTIVE_LEAD_STATUSES))).one()
    if int(active) >= need.dispatch_limit:
        raise NeedFullError(limit=need.dispatch_limit)
    enterprise = session.get(Enterprise, need.enterprise_id)
    ranked, _, _ = _ranked_families(session, need, enterprise, as_of=now.astimezone(SHANGHAI).date(), only_root=root)
    if not ranked:
        raise NeedNotEligibleError()
    _, product_id, fit = ranked[0]
    rank = int(session.exec(select(func.count(Lead.id)).where(Lead.need_id == need.id)).one()) + 1
    lead = _new_lead(uow, need=need, institution_id=claimer, product_id=product_id, fit=fit, channel="claim",
                     rank=rank, now=now, status="responded", officer_id=actor.user_id)
    session.add(Notification(
        enterprise_id=need.enterprise_id, kind="need.claimed",
        title=translate("matching.notify.claimed.title", get_settings().default_locale, need=need.id),
        payload={"need_id": need.id, "lead_id": lead.id}, dedupe_key=f"lead:{lead.id}:claimed",
    ))
    return _leads_frame(session, [lead], now)


@use_case(permission=None)
def claimable_needs(uow, *, actor: Actor, institution_id: int, now: datetime | None = None,
                    limit: int = 200) -> pd.DataFrame:
    """Open needs the institution's family may claim: not pushed to it, fewer than K active leads, and
    fitting at least one of its lending products — best fit first.

    Args:
        institution_id: the institution (staff of its family; oversight reads any).
        now: the time (default: now).
        limit: at most this many rows (1–1000).

    Returns:
        DataFrame with :data:`CLAIMABLE_COLUMNS` (amount in float yuan).

    Raises:
        ForbiddenError: the actor is neither staff of this family nor a regulator.
        NotFoundError: no such institution.
    """
    session = uow.session
    _family_scope(session, actor, institution_id)
    now = now or utcnow()
    limit = max(1, min(int(limit), 1000))
    needs = matching.open_needs(session)
    empty = pd.DataFrame(columns=CLAIMABLE_COLUMNS)
    if needs.empty:
        return empty
    orgs = _organizations(session)
    roots = _roots(orgs)
    root = roots.get(int(institution_id), int(institution_id))
    lead_rows = pd.read_sql(select(Lead.__table__.c.need_id, Lead.__table__.c.institution_id,
                                   Lead.__table__.c.status), session.connection())
    if not lead_rows.empty:
        lead_rows["root"] = lead_rows["institution_id"].map(lambda i: roots.get(int(i), int(i)))
        mine = set(lead_rows.loc[lead_rows["root"] == root, "need_id"].astype(int))
        active = lead_rows[lead_rows["status"].isin(ACTIVE_LEAD_STATUSES)].groupby("need_id").size()
    else:
        mine, active = set(), pd.Series(dtype=int)
    needs["active_leads"] = needs.index.map(lambda i: int(active.get(i, 0))).astype(int)
    needs = needs[~needs.index.isin(mine) & (needs["active_leads"] < needs["dispatch_limit"])]
    side = matching.product_side(session, as_of=now.astimezone(SHANGHAI).date())
    prep = side.prep
    family = np.array([roots.get(int(i), int(i)) == root for i in prep.products["institution_id"]], dtype=bool)
    family &= ~prep.products["product_type"].isin(matching.NON_LENDING_TYPES).to_numpy()
    if needs.empty or not family.any():
        return empty
    res = match_chunk(needs, prep, as_of=now.astimezone(SHANGHAI).date(), model=side.model)
    fit = np.where(family[None, :], res.fit, np.nan)
    cap = needs["max_rate"].to_numpy(float)
    fit = np.where(prep.products["rate_min"].to_numpy(float)[None, :] > np.nan_to_num(cap, nan=np.inf)[:, None],
                   np.nan, fit)
    has = ~np.all(np.isnan(fit), axis=1)
    if not has.any():
        return empty
    best = np.nanargmax(np.where(np.isnan(fit[has]), -1.0, fit[has]), axis=1)
    part = needs[has]
    products = prep.products.iloc[best]
    out = pd.DataFrame({
        "need_id": part.index.astype(int), "enterprise_id": part["enterprise_id"].astype(int).to_numpy(),
        "enterprise_name": part["name"].to_numpy(), "district_code": part["district_code"].to_numpy(),
        "grade": part["grade"].to_numpy(), "amount": part["amount"].to_numpy(float),
        "term_months": part["term_months"].astype(int).to_numpy(), "purpose": part["purpose"].to_numpy(),
        "max_rate": part["max_rate"].to_numpy(float), "active_leads": part["active_leads"].to_numpy(),
        "dispatch_limit": part["dispatch_limit"].astype(int).to_numpy(),
        "product_id": products.index.astype(int), "product_name": products["name"].to_numpy(),
        "fit_score": fit[has][np.arange(len(best)), best],
        "published_at": pd.to_datetime(part["published_at"], utc=True).to_numpy(),
    }, columns=CLAIMABLE_COLUMNS)
    out["published_at"] = pd.to_datetime(out["published_at"], utc=True)
    return out.sort_values(["fit_score", "need_id"], ascending=[False, True]).head(limit).reset_index(drop=True)


# ----------------------------------------------------------------------------------------- sweep


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (all lists of lead ids)."""

    expired: list[int]
    escalated: list[int]
    redispatched: list[int]
    decision_escalated: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"expired": len(self.expired), "escalated": len(self.escalated),
                "redispatched": len(self.redispatched), "decision_escalated": len(self.decision_escalated),
                "lead_ids": {"expired": self.expired, "redispatched": self.redispatched}}


def _managers(session: Session, institution_id: int) -> list[int]:
    family = institution_family(session, institution_id)
    users = session.exec(select(User).where(col(User.organization_id).in_(family), col(User.is_active).is_(True)))
    return [u.id for u in users if {"bank_manager", "bank_admin"} & set(u.roles or [])]


def _escalate(uow, lead: Lead, *, now: datetime, kind: str) -> None:
    session = uow.session
    lead.escalated_at = now
    locale = get_settings().default_locale
    recipients = _managers(session, lead.institution_id) or [None]
    for user_id in recipients:
        session.add(Notification(
            user_id=user_id, organization_id=lead.institution_id, kind=kind,
            title=translate(f"matching.notify.{kind.split('.')[-1]}.title", locale, need=lead.need_id, lead=lead.id),
            payload={"need_id": lead.need_id, "lead_id": lead.id},
            dedupe_key=f"lead:{lead.id}:{kind}:{user_id or 'org'}",
        ))
    uow.audit("lead.escalate", entity_type="lead", entity_id=lead.id,
              after={"kind": kind, "institution_id": lead.institution_id, "need_id": lead.need_id,
                     "recipients": [r for r in recipients if r is not None]})


@use_case(permission=Permission.rating_run, write=True)
def sweep_leads(uow, *, actor: Actor, now: datetime | None = None) -> SweepResult:
    """The periodic SLA sweep: expire, escalate and re-dispatch; escalate late decisions once.

    A pending lead past its first-response deadline becomes ``expired`` (closed now), is escalated to
    its institution's managers and the need — if still open — goes to the next eligible family
    (channel ``redispatch``). A responded lead past its decision deadline is escalated once. A second
    run at the same time changes nothing.

    Args:
        now: the sweep time (default: now; tests pass a fixed time).
    """
    session = uow.session
    now = now or utcnow()
    expired, escalated, redispatched, late = [], [], [], []
    due = list(session.exec(select(Lead).where(Lead.status == "pending", col(Lead.first_response_due) < now)
                            .order_by(col(Lead.id))))
    for lead in due:
        lead.status = "expired"
        lead.closed_at = now
        session.add(lead)
        uow.audit("lead.expire", entity_type="lead", entity_id=lead.id,
                  after={"need_id": lead.need_id, "institution_id": lead.institution_id,
                         "first_response_due": lead.first_response_due.isoformat()})
        _escalate(uow, lead, now=now, kind="lead.escalated")
        expired.append(lead.id)
        escalated.append(lead.id)
    session.flush()
    for need_id in sorted({lead.need_id for lead in due}):
        need = session.get(FinancingNeed, need_id)
        if need is None or NeedStatus(need.status) not in OPEN_NEED_STATUSES:
            continue
        n_expired = sum(1 for lead in due if lead.need_id == need_id)
        for new in dispatch_need(uow, need, now=now, channel="redispatch", limit=n_expired):
            redispatched.append(new.id)
    slow = session.exec(select(Lead).where(Lead.status == "responded", col(Lead.decision_due) < now,
                                           col(Lead.escalated_at).is_(None)).order_by(col(Lead.id)))
    for lead in slow:
        _escalate(uow, lead, now=now, kind="lead.decision_late")
        session.add(lead)
        late.append(lead.id)
    return SweepResult(expired, escalated, redispatched, late)
