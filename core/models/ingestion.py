"""Ingestion and data quality: import batches with their quarantine, rule-set versions, daily quality runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, version_column
from core.models.types import JSONType, UTCDateTime


class ImportBatch(SQLModel, table=True):
    """Table: one department file (or one pull from a department's API) imported, with its report.

    ``file_sha256`` + ``source`` + ``mapping_version`` identify a file: importing it again changes
    nothing and returns the first report (``status = 'duplicate'`` on the new batch row).
    """

    __tablename__ = "import_batch"
    __table_args__ = (Index("ix_import_batch_source_sha", "source", "file_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=40, index=True)  # mapping name, e.g. market_enterprise, tax_paid
    target: str = Field(max_length=40)  # enterprise, gov_record, shareholding, financial_statement
    channel: str = Field(default="file", max_length=20)  # file, pull
    filename: str | None = Field(default=None, max_length=255)
    file_sha256: str = Field(max_length=64)
    file_bytes: int = 0
    mapping_version: int = 1
    status: str = Field(default="running", max_length=20, index=True)  # running, done, failed, duplicate
    rows_read: int = 0
    rows_accepted: int = 0  # inserted
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # file problems, timings, …
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    started_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QuarantinedRow(SQLModel, table=True):
    """Table: one rejected row of one import, kept verbatim with every reason, until fixed at the source."""

    __tablename__ = "quarantined_row"
    __table_args__ = (UniqueConstraint("batch_id", "row_number", name="uq_quarantined_row_line"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="import_batch.id", index=True)
    row_number: int  # the line (CSV, JSON Lines) or sheet row (Excel) in the department's file
    credit_code: str | None = Field(default=None, max_length=40, index=True)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # the row as read
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)  # code, key, field, value
    created_at: datetime = created_at_field()


_RULE_SET_VERSION = version_column()


class QualityRuleSet(SQLModel, table=True):
    """Table: one version of the data-quality rule set; exactly one is published, drafts are edited.

    ``rules`` is the whole rule-set document (the format of ``data/reference/quality_rules/v1.json``),
    so a published version is immutable and every issue names the version that found it.
    """

    __tablename__ = "quality_rule_set"
    __table_args__ = (UniqueConstraint("set_version", name="uq_quality_rule_set_version"),)
    __mapper_args__ = {"version_id_col": _RULE_SET_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    set_version: int = Field(ge=1)
    status: str = Field(default="draft", max_length=20, index=True)  # draft, published, superseded
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    note: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_RULE_SET_VERSION)
    created_at: datetime = created_at_field()


class QualityRun(SQLModel, table=True):
    """Table: one run of the published rule set over the platform's data (daily, or on demand)."""

    __tablename__ = "quality_run"
    __table_args__ = (UniqueConstraint("run_id", name="uq_quality_run_run_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=40)
    as_of: date = Field(index=True)
    rule_set_version: int
    status: str = Field(default="running", max_length=20)  # running, done, failed
    rules_evaluated: int = 0
    rules_not_evaluated: int = 0
    issues_found: int = 0
    overall_score: float | None = None
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # per rule status, timings
    started_at: datetime = created_at_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class QualityScore(SQLModel, table=True):
    """Table: one score of one run for one group: a source department, a dimension, or a rule."""

    __tablename__ = "quality_score"
    __table_args__ = (
        UniqueConstraint("run_id", "level", "key", name="uq_quality_score_group"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
        Index("ix_quality_score_level_key", "level", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=40, index=True)
    as_of: date
    level: str = Field(max_length=20)  # source, dimension, rule, overall
    key: str = Field(max_length=60)
    score: float | None = None  # None: nothing evaluated (never a silent 100)
    checked: int = 0
    failed: int = 0
    rules_evaluated: int = 0
    rules_not_evaluated: int = 0
