"""The regulator's matchmaking ledger (银企对接台账): a query over recorded rows, never a form.

One row per push of a need to an institution (a ``Lead``: dispatched, claimed or re-dispatched), per
application that came without a lead (the financial supermarket: channel ``direct``), and per
published need that reached nobody (channel ``none``). Each row carries the enterprise, the
institution, the push and its first-response clock, the contact (the lead's response, or the
application's acceptance), the decision with its reason and time, and the loan.

SLA compliance, per row (``met`` / ``missed`` / ``open`` / empty when no clock runs):

* **response** — a lead: responded on or before ``first_response_due`` (a lead expired unanswered, or
  still pending past its due time, missed it); a direct application: accepted within the
  first-response working days of its submission (``core.services.need_dispatch.first_response_days``);
* **decision** — an application approved or rejected within the decision working days of its
  submission (``core.services.need_dispatch.decision_days``), whether it came through a lead or
  directly: the bank cannot decide before the enterprise applies, so the clock starts then; a lead
  the institution declined is decided when it declined, against the lead's own ``decision_due``. A
  lead that was answered but never turned into an application has no decision clock (the
  enterprise did not proceed — not the bank's delay); its escalation is the lead sweep's business.

Decision times come from ``Application.decided_at``, else the first ``ApplicationEvent`` into
approved or rejected. The league table ranks institution families (head offices) by applications,
approval rate, median days to decision and response SLA compliance; the first-loan funnel is
:func:`core.services.first_loan.funnel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import INSTITUTION_KINDS, institution_descendants
from core.lending.workdays import SHANGHAI, sla_deadline
from core.models import Application, ApplicationEvent, Enterprise, FinancingNeed, Lead, Loan, Organization
from core.models.types import ApplicationStatus, NeedStatus, utcnow
from core.services.first_loan import Funnel, _roots, funnel
from core.services.need_dispatch import decision_days, first_response_days
from core.usecase import use_case

S = ApplicationStatus
APPROVED_OR_LATER = {S.approved, S.contract_signed, S.disbursed, S.repaying, S.settled, S.overdue, S.defaulted,
                     S.written_off}
LEDGER_COLUMNS = [
    "channel", "need_id", "lead_id", "application_id", "enterprise_name", "credit_code", "district_code",
    "institution_id", "institution_name", "amount", "term_months", "started_at", "need_published_at", "pushed_at",
    "first_response_due", "responded_at", "response_sla", "lead_status", "escalated_at", "response_note",
    "application_status", "submitted_at", "decided_at", "decision", "reason_code", "decision_text", "decision_due",
    "decision_sla", "disbursed_at", "loan_amount", "is_first_loan",
]
LEAGUE_COLUMNS = ["institution_id", "institution_name", "leads", "applications", "approved", "approval_rate",
                  "median_days_to_decision", "response_sla", "decision_sla"]


@dataclass(frozen=True)
class LedgerView:
    """The ledger's rows (``LEDGER_COLUMNS``), its KPIs, the league table and the first-loan funnel."""

    rows: pd.DataFrame
    kpis: dict[str, float | int | None]
    league: pd.DataFrame
    funnel: Funnel


def _sla(done: pd.Series, due: pd.Series, now: datetime) -> pd.Series:
    """met / missed / open per row (None where no clock runs)."""
    out = pd.Series([None] * len(due), index=due.index, dtype=object)
    has_due = due.notna()
    out[has_due & done.notna() & (done <= due)] = "met"
    out[has_due & done.notna() & (done > due)] = "missed"
    out[has_due & done.isna() & (due < now)] = "missed"
    out[has_due & done.isna() & (due >= now)] = "open"
    return out


def _frame(rows, columns) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _utc(frame: pd.DataFrame, *columns: str) -> None:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[ns, UTC]")


def _ids(frame: pd.DataFrame, *columns: str) -> None:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")


