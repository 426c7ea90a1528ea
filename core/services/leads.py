"""An institution's side of dispatched needs: the lead inbox, responding to a lead, and the workbench.

Reads are scoped to the institution and its branches (a branch officer sees the branch's leads, the
head office all of them); regulators read any. Responding is optimistic-locked on ``Lead.version``:
the inbox shows a version, and a response based on an older one is refused with a clear message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_institution, institution_descendants
from core.config import get_settings
from core.errors import ConflictError, InvalidError, NotFoundError
from core.i18n import translate
from core.lending.workdays import SHANGHAI, working_days_left
from core.models import Application, FinancingNeed, Lead, Loan, Notification
from core.models.types import ApplicationStatus, utcnow
from core.services import matching
from core.services.need_claims import family_scope
from core.services.needs import ACTIVE_LEAD_STATUSES
from core.usecase import expect_version, use_case

REASON_MIN, REASON_MAX = 2, 500
INBOX_COLUMNS = [
    "lead_id", "need_id", "enterprise_id", "enterprise_name", "credit_code", "district_code", "grade", "amount",
    "term_months", "purpose", "max_rate", "accepts_collateral", "product_id", "product_name", "institution_id",
    "channel", "rank", "fit_score", "status", "dispatched_at", "first_response_due", "decision_due", "days_left",
    "overdue", "responded_at", "response_note", "escalated_at", "version", "reasons",
]
ALERT_COLUMNS = ["kind", "lead_id", "need_id", "enterprise_name", "due_at", "escalated_at"]
FUNNEL_STAGES = ["leads", "contacted", "applications", "approved", "disbursed"]


class LeadClosedError(ConflictError):
    key = "matching.error.lead_closed"


@dataclass(frozen=True)
class LeadPublic:
    """A lead as a response returns it."""

    id: int
    need_id: int
    institution_id: int
    status: str
    responded_at: datetime | None
    response_note: str | None
    version: int


@dataclass(frozen=True)
class Workbench:
    """The workbench: ``kpis`` (counts), ``stages`` (status, count), ``funnel`` (stage, count), ``alerts``."""

    kpis: dict[str, int]
    stages: pd.DataFrame
    funnel: pd.DataFrame
    alerts: pd.DataFrame


def _scope(session: Session, actor: Actor, institution_id: int) -> set[int]:
    family_scope(session, actor, institution_id)
    return institution_descendants(session, institution_id)


@use_case(permission=None)
def lead_inbox(uow, *, actor: Actor, institution_id: int, status: str | list[str] | None = None,
               now: datetime | None = None, limit: int = 500) -> pd.DataFrame:
    """The leads of an institution and its branches: open clocks first (soonest due), then the rest.

    Args:
        institution_id: the institution (staff of its family; oversight reads any).
        status: only these statuses (pending, responded, applied, declined, expired).
        now: the time clocks are read at (default: now).
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame with :data:`INBOX_COLUMNS`; ``grade`` is the latest rating (None = unrated),
        ``reasons`` why the product fits (message keys with parameters), ``days_left`` working days on
        the running clock (first response while pending, decision once responded).

    Raises:
        ForbiddenError: the actor is neither staff of this family nor a regulator.
        NotFoundError: no such institution.
    """
    session = uow.session
    scope = _scope(session, actor, institution_id)
    now = now or utcnow()
    query = select(Lead).where(col(Lead.institution_id).in_(scope))
    if status:
        query = query.where(col(Lead.status).in_([status] if isinstance(status, str) else list(status)))
    leads = list(session.exec(query.order_by(col(Lead.dispatched_at).desc()).limit(max(1, min(int(limit), 5000)))))
    if not leads:
        return pd.DataFrame(columns=INBOX_COLUMNS)
    needs = {n.id: n for n in session.exec(select(FinancingNeed).where(
        col(FinancingNeed.id).in_({lead.need_id for lead in leads})))}
    facts = matching.enterprise_facts(session, enterprise_ids=sorted({n.enterprise_id for n in needs.values()}))
    side = matching.product_side(session, as_of=now.astimezone(SHANGHAI).date())
    records = {int(r["id"]): r for r in side.records}
    rows = []
    for lead in leads:
        need = needs[lead.need_id]
        fact = facts.loc[need.enterprise_id]
        active = lead.status in ACTIVE_LEAD_STATUSES
        clock = lead.first_response_due if lead.status == "pending" else lead.decision_due
        product = records.get(lead.product_id)
        pair = {**fact.to_dict(), "amount": float(need.amount), "term_months": need.term_months}
        rows.append({
            "lead_id": lead.id, "need_id": need.id, "enterprise_id": need.enterprise_id,
            "enterprise_name": fact["name"], "credit_code": fact["credit_code"],
            "district_code": fact["district_code"], "grade": fact["grade"], "amount": float(need.amount),
            "term_months": need.term_months, "purpose": need.purpose,
            "max_rate": None if need.max_rate is None else float(need.max_rate),
            "accepts_collateral": need.accepts_collateral, "product_id": lead.product_id,
            "product_name": product["name"] if product else None, "institution_id": lead.institution_id,
            "channel": lead.channel, "rank": lead.rank, "fit_score": lead.fit_score, "status": lead.status,
            "dispatched_at": lead.dispatched_at, "first_response_due": lead.first_response_due,
            "decision_due": lead.decision_due, "days_left": working_days_left(clock, now) if active else None,
            "overdue": bool(active and now > clock), "responded_at": lead.responded_at,
            "response_note": lead.response_note, "escalated_at": lead.escalated_at, "version": lead.version,
            "reasons": matching.fit_reasons(product, pair, p_approval=None) if product else [],
            "_sort": (0 if active else 1, clock if active else now),
        })
    frame = pd.DataFrame(rows)
    frame = frame.assign(_a=frame["_sort"].map(lambda v: v[0]), _t=frame["_sort"].map(lambda v: v[1]))
    frame = frame.sort_values(["_a", "_t"], kind="stable")[INBOX_COLUMNS].reset_index(drop=True)
    for name in ("dispatched_at", "first_response_due", "decision_due", "responded_at", "escalated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["days_left"] = frame["days_left"].astype("Int64")
    return frame


@use_case(permission=Permission.applications_institution, write=True)
def respond_to_lead(uow, *, actor: Actor, lead_id: int, accept: bool, reason: str | None = None,
                    version: int | None = None, now: datetime | None = None) -> LeadPublic:
    """An officer's first response: accept (contact made) or decline with a reason.

    Args:
        lead_id: the lead (of the actor's institution family).
        accept: True to accept, False to decline.
        reason: the note; required (2–500 characters) when declining.
        version: the lead's version the officer saw; a newer one means someone else acted first.
        now: the response time (default: now).

    Raises:
        NotFoundError: no such lead.
        ForbiddenError: the lead belongs to another institution family.
        InvalidError: a decline without a reason (field ``reason``).
        LeadClosedError: the lead is no longer pending (expired, declined or already answered).
        StaleVersionError: someone else changed the lead since it was shown.
    """
    session = uow.session
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFoundError("matching.error.lead_not_found")
    assert_acts_for_institution(session, actor, lead.institution_id)
    note = (reason or "").strip()
    if not accept and not REASON_MIN <= len(note) <= REASON_MAX:
        raise InvalidError("matching.error.reason", field="reason", min=REASON_MIN, max=REASON_MAX)
    if len(note) > REASON_MAX:
        raise InvalidError("matching.error.reason", field="reason", min=REASON_MIN, max=REASON_MAX)
    expect_version(lead, version)
    if lead.status != "pending":
        raise LeadClosedError(status=lead.status)
    now = now or utcnow()
    lead.status = "responded" if accept else "declined"
    lead.responded_at = now
    lead.officer_id = actor.user_id
    lead.response_note = note or None
    if not accept:
        lead.closed_at = now
    session.add(lead)
    session.flush()
    need = session.get(FinancingNeed, lead.need_id)
    kind = "accepted" if accept else "declined"
    session.add(Notification(
        enterprise_id=need.enterprise_id if need else None, kind=f"lead.{kind}",
        title=translate(f"matching.notify.{kind}.title", get_settings().default_locale, need=lead.need_id),
        body=note or None, payload={"need_id": lead.need_id, "lead_id": lead.id},
        dedupe_key=f"lead:{lead.id}:{kind}",
    ))
    uow.audit("lead.respond", entity_type="lead", entity_id=lead.id,
              after={"need_id": lead.need_id, "institution_id": lead.institution_id, "status": lead.status,
                     "note": lead.response_note, "in_sla": now <= lead.first_response_due})
    return LeadPublic(lead.id, lead.need_id, lead.institution_id, lead.status, lead.responded_at,
                      lead.response_note, lead.version)


def _month_start(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date().replace(day=1), time(0), tzinfo=SHANGHAI)


@use_case(permission=None)
def workbench_summary(uow, *, actor: Actor, institution_id: int, now: datetime | None = None) -> Workbench:
    """KPIs, applications by stage, the lead funnel and SLA alerts of an institution and its branches.

    Args:
        institution_id: the institution (staff of its family; oversight reads any).
        now: the time (default: now).

    Returns:
        :class:`Workbench` — ``kpis``: ``due_today`` (open clocks ending today), ``overdue`` (open
        clocks already past), ``escalated`` (leads escalated in the last 30 days), ``pending`` (leads
        waiting for a first response), ``open_applications``, ``approved_this_month``; ``stages``
        (status, count) in lifecycle order; ``funnel`` (stage in :data:`FUNNEL_STAGES`, count) —
        leads received, leads contacted, applications, approved (or later), disbursed loans; ``alerts``
        with :data:`ALERT_COLUMNS` (kind: ``overdue_response``, ``overdue_decision``, ``escalated``).

    Raises:
        ForbiddenError: the actor is neither staff of this family nor a regulator.
        NotFoundError: no such institution.
    """
    session = uow.session
    scope = _scope(session, actor, institution_id)
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    conn = session.connection()
    lt = Lead.__table__
    leads = pd.read_sql(select(lt.c.id, lt.c.need_id, lt.c.status, lt.c.first_response_due, lt.c.decision_due,
                               lt.c.responded_at, lt.c.escalated_at).where(lt.c.institution_id.in_(scope)), conn)
    for name in ("first_response_due", "decision_due", "responded_at", "escalated_at"):
        leads[name] = pd.to_datetime(leads[name], utc=True)
    pending = leads["status"] == "pending"
    responded = leads["status"] == "responded"
    clock = leads["first_response_due"].where(pending, leads["decision_due"])
    active = pending | responded
    ts_now = pd.Timestamp(now)
    due_today = active & (clock.dt.tz_convert(SHANGHAI).dt.date == today) & (clock >= ts_now)
    overdue = active & (clock < ts_now)
    escalated = leads["escalated_at"].notna() & (leads["escalated_at"] >= ts_now - pd.Timedelta(days=30))

    status_rows = session.exec(select(Application.status, func.count(Application.id))
                               .where(col(Application.institution_id).in_(scope)).group_by(Application.status)).all()
    counts = {ApplicationStatus(s).value: int(n) for s, n in status_rows}
    stages = pd.DataFrame([{"status": s.value, "count": counts[s.value]} for s in ApplicationStatus
                           if s.value in counts], columns=["status", "count"])
    approved_month = session.exec(select(func.count(Application.id)).where(
        col(Application.institution_id).in_(scope), col(Application.status).in_(matching.APPROVED_STATUSES),
        col(Application.decided_at) >= _month_start(now))).one()
    loans = session.exec(select(func.count(Loan.id)).where(col(Loan.institution_id).in_(scope))).one()
    open_statuses = {"submitted", "accepted", "due_diligence", "approved", "contract_signed"}
    funnel = pd.DataFrame({"stage": FUNNEL_STAGES, "count": [
        len(leads), int(leads["responded_at"].notna().sum()), sum(counts.values()),
        sum(counts.get(s, 0) for s in matching.APPROVED_STATUSES), int(loans)]})
    kpis = {
        "due_today": int(due_today.sum()), "overdue": int(overdue.sum()), "escalated": int(escalated.sum()),
        "pending": int(pending.sum()), "open_applications": sum(counts.get(s, 0) for s in open_statuses),
        "approved_this_month": int(approved_month),
    }
    alerts = _alerts(session, leads, pending, overdue, escalated)
    return Workbench(kpis, stages, funnel, alerts)


def _alerts(session: Session, leads: pd.DataFrame, pending, overdue, escalated) -> pd.DataFrame:
    kinds = np.select([overdue & pending, overdue, escalated], ["overdue_response", "overdue_decision", "escalated"],
                      default="")
    chosen = leads.assign(kind=kinds)
    chosen = chosen[chosen["kind"] != ""]
    if chosen.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    names = _enterprise_names(session, chosen["need_id"].astype(int).tolist())
    out = pd.DataFrame({
        "kind": chosen["kind"].to_numpy(), "lead_id": chosen["id"].astype(int).to_numpy(),
        "need_id": chosen["need_id"].astype(int).to_numpy(),
        "enterprise_name": chosen["need_id"].map(names).to_numpy(),
        "due_at": chosen["first_response_due"].where(chosen["status"] == "pending", chosen["decision_due"]).to_numpy(),
        "escalated_at": chosen["escalated_at"].to_numpy(),
    }, columns=ALERT_COLUMNS)
    return out.sort_values(["kind", "due_at"]).reset_index(drop=True)


def _enterprise_names(session: Session, need_ids: list[int]) -> dict[int, Any]:
    from core.models import Enterprise

    rows = session.exec(select(FinancingNeed.id, Enterprise.name)
                        .join(Enterprise, col(Enterprise.id) == col(FinancingNeed.enterprise_id))
                        .where(col(FinancingNeed.id).in_(need_ids))).all()
    return {int(i): n for i, n in rows}
