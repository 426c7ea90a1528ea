"""The enterprise home page's read: one use case that composes the other contexts' reads in one unit of work.

``home_overview`` returns :class:`~core.services.enterprise_home_models.HomeOverviewPublic`:

* **greeting** — the enterprise's name, its latest rating (grade and score; none when unrated) and
  whether it is a first-time borrower (:mod:`core.services.first_loan`);
* **recommended** — the best-fitting lending products (at most :data:`RECOMMEND_MAX`) from
  :func:`core.services.matching.recommend_products`, each with the engine's fit reasons and a short
  "why it fits" sentence; **near_miss** — the lending product with the fewest failed criteria (at most
  :data:`ALMOST_MISSING`) and what the enterprise is missing;
* **needs** — published needs with how many institutions received each, how many answered, and the
  nearest running SLA deadline (:func:`core.services.needs.list_my_needs`);
* **applications** — applications not yet disbursed, with the next step of
  :mod:`core.services.application_detail` and who has to act (``you``, ``bank`` or ``guarantor``);
* **reminders** — per live loan the next installment not yet due (date, amount, days left) and the
  unpaid installments past due (amount, days past due);
* **unread** and the three latest **notifications** (unread first) of the actor's inbox;
* **todo** — the actionable items, most urgent first (see :func:`_urgency`): an overdue repayment; a
  repayment due within :data:`DUE_SOON_DAYS` days; a document the bank asked for; a contract to sign;
  a consent expiring within :data:`CONSENT_SOON_DAYS` days; an unread answer to a dispute.

The other services' bodies run inside this unit of work through :func:`_inside` (their own row checks
still run); nothing is written.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_enterprise_access
from core.errors import NotFoundError
from core.lending.schedule import ZERO
from core.lending.workdays import SHANGHAI
from core.models import (
    Application,
    CreditScore,
    Enterprise,
    FinancingNeed,
    Loan,
    Notification,
    RepaymentInstallment,
)
from core.models.types import ApplicationStatus, LoanStatus, NeedStatus, utcnow
from core.services import application_detail, consent, first_loan, matching, needs, notifications
from core.services.enterprise_home_models import (
    DueReminder,
    Greeting,
    HomeOverviewPublic,
    NearMiss,
    NoticeItem,
    OpenApplication,
    OpenNeed,
    Reason,
    RecommendedProduct,
    TodoItem,
)
from core.services.loan_reads import _loans_frame
from core.services.loans import to_engine
from core.usecase import use_case

RECOMMEND_MAX = 5  # recommended products shown
ALMOST_MISSING = 2  # a product missing at most this many criteria is "almost" within reach
DUE_SOON_DAYS = 7  # a repayment due within this many days is a to-do
CONSENT_SOON_DAYS = 14  # a consent expiring within this many days is a to-do
NOTICES = 3  # latest notifications shown
OPEN_APPLICATION_STATUSES = (
    ApplicationStatus.submitted, ApplicationStatus.accepted, ApplicationStatus.due_diligence,
    ApplicationStatus.approved, ApplicationStatus.contract_signed,
)
LIVE_LOAN_STATUSES = (LoanStatus.active, LoanStatus.overdue, LoanStatus.defaulted)
# Who has to act after each next step of an application (the enterprise sees "you" or the bank).
WHO_ACTS = {"review.next.upload": "you", "review.next.approved": "you", "review.next.enhancement": "guarantor"}
URGENCY_ORDER = {"high": 0, "medium": 1, "low": 2}
KIND_ORDER = ("overdue", "repayment_due", "document", "sign_contract", "consent_expiring", "dispute_answered")


def _inside(uow, service, **kwargs: Any) -> Any:
    """Run another use case's body in this unit of work (its row checks run; its transaction is ours)."""
    return service.__wrapped__(uow, actor=uow.actor, **kwargs)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _text(value: Any) -> str | None:
    """A frame cell as text; None for a missing value (None, NaN) or an empty string."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


# ------------------------------------------------------------------------------------------- blocks


def _greeting(uow, enterprise: Enterprise, now: datetime) -> Greeting:
    session = uow.session
    status = _inside(uow, first_loan.first_loan_status, enterprise_id=int(enterprise.id))
    rating = session.exec(
        select(CreditScore).where(CreditScore.enterprise_id == enterprise.id)
        .order_by(col(CreditScore.as_of).desc(), col(CreditScore.id).desc()).limit(1)
    ).first()
    hour = now.astimezone(SHANGHAI).hour
    daypart = "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 18 else "evening"
    return Greeting(
        enterprise_id=int(enterprise.id), name=enterprise.name, credit_code=enterprise.credit_code, daypart=daypart,
        grade=str(rating.grade) if rating else None, score=int(rating.score) if rating else None,
        rated_on=rating.as_of if rating else None, first_time=status.first_time, loans=status.loans,
        booked_appointments=status.booked_appointments,
    )


def _why(row: dict[str, Any], grade: str | None, first_time: bool) -> tuple[str, dict[str, Any]]:
    """One short sentence on why a product fits: first-loan friendly, grade room, or all criteria met."""
    rate = f"{row['rate_min']:.2f}"
    pct = None if _number(row["p_approval"]) is None else f"{100 * float(row['p_approval']):.0f}"
    if row["first_loan_friendly"] and first_time:
        return "home.why.first_loan", {"rate": rate}
    required = _text(row.get("min_credit_grade"))
    if grade and required:
        return "home.why.grade", {"grade": grade, "required": required, "rate": rate}
    if pct is not None:
        return "home.why.approval", {"rate": rate, "pct": pct}
    return "home.why.eligible", {"rate": rate}


def _reasons(items: list[Any]) -> list[Reason]:
    return [Reason(criterion=m.criterion, key=m.key, params=dict(m.params)) for m in items]


def _products(uow, enterprise_id: int, as_of: date, greeting: Greeting) -> tuple[list, NearMiss | None, int]:
    """The best-fitting lending products, the nearest miss and how many lending products fit.

    The ranking is :func:`core.services.matching.rank_products` on the cached product side — the very
    code ``recommend_products`` runs — asked for every eligible product, so the count is exact.
    """
    side = matching.product_side(uow.session, as_of=as_of)
    facts = matching.enterprise_row(uow.session, enterprise_id)
    if facts is None or len(side.records) == 0:
        return [], None, 0
    eligible, ineligible, _ = matching.rank_products(facts, side, as_of=as_of, k=len(side.records),
                                                     missing_limit=50)
    lending = eligible[~eligible["product_type"].isin(matching.NON_LENDING_TYPES)]
    out = []
    for row in lending.head(RECOMMEND_MAX).to_dict("records"):
        key, params = _why(row, greeting.grade, greeting.first_time)
        out.append(RecommendedProduct(
            product_id=int(row["product_id"]), name=row["product_name"], name_en=_text(row["product_name_en"]),
            institution_name=row["institution_name"], institution_name_en=_text(row["institution_name_en"]),
            product_type=str(row["product_type"]), rate_min=float(row["rate_min"]), rate_max=float(row["rate_max"]),
            amount_min=float(row["amount_min"]), amount_max=float(row["amount_max"]),
            term_min_months=int(row["term_min_months"]), term_max_months=int(row["term_max_months"]),
            first_loan_friendly=bool(row["first_loan_friendly"]), fit_score=float(row["fit_score"]),
            p_approval=_number(row["p_approval"]), why_key=key, why_params=params, reasons=_reasons(row["reasons"]),
        ))
    near = ineligible[~ineligible["product_type"].isin(matching.NON_LENDING_TYPES)
                      & (ineligible["n_missing"] <= ALMOST_MISSING)]
    miss = None
    if not near.empty:
        row = near.iloc[0].to_dict()  # fewest missing criteria, then the lowest rate
        miss = NearMiss(product_id=int(row["product_id"]), name=row["product_name"],
                        name_en=_text(row["product_name_en"]), institution_name=row["institution_name"],
                        institution_name_en=_text(row["institution_name_en"]), rate_min=float(row["rate_min"]),
                        missing=_reasons(row["missing"]))
    return out, miss, len(lending)


def _needs(uow, enterprise_id: int, now: datetime) -> tuple[list[OpenNeed], int]:
    """The published needs with their dispatch facts, and how many needs the enterprise ever published.

    ``list_my_needs`` reads every need's SLA clocks; it is asked only when a need is open.
    """
    counts = dict(uow.session.exec(
        select(FinancingNeed.status, func.count(FinancingNeed.id)).where(FinancingNeed.enterprise_id == enterprise_id)
        .group_by(FinancingNeed.status)).all())
    total = sum(int(v) for v in counts.values())
    if not counts.get(NeedStatus.published):
        return [], total
    mine = _inside(uow, needs.list_my_needs, enterprise_id=enterprise_id, now=now)
    out = []
    for need in mine.needs[mine.needs["status"] == NeedStatus.published.value].to_dict("records"):
        leads = mine.leads[mine.leads["need_id"] == need["need_id"]]
        active = leads[leads["status"].isin(needs.ACTIVE_LEAD_STATUSES)]
        clocks = active["first_response_due"].where(active["status"] == "pending", active["decision_due"])
        earliest = None if clocks.empty else clocks.min()
        days = None
        if earliest is not None:
            days = active.loc[clocks == earliest, "days_left"].iloc[0]
        out.append(OpenNeed(
            need_id=int(need["need_id"]), amount=Decimal(str(need["amount"])), term_months=int(need["term_months"]),
            purpose=need["purpose"], published_at=None if pd.isna(need["published_at"]) else need["published_at"],
            institutions=int(leads["institution_id"].nunique()), responses=int(leads["responded_at"].notna().sum()),
            waiting=len(active), earliest_due=None if earliest is None else earliest.to_pydatetime(),
            earliest_days_left=None if days is None or pd.isna(days) else int(days),
            overdue=bool(active["overdue"].any()),
        ))
    return out, total


def _applications(uow, enterprise_id: int) -> list[OpenApplication]:
    session = uow.session
    rows = session.exec(
        select(Application).where(Application.enterprise_id == enterprise_id,
                                  col(Application.status).in_(list(OPEN_APPLICATION_STATUSES)))
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
    ).all()
    out = []
    for app in rows:
        detail = application_detail.build_detail(session, app, staff=False, actor=uow.actor)
        requested = [d for d in detail.documents if d.status == "requested"]
        out.append(OpenApplication(
            application_id=detail.id, product_id=detail.product_id, product_name=detail.product_name,
            institution_name=detail.institution_name, status=detail.status,
            amount_requested=detail.amount_requested, term_months=detail.term_months,
            submitted_at=detail.submitted_at, next_step=detail.next_step,
            who_acts=WHO_ACTS.get(detail.next_step, "bank"), documents_requested=len(requested),
            document_notes=[d.request_note for d in requested],
        ))
    return out


def _reminders(session: Session, enterprise_id: int, as_of: date) -> list[DueReminder]:
    loans = list(session.exec(select(Loan).where(Loan.enterprise_id == enterprise_id,
                                                 col(Loan.status).in_(list(LIVE_LOAN_STATUSES)))
                              .order_by(col(Loan.disbursed_at).desc())))
    if not loans:
        return []
    frame = _loans_frame(session, loans, as_of).set_index("id")
    unpaid: dict[int, list] = {}
    query = select(RepaymentInstallment).where(col(RepaymentInstallment.loan_id).in_([int(x.id) for x in loans]),
                                               RepaymentInstallment.status != "paid")
    for row in session.exec(query):
        unpaid.setdefault(int(row.loan_id), []).append(to_engine(row))
    out = []
    for loan in loans:
        rows = sorted((i for i in unpaid.get(int(loan.id), []) if not i.settled), key=lambda i: i.seq)
        late = [i for i in rows if i.due_date < as_of]
        upcoming = next((i for i in rows if i.due_date >= as_of), None)
        facts = frame.loc[int(loan.id)]
        out.append(DueReminder(
            loan_id=int(loan.id), product_name=facts["product_name"], institution_name=facts["institution_name"],
            status=str(loan.status), outstanding_principal=Decimal(loan.outstanding_principal),
            next_due_date=upcoming.due_date if upcoming else None,
            next_due_amount=upcoming.outstanding if upcoming else None,
            days_left=(upcoming.due_date - as_of).days if upcoming else None,
            overdue_amount=sum((i.outstanding for i in late), ZERO), overdue_installments=len(late),
            days_past_due=int(facts["days_past_due"]), bucket=str(facts["bucket"]),
        ))
    # Overdue loans first (most days past due), then by the next due date.
    return sorted(out, key=lambda r: (-r.days_past_due, r.next_due_date or date.max, r.loan_id))


def _notices(uow, locale: str | None) -> tuple[int, list[NoticeItem]]:
    unread = _inside(uow, notifications.unread_count)
    latest = _inside(uow, notifications.my_notifications, limit=NOTICES, locale=locale)
    items = [NoticeItem(id=int(r["id"]), kind=r["kind"], title=r["title"], created_at=r["created_at"],
                        unread=bool(r["unread"])) for r in latest.to_dict("records")]
    return int(unread), items


# --------------------------------------------------------------------------------------------- to do


def _urgency(kind: str, days_left: int | None) -> str:
    """How urgent a to-do is: overdue, a repayment within 3 days and a document request are high."""
    if kind in ("overdue", "document") or (kind == "repayment_due" and (days_left or 0) <= 3):
        return "high"
    if kind in ("repayment_due", "sign_contract") or (kind == "consent_expiring" and (days_left or 0) <= 7):
        return "medium"
    return "low"


def _todo(kind: str, key: str, page: str, *, days_left: int | None = None, entity_id: int | None = None,
          **params: Any) -> TodoItem:
    return TodoItem(kind=kind, urgency=_urgency(kind, days_left), key=key, params=params, days_left=days_left,
                    page=page, entity_id=entity_id)


def _todos(uow, enterprise_id: int, now: datetime, reminders: list[DueReminder],
           apps: list[OpenApplication]) -> list[TodoItem]:
    session, items = uow.session, []
    for r in reminders:
        if r.overdue_amount > 0:
            items.append(_todo("overdue", "home.todo.overdue", "my-loans", days_left=-r.days_past_due,
                               entity_id=r.loan_id, loan=r.loan_id, product=r.product_name,
                               amount=f"{r.overdue_amount:,.2f}", days=r.days_past_due))
        if r.days_left is not None and r.days_left <= DUE_SOON_DAYS:
            items.append(_todo("repayment_due", "home.todo.repayment_due", "my-loans", days_left=r.days_left,
                               entity_id=r.loan_id, loan=r.loan_id, product=r.product_name,
                               amount=f"{r.next_due_amount:,.2f}", date=r.next_due_date.isoformat(),
                               days=r.days_left))
    for a in apps:
        for note in a.document_notes:
            items.append(_todo("document", "home.todo.document", "my-applications", entity_id=a.application_id,
                               application=a.application_id, institution=a.institution_name, note=note))
        if a.status == ApplicationStatus.approved.value:
            items.append(_todo("sign_contract", "home.todo.sign_contract", "my-applications",
                               entity_id=a.application_id, application=a.application_id,
                               institution=a.institution_name))
    soon = now + timedelta(days=CONSENT_SOON_DAYS)
    for grant in _inside(uow, consent.list_consents, enterprise_id=enterprise_id, include_inactive=False):
        if grant.expires_at <= soon:
            days = max((grant.expires_at - now).days, 0)
            items.append(_todo("consent_expiring", "home.todo.consent_expiring", "consent", days_left=days,
                               entity_id=grant.id, institution=grant.institution_name,
                               date=grant.expires_at.astimezone(SHANGHAI).date().isoformat(), days=days))
    inbox = notifications._mine(session, uow.actor)
    if inbox is not None:
        answered = session.exec(select(Notification).where(
            inbox, Notification.enterprise_id == enterprise_id, Notification.kind == "dispute_answered",
            col(Notification.read_at).is_(None)).order_by(col(Notification.created_at).desc())).all()
        for note in answered:
            dispute = (note.payload or {}).get("dispute_id")
            items.append(_todo("dispute_answered", "home.todo.dispute_answered", "my-data",
                               entity_id=None if dispute is None else int(dispute), dispute=dispute or "",
                               outcome=(note.payload or {}).get("outcome", "")))
    return sorted(items, key=lambda i: (URGENCY_ORDER[i.urgency], float("inf") if i.days_left is None else i.days_left,
                                        KIND_ORDER.index(i.kind), i.entity_id or 0))


# ------------------------------------------------------------------------------------------ service


@use_case(permission=Permission.enterprise_self)
def home_overview(uow, *, actor: Actor, enterprise_id: int, now: datetime | None = None,
                  locale: str | None = None) -> HomeOverviewPublic:
    """The enterprise home page in one read: greeting, to-dos, products, needs, applications, dues, notices.

    Args:
        enterprise_id: the actor's own enterprise (an enterprise user sees only its own).
        now: the time clocks and due dates are read at (default: now; tests pass a fixed time).
        locale: the language of the notification titles (default: as stored).

    Raises:
        ForbiddenError: the actor is not a user of this enterprise.
        NotFoundError: no such enterprise.
    """
    assert_enterprise_access(actor, enterprise_id)
    session = uow.session
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError("error.not_found")
    now = now or utcnow()
    as_of = now.astimezone(SHANGHAI).date()
    greeting = _greeting(uow, enterprise, now)
    recommended, near_miss, eligible_total = _products(uow, enterprise_id, as_of, greeting)
    open_needs, needs_ever = _needs(uow, enterprise_id, now)
    apps = _applications(uow, enterprise_id)
    reminders = _reminders(session, enterprise_id, as_of)
    unread, latest = _notices(uow, locale)
    anything = session.exec(select(Application.id).where(Application.enterprise_id == enterprise_id).limit(1)).first()
    return HomeOverviewPublic(
        as_of=as_of, greeting=greeting, todo=_todos(uow, enterprise_id, now, reminders, apps),
        recommended=recommended, near_miss=near_miss, eligible_total=eligible_total, needs=open_needs,
        applications=apps, reminders=reminders, unread=unread, notifications=latest,
        is_new=not (needs_ever or anything is not None or greeting.loans),
    )
