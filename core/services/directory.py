"""Directory reads: who is on the platform (enterprises, institutions, demo identities) and profiles.

The row rules (an enterprise user reads only its own enterprise; institution staff only their own
institution's family; regulators and the operator everything) live in ``core.auth.rules``; they are
re-exported here under their old names for the services that import them from this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core import reference
from core.auth import Actor, Permission, Role
from core.auth.rules import INSTITUTION_KINDS as INSTITUTION_KINDS
from core.auth.rules import assert_enterprise_access as assert_enterprise_access
from core.auth.rules import assert_institution_access as assert_institution_access
from core.auth.rules import institution_ancestors as institution_ancestors
from core.auth.rules import institution_descendants as institution_descendants
from core.auth.rules import institution_family as institution_family
from core.auth.rules import reads_everything as reads_everything
from core.config import get_settings
from core.db import check_schema, session_scope
from core.errors import DatabaseNotReadyError, ForbiddenError, NotFoundError
from core.matching import years_in_business
from core.models import (
    Enterprise,
    FinancialStatement,
    GovRecord,
    Loan,
    Organization,
    OrganizationPublic,
    User,
)
from core.models.types import OrgKind, Scale
from core.usecase import use_case

# Which demo identities each app's picker offers (the roles of the seeded demo users).
DEMO_ROLE_GROUPS: dict[str, frozenset[str]] = {
    "enterprise": frozenset({Role.enterprise_user, Role.enterprise_admin}),
    "bank": frozenset(
        {Role.bank_officer, Role.bank_manager, Role.bank_admin, Role.guarantee_staff, Role.insurer_staff}
    ),
    "regulator": frozenset({Role.regulator_analyst, Role.regulator_admin, Role.operator}),
}

# GovRecord monthly series shown on the enterprise profile.
PROFILE_SERIES = ("tax_paid", "electricity_kwh", "si_headcount")


def today_local() -> date:
    """Today in the platform's display time zone (the date users think in)."""
    return datetime.now(ZoneInfo(get_settings().display_timezone)).date()


# ---------------------------------------------------------------------------------------------
# Loading (helpers receive the session; the calling use case owns the transaction)
# ---------------------------------------------------------------------------------------------


def load_institution(session: Session, institution_id: int) -> Organization:
    org = session.get(Organization, institution_id)
    if org is None or org.kind not in INSTITUTION_KINDS:
        raise NotFoundError("error.not_found")
    return org


# ---------------------------------------------------------------------------------------------
# Readiness and demo identities
# ---------------------------------------------------------------------------------------------


def ensure_database_ready() -> None:
    """Raise DatabaseNotReadyError (with a key saying what to run) unless the database is migrated and seeded."""
    check_schema()
    with session_scope() as session:
        if not session.exec(select(Organization.id).limit(1)).first():
            raise DatabaseNotReadyError("error.database_empty")


@dataclass(frozen=True)
class DemoIdentity:
    """A seeded demo user offered by an app's identity picker."""

    user_id: int
    display_name: str
    organization_id: int
    organization_name: str
    organization_name_en: str | None
    roles: tuple[str, ...]


def demo_identities(*, app: str, search: str | None = None, limit: int = 50) -> list[DemoIdentity]:
    """The active seeded users an app's demo picker may act as (refused in production).

    This replaces sign-in for the walking skeleton only; OIDC sign-in supersedes it.

    Args:
        app: "enterprise", "bank" or "regulator" — which roles to offer.
        search: optional text matched against the user's and the organization's names.
        limit: at most this many identities.
    """
    if get_settings().jinfu_env == "production":
        raise ForbiddenError("error.forbidden")
    wanted = DEMO_ROLE_GROUPS.get(app)
    if wanted is None:
        raise NotFoundError("error.not_found")
    with session_scope() as session:
        query = (
            select(User, Organization)
            .join(Organization, col(Organization.id) == col(User.organization_id))
            .where(col(User.is_active).is_(True))
            .order_by(
                col(Organization.kind),
                col(Organization.parent_id).is_not(None),  # head offices before branches
                col(Organization.name),
                col(User.id),
            )
        )
        if search:
            pattern = f"%{search.strip()}%"
            query = query.where(
                or_(col(Organization.name).like(pattern), col(User.display_name).like(pattern))
            )
        found: list[DemoIdentity] = []
        for user, org in session.exec(query):
            if not wanted.intersection(user.roles or []):
                continue
            found.append(
                DemoIdentity(
                    user_id=int(user.id),
                    display_name=user.display_name,
                    organization_id=int(org.id),
                    organization_name=org.name,
                    organization_name_en=org.name_en,
                    roles=tuple(user.roles or []),
                )
            )
            if len(found) >= limit:
                break
        return found


