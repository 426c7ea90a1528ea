"""Enterprises and what the government knows of them: shareholdings, records, financial statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import field_validator
from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field, version_column
from core.models.types import GovSource, HolderType, JSONType, Money, Scale, enum_column
from core.validators import validate_credit_code


class EnterpriseBase(SQLModel):
    """Fields shared by every enterprise shape; validated whenever a Create/Update model is built."""

    credit_code: str = Field(min_length=18, max_length=18)  # unified social credit code, GB 32100-2015
    name: str = Field(min_length=2, max_length=120)
    district_code: str = Field(max_length=20, index=True)
    industry_section: str = Field(min_length=1, max_length=1, index=True)  # GB/T 4754-2017 门类 A–T
    industry_division: str = Field(min_length=2, max_length=2)  # GB/T 4754-2017 大类, two digits
    scale: Scale = Field(index=True, sa_type=enum_column(Scale))  # MIIT 2011 工信部联企业〔2011〕300号
    founded_on: date
    registered_capital: Decimal = Field(ge=0, sa_type=Money)  # yuan
    employees: int = Field(ge=0)
    legal_rep_name: str = Field(max_length=40)
    legal_rep_id_number: str | None = Field(default=None, max_length=18)
    contact_name: str | None = Field(default=None, max_length=40)
    contact_phone: str | None = Field(default=None, max_length=30)
    address: str | None = Field(default=None, max_length=200)
    has_had_loan: bool = Field(default=False, index=True)

    @field_validator("credit_code")
    @classmethod
    def _check_credit_code(cls, value: str) -> str:
        validate_credit_code(value)
        return value


class EnterpriseCreate(EnterpriseBase):
    """Input for registering an enterprise."""


class EnterpriseUpdate(SQLModel):
    """Changes to an enterprise; applied with model_dump(exclude_unset=True)."""

    name: str | None = Field(default=None, min_length=2, max_length=120)
    district_code: str | None = None
    employees: int | None = Field(default=None, ge=0)
    contact_name: str | None = None
    contact_phone: str | None = None
    address: str | None = None


class EnterprisePublic(EnterpriseBase):
    """An enterprise as services return it."""

    id: int
    version: int


_VERSION = version_column()


class Enterprise(EnterpriseBase, table=True):
    """Table: one micro, small or medium enterprise, keyed by its unified social credit code."""

    __tablename__ = "enterprise"
    __table_args__ = (
        CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        CheckConstraint("registered_capital >= 0", name="capital_non_negative"),
        CheckConstraint("employees >= 0", name="employees_non_negative"),
    )
    __mapper_args__ = {"version_id_col": _VERSION}

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(max_length=18, unique=True)
    version: int = Field(default=1, sa_column=_VERSION)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class Shareholding(SQLModel, table=True):
    """Table: who holds how much of an enterprise, and since when (a person or another enterprise)."""

    __tablename__ = "shareholding"
    __table_args__ = (
        CheckConstraint("share_pct > 0 AND share_pct <= 100", name="share_pct_range"),
        CheckConstraint(
            "(holder_type = 'enterprise' AND holder_enterprise_id IS NOT NULL) OR holder_type = 'person'",
            name="enterprise_holder_has_id",
        ),
        UniqueConstraint(
            "enterprise_id", "holder_type", "holder_name", "since", name="uq_shareholding_holder"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)  # the company held
    holder_type: HolderType = Field(sa_type=enum_column(HolderType))
    holder_enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    holder_name: str = Field(max_length=120)
    holder_id_number: str | None = Field(default=None, max_length=18)  # a person's ID card number
    share_pct: Decimal = Field(max_digits=7, decimal_places=4)
    since: date
    until: date | None = None


class GovRecord(SQLModel, table=True):
    """Table: one fact from a government department, as a time series per (source, kind).

    Monthly series (kind = tax_paid, si_headcount, hf_contributors, electricity_kwh, water_t, gas_m3)
    carry ``value``; events (judicial_case, dishonest_executee, penalty, abnormal_operation, arrears,
    registration_change, commendation, blacklist, tax_grade) carry ``value`` and/or ``text`` and ``detail``.
    ``ref`` distinguishes several events of one kind in one period (e.g. a case number).
    """

    __tablename__ = "gov_record"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "source", "kind", "period", "ref", name="uq_gov_record_fact"),
        Index("ix_gov_record_source_kind_period", "source", "kind", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    source: GovSource = Field(sa_type=enum_column(GovSource))
    kind: str = Field(max_length=40)
    period: date
    ref: str = Field(default="", max_length=60)
    value: float | None = None
    text: str | None = Field(default=None, max_length=200)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    received_at: datetime = created_at_field()


class FinancialStatement(SQLModel, table=True):
    """Table: one enterprise's yearly financial statement summary, in yuan."""

    __tablename__ = "financial_statement"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "year", name="uq_financial_statement_year"),
        CheckConstraint("total_assets >= 0", name="assets_non_negative"),
        CheckConstraint("revenue >= 0", name="revenue_non_negative"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    year: int = Field(ge=1990, le=2100)
    revenue: Decimal = Field(sa_type=Money)
    net_profit: Decimal = Field(sa_type=Money)
    total_assets: Decimal = Field(sa_type=Money)
    total_liabilities: Decimal = Field(sa_type=Money)
    total_equity: Decimal | None = Field(default=None, sa_type=Money)  # 所有者权益合计, when reported
    current_assets: Decimal = Field(sa_type=Money)
    current_liabilities: Decimal = Field(sa_type=Money)
    operating_cash_flow: Decimal = Field(sa_type=Money)
    received_at: datetime = created_at_field()
