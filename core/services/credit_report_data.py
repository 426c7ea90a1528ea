"""The credit report's section loaders: one function per section, each given the caller's open session.

These helpers run inside ``core.services.credit_report``'s unit of work (they never commit, log or
check consent — the use case has done that before calling them). Each returns plain dataclasses and
DataFrames; none returns an ORM object.

Records under an open dispute (``core.services.disputes.disputed_records`` when that module is
present, else the open ``RecordDispute`` rows read here) carry ``disputed = True`` and the days left
until the 20-day answer is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from core.models import (
    Application,
    CreditScore,
    Enterprise,
    FinancialStatement,
    GovRecord,
    Loan,
    Organization,
    Product,
    RecordDispute,
    RepaymentInstallment,
    ScoringModel,
    Shareholding,
)
from core.models.types import LoanStatus, utcnow

# Monthly government series shown as 24-month trends; every other kind is an event.
SERIES_KINDS = ("tax_paid", "si_headcount", "hf_contributors", "electricity_kwh", "water_t", "gas_m3")
SERIES_MONTHS = 24
EVENTS_LIMIT = 500
# Which consent scope shows a record type (disputes on a section the reader may not see are not counted).
DISPUTE_SCOPE = {
    "enterprise": "basic",
    "shareholding": "basic",
    "gov_record": "gov_records",
    "financial_statement": "financials",
}
OPEN_LOAN = frozenset({LoanStatus.active, LoanStatus.overdue})


def _value(enum_or_text: Any) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))


# -------------------------------------------------------------------------------------- disputes


def open_disputes(session: Session, enterprise_id: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Open disputes on the enterprise's records: ``(record_type, record_id) -> {status, due_at, days_left}``."""
    try:  # the dispute service owns the rule; read the rows ourselves until it exists
        from core.services.disputes import disputed_records
    except ImportError:
        disputed_records = None
    if disputed_records is not None:
        return {
            (str(rtype), int(rid)): {name: _field(mark, name) for name in ("status", "due_at", "days_left")}
            for (rtype, rid), mark in disputed_records(session, enterprise_id).items()
        }
    now = utcnow()
    rows = session.exec(
        select(RecordDispute).where(
            RecordDispute.enterprise_id == enterprise_id, RecordDispute.status == "open"
        )
    ).all()
    return {
        (d.record_type, int(d.record_id)): {
            "status": d.status,
            "due_at": d.due_at,
            "days_left": max(0, (d.due_at - now).days),
        }
        for d in rows
    }


def _field(mark: Any, name: str) -> Any:
    return mark.get(name) if isinstance(mark, dict) else getattr(mark, name, None)


def _flag(
    frame: pd.DataFrame, disputes: dict, record_type: str, id_column: str = "record_id"
) -> pd.DataFrame:
    """Add ``disputed`` (bool) and ``dispute_days_left`` (int or None) to a frame of records."""
    found = [disputes.get((record_type, int(i))) for i in frame[id_column]] if len(frame) else []
    frame["disputed"] = [d is not None for d in found]
    frame["dispute_days_left"] = [d.get("days_left") if d else None for d in found]
    return frame


# ----------------------------------------------------------------------------------------- basic


@dataclass
class BasicFacts:
    """The ``basic`` scope: registration facts and the people, masked for the reader."""

    district_name: str
    district_name_en: str
    industry_name: str
    industry_name_en: str
    scale: str
    founded_on: Any
    years_in_business: int
    employees: int
    registered_capital: Decimal
    address: str | None
    legal_rep_name: str | None
    legal_rep_id_number: str | None
    contact_name: str | None
    contact_phone: str | None
    disputed: bool = False


@dataclass
class Ownership:
    """Who holds the enterprise (persons masked per the reader's level) and what it holds."""

    # record_id, holder_type, holder_name, holder_id_number, holder_credit_code, share_pct, since, disputed …
    shareholders: pd.DataFrame
    holdings: pd.DataFrame  # record_id, enterprise_name, credit_code, share_pct, since


