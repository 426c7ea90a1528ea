"""Government-data ingestion: a department's file (or a pulled feed) becomes enterprises, records and statements.

``import_department_file`` runs one file through the pipeline, all in the caller's one transaction:

1. **Same file again** — the same source, SHA-256 and mapping version as a finished batch changes
   nothing: a new batch row with status ``duplicate`` carries the first batch's report.
2. **Read** with the source's mapping (:mod:`core.quality.reader`): a file-level problem (encoding,
   missing or extra column, too large, unreadable) ends the import with a ``failed`` batch whose report
   names every problem, and no data row.
3. **Validate** (:mod:`core.quality.validate`): rows failing a hard gate are rejected with every reason;
   duplicates by the mapping's key (the credit code first) keep the last row.
4. **Resolve** credit codes to enterprises: a row for an unknown enterprise is rejected (except from the
   market register, which creates enterprises), as is a shareholding whose enterprise holder is unknown.
5. **Upsert** into ``Enterprise``, ``GovRecord``, ``Shareholding`` or ``FinancialStatement``: existing
   keys are loaded with one query per table, new rows are inserted in bulk, changed rows updated in
   bulk with a fresh ``received_at`` (``updated_at`` for enterprises) so the incremental re-rating sees
   them, and unchanged rows are counted and not written.
6. **Quarantine** every rejected row verbatim with its reasons (code, message key, field, raw value).

Any error on the way rolls the whole import back; the failed batch is then recorded in its own
transaction so the operator sees it, and :class:`ImportFailedError` says so. The pull from department
APIs, the batch history, reports and the quarantine export are in :mod:`core.services.ingestion_pull`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from core import reference
from core.adapters.gov_api import configured_feeds
from core.auth import Actor, Permission
from core.config import REFERENCE_DIR, get_settings
from core.db import session_scope
from core.errors import InvalidError, JinfuError, NotFoundError
from core.models import Enterprise, FinancialStatement, GovRecord, ImportBatch, QuarantinedRow, Shareholding
from core.models.types import utcnow
from core.quality.mapping import ImportMapping, parse_mapping
from core.quality.reader import ROW, ImportFileError, ParsedFile, read_department_file
from core.quality.validate import GateContext, validate_rows
from core.services.audit import append_audit
from core.usecase import UnitOfWork, use_case

log = logging.getLogger("jinfu.ingestion")

MAPPINGS_DIR = REFERENCE_DIR / "import_mappings"
CHANNELS = ("file", "pull")
Progress = Callable[[float, str], None]  # (fraction 0–1, stage message key)


# ----------------------------------------------------------------------------------------- errors


class ImportSourceUnknownError(NotFoundError):
    """No import mapping of that name."""

    key = "ingest.error.unknown_source"


class ImportFileMissingError(InvalidError):
    """No file name or no bytes were given."""

    key = "ingest.error.no_file"


class ImportFailedError(JinfuError):
    """The import failed midway and was rolled back completely; the failed batch is recorded."""

    key = "ingest.error.failed"


# ----------------------------------------------------------------------------------------- models


class ImportReport(BaseModel):
    """What one import did, as services return it and as the page shows it."""

    batch_id: int
    source: str
    target: str
    channel: str
    filename: str | None
    status: str  # done, failed, duplicate
    duplicate_of: int | None = None
    file_sha256: str
    file_bytes: int
    mapping_version: int
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0  # superseded by a later row with the same key in the same file
    file_problems: list[dict[str, Any]] = Field(default_factory=list)  # code, message_key, params
    error: dict[str, Any] | None = None  # key, params: why a failed import failed (other than file problems)
    encoding: str | None = None
    ignored_columns: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per stage
    started_at: datetime
    finished_at: datetime | None = None


class ImportSourcePublic(BaseModel):
    """One configured department source (an import mapping) and whether it can be pulled now."""

    name: str
    source: str  # the department (GovSource value, or finance)
    target: str
    version: int
    description: str
    pullable: bool  # a pull adapter exists for it
    configured: bool  # … and its URL is set


# --------------------------------------------------------------------------------------- mappings


@lru_cache(maxsize=1)
def _mappings() -> dict[str, ImportMapping]:
    return {
        p.stem: parse_mapping(p.read_text(encoding="utf-8")) for p in sorted(MAPPINGS_DIR.glob("*.json"))
    }


def get_mapping(name: str) -> ImportMapping:
    """The import mapping called ``name`` (``data/reference/import_mappings/<name>.json``).

    Args:
        name: the mapping's name, e.g. ``market_enterprise``.

    Raises:
        ImportSourceUnknownError: no such mapping.
    """
    mapping = _mappings().get(name)
    if mapping is None:
        raise ImportSourceUnknownError(field="source", source=name)
    return mapping


@use_case(Permission.data_import)
def list_import_sources(uow: UnitOfWork, *, actor: Actor) -> list[ImportSourcePublic]:
    """Every department source the platform can import, and which can be pulled from an API now."""
    feeds = configured_feeds(get_settings())
    return [
        ImportSourcePublic(
            name=name,
            source=m.source,
            target=m.target,
            version=m.version,
            description=m.description,
            pullable=name in feeds,
            configured=feeds.get(name, False),
        )
        for name, m in _mappings().items()
    ]


# --------------------------------------------------------------------------------------- pipeline


def _report(batch: ImportBatch) -> ImportReport:
    extra = dict(batch.report or {})
    return ImportReport(
        batch_id=int(batch.id),
        source=batch.source,
        target=batch.target,
        channel=batch.channel,
        filename=batch.filename,
        status=batch.status,
        duplicate_of=extra.get("duplicate_of"),
        file_sha256=batch.file_sha256,
        file_bytes=batch.file_bytes,
        mapping_version=batch.mapping_version,
        rows_read=batch.rows_read,
        rows_inserted=batch.rows_accepted,
        rows_updated=batch.rows_updated,
        rows_unchanged=batch.rows_unchanged,
        rows_rejected=batch.rows_rejected,
        rows_duplicate=int(extra.get("rows_duplicate", 0)),
        file_problems=list(extra.get("file_problems", [])),
        error=extra.get("error"),
        encoding=extra.get("encoding"),
        ignored_columns=list(extra.get("ignored_columns", [])),
        timings=dict(extra.get("timings", {})),
        started_at=batch.started_at,
        finished_at=batch.finished_at,
    )


def report_of(batch: ImportBatch) -> ImportReport:
    """A stored batch as an :class:`ImportReport` (used by the report services)."""
    return _report(batch)


def _first_done(session: Session, mapping: ImportMapping, sha: str) -> ImportBatch | None:
    return session.exec(
        select(ImportBatch)
        .where(
            ImportBatch.source == mapping.name,
            ImportBatch.file_sha256 == sha,
            ImportBatch.mapping_version == mapping.version,
            ImportBatch.status == "done",
        )
        .order_by(col(ImportBatch.id))
        .limit(1)
    ).first()


def _gate_context(target: str, as_of) -> GateContext:
    if target != "enterprise":
        return GateContext(as_of=as_of)
    industries = reference.industries()
    return GateContext(
        as_of=as_of,
        districts=frozenset(reference.districts()["code"].astype(str)),
        divisions=dict(zip(industries["division"].astype(str), industries["section"].astype(str), strict=True)),
    )


def run_import(
    uow: UnitOfWork,
    *,
    mapping: ImportMapping,
    filename: str,
    content: bytes,
    channel: str,
    progress: Progress | None = None,
    extra: dict[str, Any] | None = None,
) -> ImportReport:
    """The pipeline of one file inside the caller's unit of work (see the module docstring).

    Args:
        uow: the open unit of work (the caller commits or rolls back).
        mapping: the source's import mapping.
        filename: the file's name; its suffix picks the format.
        content: the file's bytes.
        channel: ``file`` (uploaded) or ``pull`` (fetched from a department API).
        progress: called with (fraction, stage message key) as the import advances.
        extra: more facts for the batch's report (the pull's ``since``, requests made).
    """
    notify = progress or (lambda _f, _s: None)
    session = uow.session
    clock = time.perf_counter()
    timings: dict[str, float] = {}
    sha = hashlib.sha256(content).hexdigest()
    batch = ImportBatch(
        source=mapping.name,
        target=mapping.target,
        channel=channel,
        filename=filename[:255],
        file_sha256=sha,
        file_bytes=len(content),
        mapping_version=mapping.version,
        actor_user_id=uow.actor.user_id,
        report=dict(extra or {}),
    )
    first = _first_done(session, mapping, sha)
    if first is not None:  # the same file again: the first report, no data write
        for name in ("rows_read", "rows_accepted", "rows_updated", "rows_unchanged", "rows_rejected"):
            setattr(batch, name, getattr(first, name))
        batch.report = {**(first.report or {}), **(extra or {}), "duplicate_of": int(first.id)}
        return _finish(uow, batch, "duplicate", notify)
    session.add(batch)
    session.flush()
    notify(0.05, "ingest.stage.read")
    try:
        parsed = read_department_file(content, filename, mapping)
    except ImportFileError as exc:
        batch.report = {
            **batch.report,
            "file_problems": [{"code": p.code, "message_key": p.message_key, "params": p.params} for p in exc.problems],
        }
        return _finish(uow, batch, "failed", notify)
    timings["read"] = time.perf_counter() - clock

    notify(0.25, "ingest.stage.validate")
    today = utcnow().astimezone(reference_zone()).date()
    checked = validate_rows(
        parsed.frame, target=mapping.target, context=_gate_context(mapping.target, today),
        cell_issues=parsed.issues, dedupe=mapping.dedupe,
    )
    timings["validate"] = time.perf_counter() - clock - sum(timings.values())

    notify(0.4, "ingest.stage.resolve")
    accepted, unresolved = _resolve_enterprises(session, checked.accepted, mapping.target)
    timings["resolve"] = time.perf_counter() - clock - sum(timings.values())

    notify(0.5, "ingest.stage.write")
    now = utcnow()
    counts = _WRITERS[mapping.target](session, accepted, now=now, progress=lambda f: notify(0.5 + 0.4 * f,
                                                                                              "ingest.stage.write"))
    reasons = pd.concat([checked.reasons, unresolved], ignore_index=True) if len(unresolved) else checked.reasons
    rejected_rows = _quarantine(session, batch_id=int(batch.id), parsed=parsed, reasons=reasons, now=now,
                                mapping=mapping)
    timings["write"] = time.perf_counter() - clock - sum(timings.values())

    batch.rows_read = parsed.rows_read
    batch.rows_accepted = counts.inserted
    batch.rows_updated = counts.updated
    batch.rows_unchanged = counts.unchanged
    batch.rows_rejected = rejected_rows
    batch.report = {
        **batch.report,
        "rows_duplicate": int(checked.counts.get("duplicates", 0)),
        "duplicates": checked.duplicates.head(500).astype(object).to_dict("records"),
        "encoding": parsed.encoding,
        "ignored_columns": list(parsed.ignored_columns),
        "columns": _original_columns(parsed),
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }
    return _finish(uow, batch, "done", notify, total=time.perf_counter() - clock)


def reference_zone():
    """The display time zone: a department's "today" is the local date."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(get_settings().display_timezone)


