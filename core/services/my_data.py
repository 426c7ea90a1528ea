"""What the platform holds about an enterprise ("my data"), record by record, with each record's dispute.

The enterprise sees every record the platform keeps on it — government records grouped by source
department, financial statements, shareholdings and its registration facts — with when each was
received and whether it is disputed (征信业管理条例 §25: a firm may see and dispute its data). The
helpers here are shared with ``core.services.disputes`` and with any service that marks records "in
dispute" (``disputed_records``): the record types, their snapshots and labels, and the 20-day clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import case
from sqlmodel import Session, col, select

from core.auth import Actor
from core.auth.rules import assert_enterprise_access
from core.errors import NotFoundError
from core.models import Enterprise, FinancialStatement, GovRecord, RecordDispute, Shareholding
from core.models.types import utcnow
from core.usecase import use_case

RECORD_TYPES = ("gov_record", "financial_statement", "shareholding", "enterprise")
RECORD_MODELS: dict[str, type] = {
    "gov_record": GovRecord,
    "financial_statement": FinancialStatement,
    "shareholding": Shareholding,
    "enterprise": Enterprise,
}
STATUSES = ("open", "corrected", "rejected", "withdrawn")
# 征信业管理条例 §25: a dispute is answered within 20 days of receipt — calendar days, as the text says.
ANSWER_DAYS = 20
DISPLAY_TZ = ZoneInfo("Asia/Shanghai")  # days left count the dates users see

MONEY_FIELDS = (
    "revenue",
    "net_profit",
    "total_assets",
    "total_liabilities",
    "total_equity",
    "current_assets",
    "current_liabilities",
    "operating_cash_flow",
)
# Which fields of each record an operator may correct, and the kind of value each takes.
CORRECTABLE: dict[str, dict[str, str]] = {
    "gov_record": {"value": "number", "text": "text"},
    "financial_statement": dict.fromkeys(MONEY_FIELDS, "money"),
    "shareholding": {"share_pct": "percent", "holder_name": "text"},
    "enterprise": {
        "name": "text",
        "employees": "count",
        "registered_capital": "money",
        "address": "text",
        "legal_rep_name": "text",
    },
}
SNAPSHOT_FIELDS: dict[str, tuple[str, ...]] = {
    "gov_record": ("source", "kind", "period", "ref", "value", "text", "received_at"),
    "financial_statement": ("year", *MONEY_FIELDS, "received_at"),
    "shareholding": ("holder_type", "holder_name", "share_pct", "since", "until"),
    "enterprise": (
        "name",
        "credit_code",
        "founded_on",
        "employees",
        "registered_capital",
        "address",
        "legal_rep_name",
    ),
}
# Source departments as the enterprise sees them (utilities merge electricity, water and gas).
SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "market": ("market",),
    "tax": ("tax",),
    "social_insurance": ("social_insurance",),
    "housing_fund": ("housing_fund",),
    "utilities": ("electricity", "water", "gas"),
    "judicial": ("judicial",),
    "penalty": ("penalty",),
    "public_credit": ("public_credit",),
}
GROUP_OF_SOURCE = {source: group for group, sources in SOURCE_GROUPS.items() for source in sources}
DISPUTE_MARK_COLUMNS = ["dispute_id", "dispute_status", "days_left", "overdue"]
DISPUTE_COLUMNS = [
    "id",
    "enterprise_id",
    "enterprise_name",
    "credit_code",
    "record_type",
    "record_id",
    "record_source",
    "record_kind",
    "record_label",
    "reason",
    "proposed_value",
    "status",
    "raised_at",
    "due_at",
    "days_left",
    "overdue",
    "answered_at",
    "answer",
    "version",
]


class DisputePublic(BaseModel):
    """A dispute as services return it, with its clock against the caller's ``now``."""

    id: int
    enterprise_id: int
    record_type: str
    record_id: int
    reason: str
    proposed_value: str | None
    status: str
    raised_at: datetime
    due_at: datetime
    answered_at: datetime | None
    answer: str | None
    version: int
    days_left: int | None  # open disputes only: calendar days to the due date (negative: overdue)
    overdue: bool


@dataclass(frozen=True)
class DisputeMark:
    """What other services need to mark a record "in dispute" (see ``disputed_records``)."""

    dispute_id: int
    status: str
    raised_at: datetime
    due_at: datetime
    days_left: int | None
    overdue: bool