def demo_actor(*, user_id: int, locale: str = "zh_CN") -> Actor:
    """Build the Actor of seeded user ``user_id`` (demo sign-in only; refused in production)."""
    if get_settings().jinfu_env == "production":
        raise ForbiddenError("error.forbidden")
    with session_scope() as session:
        user = session.get(User, user_id)
        if user is None or not user.is_active:
            raise NotFoundError("error.not_found")
        org = session.get(Organization, user.organization_id)
        return Actor(
            user_id=int(user.id),
            label=user.display_name,
            roles=frozenset(user.roles or []),
            organization_id=user.organization_id,
            enterprise_id=org.enterprise_id if org is not None else None,
            locale=locale,
        )


# ---------------------------------------------------------------------------------------------
# Enterprises
# ---------------------------------------------------------------------------------------------


class EnterpriseSummary(BaseModel):
    """One line of an enterprise list."""

    id: int
    name: str
    credit_code: str
    district_code: str
    industry_section: str
    scale: Scale
    has_had_loan: bool


@use_case(permission=Permission.enterprise_list)
def list_demo_enterprises(
    uow, *, actor: Actor, search: str | None = None, limit: int = 50
) -> list[EnterpriseSummary]:
    """Enterprises by name or credit code (regulators' pickers and look-ups).

    Args:
        search: optional text matched against the name or the unified social credit code.
        limit: at most this many rows (1–500).
    """
    limit = max(1, min(int(limit), 500))
    query = select(Enterprise).order_by(col(Enterprise.name)).limit(limit)
    if search:
        pattern = f"%{search.strip()}%"
        query = query.where(
            or_(col(Enterprise.name).like(pattern), col(Enterprise.credit_code).like(pattern))
        )
    return [EnterpriseSummary.model_validate(e, from_attributes=True) for e in uow.session.exec(query)]


class FinancialSummary(BaseModel):
    """The latest yearly financial statement, in yuan."""

    year: int
    revenue: Decimal
    net_profit: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    operating_cash_flow: Decimal

    @property
    def debt_ratio_pct(self) -> float | None:
        if not self.total_assets:
            return None
        return float(self.total_liabilities / self.total_assets * 100)


@dataclass
class EnterpriseProfile:
    """What the enterprise's own profile page shows (no personal ID numbers)."""

    id: int
    name: str
    credit_code: str
    district_code: str
    district_name: str
    district_name_en: str
    industry_section: str
    industry_division: str
    industry_name: str
    industry_name_en: str
    scale: Scale
    founded_on: date
    years_in_business: int
    employees: int
    registered_capital: Decimal
    legal_rep_name: str
    address: str | None
    has_had_loan: bool
    loans_count: int
    latest_statement: FinancialSummary | None
    # Monthly series: columns month (Timestamp), tax_paid, electricity_kwh, si_headcount (NaN if absent).
    series: pd.DataFrame = field(default_factory=pd.DataFrame)


def _industry_names(section: str, division: str) -> tuple[str, str]:
    """Chinese and English names of an industry division (or its section), falling back to the code."""
    try:
        table = reference.industries()
        row = table[table["division"] == division]
        if not row.empty:
            return str(row.iloc[0]["name"]), str(row.iloc[0].get("name_en", row.iloc[0]["name"]))
        sections = reference.industry_sections()
        row = sections[sections["section"] == section]
        if not row.empty:
            return str(row.iloc[0]["name"]), str(row.iloc[0].get("name_en", row.iloc[0]["name"]))
    except (FileNotFoundError, KeyError):
        pass
    return section, section


