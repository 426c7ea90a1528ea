"""Identity: organizations (enterprises, institutions, regulators, the operator) and their users."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field
from core.models.types import JSONType, OrgKind, enum_column


class OrganizationBase(SQLModel):
    """Fields shared by every organization shape."""

    name: str = Field(min_length=2, max_length=120)
    name_en: str | None = Field(default=None, max_length=200)
    kind: OrgKind = Field(index=True, sa_type=enum_column(OrgKind))
    short_name: str | None = Field(default=None, max_length=40)
    district_code: str | None = Field(default=None, max_length=20, index=True)
    parent_id: int | None = Field(default=None, foreign_key="organization.id", index=True)


class OrganizationCreate(OrganizationBase):
    """Input for registering an organization."""

    code: str = Field(min_length=2, max_length=40)


class OrganizationPublic(OrganizationBase):
    """An organization as services return it."""

    id: int
    code: str


class Organization(OrganizationBase, table=True):
    """Table: an enterprise, a financial institution (with branches via parent_id), a regulator or the operator."""

    __tablename__ = "organization"
    __table_args__ = (CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", unique=True)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()


class UserBase(SQLModel):
    """Fields shared by every user shape."""

    subject: str = Field(min_length=1, max_length=255)  # the OIDC "sub" claim
    display_name: str = Field(min_length=1, max_length=80)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    locale: str = Field(default="zh_CN", max_length=10)


class UserCreate(UserBase):
    """Input for creating a user."""

    organization_id: int
    roles: list[str]


class UserPublic(UserBase):
    """A user as services return it."""

    id: int
    organization_id: int
    roles: list[str]
    is_active: bool


class User(UserBase, table=True):
    """Table: a person signing in through OpenID Connect; roles decide what they may do."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=255, unique=True)
    organization_id: int = Field(foreign_key="organization.id", index=True)
    roles: list[str] = Field(default_factory=list, sa_type=JSONType)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