# ---------------------------------------------------------------------------------------------
# The 20-day clock
# ---------------------------------------------------------------------------------------------


def due_date(raised_at: datetime) -> datetime:
    """When a dispute raised at ``raised_at`` must be answered (20 calendar days, §25).

    Args:
        raised_at: when the platform received the dispute (timezone-aware).
    """
    return raised_at + timedelta(days=ANSWER_DAYS)


def clock(status: str, due_at: datetime, now: datetime) -> tuple[int | None, bool]:
    """(days left, overdue) of a dispute at ``now``; days count dates in the display time zone.

    Args:
        status: the dispute's status (only an open dispute has a clock).
        due_at: its due time (timezone-aware).
        now: the time to measure from (timezone-aware).
    """
    if status != "open":
        return None, False
    days = (due_at.astimezone(DISPLAY_TZ).date() - now.astimezone(DISPLAY_TZ).date()).days
    return days, now > due_at


def dispute_public(dispute: RecordDispute, now: datetime) -> DisputePublic:
    """A dispute row as ``DisputePublic``, its clock measured at ``now``.

    Args:
        dispute: the row.
        now: the time days left are measured from.
    """
    days_left, overdue = clock(dispute.status, dispute.due_at, now)
    return DisputePublic(
        id=int(dispute.id),
        enterprise_id=dispute.enterprise_id,
        record_type=dispute.record_type,
        record_id=dispute.record_id,
        reason=dispute.reason,
        proposed_value=dispute.proposed_value,
        status=dispute.status,
        raised_at=dispute.raised_at,
        due_at=dispute.due_at,
        answered_at=dispute.answered_at,
        answer=dispute.answer,
        version=dispute.version,
        days_left=days_left,
        overdue=overdue,
    )


# ---------------------------------------------------------------------------------------------
# Records: snapshots and labels
# ---------------------------------------------------------------------------------------------


def plain_value(value: Any) -> Any:
    """A column value as JSON-safe data (audit payloads).

    Args:
        value: a Decimal, date, datetime, enum member or plain value.
    """
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return getattr(value, "value", value)


def record_snapshot(record: Any, record_type: str) -> dict[str, Any]:
    """The fields of a disputable record that the enterprise and the operator see, with their values.

    Args:
        record: a GovRecord, FinancialStatement, Shareholding or Enterprise row.
        record_type: its type name.
    """
    return {name: getattr(record, name) for name in SNAPSHOT_FIELDS[record_type]}


def record_summary(record: Any, record_type: str) -> dict[str, Any]:
    """Language-neutral pieces a page turns into a one-line label: source, kind, label.

    Args:
        record: the row (None when it no longer exists).
        record_type: its type name.
    """
    if record is None:
        return {"source": None, "kind": None, "label": None}
    if record_type == "gov_record":
        return {
            "source": str(getattr(record.source, "value", record.source)),
            "kind": record.kind,
            "label": f"{record.period.strftime('%Y-%m')} {record.ref}".strip(),
        }
    if record_type == "financial_statement":
        return {"source": record_type, "kind": None, "label": str(record.year)}
    if record_type == "shareholding":
        return {"source": record_type, "kind": None, "label": record.holder_name}
    return {"source": record_type, "kind": None, "label": record.credit_code}


def default_field(record: Any, record_type: str) -> str:
    """The field a correction changes when none is named (a government record: its value, else its text).

    Args:
        record: the row.
        record_type: its type name.
    """
    if record_type == "gov_record":
        return "value" if record.value is not None or record.text is None else "text"
    return next(iter(CORRECTABLE[record_type]))


# ---------------------------------------------------------------------------------------------
# Dispute marks (helpers for callers inside a unit of work)
# ---------------------------------------------------------------------------------------------


def disputed_records(
    session: Session, enterprise_id: int, *, now: datetime | None = None
) -> dict[tuple[str, int], DisputeMark]:
    """The enterprise's records under an open dispute, by ``(record_type, record_id)``.

    Other services (the bank's credit report, "my data") call it inside their own unit of work to
    mark such records "in dispute". It neither commits nor checks permissions: the caller has
    already checked that its actor may read this enterprise. No Streamlit involved.

    Args:
        session: the caller's open session.
        enterprise_id: the enterprise whose records are asked about.
        now: the time days left are measured from (default: now).
    """
    now = now or utcnow()
    rows = session.exec(
        select(RecordDispute).where(
            RecordDispute.enterprise_id == enterprise_id, RecordDispute.status == "open"
        )
    ).all()
    marks: dict[tuple[str, int], DisputeMark] = {}
    for row in rows:
        days_left, overdue = clock(row.status, row.due_at, now)
        marks[(row.record_type, row.record_id)] = DisputeMark(
            dispute_id=int(row.id),
            status=row.status,
            raised_at=row.raised_at,
            due_at=row.due_at,
            days_left=days_left,
            overdue=overdue,
        )
    return marks