def ownership(session: Session, enterprise_id: int, *, mask, disputes: dict, today: date) -> Ownership:
    """Current shareholdings of and by the enterprise; ``mask(name, id_number) -> (name, id_number)``."""
    current = (col(Shareholding.until).is_(None)) | (col(Shareholding.until) > today)
    holders = session.exec(
        select(Shareholding, Enterprise.name, Enterprise.credit_code)
        .outerjoin(Enterprise, col(Enterprise.id) == col(Shareholding.holder_enterprise_id))
        .where(Shareholding.enterprise_id == enterprise_id, current)
        .order_by(col(Shareholding.share_pct).desc(), col(Shareholding.id))
    ).all()
    rows = []
    for s, ent_name, ent_code in holders:
        person = _value(s.holder_type) == "person"
        name, id_number = (
            mask(s.holder_name, s.holder_id_number) if person else (ent_name or s.holder_name, None)
        )
        rows.append(
            {
                "record_id": s.id,
                "holder_type": _value(s.holder_type),
                "holder_name": name,
                "holder_id_number": id_number,
                "holder_credit_code": ent_code if not person else None,
                "share_pct": float(s.share_pct),
                "since": s.since,
            }
        )
    columns = [
        "record_id",
        "holder_type",
        "holder_name",
        "holder_id_number",
        "holder_credit_code",
        "share_pct",
        "since",
    ]
    shareholders = _flag(pd.DataFrame(rows, columns=columns), disputes, "shareholding")
    held = session.exec(
        select(Shareholding, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, col(Enterprise.id) == col(Shareholding.enterprise_id))
        .where(Shareholding.holder_enterprise_id == enterprise_id, current)
        .order_by(col(Shareholding.share_pct).desc(), col(Shareholding.id))
    ).all()
    holdings = pd.DataFrame(
        [
            {
                "record_id": s.id,
                "enterprise_name": n,
                "credit_code": c,
                "share_pct": float(s.share_pct),
                "since": s.since,
            }
            for s, n, c in held
        ],
        columns=["record_id", "enterprise_name", "credit_code", "share_pct", "since"],
    )
    return Ownership(shareholders=shareholders, holdings=holdings)


# ----------------------------------------------------------------------------------- government


@dataclass
class GovData:
    """The ``gov_records`` scope: a per-department summary, 24-month series and the events."""

    summary: pd.DataFrame  # source, records, latest_period, events, disputed
    series: pd.DataFrame  # month + one column per SERIES_KINDS (NaN where nothing was reported)
    events: pd.DataFrame  # record_id, period, source, kind, ref, value, text, disputed, dispute_days_left


def gov_data(session: Session, enterprise_id: int, *, disputes: dict) -> GovData:
    """Per department (source) summary, the monthly series for 24 months, and every event record."""
    counts = session.exec(
        select(GovRecord.source, GovRecord.kind, func.count(GovRecord.id), func.max(GovRecord.period))
        .where(GovRecord.enterprise_id == enterprise_id)
        .group_by(GovRecord.source, GovRecord.kind)
    ).all()
    disputed_ids = {rid for (rtype, rid) in disputes if rtype == "gov_record"}
    disputed_by_source: dict[str, int] = {}
    if disputed_ids:
        for source, n in session.exec(
            select(GovRecord.source, func.count(GovRecord.id))
            .where(GovRecord.enterprise_id == enterprise_id, col(GovRecord.id).in_(disputed_ids))
            .group_by(GovRecord.source)
        ).all():
            disputed_by_source[_value(source)] = int(n)
    summary: dict[str, dict[str, Any]] = {}
    for source, kind, n, latest in counts:
        key = _value(source)
        row = summary.setdefault(
            key, {"source": key, "records": 0, "latest_period": latest, "events": 0, "disputed": 0}
        )
        row["records"] += int(n)
        row["latest_period"] = max(row["latest_period"], latest)
        if kind not in SERIES_KINDS:
            row["events"] += int(n)
        row["disputed"] = disputed_by_source.get(key, 0)
    summary_frame = pd.DataFrame(
        sorted(summary.values(), key=lambda r: r["source"]),
        columns=["source", "records", "latest_period", "events", "disputed"],
    )
    events = session.exec(
        select(GovRecord)
        .where(GovRecord.enterprise_id == enterprise_id, col(GovRecord.kind).not_in(SERIES_KINDS))
        .order_by(col(GovRecord.period).desc(), col(GovRecord.id).desc())
        .limit(EVENTS_LIMIT)
    ).all()
    event_columns = ["record_id", "period", "source", "kind", "ref", "value", "text"]
    events_frame = pd.DataFrame(
        [[e.id, e.period, _value(e.source), e.kind, e.ref or "", e.value, e.text] for e in events],
        columns=event_columns,
    )
    return GovData(
        summary=summary_frame,
        series=monthly_series(session, enterprise_id),
        events=_flag(events_frame, disputes, "gov_record"),
    )


