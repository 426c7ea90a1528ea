"""Read side: plain aggregate queries for dashboards, the ledger and the wall (bypasses write models).

Every function is a read use case guarded by ``Permission.platform_stats`` and memoized across
processes in ``core.cache`` (the results are platform-wide aggregates, never private rows).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, select

from core import cache
from core.auth import Actor, Permission
from core.models import Application, Enterprise, FinancingNeed, Loan, Organization, Product
from core.models.types import LoanStatus, NeedStatus, OrgKind, ProductStatus
from core.reference import districts
from core.usecase import UnitOfWork, use_case

FINANCIAL_KINDS = (OrgKind.bank, OrgKind.guarantee, OrgKind.insurer, OrgKind.leasing)
TREND_COLUMNS = ["month", "applications", "loans", "amount_yuan", "first_loans"]
DISTRICT_COLUMNS = [
    "district_code",
    "name",
    "name_en",
    "tile_col",
    "tile_row",
    "enterprises",
    "loans",
    "amount_yuan",
    "first_loans",
]


def _month_bucket(session: Session, column):
    """The first day of ``column``'s month (Asia/Shanghai is UTC+8; bucketing in UTC differs by hours)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("month", column), "YYYY-MM-01")
    return func.strftime("%Y-%m-01", column)


def _scalar(session: Session, statement) -> Any:
    return session.exec(statement).one()


def _kpis(session: Session) -> dict[str, Any]:
    loan_row = session.exec(
        select(
            func.count(Loan.id),
            func.coalesce(func.sum(Loan.amount), 0),
            func.coalesce(func.sum(Loan.amount * Loan.annual_rate), 0),
        )
    ).one()
    first_row = session.exec(
        select(func.count(Loan.id), func.coalesce(func.sum(Loan.amount), 0)).where(Loan.is_first_loan)
    ).one()
    loans, granted, weighted_rate = loan_row
    granted_dec = Decimal(str(granted)).quantize(Decimal("0.01"))
    return {
        "enterprises": _scalar(session, select(func.count(Enterprise.id))),
        "institutions": _scalar(
            session,
            select(func.count(Organization.id)).where(
                Organization.kind.in_(FINANCIAL_KINDS), Organization.parent_id.is_(None)
            ),
        ),
        "products_published": _scalar(
            session, select(func.count(Product.id)).where(Product.status == ProductStatus.published)
        ),
        "needs": _scalar(
            session, select(func.count(FinancingNeed.id)).where(FinancingNeed.status != NeedStatus.draft)
        ),
        "applications": _scalar(session, select(func.count(Application.id))),
        "loans": int(loans),
        "credit_granted_yuan": granted_dec,
        "first_loans": int(first_row[0]),
        "first_loan_amount_yuan": Decimal(str(first_row[1])).quantize(Decimal("0.01")),
        "avg_rate_pct": float(weighted_rate) / float(granted) if granted else 0.0,
        "overdue_loans": _scalar(
            session, select(func.count(Loan.id)).where(Loan.status == LoanStatus.overdue)
        ),
        "defaulted_loans": _scalar(
            session,
            select(func.count(Loan.id)).where(
                Loan.status.in_((LoanStatus.defaulted, LoanStatus.written_off))
            ),
        ),
        "as_of": datetime.now(UTC),
    }


@use_case(Permission.platform_stats)
def platform_kpis(uow: UnitOfWork, *, actor: Actor) -> dict[str, Any]:
    """Headline counters of the whole platform (enterprises, institutions, credit granted …)."""
    return cache.get_or_compute("platform_kpis", (), lambda: _kpis(uow.session))


def _trend(session: Session, months: int) -> pd.DataFrame:
    app_month = _month_bucket(session, Application.submitted_at)
    loan_month = _month_bucket(session, Loan.disbursed_at)
    apps = pd.DataFrame(
        session.exec(select(app_month, func.count(Application.id)).group_by(app_month)).all(),
        columns=["month", "applications"],
    )
    loans = pd.DataFrame(
        session.exec(
            select(
                loan_month,
                func.count(Loan.id),
                func.coalesce(func.sum(Loan.amount), 0),
                func.count(Loan.id).filter(Loan.is_first_loan),
            ).group_by(loan_month)
        ).all(),
        columns=["month", "loans", "amount_yuan", "first_loans"],
    )
    if apps.empty and loans.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in TREND_COLUMNS}).astype(
            {"month": "datetime64[ns]"}
        )
    frame = pd.merge(apps, loans, on="month", how="outer")
    frame["month"] = pd.to_datetime(frame["month"])
    frame = frame.sort_values("month")
    end = frame["month"].max()
    months_index = pd.date_range(end=end, periods=months, freq="MS")
    frame = frame.set_index("month").reindex(months_index).fillna(0).rename_axis("month").reset_index()
    frame["amount_yuan"] = frame["amount_yuan"].astype(float)
    for column in ("applications", "loans", "first_loans"):
        frame[column] = frame[column].astype(int)
    return frame[TREND_COLUMNS]


@use_case(Permission.platform_stats)
def monthly_trend(uow: UnitOfWork, *, actor: Actor, months: int = 24) -> pd.DataFrame:
    """Applications, loans, amount lent and first loans per calendar month, the last ``months`` months."""
    months = max(1, min(int(months), 120))
    return cache.get_or_compute("monthly_trend", (months,), lambda: _trend(uow.session, months))


def _districts(session: Session) -> pd.DataFrame:
    enterprises = pd.DataFrame(
        session.exec(
            select(Enterprise.district_code, func.count(Enterprise.id)).group_by(Enterprise.district_code)
        ).all(),
        columns=["district_code", "enterprises"],
    )
    loans = pd.DataFrame(
        session.exec(
            select(
                Enterprise.district_code,
                func.count(Loan.id),
                func.coalesce(func.sum(Loan.amount), 0),
                func.count(Loan.id).filter(Loan.is_first_loan),
            )
            .join(Enterprise, Enterprise.id == Loan.enterprise_id)
            .group_by(Enterprise.district_code)
        ).all(),
        columns=["district_code", "loans", "amount_yuan", "first_loans"],
    )
    ref = districts()[["code", "name", "name_en", "tile_col", "tile_row"]].rename(
        columns={"code": "district_code"}
    )
    frame = ref.merge(enterprises, on="district_code", how="left").merge(
        loans, on="district_code", how="left"
    )
    frame[["enterprises", "loans", "first_loans"]] = (
        frame[["enterprises", "loans", "first_loans"]].fillna(0).astype(int)
    )
    frame["amount_yuan"] = frame["amount_yuan"].fillna(0).astype(float)
    return (
        frame[DISTRICT_COLUMNS]
        .sort_values("amount_yuan", ascending=False, kind="stable")
        .reset_index(drop=True)
    )


@use_case(Permission.platform_stats)
def district_breakdown(uow: UnitOfWork, *, actor: Actor) -> pd.DataFrame:
    """Enterprises, loans, amount lent and first loans per district, with tile-map positions."""
    return cache.get_or_compute("district_breakdown", (), lambda: _districts(uow.session))