def _original_columns(parsed: ParsedFile) -> list[str]:
    return [str(c) for c in parsed.raw.columns if c != ROW] if parsed.raw is not None else []


def _finish(uow: UnitOfWork, batch: ImportBatch, status: str, notify: Progress, total: float | None = None) -> ImportReport:
    batch.status = status
    batch.finished_at = utcnow()
    if total is not None:
        batch.report = {**batch.report, "timings": {**batch.report.get("timings", {}), "total": round(total, 4)}}
    uow.session.add(batch)
    uow.session.flush()
    report = _report(batch)
    uow.audit(
        "import_department_file" if batch.channel == "file" else "pull_department",
        entity_type="import_batch",
        entity_id=batch.id,
        after={
            "source": batch.source, "status": status, "filename": batch.filename, "sha256": batch.file_sha256,
            "read": batch.rows_read, "inserted": batch.rows_accepted, "updated": batch.rows_updated,
            "unchanged": batch.rows_unchanged, "rejected": batch.rows_rejected,
        },
    )
    notify(1.0, "ingest.stage.done")
    return report


def record_failure(
    actor: Actor,
    *,
    mapping: ImportMapping,
    filename: str | None,
    content: bytes,
    channel: str,
    error: JinfuError | None,
    extra: dict[str, Any] | None = None,
) -> int:
    """Write a ``failed`` batch in its own transaction (the import's own was rolled back); return its id.

    Args:
        actor: who ran the import.
        mapping: the source's mapping.
        filename: the file's name (or the pull's).
        content: the bytes that were being imported (for the hash and size).
        channel: ``file`` or ``pull``.
        error: the localized reason when there is one (``ingest.error.database`` otherwise).
        extra: more facts for the report.
    """
    reason = {"key": error.key, "params": {k: str(v) for k, v in error.params.items()}} if error else {
        "key": "ingest.error.database", "params": {}}
    with session_scope() as session:
        batch = ImportBatch(
            source=mapping.name, target=mapping.target, channel=channel, filename=(filename or "")[:255] or None,
            file_sha256=hashlib.sha256(content).hexdigest(), file_bytes=len(content),
            mapping_version=mapping.version, status="failed", actor_user_id=actor.user_id,
            report={**(extra or {}), "error": reason}, finished_at=utcnow(),
        )
        session.add(batch)
        session.flush()
        append_audit(session, actor=actor, action="import_failed", entity_type="import_batch", entity_id=batch.id,
                     after={"source": mapping.name, "channel": channel, "error": reason["key"]})
        return int(batch.id)


