"""Column types shared by every table: timezone-aware UTC datetimes, money, JSON and enums."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Numeric, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB

MONEY_DIGITS = 18
MONEY_PLACES = 2
CENT = Decimal("0.01")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_money(value: Decimal | float | int | str) -> Decimal:
    """Exact cents, rounded half up (the banking convention)."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a timezone-aware value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """Yuan with exact cents: NUMERIC(18,2) on PostgreSQL, read back as Decimal on both databases."""

    impl = Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        money = to_money(value)
        # SQLite has no decimal type: it stores the number as REAL (exact to the cent below 10**13 yuan);
        # reads are quantized back to cents.
        return float(money) if dialect.name == "sqlite" else money

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return to_money(value)


# JSON that is JSONB on PostgreSQL (indexable) and plain JSON elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class OrgKind(StrEnum):
    enterprise = "enterprise"
    bank = "bank"
    guarantee = "guarantee"
    insurer = "insurer"
    leasing = "leasing"
    regulator = "regulator"
    operator = "operator"


class Scale(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class HolderType(StrEnum):
    person = "person"
    enterprise = "enterprise"


class GovSource(StrEnum):
    market = "market"  # market regulation: registration status, changes, abnormal operation
    tax = "tax"
    social_insurance = "social_insurance"
    housing_fund = "housing_fund"
    electricity = "electricity"
    water = "water"
    gas = "gas"
    judicial = "judicial"
    penalty = "penalty"  # administrative penalties
    public_credit = "public_credit"  # commendations and blacklists


class ProductType(StrEnum):
    credit_loan = "credit_loan"
    guaranteed = "guaranteed"
    mortgage = "mortgage"
    pledge = "pledge"
    supply_chain = "supply_chain"
    leasing = "leasing"
    insurance = "insurance"
    guarantee_service = "guarantee_service"


class RepaymentMethod(StrEnum):
    equal_installment = "equal_installment"  # 等额本息
    equal_principal = "equal_principal"  # 等额本金
    interest_only_bullet = "interest_only_bullet"  # 先息后本


class ProductStatus(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class NeedStatus(StrEnum):
    draft = "draft"
    published = "published"
    matched = "matched"
    closed = "closed"
    expired = "expired"


class ApplicationStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    due_diligence = "due_diligence"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    contract_signed = "contract_signed"
    disbursed = "disbursed"
    repaying = "repaying"
    settled = "settled"
    overdue = "overdue"
    defaulted = "defaulted"
    written_off = "written_off"


class LoanStatus(StrEnum):
    active = "active"
    overdue = "overdue"
    settled = "settled"
    defaulted = "defaulted"
    written_off = "written_off"


class InstallmentStatus(StrEnum):
    scheduled = "scheduled"
    paid = "paid"
    partial = "partial"
    overdue = "overdue"


class ModelStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    retired = "retired"


class SignalStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    investigating = "investigating"
    closed = "closed"


class Grade(StrEnum):
    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    CCC = "CCC"
    CC = "CC"
    C = "C"


GRADE_ORDER = [g.value for g in Grade]  # best first

# Eight-level early-warning signals, mapped onto the four colours banks use.
SIGNAL_COLOURS = {
    1: "blue",
    2: "blue",
    3: "yellow",
    4: "yellow",
    5: "orange",
    6: "orange",
    7: "red",
    8: "red",
}


def enum_column(enum_cls: type[StrEnum]) -> SAEnum:
    """Enums stored as VARCHAR of their values (no native PostgreSQL type to migrate when values grow)."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=30,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
