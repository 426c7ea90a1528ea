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
transaction so the operator sees it, and :class:`ImportFailedError` says so. Steps 4–6 (resolve,
upsert, quarantine) are in :mod:`core.services.ingestion_upsert`; the sources and their mappings in
:mod:`core.services.ingestion_sources`; the pull from department APIs, the batch history, reports and
the quarantine export in :mod:`core.services.ingestion_pull`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from core import reference
from core.auth import Actor, Permission
from core.config import get_settings
from core.db import session_scope
from core.errors import InvalidError, JinfuError
from core.models import ImportBatch
from core.models.types import utcnow
from core.quality.mapping import ImportMapping
from core.quality.reader import ROW, ImportFileError, ParsedFile, read_department_file
from core.quality.validate import GateContext, validate_rows
from core.services.audit import append_audit
from core.services.ingestion_sources import get_mapping
from core.services.ingestion_upsert import WRITERS, quarantine_rows, resolve_enterprises
from core.usecase import UnitOfWork, use_case

log = logging.getLogger("jinfu.ingestion")

CHANNELS = ("file", "pull")
Progress = Callable[[float, str], None]  # (fraction 0–1, stage message key)


# ----------------------------------------------------------------------------------------- errors


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
    accepted, unresolved = resolve_enterprises(session, checked.accepted, mapping.target)
    timings["resolve"] = time.perf_counter() - clock - sum(timings.values())

    notify(0.5, "ingest.stage.write")
    now = utcnow()
    counts = WRITERS[mapping.target](session, accepted, now=now, progress=lambda f: notify(0.5 + 0.4 * f,
                                                                                              "ingest.stage.write"))
    reasons = pd.concat([checked.reasons, unresolved], ignore_index=True) if len(unresolved) else checked.reasons
    rejected_rows = quarantine_rows(session, batch_id=int(batch.id), parsed=parsed, reasons=reasons, now=now,
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
