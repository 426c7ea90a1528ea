"""Oversight: consent, data access, the audit chain, data quality, notifications, idempotency.

Retention (网络安全法 Art. 21: logs kept at least six months): ``AuditEvent`` and ``DataAccessLog``
rows are append-only and the application never deletes them. The ``before_flush`` and
``do_orm_execute`` listeners at the end of this module refuse, on every database, any ORM session
that deletes or changes such a row; on PostgreSQL migration 0003 adds triggers refusing UPDATE,
DELETE and TRUNCATE for everyone below the table owner. See ``docs/operations.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from core.errors import ForbiddenError
from core.models.base import created_at_field
from core.models.types import JSONType, UTCDateTime


class ConsentGrant(SQLModel, table=True):
    """Table: an enterprise lets one institution read its credit file, by scope, until a time."""

    __tablename__ = "consent_grant"
    __table_args__ = (
        CheckConstraint("expires_at > granted_at", name="expires_after_grant"),
        Index("ix_consent_enterprise_institution", "enterprise_id", "institution_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id")
    institution_id: int = Field(foreign_key="organization.id")
    scopes: list[str] = Field(
        default_factory=list, sa_type=JSONType
    )  # basic, gov_records, financials, credit
    purpose: str = Field(max_length=200)
    application_id: int | None = Field(default=None, foreign_key="application.id", index=True)
    granted_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    granted_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    idempotency_key: str | None = Field(default=None, max_length=80, unique=True)


class DataAccessLog(SQLModel, table=True):
    """Table: one read of an enterprise's file — who, which scope, why, under which consent. Never deleted."""

    __tablename__ = "data_access_log"

    id: int | None = Field(default=None, primary_key=True)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    institution_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    consent_id: int | None = Field(default=None, foreign_key="consent_grant.id")
    scope: str = Field(max_length=40)
    purpose: str = Field(max_length=200)
    accessed_at: datetime = created_at_field()


class AuditEvent(SQLModel, table=True):
    """Table: one write to the platform, SHA-256 chained to the event before it. Append-only."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = created_at_field()
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    actor_org_id: int | None = Field(default=None, foreign_key="organization.id")
    actor_label: str = Field(max_length=120)
    action: str = Field(max_length=80, index=True)
    entity_type: str | None = Field(default=None, max_length=60)
    entity_id: str | None = Field(default=None, max_length=60)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    prev_hash: str = Field(max_length=64, unique=True)  # a fork in the chain is impossible
    hash: str = Field(max_length=64, unique=True)


class DataQualityIssue(SQLModel, table=True):
    """Table: one failure of one data-quality rule on one record of one source department."""

    __tablename__ = "data_quality_issue"
    __table_args__ = (Index("ix_dq_source_rule", "source", "rule_code"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)
    rule_code: str = Field(max_length=40)
    rule_version: int = 1
    dimension: str = Field(max_length=20)  # completeness, validity, consistency, uniqueness, timeliness
    severity: str = Field(default="warning", max_length=10)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    record_ref: str | None = Field(default=None, max_length=120)
    detail: str | None = Field(default=None, max_length=1000)
    run_id: str | None = Field(default=None, max_length=40, index=True)
    detected_at: datetime = created_at_field()
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Notification(SQLModel, table=True):
    """Table: a message for a user, an enterprise or an institution (repayment reminders, SLA alerts …)."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    channel: str = Field(default="inbox", max_length=20)  # inbox, sms, email
    kind: str = Field(max_length=40)
    title: str = Field(max_length=200)
    body: str | None = Field(default=None, max_length=2000)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    created_at: datetime = created_at_field()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyKey(SQLModel, table=True):
    """Table: a create with a financial or legal effect, remembered so a retry returns the first result."""

    __tablename__ = "idempotency_key"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)
    operation: str = Field(max_length=80)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    request_hash: str = Field(max_length=64)
    response: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    created_at: datetime = created_at_field()


# ---------------------------------------------------------------------------------------------
# Retention guard: audit events and data-access logs are append-only in every ORM session
# ---------------------------------------------------------------------------------------------

APPEND_ONLY_TABLES: tuple[type[SQLModel], ...] = (AuditEvent, DataAccessLog)


class AppendOnlyViolationError(ForbiddenError):
    """Code tried to delete or change an audit event or a data-access log row (a programming error)."""

    key = "error.forbidden"


@event.listens_for(OrmSession, "before_flush")
def _refuse_append_only_changes(session: OrmSession, _flush_context: Any, _instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY_TABLES):
            raise AppendOnlyViolationError(table=obj.__tablename__, operation="delete")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY_TABLES) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolationError(table=obj.__tablename__, operation="update")


@event.listens_for(OrmSession, "do_orm_execute")
def _refuse_append_only_bulk(state: Any) -> None:
    if not (state.is_delete or state.is_update):
        return
    for mapper in state.all_mappers:
        if issubclass(mapper.class_, APPEND_ONLY_TABLES):
            raise AppendOnlyViolationError(
                table=mapper.class_.__tablename__, operation="delete" if state.is_delete else "update"
            )
