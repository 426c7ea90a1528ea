"""Claims (抢单): an institution takes an open financing need that was not pushed to its family.

``claimable_needs`` lists the open needs a family may claim (not dispatched to it, fewer than K
active leads, fitting at least one of its lending products), best fit first; ``claim_need`` opens the
family's lead as its first response (status ``responded``; the decision clock runs).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_institution, assert_institution_access
from core.config import get_settings
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from core.i18n import translate
from core.lending.workdays import SHANGHAI
from core.matching.engine import match_chunk
from core.models import Enterprise, FinancingNeed, Lead, Notification, Organization
from core.models.types import NeedStatus, utcnow
from core.services import matching
from core.services.directory import INSTITUTION_KINDS
from core.services.need_dispatch import (
    families_with_leads,
    family_roots,
    institutions_frame,
    new_lead,
    ranked_families,
)
from core.services.needs import ACTIVE_LEAD_STATUSES, OPEN_NEED_STATUSES, leads_frame
from core.usecase import use_case

CLAIMABLE_COLUMNS = ["need_id", "enterprise_id", "enterprise_name", "district_code", "grade", "amount",
                     "term_months", "purpose", "max_rate", "active_leads", "dispatch_limit", "product_id",
                     "product_name", "fit_score", "published_at"]


class NeedNotOpenError(ConflictError):
    key = "matching.error.need_not_open"


class NeedAlreadyLeadError(ConflictError):
    key = "matching.error.already_lead"


class NeedFullError(ConflictError):
    key = "matching.error.need_full"


class NeedNotEligibleError(InvalidError):
    key = "matching.error.not_eligible"


def family_scope(session: Session, actor: Actor, institution_id: int) -> None:
    """Refuse an actor neither staff of the institution's family nor oversight; unknown institution: not found."""
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
        The new lead as a one-row frame with :data:`core.services.needs.NEED_LEAD_COLUMNS`.

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
    orgs = institutions_frame(session)
    roots = family_roots(orgs)
    root = roots.get(claimer, claimer)
    if root in families_with_leads(session, need.id, roots):
        raise NeedAlreadyLeadError()
    active = session.exec(select(func.count(Lead.id)).where(
        Lead.need_id == need.id, col(Lead.status).in_(ACTIVE_LEAD_STATUSES))).one()
    if int(active) >= need.dispatch_limit:
        raise NeedFullError(limit=need.dispatch_limit)
    enterprise = session.get(Enterprise, need.enterprise_id)
    ranked, _, _ = ranked_families(session, need, enterprise, as_of=now.astimezone(SHANGHAI).date(), only_root=root)
    if not ranked:
        raise NeedNotEligibleError()
    _, product_id, fit = ranked[0]
    rank = int(session.exec(select(func.count(Lead.id)).where(Lead.need_id == need.id)).one()) + 1
    lead = new_lead(uow, need=need, institution_id=claimer, product_id=product_id, fit=fit, channel="claim",
                    rank=rank, now=now, status="responded", officer_id=actor.user_id)
    session.add(Notification(
        enterprise_id=need.enterprise_id, kind="need.claimed",
        title=translate("matching.notify.claimed.title", get_settings().default_locale, need=need.id),
        payload={"need_id": need.id, "lead_id": lead.id}, dedupe_key=f"lead:{lead.id}:claimed",
    ))
    return leads_frame(session, [lead], now)


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
    family_scope(session, actor, institution_id)
    now = now or utcnow()
    limit = max(1, min(int(limit), 1000))
    needs = matching.open_needs(session)
    empty = pd.DataFrame(columns=CLAIMABLE_COLUMNS)
    if needs.empty:
        return empty
    orgs = institutions_frame(session)
    roots = family_roots(orgs)
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