def guarded_import(uow: UnitOfWork, *, mapping: ImportMapping, filename: str, content: bytes, channel: str,
                   progress: Progress | None = None, extra: dict[str, Any] | None = None) -> ImportReport:
    """:func:`run_import`, but any error rolls everything back and records a ``failed`` batch on its own."""
    try:
        return run_import(uow, mapping=mapping, filename=filename, content=content, channel=channel,
                          progress=progress, extra=extra)
    except Exception as exc:
        uow.session.rollback()  # nothing of this import stays, and the connection's locks are released
        ref = hashlib.sha256(f"{time.time_ns()}".encode()).hexdigest()[:8]
        log.exception("import of %s (%s) failed (ref %s)", filename, mapping.name, ref)
        batch_id = record_failure(uow.actor, mapping=mapping, filename=filename, content=content,
                                  channel=channel, error=None, extra={**(extra or {}), "ref": ref})
        raise ImportFailedError(batch_id=batch_id, ref=ref) from exc


# --------------------------------------------------------------------------------------- services


@use_case(Permission.data_import, write=True)
def import_department_file(
    uow: UnitOfWork,
    *,
    actor: Actor,
    source: str,
    filename: str,
    content: bytes,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one department file with the source's mapping (atomic; re-importing it changes nothing).

    Args:
        actor: the operator (``data.import``).
        source: the import mapping's name, e.g. ``market_enterprise`` or ``tax_paid``.
        filename: the uploaded file's name; ``.csv``, ``.xlsx`` or ``.jsonl``.
        content: the file's bytes.
        progress: optional callback ``(fraction, stage message key)`` for a progress bar.

    Raises:
        ImportSourceUnknownError: no mapping called ``source``.
        ImportFileMissingError: no file name or an empty upload.
        ImportFailedError: an error midway; nothing was written but the ``failed`` batch.
    """
    mapping = get_mapping(source)
    if not filename or not content:
        raise ImportFileMissingError(field="file")
    return guarded_import(uow, mapping=mapping, filename=filename, content=content, channel="file",
                          progress=progress)


# ---------------------------------------------------------------------------------------- writers

CHUNK = 5_000  # rows per bulk statement (and per IN list)
ENTERPRISE_FIELDS = (
    "name", "district_code", "industry_section", "industry_division", "scale", "founded_on", "registered_capital",
    "employees", "legal_rep_name", "legal_rep_id_number", "contact_name", "contact_phone", "address",
)
STATEMENT_FIELDS = (
    "revenue", "net_profit", "total_assets", "total_liabilities", "total_equity", "current_assets",
    "current_liabilities", "operating_cash_flow",
)
RECORD_FIELDS = ("value", "text")
HOLDING_FIELDS = ("holder_enterprise_id", "holder_id_number", "share_pct", "until")


@dataclass
class Counts:
    """What a writer did: rows inserted, updated, and found unchanged (not written)."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def _py(value: Any) -> Any:
    """A frame cell as a plain Python value for the database (NA → None, Timestamp → date)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    data = frame[columns].astype(object)
    return [{c: _py(v) for c, v in zip(columns, row, strict=True)} for row in data.itertuples(index=False, name=None)]


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _select_in(session: Session, stmt, column, values) -> list:
    """Rows of ``stmt`` whose ``column`` is in ``values`` (one query per CHUNK values)."""
    out: list = []
    for part in _chunks(sorted(set(values))):
        out.extend(session.execute(stmt.where(column.in_(part))).all())
    return out


def _same(new: Any, old: Any) -> bool:
    """Whether a file value equals the stored one (numbers compared as numbers, enums by value)."""
    if new is None or old is None:
        return new is None and old is None
    numeric = (int, float, Decimal)
    if isinstance(new, numeric) and isinstance(old, numeric) and not isinstance(new, bool):
        if isinstance(new, float) or isinstance(old, float):
            return math.isclose(float(new), float(old), rel_tol=1e-12, abs_tol=1e-9)
        return Decimal(new) == Decimal(old)
    return str(new) == str(old)


def _insert(session: Session, table, rows: list[dict[str, Any]], progress: Callable[[float], None] | None = None,
            done: int = 0, total: int = 0) -> None:
    for part in _chunks(rows):
        session.execute(insert(table), part)
        done += len(part)
        if progress and total:
            progress(done / total)


def _update(session: Session, table, fields: list[str], rows: list[dict[str, Any]], *, stamp: str | None,
            bump_version: bool = False) -> None:
    """Bulk UPDATE by id: ``rows`` carry ``b_id``, ``b_<field>`` and ``b_now`` (the stamp column's value)."""
    if not rows:
        return
    values: dict[str, Any] = {f: bindparam(f"b_{f}") for f in fields}
    if stamp:
        values[stamp] = bindparam("b_now")
    if bump_version:
        values["version"] = table.c.version + 1
    stmt = update(table).where(table.c.id == bindparam("b_id")).values(values)
    for part in _chunks(rows):
        session.execute(stmt, part)


def _merge(fields: list[str], row: dict[str, Any], old: Any) -> tuple[dict[str, Any], bool]:
    """The row's values with empty optional cells keeping the stored value; and whether anything changed."""
    merged = {f: row[f] if row[f] is not None else old[f] for f in fields}
    return merged, any(not _same(merged[f], old[f]) for f in fields)


def _apply(session: Session, table, key_of, fields: list[str], rows: list[dict[str, Any]], existing: dict,
           *, now: datetime, stamp: str | None, base: dict[str, Any], progress,
           bump_version: bool = False) -> Counts:
    """Split rows into inserts, updates and unchanged by ``existing`` (key → stored row) and write them."""
    counts = Counts()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        old = existing.get(key_of(row))
        if old is None:
            inserts.append({**base, **row, **({stamp: now} if stamp else {})})
            continue
        merged, changed = _merge(fields, row, old)
        if changed:
            updates.append({"b_id": old["id"], "b_now": now, **{f"b_{f}": v for f, v in merged.items()}})
        else:
            counts.unchanged += 1
    _insert(session, table, inserts, progress, 0, len(inserts) + len(updates))
    _update(session, table, fields, updates, stamp=stamp, bump_version=bump_version)
    counts.inserted, counts.updated = len(inserts), len(updates)
    return counts


def _write_enterprises(session: Session, frame: pd.DataFrame, *, now: datetime, progress) -> Counts:
    t = Enterprise.__table__
    fields = [f for f in ENTERPRISE_FIELDS if f in frame]
    rows = _records(frame, ["credit_code", *fields])
    stored = _select_in(session, select(t.c.id, t.c.credit_code, *[t.c[f] for f in fields]), t.c.credit_code,
                        [r["credit_code"] for r in rows])
    existing = {r.credit_code: r._mapping for r in stored}
    base = dict.fromkeys(ENTERPRISE_FIELDS) | {"created_at": now, "version": 1, "has_had_loan": False}
    return _apply(session, t, lambda r: r["credit_code"], fields, rows, existing, now=now, stamp="updated_at",
                  base=base, progress=progress, bump_version=True)


def _write_records(session: Session, frame: pd.DataFrame, *, now: datetime, progress) -> Counts:
    t = GovRecord.__table__
    fields = [f for f in RECORD_FIELDS if f in frame]
    frame = frame.assign(ref=frame["ref"].astype(object).where(frame["ref"].notna(), "") if "ref" in frame else "")
    rows = _records(frame, ["enterprise_id", "source", "kind", "period", "ref", *fields])
    for row in rows:
        if row.get("value") is not None:
            row["value"] = float(row["value"])
    if not rows:
        return Counts()
    periods = [r["period"] for r in rows]
    stored = session.execute(
        select(t.c.id, t.c.enterprise_id, t.c.source, t.c.kind, t.c.period, t.c.ref, *[t.c[f] for f in fields])
        .where(t.c.source.in_({r["source"] for r in rows}), t.c.kind.in_({r["kind"] for r in rows}),
               t.c.period.between(min(periods), max(periods)))
    ).all()

    def key(r) -> tuple:
        return (int(r["enterprise_id"]), str(r["source"]), r["kind"], r["period"], r["ref"] or "")

    existing = {key(r._mapping): r._mapping for r in stored}
    base = dict.fromkeys(RECORD_FIELDS) | {"detail": None}
    return _apply(session, t, key, fields, rows, existing, now=now, stamp="received_at", base=base,
                  progress=progress)


def _write_statements(session: Session, frame: pd.DataFrame, *, now: datetime, progress) -> Counts:
    t = FinancialStatement.__table__
    fields = [f for f in STATEMENT_FIELDS if f in frame]
    rows = _records(frame, ["enterprise_id", "year", *fields])
    if not rows:
        return Counts()
    stored = session.execute(
        select(t.c.id, t.c.enterprise_id, t.c.year, *[t.c[f] for f in fields])
        .where(t.c.year.in_({r["year"] for r in rows}))
    ).all()
    existing = {(r.enterprise_id, r.year): r._mapping for r in stored}
    return _apply(session, t, lambda r: (int(r["enterprise_id"]), int(r["year"])), fields, rows, existing, now=now,
                  stamp="received_at", base={"total_equity": None}, progress=progress)


def _write_holdings(session: Session, frame: pd.DataFrame, *, now: datetime, progress) -> Counts:
    t = Shareholding.__table__
    frame = frame.assign(holder_enterprise_id=frame.get("holder_enterprise_id"))
    fields = [f for f in HOLDING_FIELDS if f in frame]
    rows = _records(frame, ["enterprise_id", "holder_type", "holder_name", "since", *fields])
    for row in rows:
        row["share_pct"] = Decimal(str(row["share_pct"])).quantize(Decimal("0.0001"))
        if row.get("holder_enterprise_id") is not None:
            row["holder_enterprise_id"] = int(row["holder_enterprise_id"])
    stored = _select_in(
        session,
        select(t.c.id, t.c.enterprise_id, t.c.holder_type, t.c.holder_name, t.c.since, *[t.c[f] for f in fields]),
        t.c.enterprise_id, [int(r["enterprise_id"]) for r in rows],
    )

    def key(r) -> tuple:
        return (int(r["enterprise_id"]), str(r["holder_type"]), r["holder_name"], r["since"])

    existing = {key(r._mapping): r._mapping for r in stored}
    # Shareholding has no receipt stamp: the unchanged-row check alone keeps re-imports write-free.
    return _apply(session, t, key, fields, rows, existing, now=now, stamp=None, base=dict.fromkeys(HOLDING_FIELDS),
                  progress=progress)


_WRITERS = {
    "enterprise": _write_enterprises,
    "gov_record": _write_records,
    "financial_statement": _write_statements,
    "shareholding": _write_holdings,
}


def _code_ids(session: Session, codes) -> dict[str, int]:
    t = Enterprise.__table__
    return {r.credit_code: int(r.id) for r in _select_in(session, select(t.c.id, t.c.credit_code), t.c.credit_code,
                                                          [c for c in codes if isinstance(c, str) and c])}


def _reason_rows(frame: pd.DataFrame, mask: pd.Series, field: str, code: str, key: str) -> pd.DataFrame:
    return pd.DataFrame({ROW: frame.loc[mask, ROW], "field": field, "column": None, "code": code,
                         "message_key": key, "value": frame.loc[mask, field].astype(object)})


def _resolve_enterprises(session: Session, frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted rows with ``enterprise_id`` (and ``holder_enterprise_id``); the unresolved rows' reasons."""
    empty = pd.DataFrame(columns=[ROW, "field", "column", "code", "message_key", "value"])
    if target == "enterprise" or frame.empty:
        return frame, empty
    ids = _code_ids(session, frame["credit_code"].dropna().unique())
    frame = frame.assign(enterprise_id=frame["credit_code"].astype(object).map(ids))
    unknown = frame["enterprise_id"].isna()
    parts = [_reason_rows(frame, unknown, "credit_code", "unknown_enterprise", "ingest.reason.unknown_enterprise")]
    bad = unknown
    if target == "shareholding":
        is_ent = frame["holder_type"].astype(object) == "enterprise"
        holder = frame["holder_credit_code"].astype(object) if "holder_credit_code" in frame else pd.Series(
            None, index=frame.index, dtype=object)
        holder_ids = _code_ids(session, holder[is_ent].dropna().unique())
        frame = frame.assign(holder_enterprise_id=holder.map(holder_ids).where(is_ent, None))
        unknown_holder = is_ent & frame["holder_enterprise_id"].isna() & ~unknown
        if "holder_credit_code" in frame:
            parts.append(_reason_rows(frame, unknown_holder, "holder_credit_code", "unknown_holder",
                                      "ingest.reason.unknown_holder"))
        bad = bad | unknown_holder
    reasons = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else empty
    return frame[~bad].reset_index(drop=True), reasons


def _text(value: Any) -> str | None:
    value = _py(value)
    return None if value is None else str(value)


def _field_columns(mapping: ImportMapping, parsed: ParsedFile) -> dict[str, str]:
    """Each field's column as the department's file names it (an alias, a header with a unit suffix)."""
    present = [str(c) for c in parsed.raw.columns] if parsed.raw is not None else []
    out = {}
    for name, spec in mapping.columns.items():
        names = [name, *spec.aliases]
        out[spec.field] = next((c for c in present if c in names), None) or next(
            (c for c in present if any(c.startswith(n) for n in names)), name)
    return out


def _quarantine(session: Session, *, batch_id: int, parsed: ParsedFile, reasons: pd.DataFrame, now: datetime,
                mapping: ImportMapping) -> int:
    """Insert one QuarantinedRow per rejected line with the department's cells and every reason."""
    if reasons.empty:
        return 0
    columns = _field_columns(mapping, parsed)
    raw = parsed.raw.set_index(ROW) if parsed.raw is not None else pd.DataFrame()
    codes = parsed.frame.set_index(ROW)["credit_code"] if "credit_code" in parsed.frame else pd.Series(dtype=object)
    rows = []
    for row_number, group in reasons.sort_values([ROW], kind="stable").groupby(ROW, sort=True):
        number = int(row_number)
        cells = {str(k): _text(v) for k, v in raw.loc[number].items()} if number in raw.index else {}
        code = _text(codes.get(number)) if number in codes.index else None
        rows.append({
            "batch_id": batch_id,
            "row_number": number,
            "credit_code": code[:40] if code else None,
            "raw": cells,
            "reasons": [
                {"code": str(r["code"]), "key": str(r["message_key"]), "field": _text(r["field"]),
                 "column": _text(r["column"]) or columns.get(str(r["field"])), "value": _text(r["value"])}
                for r in group.to_dict("records")
            ],
            "created_at": now,
        })
    _insert(session, QuarantinedRow.__table__, rows)
    return len(rows)
