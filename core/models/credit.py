"""Credit and risk: scoring models, credit scores, early-warning rules and the signals they raise."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field, version_column
from core.models.types import Grade, JSONType, ModelStatus, Money, SignalStatus, UTCDateTime, enum_column

_MODEL_VERSION = version_column()


class ScoringModel(SQLModel, table=True):
    """Table: one version of a rating model for one segment; only an approved model rates."""

    __tablename__ = "scoring_model"
    __table_args__ = (UniqueConstraint("name", "model_version", "segment", name="uq_scoring_model_version"),)
    __mapper_args__ = {"version_id_col": _MODEL_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    model_version: str = Field(max_length=20)
    segment: str = Field(default="all", max_length=60)  # e.g. "all", "C:small"
    method: str = Field(default="scorecard", max_length=40)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # AUC, KS, Gini, PSI …
    status: ModelStatus = Field(default=ModelStatus.draft, index=True, sa_type=enum_column(ModelStatus))
    trained_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_MODEL_VERSION)
    created_at: datetime = created_at_field()


class CreditScore(SQLModel, table=True):
    """Table: one rating of one enterprise by one model version, as of a date."""

    __tablename__ = "credit_score"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 1000", name="score_range"),
        CheckConstraint("pd >= 0 AND pd <= 1", name="pd_range"),
        UniqueConstraint("enterprise_id", "model_id", "as_of", name="uq_credit_score_asof"),
        Index("ix_credit_score_enterprise_asof", "enterprise_id", "as_of"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id")
    model_id: int = Field(foreign_key="scoring_model.id", index=True)
    score: int
    grade: Grade = Field(index=True, sa_type=enum_column(Grade))
    pd: float  # probability of default, 12 months
    breakdown: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # indicator sub-scores
    reason_codes: list[str] = Field(default_factory=list, sa_type=JSONType)
    as_of: date
    created_at: datetime = created_at_field()


_RULE_VERSION = version_column()


class RiskRule(SQLModel, table=True):
    """Table: one version of one early-warning rule; parameters are data a regulator edits."""

    __tablename__ = "risk_rule"
    __table_args__ = (
        UniqueConstraint("code", "rule_version", name="uq_risk_rule_version"),
        CheckConstraint("level >= 1 AND level <= 8", name="level_range"),
    )
    __mapper_args__ = {"version_id_col": _RULE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, index=True)
    rule_version: int = Field(default=1, ge=1)
    name: str = Field(max_length=120)
    name_en: str | None = Field(default=None, max_length=200)
    category: str = Field(max_length=40)  # judicial, tax, social_insurance, utility, loan, graph …
    level: int = Field(ge=1, le=8)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    enabled: bool = True
    status: str = Field(default="published", max_length=20)  # draft, published, superseded
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_RULE_VERSION)
    created_at: datetime = created_at_field()


_SIGNAL_VERSION = version_column()


class RiskSignal(SQLModel, table=True):
    """Table: an early-warning signal about one enterprise (and maybe one loan), with its handling."""

    __tablename__ = "risk_signal"
    __table_args__ = (
        CheckConstraint("level >= 1 AND level <= 8", name="level_range"),
        Index("ix_risk_signal_status_level", "status", "level"),
    )
    __mapper_args__ = {"version_id_col": _SIGNAL_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    loan_id: int | None = Field(default=None, foreign_key="loan.id", index=True)
    institution_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    rule_id: int | None = Field(default=None, foreign_key="risk_rule.id")
    rule_code: str = Field(max_length=40)
    rule_version: int = 1
    level: int
    colour: str = Field(max_length=10)  # blue, yellow, orange, red
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    fingerprint: str = Field(max_length=64, unique=True)  # dedupes repeated facts
    set_version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})  # the rule library version
    source_signal_id: int | None = Field(default=None, foreign_key="risk_signal.id")  # propagated from
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the fact seen again (dedupe)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)  # ages out after
    status: SignalStatus = Field(default=SignalStatus.open, index=True, sa_type=enum_column(SignalStatus))
    handler_id: int | None = Field(default=None, foreign_key="user_account.id")
    feedback: str | None = Field(default=None, max_length=40)  # true_alarm, false_alarm
    feedback_note: str | None = Field(default=None, max_length=1000)
    raised_at: datetime = created_at_field()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_SIGNAL_VERSION)
    updated_at: datetime = updated_at_field()


_DISPUTE_VERSION = version_column()


class RecordDispute(SQLModel, table=True):
    """Table: an enterprise says one record the platform holds about it is wrong (征信业管理条例 §25).

    ``record_type`` is gov_record, financial_statement, shareholding or enterprise; ``due_at`` is
    20 days after it was raised. An operator answers: ``corrected`` (the record was changed, which
    triggers a re-rating), ``rejected`` (the record stands, with the reason) — the status is
    ``open`` until then, and the record shows "in dispute" wherever it is displayed.
    """

    __tablename__ = "record_dispute"
    __table_args__ = (
        Index("ix_record_dispute_record", "record_type", "record_id"),
        Index("ix_record_dispute_status_due", "status", "due_at"),
    )
    __mapper_args__ = {"version_id_col": _DISPUTE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    record_type: str = Field(max_length=40)
    record_id: int
    reason: str = Field(max_length=1000)
    proposed_value: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=20)  # open, corrected, rejected, withdrawn
    raised_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    raised_at: datetime = created_at_field()
    due_at: datetime = Field(sa_type=UTCDateTime)
    answered_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=1000)
    idempotency_key: str | None = Field(default=None, max_length=80, unique=True)
    version: int = Field(default=1, sa_column=_DISPUTE_VERSION)


_RISK_SET_VERSION = version_column()


class RiskRuleSet(SQLModel, table=True):
    """Table: one version of the early-warning rule library (the whole document, as data).

    Exactly one version is ``published``; a regulator edits a ``draft``, dry-runs it against the
    published one, publishes it (the old one becomes ``superseded``) and may roll back (the rolled-back
    version becomes ``rolled_back`` and the previous one is published again). ``RiskRule`` rows are the
    published rules materialized, one per rule version, so every signal names the rule version that
    raised it.
    """

    __tablename__ = "risk_rule_set"
    __table_args__ = (UniqueConstraint("set_version", name="uq_risk_rule_set_version"),)
    __mapper_args__ = {"version_id_col": _RISK_SET_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    set_version: int = Field(ge=1)
    status: str = Field(default="draft", max_length=20, index=True)  # draft, published, superseded, rolled_back
    rules: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    note: str | None = Field(default=None, max_length=500)
    dry_run: dict[str, Any] | None = Field(default=None, sa_type=JSONType)  # flagged-set diff vs the published
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    published_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_RISK_SET_VERSION)
    created_at: datetime = created_at_field()


class RiskSignalEvent(SQLModel, table=True):
    """Table: one handling step of a signal (acknowledge, investigate, feedback, close) by whom and when."""

    __tablename__ = "risk_signal_event"

    id: int | None = Field(default=None, primary_key=True)
    signal_id: int = Field(foreign_key="risk_signal.id", index=True)
    step: str = Field(max_length=30)  # raised, acknowledged, investigating, feedback, closed, reopened, aged_out
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor_user_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str | None = Field(default=None, max_length=1000)
    occurred_at: datetime = created_at_field()


_CASE_VERSION = version_column()


class LargeDefaultCase(SQLModel, table=True):
    """Table: a default above the configured amount, opened for the regulator with its own workflow.

    Status: open → assigned (departments named) → in_progress → closed (with a resolution).
    """

    __tablename__ = "large_default_case"
    __table_args__ = (UniqueConstraint("loan_id", name="uq_large_default_case_loan"),)
    __mapper_args__ = {"version_id_col": _CASE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    loan_id: int = Field(foreign_key="loan.id")
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    institution_id: int = Field(foreign_key="organization.id", index=True)
    amount: Decimal = Field(sa_type=Money)  # outstanding principal when opened
    status: str = Field(default="open", max_length=20, index=True)
    departments: list[str] = Field(default_factory=list, sa_type=JSONType)  # assigned departments
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id")
    notes: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)  # {at, by, text}
    resolution: str | None = Field(default=None, max_length=1000)
    opened_at: datetime = created_at_field()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=_CASE_VERSION)