def monthly_series(session: Session, enterprise_id: int, months: int = SERIES_MONTHS) -> pd.DataFrame:
    """The monthly series, one column per kind, for the ``months`` months ending at the latest report."""
    columns = ["month", *SERIES_KINDS]
    latest = session.exec(
        select(func.max(GovRecord.period)).where(
            GovRecord.enterprise_id == enterprise_id, col(GovRecord.kind).in_(SERIES_KINDS)
        )
    ).first()
    if latest is None:
        return pd.DataFrame(columns=columns)
    start = (pd.Timestamp(latest).to_period("M") - (months - 1)).to_timestamp().date()
    rows = session.exec(
        select(GovRecord.period, GovRecord.kind, GovRecord.value).where(
            GovRecord.enterprise_id == enterprise_id,
            col(GovRecord.kind).in_(SERIES_KINDS),
            GovRecord.period >= start,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["period", "kind", "value"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame["month"] = pd.to_datetime(frame["period"]).dt.to_period("M").dt.to_timestamp()
    wide = frame.pivot_table(index="month", columns="kind", values="value", aggfunc="sum")
    all_months = pd.period_range(pd.Timestamp(start), pd.Timestamp(latest), freq="M").to_timestamp()
    wide = wide.reindex(index=all_months, columns=list(SERIES_KINDS))
    wide.index.name = "month"
    wide.columns.name = None
    return wide.reset_index()[columns]


# ------------------------------------------------------------------------------------ financials


def _ratio(top: Decimal | None, bottom: Decimal | None) -> float | None:
    if top is None or bottom is None or bottom == 0:
        return None
    return float(top) / float(bottom)


def financials(session: Session, enterprise_id: int, *, disputes: dict) -> pd.DataFrame:
    """One row per year (newest first), yuan, with debt ratio, current ratio and net margin."""
    items = [
        "revenue",
        "net_profit",
        "total_assets",
        "total_liabilities",
        "current_assets",
        "current_liabilities",
        "operating_cash_flow",
    ]
    statements = session.exec(
        select(FinancialStatement)
        .where(FinancialStatement.enterprise_id == enterprise_id)
        .order_by(col(FinancialStatement.year).desc())
    ).all()
    rows = [
        {
            "record_id": s.id,
            "year": s.year,
            **{item: getattr(s, item) for item in items},
            "debt_ratio": _ratio(s.total_liabilities, s.total_assets),
            "current_ratio": _ratio(s.current_assets, s.current_liabilities),
            "net_margin": _ratio(s.net_profit, s.revenue),
        }
        for s in statements
    ]
    frame = pd.DataFrame(
        rows, columns=["record_id", "year", *items, "debt_ratio", "current_ratio", "net_margin"]
    )
    return _flag(frame, disputes, "financial_statement")


# ---------------------------------------------------------------------------------------- credit


@dataclass
class CreditRating:
    """The ``credit`` scope's rating part: the latest score, its model and reasons, and the trend."""

    score: int | None
    grade: str | None
    pd: float | None
    rated_on: date | None
    status: str | None  # the breakdown's status (e.g. rated, insufficient_data), when recorded
    model_name: str | None
    model_version: str | None
    segment: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)  # code, feature, value, points_lost
    trend: pd.DataFrame = field(default_factory=pd.DataFrame)  # as_of, score, grade, pd


def rating(session: Session, enterprise_id: int) -> CreditRating:
    """The latest CreditScore (and its model) plus one score per rating date, oldest first."""
    scores = session.exec(
        select(CreditScore, ScoringModel)
        .outerjoin(ScoringModel, col(ScoringModel.id) == col(CreditScore.model_id))
        .where(CreditScore.enterprise_id == enterprise_id)
        .order_by(col(CreditScore.as_of), col(CreditScore.id))
    ).all()
    per_date: dict[date, CreditScore] = {}
    for score, _model in scores:
        per_date[score.as_of] = score  # the last rating of a day wins
    trend = pd.DataFrame(
        [
            {"as_of": s.as_of, "score": s.score, "grade": _value(s.grade), "pd": s.pd}
            for s in per_date.values()
        ],
        columns=["as_of", "score", "grade", "pd"],
    )
    if not scores:
        return CreditRating(None, None, None, None, None, None, None, None, [], trend)
    latest, model = scores[-1]
    breakdown = latest.breakdown or {}
    reasons = breakdown.get("reasons")
    if not isinstance(reasons, list):
        reasons = [
            {"code": code, "feature": None, "value": None, "points_lost": None}
            for code in latest.reason_codes or []
        ]
    described = breakdown.get("model") if isinstance(breakdown.get("model"), dict) else {}
    return CreditRating(
        score=latest.score,
        grade=_value(latest.grade),
        pd=latest.pd,
        rated_on=latest.as_of,
        status=breakdown.get("status"),
        model_name=(model.name if model else None) or described.get("name"),
        model_version=(model.model_version if model else None) or described.get("model_version"),
        segment=(model.segment if model else None) or described.get("segment"),
        reasons=[dict(r) for r in reasons if isinstance(r, dict)],
        trend=trend,
    )


@dataclass
class LoanHistory:
    """The ``credit`` scope's platform history: applications and loans, other lenders generalized."""

    applications: pd.DataFrame
    loans: pd.DataFrame
    loans_count: int
    loans_active: int
    outstanding: Decimal
    ever_defaulted: bool
    worst_dpd: int


APPLICATION_COLUMNS = [
    "application_id", "submitted_at", "own", "institution_name", "institution_kind", "product_name",
    "product_type", "amount_requested", "term_months", "status", "decided_at",
]  # fmt: skip
LOAN_COLUMNS = [
    "loan_id", "own", "institution_name", "institution_kind", "product_name", "product_type", "amount",
    "disbursed_at", "maturity_date", "status", "outstanding_principal", "worst_dpd",
]  # fmt: skip


def loan_history(session: Session, enterprise_id: int, *, own_family: set[int]) -> LoanHistory:
    """Applications and loans on the platform, newest first.

    Another institution's name and product name are withheld (``None``): the reader sees its kind
    (bank, guarantor …) and the product type, as credit reports generalize other lenders.
    """

    def lender(org: Organization | None, product: Product | None) -> dict[str, Any]:
        own = org is not None and org.id in own_family
        return {
            "own": own,
            "institution_name": org.name if own and org else None,
            "institution_kind": _value(org.kind) if org else None,
            "product_name": product.name if own and product else None,
            "product_type": _value(product.product_type) if product else None,
        }

    applications = session.exec(
        select(Application, Organization, Product)
        .outerjoin(Organization, col(Organization.id) == col(Application.institution_id))
        .outerjoin(Product, col(Product.id) == col(Application.product_id))
        .where(Application.enterprise_id == enterprise_id)
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
    ).all()
    app_rows = [
        {
            "application_id": a.id,
            "submitted_at": a.submitted_at,
            **lender(org, product),
            "amount_requested": a.amount_requested,
            "term_months": a.term_months,
            "status": _value(a.status),
            "decided_at": a.decided_at,
        }
        for a, org, product in applications
    ]
    worst = dict(
        session.exec(
            select(RepaymentInstallment.loan_id, func.max(RepaymentInstallment.days_past_due))
            .join(Loan, col(Loan.id) == col(RepaymentInstallment.loan_id))
            .where(Loan.enterprise_id == enterprise_id)
            .group_by(RepaymentInstallment.loan_id)
        ).all()
    )
    loans = session.exec(
        select(Loan, Organization, Product)
        .outerjoin(Organization, col(Organization.id) == col(Loan.institution_id))
        .outerjoin(Product, col(Product.id) == col(Loan.product_id))
        .where(Loan.enterprise_id == enterprise_id)
        .order_by(col(Loan.disbursed_at).desc(), col(Loan.id).desc())
    ).all()
    loan_rows = [
        {
            "loan_id": loan.id,
            **lender(org, product),
            "amount": loan.amount,
            "disbursed_at": loan.disbursed_at,
            "maturity_date": loan.maturity_date,
            "status": _value(loan.status),
            "outstanding_principal": loan.outstanding_principal,
            "worst_dpd": int(worst.get(loan.id) or 0),
        }
        for loan, org, product in loans
    ]
    statuses = [LoanStatus(loan.status) for loan, _, _ in loans]
    return LoanHistory(
        applications=pd.DataFrame(app_rows, columns=APPLICATION_COLUMNS),
        loans=pd.DataFrame(loan_rows, columns=LOAN_COLUMNS),
        loans_count=len(loans),
        loans_active=sum(1 for s in statuses if s in OPEN_LOAN),
        outstanding=sum(
            (loan.outstanding_principal for loan, _, _ in loans if LoanStatus(loan.status) in OPEN_LOAN),
            Decimal("0.00"),
        ),
        ever_defaulted=any(s in (LoanStatus.defaulted, LoanStatus.written_off) for s in statuses),
        worst_dpd=max((r["worst_dpd"] for r in loan_rows), default=0),
    )
