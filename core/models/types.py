"""Column types shared by every table: timezone-aware UTC datetimes, money, JSON and enums."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import JSON, DateTime, Numeric, TypeDecorator
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB

from core.enums import (  # noqa: F401 — re-exported for the table classes
    GRADE_ORDER,
    SIGNAL_COLOURS,
    ApplicationStatus,
    GovSource,
    Grade,
    HolderType,
    InstallmentStatus,
    LoanStatus,
    ModelStatus,
    NeedStatus,
    OrgKind,
    ProductStatus,
    ProductType,
    RepaymentMethod,
    Scale,
    SignalStatus,
)

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
