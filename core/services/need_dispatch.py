"""Dispatch (派单) of a financing need: rank institution families, route each to a branch, open the leads.

A published need is matched against every lending product (:mod:`core.services.matching`); the
best-fitting product of each institution family ranks that family, and the top ``dispatch_limit``
families each receive one ``Lead`` — routed to the family's branch in the enterprise's district,
else to its head office (:func:`route`). Each lead runs an SLA clock in China's working days
(:func:`core.lending.workdays.sla_deadline`): a first response within :func:`first_response_days`
and a decision within :func:`decision_days`. Used by publishing (:mod:`core.services.needs`), claims
(:mod:`core.services.need_claims`) and the SLA sweep's re-dispatch (:mod:`core.services.lead_sweep`);
these helpers run inside the caller's unit of work and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, select

from core.config import get_settings
from core.i18n import translate
from core.lending.workdays import SHANGHAI, sla_deadline
from core.matching.engine import match_chunk
from core.models import Enterprise, FinancingNeed, Lead, Notification, Organization
from core.services import matching
from core.services.directory import INSTITUTION_KINDS

# Defaults; a Settings field of the same name (lower case) overrides each when the platform adds one.
LEAD_FIRST_RESPONSE_DAYS = 2  # working days to a first response
LEAD_DECISION_DAYS = 5  # working days to a decision


def _setting(name: str, default: Any) -> Any:
    return getattr(get_settings(), name, default)


def first_response_days() -> int:
    """Working days an institution has for its first response to a lead."""
    return int(_setting("lead_first_response_days", LEAD_FIRST_RESPONSE_DAYS))


def decision_days() -> int:
    """Working days an institution has to decide on a lead."""
    return int(_setting("lead_decision_days", LEAD_DECISION_DAYS))


def institutions_frame(session: Session) -> pd.DataFrame:
    """Every institution (index ``id``; ``parent_id``, ``district_code``, ``is_active``)."""
    o = Organization.__table__
    frame = pd.read_sql(
        select(o.c.id, o.c.parent_id, o.c.district_code, o.c.is_active).where(
            o.c.kind.in_([k.value for k in INSTITUTION_KINDS])
        ),
        session.connection(),
    )
    return frame.set_index("id")


def family_roots(orgs: pd.DataFrame) -> dict[int, int]:
    """Organization id → the head office of its family (following ``parent_id`` links)."""
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


def ranked_families(session: Session, need: FinancingNeed, enterprise: Enterprise, *, as_of,
                    only_root: int | None = None) -> tuple[list[tuple[int, int, float]], pd.DataFrame, dict]:
    """[(family root, product id, fit)] best first: the best eligible lending product of each family."""
    side = matching.product_side(session, as_of=as_of)
    prep = side.prep
    orgs = institutions_frame(session)
    roots = family_roots(orgs)
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


def families_with_leads(session: Session, need_id: int, roots: dict[int, int]) -> set[int]:
    """The families (head office ids) that already hold a lead for the need."""
    ids = session.exec(select(Lead.institution_id).where(Lead.need_id == need_id)).all()
    return {roots.get(int(i), int(i)) for i in ids}


def new_lead(uow, *, need: FinancingNeed, institution_id: int, product_id: int | None, fit: float | None,
             channel: str, rank: int, now: datetime, status: str = "pending", officer_id: int | None = None) -> Lead:
    """Open one lead with its SLA clocks, notify its institution and audit it (the caller commits)."""
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
    ranked, orgs, roots = ranked_families(session, need, enterprise, as_of=now.astimezone(SHANGHAI).date())
    taken = families_with_leads(session, need.id, roots)
    start = int(session.exec(select(func.count(Lead.id)).where(Lead.need_id == need.id)).one())
    leads = []
    for root, product_id, fit in ranked:
        if len(leads) >= (limit if limit is not None else need.dispatch_limit):
            break
        if root in taken:
            continue
        target = route(orgs, roots, root, enterprise.district_code)
        leads.append(new_lead(uow, need=need, institution_id=target, product_id=product_id, fit=fit,
                              channel=channel, rank=start + len(leads) + 1, now=now))
        taken.add(root)
    return leads
