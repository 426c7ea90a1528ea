"""Shared pieces of the table classes: naming convention, timestamps and the optimistic-lock column."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer
from sqlmodel import Field, SQLModel

from core.models.types import UTCDateTime, utcnow

# Deterministic constraint names: Alembic batch mode on SQLite needs them to alter tables.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def created_at_field() -> datetime:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def updated_at_field() -> datetime:
    return Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, sa_column_kwargs={"onupdate": utcnow}
    )


def version_column() -> Column:
    """A fresh ``version`` column; pass it to ``Field(sa_column=…)`` and to ``__mapper_args__``.

    SQLAlchemy then adds ``WHERE version = :old`` to every UPDATE and raises StaleDataError when
    another writer got there first; ``core.usecase`` turns that into a StaleVersionError.
    """
    return Column("version", Integer, nullable=False, default=1)
