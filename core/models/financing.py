"""Financing: needs, applications and their events, loans and repayment installments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field, version_column
from core.models.types import (
    ApplicationStatus,
    InstallmentStatus,
    LoanStatus,
    Money,
    NeedStatus,
    RepaymentMethod,
    UTCDateTime,
    enum_column,
)


class FinancingNeedBase(SQLModel):
    """Fields an enterprise fills in when it publishes a financing need."""

    amount: Decimal = Field(gt=0, sa_type=Money)
    term_months: int = Field(ge=1, le=360)
    purpose: str = Field(min_length=2, max_length=200)
    max_rate: Decimal | None = Field(default=None, ge=0, le=36, max_digits=7, decimal_places=4)
    accepts_collateral: bool = False
    dispatch_limit: int = Field(default=3, ge=1, le=10, sa_column_kwargs={"server_default": "3"})  # at most K


class FinancingNeedCreate(FinancingNeedBase):
    """Input for a new need."""


class FinancingNeedPublic(FinancingNeedBase):
    """A need as services return it."""

    id: int
    enterprise_id: int
    status: NeedStatus = Field(sa_type=enum_column(NeedStatus))
    version: int


_NEED_VERSION = version_column()


class FinancingNeed(FinancingNeedBase, table=True):
    """Table: a financing need published by an enterprise and dispatched to institutions."""

    __tablename__ = "financing_need"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)
    __mapper_args__ = {"version_id_col": _NEED_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    status: NeedStatus = Field(default=NeedStatus.draft, index=True, sa_type=enum_column(NeedStatus))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, max_length=80, unique=True)
    version: int = Field(default=1, sa_column=_NEED_VERSION)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ApplicationBase(SQLModel):
    """Fields an enterprise fills in when it applies for a product."""

    amount_requested: Decimal = Field(gt=0, sa_type=Money)
    term_months: int = Field(ge=1, le=360)


class ApplicationCreate(ApplicationBase):
    """Input for a new application."""

    product_id: int
    need_id: int | None = None


class ApplicationPublic(ApplicationBase):
    """An application as services return it."""

    id: int
    enterprise_id: int
    product_id: int
    institution_id: int
    status: ApplicationStatus = Field(sa_type=enum_column(ApplicationStatus))
    version: int


_APP_VERSION = version_column()


class Application(ApplicationBase, table=True):
    """Table: an enterprise's application for one product, moving through the lifecycle state machine."""

    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint("amount_requested > 0", name="amount_positive"),
        CheckConstraint("approved_amount IS NULL OR approved_amount > 0", name="approved_positive"),
        Index("ix_application_institution_status", "institution_id", "status"),
    )
    __mapper_args__ = {"version_id_col": _APP_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    institution_id: int = Field(foreign_key="organization.id", index=True)  # denormalized for row rules
    need_id: int | None = Field(default=None, foreign_key="financing_need.id", index=True)
    status: ApplicationStatus = Field(
        default=ApplicationStatus.submitted, index=True, sa_type=enum_column(ApplicationStatus)
    )
    officer_id: int | None = Field(default=None, foreign_key="user_account.id")
    proposed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    lead_id: int | None = Field(default=None, foreign_key="lead.id")
    proposed_action: str | None = Field(default=None, max_length=20)  # approve, reject (maker's proposal)
    proposed_amount: Decimal | None = Field(default=None, sa_type=Money)
    proposed_rate: Decimal | None = Field(default=None, max_digits=7, decimal_places=4)
    proposal_note: str | None = Field(default=None, max_length=1000)
    proposed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_amount: Decimal | None = Field(default=None, sa_type=Money)
    approved_rate: Decimal | None = Field(default=None, max_digits=7, decimal_places=4)
    decision_reason_code: str | None = Field(default=None, max_length=40)
    decision_text: str | None = Field(default=None, max_length=1000)
    submitted_at: datetime = created_at_field()
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, max_length=80, unique=True)
    version: int = Field(default=1, sa_column=_APP_VERSION)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ApplicationEvent(SQLModel, table=True):
    """Table: one state transition of an application, with who made it and when."""

    __tablename__ = "application_event"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    from_status: ApplicationStatus | None = Field(default=None, sa_type=enum_column(ApplicationStatus))
    to_status: ApplicationStatus = Field(sa_type=enum_column(ApplicationStatus))
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str | None = Field(default=None, max_length=1000)
    occurred_at: datetime = created_at_field()


_LOAN_VERSION = version_column()


class Loan(SQLModel, table=True):
    """Table: money actually lent on an approved application."""

    __tablename__ = "loan"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("outstanding_principal >= 0", name="outstanding_non_negative"),
        CheckConstraint("annual_rate >= 0", name="rate_non_negative"),
        Index("ix_loan_institution_status", "institution_id", "status"),
    )
    __mapper_args__ = {"version_id_col": _LOAN_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    institution_id: int = Field(foreign_key="organization.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    annual_rate: Decimal = Field(max_digits=7, decimal_places=4)  # percent
    term_months: int = Field(ge=1, le=360)
    repayment_method: RepaymentMethod = Field(sa_type=enum_column(RepaymentMethod))
    frequency: str = Field(default="monthly", max_length=10, sa_column_kwargs={"server_default": "monthly"})
    paused_until: date | None = None  # agreed restructuring or repayment holiday: overdue rules pause
    is_pure_credit: bool = True  # 纯信用 versus secured
    is_first_loan: bool = Field(default=False, index=True)  # 首贷
    disbursed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    maturity_date: date
    status: LoanStatus = Field(default=LoanStatus.active, index=True, sa_type=enum_column(LoanStatus))
    outstanding_principal: Decimal = Field(sa_type=Money)
    defaulted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_LOAN_VERSION)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RepaymentInstallment(SQLModel, table=True):
    """Table: one scheduled repayment of a loan and what was actually paid against it."""

    __tablename__ = "repayment_installment"
    __table_args__ = (
        UniqueConstraint("loan_id", "seq", name="uq_installment_seq"),
        CheckConstraint("principal_due >= 0 AND interest_due >= 0", name="due_non_negative"),
        CheckConstraint("paid_amount >= 0", name="paid_non_negative"),
        CheckConstraint("days_past_due >= 0", name="dpd_non_negative"),
        Index("ix_installment_due_status", "due_date", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    seq: int = Field(ge=1)
    due_date: date
    principal_due: Decimal = Field(sa_type=Money)
    interest_due: Decimal = Field(sa_type=Money)
    paid_amount: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    principal_paid: Decimal = Field(default=Decimal("0.00"), sa_type=Money, sa_column_kwargs={"server_default": "0"})
    interest_paid: Decimal = Field(default=Decimal("0.00"), sa_type=Money, sa_column_kwargs={"server_default": "0"})
    paid_on: date | None = None
    days_past_due: int = 0
    status: InstallmentStatus = Field(
        default=InstallmentStatus.scheduled, sa_type=enum_column(InstallmentStatus)
    )