def latest_disputes(session: Session, enterprise_id: int) -> dict[tuple[str, int], RecordDispute]:
    """The newest dispute of each of the enterprise's disputed records (any status).

    Args:
        session: the caller's open session.
        enterprise_id: the enterprise.
    """
    rows = session.exec(
        select(RecordDispute)
        .where(RecordDispute.enterprise_id == enterprise_id)
        .order_by(col(RecordDispute.raised_at), col(RecordDispute.id))
    ).all()
    return {(r.record_type, r.record_id): r for r in rows}


def _records_by_type(session: Session, disputes: list[RecordDispute]) -> dict[tuple[str, int], Any]:
    found: dict[tuple[str, int], Any] = {}
    for record_type, model in RECORD_MODELS.items():
        ids = {d.record_id for d in disputes if d.record_type == record_type}
        if ids:
            for row in session.exec(select(model).where(col(model.id).in_(ids))):
                found[(record_type, int(row.id))] = row
    return found


def dispute_frame(
    session: Session,
    *,
    enterprise_id: int | None,
    now: datetime,
    open_only: bool = False,
    limit: int = 2000,
) -> pd.DataFrame:
    """Disputes as a DataFrame (``DISPUTE_COLUMNS``): open first by due date, then answered newest first.

    A helper inside the caller's unit of work; the caller has checked who may read what.

    Args:
        session: the caller's open session.
        enterprise_id: one enterprise, or None for every enterprise.
        now: the time days left are measured from.
        open_only: only open disputes.
        limit: at most this many rows (1–20,000).
    """
    is_open = case((col(RecordDispute.status) == "open", 0), else_=1)
    query = (
        select(RecordDispute, Enterprise.name, Enterprise.credit_code)
        .join(Enterprise, col(Enterprise.id) == col(RecordDispute.enterprise_id))
        .order_by(is_open, col(RecordDispute.due_at), col(RecordDispute.id))
        .limit(max(1, min(int(limit), 20_000)))
    )
    if enterprise_id is not None:
        query = query.where(RecordDispute.enterprise_id == enterprise_id)
    if open_only:
        query = query.where(RecordDispute.status == "open")
    rows = session.exec(query).all()
    records = _records_by_type(session, [d for d, _, _ in rows])
    out = []
    for dispute, name, code in rows:
        summary = record_summary(records.get((dispute.record_type, dispute.record_id)), dispute.record_type)
        out.append(
            {
                **dispute_public(dispute, now).model_dump(),
                "enterprise_name": name,
                "credit_code": code,
                "record_source": summary["source"],
                "record_kind": summary["kind"],
                "record_label": summary["label"],
            }
        )
    frame = pd.DataFrame(out, columns=DISPUTE_COLUMNS)
    for name in ("raised_at", "due_at", "answered_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    closed = frame["status"] != "open"
    if closed.any():  # answered ones: newest answer first, after every open one
        frame = pd.concat(
            [frame[~closed], frame[closed].sort_values("answered_at", ascending=False, kind="stable")],
            ignore_index=True,
        )
    frame["days_left"] = frame["days_left"].astype("Int64")
    frame["overdue"] = frame["overdue"].astype(bool)
    return frame


# ---------------------------------------------------------------------------------------------
# The read service
# ---------------------------------------------------------------------------------------------

GOV_COLUMNS = ["id", "group", "source", "kind", "period", "ref", "value", "text", "received_at"]
FINANCIAL_COLUMNS = ["id", "year", *MONEY_FIELDS, "received_at"]
SHAREHOLDING_COLUMNS = ["id", "holder_type", "holder_name", "share_pct", "since", "until"]
REGISTRATION_COLUMNS = ["id", *SNAPSHOT_FIELDS["enterprise"]]


@dataclass
class MyData:
    """Everything the platform holds about one enterprise, each record with its latest dispute.

    Every frame carries ``DISPUTE_MARK_COLUMNS``: the latest dispute's id and status (empty when the
    record was never disputed) and, for an open one, days left and the overdue flag.
    """

    enterprise_id: int
    name: str
    credit_code: str
    gov_records: pd.DataFrame  # GOV_COLUMNS; ``group`` is a key of SOURCE_GROUPS; newest period first
    financials: pd.DataFrame  # FINANCIAL_COLUMNS, newest year first
    shareholdings: pd.DataFrame  # SHAREHOLDING_COLUMNS
    registration: pd.DataFrame  # one row: REGISTRATION_COLUMNS (id is the enterprise's id)
    disputes: pd.DataFrame  # DISPUTE_COLUMNS: the enterprise's disputes, open first
    as_of: datetime


def _with_marks(
    frame: pd.DataFrame, record_type: str, latest: dict[tuple[str, int], RecordDispute], now: datetime
) -> pd.DataFrame:
    marks = []
    for rid in frame["id"]:
        dispute = latest.get((record_type, int(rid)))
        if dispute is None:
            marks.append((pd.NA, None, pd.NA, False))
        else:
            days_left, overdue = clock(dispute.status, dispute.due_at, now)
            marks.append(
                (int(dispute.id), dispute.status, pd.NA if days_left is None else days_left, overdue)
            )
    extra = pd.DataFrame(marks, columns=DISPUTE_MARK_COLUMNS, index=frame.index)
    extra["dispute_id"] = extra["dispute_id"].astype("Int64")
    extra["days_left"] = extra["days_left"].astype("Int64")
    extra["overdue"] = extra["overdue"].astype(bool)
    return pd.concat([frame, extra], axis=1)


def _rows(records, columns: list[str], **computed) -> pd.DataFrame:
    data = [{c: (computed[c](r) if c in computed else getattr(r, c)) for c in columns} for r in records]
    return pd.DataFrame(data, columns=columns)


@use_case(permission=None)
def my_data(uow, *, actor: Actor, enterprise_id: int, now: datetime | None = None) -> MyData:
    """The records the platform holds about an enterprise, by source, with each record's dispute status.

    Args:
        enterprise_id: the enterprise; an enterprise user may read only its own, regulators and the
            operator any.
        now: the time days left are measured from (default: now).

    Raises:
        ForbiddenError: the actor may not read this enterprise.
        NotFoundError: no such enterprise.
    """
    session = uow.session
    assert_enterprise_access(actor, enterprise_id)
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFoundError("error.not_found")
    now = now or utcnow()
    latest = latest_disputes(session, enterprise_id)

    gov = session.exec(
        select(GovRecord)
        .where(GovRecord.enterprise_id == enterprise_id)
        .order_by(col(GovRecord.source), col(GovRecord.period).desc(), col(GovRecord.kind), col(GovRecord.id))
    ).all()
    source = lambda r: str(getattr(r.source, "value", r.source))  # noqa: E731
    gov_frame = _rows(
        gov, GOV_COLUMNS, source=source, group=lambda r: GROUP_OF_SOURCE.get(source(r), "market")
    )
    gov_frame["value"] = pd.to_numeric(gov_frame["value"], errors="coerce")

    statements = session.exec(
        select(FinancialStatement)
        .where(FinancialStatement.enterprise_id == enterprise_id)
        .order_by(col(FinancialStatement.year).desc())
    ).all()
    holdings = session.exec(
        select(Shareholding)
        .where(Shareholding.enterprise_id == enterprise_id)
        .order_by(col(Shareholding.share_pct).desc(), col(Shareholding.id))
    ).all()
    holder_type = lambda r: str(getattr(r.holder_type, "value", r.holder_type))  # noqa: E731

    return MyData(
        enterprise_id=int(ent.id),
        name=ent.name,
        credit_code=ent.credit_code,
        gov_records=_with_marks(gov_frame, "gov_record", latest, now),
        financials=_with_marks(_rows(statements, FINANCIAL_COLUMNS), "financial_statement", latest, now),
        shareholdings=_with_marks(
            _rows(holdings, SHAREHOLDING_COLUMNS, holder_type=holder_type), "shareholding", latest, now
        ),
        registration=_with_marks(_rows([ent], REGISTRATION_COLUMNS), "enterprise", latest, now),
        disputes=dispute_frame(session, enterprise_id=enterprise_id, now=now),
        as_of=now,
    )
