"""Shared helpers of the ingestion tests: the operator actor, sample files, row counts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from core.auth import Actor, Role
from core.db import session_scope
from core.models import (
    AuditEvent,
    Enterprise,
    FinancialStatement,
    GovRecord,
    ImportBatch,
    QuarantinedRow,
    Shareholding,
)

FILES = Path(__file__).resolve().parents[2] / "data" / "imports"
OPERATOR = Actor(user_id=None, label="test-operator", roles=frozenset({Role.operator.value}))
ANALYST = Actor(user_id=None, label="test-analyst", roles=frozenset({Role.regulator_analyst.value}))
DATA_TABLES = (Enterprise, GovRecord, Shareholding, FinancialStatement, QuarantinedRow)


def sample(name: str) -> bytes:
    return (FILES / name).read_bytes()


def counts() -> dict[str, int]:
    """Rows per table the ingestion writes (data, quarantine, batches, audit)."""
    with session_scope() as s:
        return {
            model.__tablename__: s.exec(select(func.count()).select_from(model)).one()
            for model in (*DATA_TABLES, ImportBatch, AuditEvent)
        }


def data_counts() -> dict[str, int]:
    """Rows per data table only (no batches, no audit)."""
    return {k: v for k, v in counts().items() if k not in ("import_batch", "audit_event")}
