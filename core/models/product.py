"""Financial products that institutions publish in the financial supermarket."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import model_validator
from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from core.errors import InvalidError
from core.models.base import created_at_field, updated_at_field, version_column
from core.models.types import (
    Grade,
    JSONType,
    Money,
    ProductStatus,
    ProductType,
    RepaymentMethod,
    Scale,
    UTCDateTime,
    enum_column,
)


class ProductBase(SQLModel):
    """Fields shared by every product shape, with range checks on the fields."""

    name: str = Field(min_length=2, max_length=80)
    name_en: str | None = Field(default=None, max_length=160)
    product_type: ProductType = Field(index=True, sa_type=enum_column(ProductType))
    description: str | None = Field(default=None, max_length=2000)
    amount_min: Decimal = Field(ge=0, sa_type=Money)  # yuan
    amount_max: Decimal = Field(gt=0, sa_type=Money)
    term_min_months: int = Field(ge=1, le=360)
    term_max_months: int = Field(ge=1, le=360)
    rate_min: Decimal = Field(ge=0, le=36, max_digits=7, decimal_places=4)  # annual percent
    rate_max: Decimal = Field(ge=0, le=36, max_digits=7, decimal_places=4)
    repayment_methods: list[RepaymentMethod] = Field(default_factory=list, sa_type=JSONType)
    eligible_districts: list[str] = Field(default_factory=list, sa_type=JSONType)  # empty = all
    eligible_industries: list[str] = Field(default_factory=list, sa_type=JSONType)  # GB/T 4754 sections
    eligible_scales: list[Scale] = Field(default_factory=list, sa_type=JSONType)
    min_years_in_business: int = Field(default=0, ge=0, le=50)
    min_credit_grade: Grade | None = Field(default=None, sa_type=enum_column(Grade))
    collateral_required: bool = False
    first_loan_friendly: bool = Field(default=False, index=True)
    tags: list[str] = Field(default_factory=list, sa_type=JSONType)


class ProductCreate(ProductBase):
    """Input for a new product; minimum must not exceed maximum."""

    @model_validator(mode="after")
    def _ranges(self) -> ProductCreate:
        if self.amount_min > self.amount_max:
            raise InvalidError("error.product.amount_range", field="amount_min")
        if self.term_min_months > self.term_max_months:
            raise InvalidError("error.product.term_range", field="term_min_months")
        if self.rate_min > self.rate_max:
            raise InvalidError("error.product.rate_range", field="rate_min")
        return self


class ProductPublic(ProductBase):
    """A product as services return it."""

    id: int
    institution_id: int
    code: str
    status: ProductStatus = Field(sa_type=enum_column(ProductStatus))
    version: int


_VERSION = version_column()


class Product(ProductBase, table=True):
    """Table: one financial product of one institution; ``version`` counts its revisions."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("amount_min >= 0 AND amount_min <= amount_max", name="amount_range"),
        CheckConstraint("term_min_months >= 1 AND term_min_months <= term_max_months", name="term_range"),
        CheckConstraint("rate_min >= 0 AND rate_min <= rate_max", name="rate_range"),
    )
    __mapper_args__ = {"version_id_col": _VERSION}

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    institution_id: int = Field(foreign_key="organization.id", index=True)
    status: ProductStatus = Field(default=ProductStatus.draft, index=True, sa_type=enum_column(ProductStatus))
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # JSON lists come back from the database as plain strings; ProductPublic re-validates them as enums.
    repayment_methods: list[str] = Field(default_factory=list, sa_type=JSONType)
    eligible_scales: list[str] = Field(default_factory=list, sa_type=JSONType)
    version: int = Field(default=1, sa_column=_VERSION)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
