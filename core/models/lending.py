"""Matchmaking and lending around an application: product versions, dispatched leads and their SLA clock,
credit enhancement, document requests, recorded repayments and the first-loan center's appointments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, version_column
from core.models.types import JSONType, Money, UTCDateTime


class ProductVersion(SQLModel, table=True):
    """Table: every saved state of a product (created, edited, published, withdrawn) — its history."""

    __tablename__ = "product_version"
    __table_args__ = (UniqueConstraint("product_id", "product_version", name="uq_product_version"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    product_version: int = Field(ge=1)
    change: str = Field(max_length=20)  # created, edited, published, withdrawn
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    changed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    changed_at: datetime = created_at_field()


_LEAD_VERSION = version_column()


class Lead(SQLModel, table=True):
    """Table: one financing need dispatched to (or claimed by) one institution, with its SLA clock.

    Status: ``pending`` (waiting for a first response) → ``responded`` → ``applied`` (the enterprise
    applied through it) or ``declined``; ``expired`` when a clock ran out (escalated to the manager,
    and the need re-dispatched to the next eligible institution).
    """

    __tablename__ = "lead"
    __table_args__ = (
        UniqueConstraint("need_id", "institution_id", name="uq_lead_need_institution"),
        Index("ix_lead_institution_status", "institution_id", "status"),
    )
    __mapper_args__ = {"version_id_col": _LEAD_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="financing_need.id", index=True)
    institution_id: int = Field(foreign_key="organization.id")  # the branch the need was routed to
    product_id: int | None = Field(default=None, foreign_key="product.id")  # the best-fitting product
    channel: str = Field(default="dispatch", max_length=20)  # dispatch, claim, redispatch
    rank: int = 1
    fit_score: float | None = None
    status: str = Field(default="pending", max_length=20, index=True)
    officer_id: int | None = Field(default=None, foreign_key="user_account.id")
    dispatched_at: datetime = created_at_field()
    first_response_due: datetime = Field(sa_type=UTCDateTime, index=True)
    decision_due: datetime = Field(sa_type=UTCDateTime)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_note: str | None = Field(default=None, max_length=1000)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_LEAD_VERSION)


_ENHANCEMENT_VERSION = version_column()


class CreditEnhancement(SQLModel, table=True):
    """Table: a guarantee or insurance product attached to an application; its provider decides its part."""

    __tablename__ = "credit_enhancement"
    __table_args__ = (
        CheckConstraint("coverage_pct > 0 AND coverage_pct <= 100", name="coverage_range"),
        UniqueConstraint("application_id", "product_id", name="uq_enhancement_product"),
    )
    __mapper_args__ = {"version_id_col": _ENHANCEMENT_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    provider_id: int = Field(foreign_key="organization.id", index=True)  # guarantee company or insurer
    coverage_pct: Decimal = Field(max_digits=5, decimal_places=2)
    fee_rate: Decimal | None = Field(default=None, max_digits=7, decimal_places=4)  # annual percent
    status: str = Field(default="pending", max_length=20)  # pending, approved, declined, withdrawn
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = created_at_field()
    version: int = Field(default=1, sa_column=_ENHANCEMENT_VERSION)


class ApplicationDocument(SQLModel, table=True):
    """Table: a document an officer asked for, and the file the enterprise uploaded (PDF or image only).

    The bytes are kept as data and only ever served back as a download with their checked type; they
    are never rendered as HTML or executed.
    """

    __tablename__ = "application_document"
    __table_args__ = (CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_non_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    requested_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    request_note: str = Field(max_length=500)
    status: str = Field(default="requested", max_length=20)  # requested, uploaded, accepted
    filename: str | None = Field(default=None, max_length=200)
    content_type: str | None = Field(default=None, max_length=60)  # application/pdf, image/png, image/jpeg
    size_bytes: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    requested_at: datetime = created_at_field()
    uploaded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Repayment(SQLModel, table=True):
    """Table: one payment recorded against a loan and where it went (idempotent on its key)."""

    __tablename__ = "repayment"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    paid_on: date
    prepay: bool = False
    to_interest: Decimal = Field(sa_type=Money)
    to_principal: Decimal = Field(sa_type=Money)
    prepaid_principal: Decimal = Field(sa_type=Money)
    unapplied: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    recorded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    idempotency_key: str = Field(max_length=80, unique=True)
    created_at: datetime = created_at_field()


class Appointment(SQLModel, table=True):
    """Table: an enterprise's booking at one of the service hall's windows (first-loan center).

    No double booking: at most one ``booked`` appointment per window and slot (a partial unique index
    on both databases).
    """

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("window_no >= 1", name="window_positive"),
        Index(
            "uq_appointment_window_slot_booked",
            "window_no",
            "slot_start",
            unique=True,
            postgresql_where=text("status = 'booked'"),
            sqlite_where=text("status = 'booked'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    window_no: int
    slot_start: datetime = Field(sa_type=UTCDateTime, index=True)
    slot_minutes: int = 30
    topic: str = Field(default="first_loan", max_length=40)
    note: str | None = Field(default=None, max_length=500)
    status: str = Field(default="booked", max_length=20)  # booked, cancelled, attended, no_show
    guidance_note: str | None = Field(default=None, max_length=1000)  # what the window staff advised
    booked_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    idempotency_key: str | None = Field(default=None, max_length=80, unique=True)
    created_at: datetime = created_at_field()
    attended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