def build_ledger(
    session: Session,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    institution_id: int | None = None,
    district_code: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The ledger rows (see the module rules) under the filters; the caller has checked the actor."""
    now = now or utcnow()
    leads = _frame(session.exec(select(
        Lead.id, Lead.need_id, Lead.institution_id, Lead.channel, Lead.status, Lead.dispatched_at,
        Lead.first_response_due, Lead.decision_due, Lead.responded_at, Lead.response_note, Lead.escalated_at)).all(),
        ["lead_id", "need_id", "institution_id", "channel", "lead_status", "pushed_at", "first_response_due",
         "decision_due", "responded_at", "response_note", "escalated_at"])
    needs = _frame(session.exec(select(FinancingNeed.id, FinancingNeed.enterprise_id, FinancingNeed.amount,
                                       FinancingNeed.term_months, FinancingNeed.published_at, FinancingNeed.status)
                                .where(FinancingNeed.status != NeedStatus.draft)).all(),
                   ["need_id", "need_enterprise_id", "need_amount", "need_term", "need_published_at", "need_status"])
    apps = _frame(session.exec(select(
        Application.id, Application.enterprise_id, Application.institution_id, Application.need_id,
        Application.lead_id, Application.amount_requested, Application.term_months, Application.status,
        Application.submitted_at, Application.decided_at, Application.decision_reason_code,
        Application.decision_text)).all(),
        ["application_id", "app_enterprise_id", "app_institution_id", "app_need_id", "app_lead_id", "app_amount",
         "app_term", "application_status", "submitted_at", "app_decided_at", "reason_code", "decision_text"])
    events = _frame(session.exec(select(ApplicationEvent.application_id, ApplicationEvent.to_status,
                                        ApplicationEvent.occurred_at)
                                 .where(col(ApplicationEvent.to_status).in_([S.accepted, S.approved, S.rejected]))
                                 ).all(), ["application_id", "to_status", "occurred_at"])
    loans = _frame(session.exec(select(Loan.application_id, Loan.disbursed_at, Loan.amount, Loan.is_first_loan)).all(),
                   ["application_id", "disbursed_at", "loan_amount", "is_first_loan"])
    _ids(leads, "lead_id", "need_id", "institution_id")
    _ids(needs, "need_id", "need_enterprise_id")
    _ids(apps, "application_id", "app_enterprise_id", "app_institution_id", "app_need_id", "app_lead_id")
    _ids(events, "application_id")
    _ids(loans, "application_id")
    _utc(leads, "pushed_at", "first_response_due", "decision_due", "responded_at", "escalated_at")
    _utc(needs, "need_published_at")
    _utc(apps, "submitted_at", "app_decided_at")
    _utc(events, "occurred_at")
    _utc(loans, "disbursed_at")
    if not events.empty:
        events["to_status"] = events["to_status"].astype(str)
        first = events.groupby(["application_id", "to_status"])["occurred_at"].min().unstack()
        accepted = first.get("accepted", pd.Series(dtype="datetime64[ns, UTC]"))
        decided = pd.concat([first.get("approved"), first.get("rejected")], axis=1).min(axis=1) if (
            "approved" in first or "rejected" in first) else pd.Series(dtype="datetime64[ns, UTC]")
        apps = apps.join(accepted.rename("accepted_at"), on="application_id").join(
            decided.rename("event_decided_at"), on="application_id")
    else:
        apps["accepted_at"] = pd.NaT
        apps["event_decided_at"] = pd.NaT
    _utc(apps, "accepted_at", "event_decided_at")
    apps["decided_at"] = apps["app_decided_at"].fillna(apps["event_decided_at"])
    apps["application_status"] = apps["application_status"].astype(str)
    apps = apps.merge(loans, on="application_id", how="left")

    # 1. pushes: each lead with the application that came through it
    by_lead = apps[apps["app_lead_id"].notna()].drop_duplicates("app_lead_id")
    rows_lead = leads.merge(needs, on="need_id", how="left").merge(
        by_lead, left_on="lead_id", right_on="app_lead_id", how="left")
    rows_lead["enterprise_id"] = rows_lead["need_enterprise_id"]
    rows_lead["amount"] = rows_lead["need_amount"]
    rows_lead["term_months"] = rows_lead["need_term"]
    rows_lead["started_at"] = rows_lead["pushed_at"]
    first_days, decide_days = first_response_days(), decision_days()
    applied = rows_lead["submitted_at"].notna()
    if applied.any():  # an application's decision clock starts when it is submitted
        rows_lead["decision_due"] = rows_lead["decision_due"].astype(object)
        rows_lead.loc[applied, "decision_due"] = [sla_deadline(t.to_pydatetime(), decide_days)
                                                  for t in rows_lead.loc[applied, "submitted_at"]]
    # 2. direct applications (no lead)
    direct = apps[apps["app_lead_id"].isna()].copy()
    direct["channel"] = "direct"
    direct = direct.merge(needs[["need_id", "need_published_at"]], left_on="app_need_id", right_on="need_id",
                          how="left")
    direct["need_id"] = direct["app_need_id"]
    direct["enterprise_id"] = direct["app_enterprise_id"]
    direct["institution_id"] = direct["app_institution_id"]
    direct["amount"] = direct["app_amount"]
    direct["term_months"] = direct["app_term"]
    direct["started_at"] = direct["submitted_at"]
    direct["responded_at"] = direct["accepted_at"]
    direct["first_response_due"] = [sla_deadline(t.to_pydatetime(), first_days) if pd.notna(t) else pd.NaT
                                    for t in direct["submitted_at"]]
    direct["decision_due"] = [sla_deadline(t.to_pydatetime(), decide_days) if pd.notna(t) else pd.NaT
                              for t in direct["submitted_at"]]
    _utc(direct, "first_response_due", "decision_due")
    # 3. published needs that reached nobody
    reached = set(leads["need_id"]) | set(apps["app_need_id"].dropna().astype(int))
    lonely = needs[~needs["need_id"].isin(reached)].copy()
    lonely["channel"] = "none"
    lonely["enterprise_id"] = lonely["need_enterprise_id"]
    lonely["amount"] = lonely["need_amount"]
    lonely["term_months"] = lonely["need_term"]
    lonely["started_at"] = lonely["need_published_at"]

    frame = pd.concat([f for f in (rows_lead, direct, lonely) if not f.empty], ignore_index=True) if any(
        not f.empty for f in (rows_lead, direct, lonely)) else pd.DataFrame(columns=LEDGER_COLUMNS + ["enterprise_id"])
    for column in LEDGER_COLUMNS + ["enterprise_id", "decided_at", "responded_at"]:
        if column not in frame:
            frame[column] = None
    _utc(frame, "started_at", "pushed_at", "first_response_due", "decision_due", "responded_at", "decided_at",
         "submitted_at", "disbursed_at", "escalated_at", "need_published_at")
    ents = _frame(session.exec(select(Enterprise.id, Enterprise.name, Enterprise.credit_code,
                                      Enterprise.district_code)).all(),
                  ["enterprise_id", "enterprise_name", "credit_code", "district_code"]) if not frame.empty else None
    if ents is not None:
        frame = frame.drop(columns=["enterprise_name", "credit_code", "district_code"]).merge(
            ents, on="enterprise_id", how="left")
        names = dict(session.exec(select(Organization.id, Organization.name)).all())
        frame["institution_name"] = frame["institution_id"].map(lambda i: names.get(int(i)) if pd.notna(i) else None)
    status_col = frame["application_status"].astype(object)
    frame["decision"] = np.where(status_col.isin([s.value for s in APPROVED_OR_LATER]), "approved",
                                 np.where(status_col == S.rejected.value, "rejected",
                                          np.where(status_col == S.withdrawn.value, "withdrawn", None)))
    frame["response_sla"] = _sla(frame["responded_at"], frame["first_response_due"], now)
    declined = (frame["lead_status"] == "declined") & frame["application_id"].isna()
    decided = frame["decided_at"].where(frame["decision"].isin(["approved", "rejected"])).where(
        ~declined, frame["responded_at"])
    open_or_decided = frame["decision"].isin(["approved", "rejected"]) | frame["application_status"].isin(
        [S.submitted.value, S.accepted.value, S.due_diligence.value]) | declined
    frame["decision_sla"] = _sla(decided, frame["decision_due"], now).where(open_or_decided, None)
    frame["application_id"] = frame["application_id"].astype("Int64")
    frame["need_id"] = frame["need_id"].astype("Int64")
    frame["lead_id"] = frame["lead_id"].astype("Int64")
    frame["institution_id"] = frame["institution_id"].astype("Int64")
    frame["application_status"] = frame["application_status"].where(frame["application_status"] != "nan", None)

    # filters
    if date_from:
        frame = frame[frame["started_at"] >= pd.Timestamp(datetime.combine(date_from, time(0), SHANGHAI))]
    if date_to:
        end = pd.Timestamp(datetime.combine(date_to + timedelta(days=1), time(0), SHANGHAI))
        frame = frame[frame["started_at"] < end]
    if institution_id:
        frame = frame[frame["institution_id"].isin(institution_descendants(session, int(institution_id)))]
    if district_code:
        frame = frame[frame["district_code"] == district_code]
    if status:
        frame = frame[(frame["application_status"] == status) | (frame["lead_status"] == status)]
    return frame.sort_values("started_at", ascending=False, na_position="last")[LEDGER_COLUMNS].reset_index(drop=True)


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def kpis(rows: pd.DataFrame) -> dict[str, float | int | None]:
    """Counts and rates of a ledger frame."""
    resp, dec = rows["response_sla"], rows["decision_sla"]
    decided = rows["decision"].isin(["approved", "rejected"])
    return {
        "rows": len(rows),
        "needs": int(rows["need_id"].dropna().nunique()),
        "pushes": int(rows["lead_id"].notna().sum()),
        "contacted": int(rows["responded_at"].notna().sum()),
        "applications": int(rows["application_id"].notna().sum()),
        "approved": int((rows["decision"] == "approved").sum()),
        "approval_rate": _rate(int((rows["decision"] == "approved").sum()), int(decided.sum())),
        "response_sla": _rate(int((resp == "met").sum()), int(resp.isin(["met", "missed"]).sum())),
        "decision_sla": _rate(int((dec == "met").sum()), int(dec.isin(["met", "missed"]).sum())),
        "loans": int(rows["disbursed_at"].notna().sum()),
        "first_loans": int(rows["is_first_loan"].fillna(False).astype(bool).sum()),
    }


def league(session: Session, rows: pd.DataFrame) -> pd.DataFrame:
    """Per institution family (head office): leads, applications, approval rate, median days, SLA rates."""
    if rows.empty or rows["institution_id"].dropna().empty:
        return pd.DataFrame(columns=LEAGUE_COLUMNS)
    roots = _roots(session)
    names = dict(session.exec(select(Organization.id, Organization.name)
                              .where(col(Organization.kind).in_(list(INSTITUTION_KINDS)))).all())
    frame = rows[rows["institution_id"].notna()].copy()
    frame["root"] = frame["institution_id"].map(lambda i: roots.get(int(i), int(i)))
    frame["days"] = (frame["decided_at"] - frame["submitted_at"]).dt.total_seconds() / 86400
    out = []
    for root, part in frame.groupby("root"):
        decided = part["decision"].isin(["approved", "rejected"])
        resp, dec = part["response_sla"], part["decision_sla"]
        days = part.loc[decided, "days"].dropna()
        out.append({
            "institution_id": int(root), "institution_name": names.get(int(root), ""),
            "leads": int(part["lead_id"].notna().sum()), "applications": int(part["application_id"].notna().sum()),
            "approved": int((part["decision"] == "approved").sum()),
            "approval_rate": _rate(int((part["decision"] == "approved").sum()), int(decided.sum())),
            "median_days_to_decision": round(float(days.median()), 1) if not days.empty else None,
            "response_sla": _rate(int((resp == "met").sum()), int(resp.isin(["met", "missed"]).sum())),
            "decision_sla": _rate(int((dec == "met").sum()), int(dec.isin(["met", "missed"]).sum())),
        })
    result = pd.DataFrame(out, columns=LEAGUE_COLUMNS)
    return result.sort_values(["applications", "leads"], ascending=False).reset_index(drop=True)


@use_case(permission=Permission.oversight)
def matchmaking_ledger(
    uow, *, actor: Actor, date_from: date | None = None, date_to: date | None = None,
    institution_id: int | None = None, district_code: str | None = None, status: str | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The ledger rows under the filters (regulators and the operator).

    Args:
        date_from: first day (Asia/Shanghai) a row started (push, submission or publication).
        date_to: last day a row started.
        institution_id: an institution; its branches' rows are included.
        district_code: the enterprise's district.
        status: an application status or a lead status (pending, responded, applied, declined, expired).
        now: the time SLA clocks are judged at (default now).
    """
    return build_ledger(uow.session, date_from=date_from, date_to=date_to, institution_id=institution_id,
                        district_code=district_code, status=status, now=now)


@use_case(permission=Permission.oversight)
def ledger_view(
    uow, *, actor: Actor, date_from: date | None = None, date_to: date | None = None,
    institution_id: int | None = None, district_code: str | None = None, status: str | None = None,
) -> LedgerView:
    """Everything the ledger screen shows: rows, KPIs, league table and the first-loan funnel (same filters
    as :func:`matchmaking_ledger`; the funnel follows the date range)."""
    rows = build_ledger(uow.session, date_from=date_from, date_to=date_to, institution_id=institution_id,
                        district_code=district_code, status=status)
    return LedgerView(rows=rows, kpis=kpis(rows), league=league(uow.session, rows),
                      funnel=funnel(uow.session, date_from, date_to))


@use_case(permission=Permission.oversight)
def ledger_options(uow, *, actor: Actor) -> dict[str, dict]:
    """The filter choices: head-office institutions (id → name) and the districts that occur (codes)."""
    orgs = uow.session.exec(select(Organization.id, Organization.name).where(
        col(Organization.kind).in_(list(INSTITUTION_KINDS)), col(Organization.parent_id).is_(None),
    ).order_by(col(Organization.name))).all()
    districts = uow.session.exec(select(Enterprise.district_code).distinct().order_by(col(Enterprise.district_code)))
    return {"institutions": {int(i): n for i, n in orgs}, "districts": {d: d for d in districts if d}}