def _monthly_series(session: Session, enterprise_id: int, months: int = 12) -> pd.DataFrame:
    latest = session.exec(
        select(func.max(GovRecord.period)).where(
            GovRecord.enterprise_id == enterprise_id, col(GovRecord.kind).in_(PROFILE_SERIES)
        )
    ).first()
    columns = ["month", *PROFILE_SERIES]
    if latest is None:
        return pd.DataFrame(columns=columns)
    start = (pd.Timestamp(latest).to_period("M") - (months - 1)).to_timestamp().date()
    rows = session.exec(
        select(GovRecord.period, GovRecord.kind, GovRecord.value).where(
            GovRecord.enterprise_id == enterprise_id,
            col(GovRecord.kind).in_(PROFILE_SERIES),
            GovRecord.period >= start,
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["period", "kind", "value"])
    frame["month"] = pd.to_datetime(frame["period"]).dt.to_period("M").dt.to_timestamp()
    wide = frame.pivot_table(index="month", columns="kind", values="value", aggfunc="sum")
    all_months = pd.period_range(pd.Timestamp(start), pd.Timestamp(latest), freq="M").to_timestamp()
    wide = wide.reindex(index=all_months, columns=list(PROFILE_SERIES))
    wide.index.name = "month"
    wide.columns.name = None
    return wide.reset_index()[columns]


@use_case(permission=None)
def enterprise_profile(uow, *, actor: Actor, enterprise_id: int) -> EnterpriseProfile:
    """An enterprise's basic facts, latest financial statement and 12-month government-data series.

    Args:
        enterprise_id: the enterprise to read; an enterprise user may read only its own,
            regulators and the operator any.

    Raises:
        ForbiddenError: the actor may not read this enterprise.
        NotFoundError: no such enterprise.
    """
    assert_enterprise_access(actor, enterprise_id)
    return _profile(uow.session, enterprise_id)


def _profile(session: Session, enterprise_id: int) -> EnterpriseProfile:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFoundError("error.not_found")
    loans = session.exec(select(func.count(Loan.id)).where(Loan.enterprise_id == enterprise_id)).one()
    statement = session.exec(
        select(FinancialStatement)
        .where(FinancialStatement.enterprise_id == enterprise_id)
        .order_by(col(FinancialStatement.year).desc())
        .limit(1)
    ).first()
    industry_zh, industry_en = _industry_names(ent.industry_section, ent.industry_division)
    return EnterpriseProfile(
        id=int(ent.id),
        name=ent.name,
        credit_code=ent.credit_code,
        district_code=ent.district_code,
        district_name=reference.district_name(ent.district_code, "zh_CN"),
        district_name_en=reference.district_name(ent.district_code, "en"),
        industry_section=ent.industry_section,
        industry_division=ent.industry_division,
        industry_name=industry_zh,
        industry_name_en=industry_en,
        scale=Scale(ent.scale),
        founded_on=ent.founded_on,
        years_in_business=years_in_business(ent.founded_on, today_local()),
        employees=ent.employees,
        registered_capital=ent.registered_capital,
        legal_rep_name=ent.legal_rep_name,
        address=ent.address,
        has_had_loan=bool(ent.has_had_loan or loans),
        loans_count=int(loans),
        latest_statement=(
            FinancialSummary.model_validate(statement, from_attributes=True)
            if statement is not None
            else None
        ),
        series=_monthly_series(session, enterprise_id),
    )


# ---------------------------------------------------------------------------------------------
# Institutions
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.products_browse)
def list_institutions(
    uow, *, actor: Actor, kinds: Iterable[OrgKind | str] | None = None
) -> list[OrganizationPublic]:
    """Active financial institutions (public directory information), head offices before branches.

    Args:
        kinds: restrict to these organization kinds (default: banks, guarantors, insurers, lessors).
    """
    wanted = [OrgKind(k) for k in kinds] if kinds else list(INSTITUTION_KINDS)
    query = (
        select(Organization)
        .where(col(Organization.kind).in_(wanted), col(Organization.is_active).is_(True))
        .order_by(col(Organization.parent_id).is_not(None), col(Organization.name))
    )
    return [OrganizationPublic.model_validate(o, from_attributes=True) for o in uow.session.exec(query)]


@use_case(permission=None)
def get_organization(uow, *, actor: Actor, organization_id: int) -> OrganizationPublic:
    """One organization's public directory entry (name, kind, district)."""
    org = uow.session.get(Organization, organization_id)
    if org is None:
        raise NotFoundError("error.not_found")
    return OrganizationPublic.model_validate(org, from_attributes=True)
