"""Pulls from department APIs, and the operator's view of import batches: history, report, quarantine export.

``pull_department`` fetches every page of a department feed (:mod:`core.adapters.gov_api`) before it
writes anything, then feeds the records — as JSON Lines — into the same pipeline as an uploaded file
(:func:`core.services.ingestion.guarded_import`, channel ``pull``), so normalization, validation,
quarantine, upserts and "the same data again changes nothing" are the same. Without ``since`` it
asks for what changed since the last finished pull of that source. A failing feed (401, 4xx, 5xx
after every retry, invalid JSON) writes no data; the failed pull is recorded as a ``failed`` batch
in its own transaction and the adapter's localized error is raised.

``quarantine_export`` gives a department back its rejected rows — its own columns as it sent them,
plus the row number and every reason in the reader's language — as CSV (UTF-8 with BOM, for Excel)
or an Excel workbook, to fix at the source and send again.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlmodel import col, select

from core.adapters import DepartmentApi, GovApiError
from core.adapters.gov_api import feed_for
from core.auth import Actor, Permission
from core.config import get_settings
from core.errors import InvalidError, NotFoundError
from core.i18n import normalize_locale, translate
from core.models import ImportBatch, QuarantinedRow
from core.models.types import utcnow
from core.services.ingestion import (
    ImportReport,
    Progress,
    guarded_import,
    record_failure,
    report_of,
)
from core.services.ingestion_sources import get_mapping
from core.usecase import UnitOfWork, use_case

BATCH_COLUMNS = (
    "id source target channel filename status rows_read rows_inserted rows_updated rows_unchanged rows_rejected "
    "file_bytes started_at finished_at"
).split()
QUARANTINE_COLUMNS = ["row_number", "credit_code", "reasons", "reason_codes", "fields", "raw"]
EXPORT_FORMATS = ("csv", "xlsx")


class ImportBatchNotFoundError(NotFoundError):
    """No import batch with that id."""

    key = "ingest.error.batch_not_found"


class ExportFormatError(InvalidError):
    """The quarantine export is offered as CSV or Excel only."""

    key = "ingest.error.export_format"


@dataclass(frozen=True)
class BatchReport:
    """One batch's report and its quarantined rows (for a duplicate batch: the first import's rows)."""

    report: ImportReport
    quarantined: pd.DataFrame  # QUARANTINE_COLUMNS; reasons localized, one line per reason


# ------------------------------------------------------------------------------------------- pull


def _last_pull(uow: UnitOfWork, source: str) -> datetime | None:
    return uow.session.exec(
        select(ImportBatch.started_at)
        .where(ImportBatch.source == source, ImportBatch.channel == "pull", ImportBatch.status == "done")
        .order_by(col(ImportBatch.id).desc())
        .limit(1)
    ).first()


@use_case(Permission.data_import, write=True)
def pull_department(
    uow: UnitOfWork,
    *,
    actor: Actor,
    source: str,
    since: datetime | None = None,
    api: DepartmentApi | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Fetch a department feed and import what it returns (atomic; the same records again change nothing).

    Args:
        actor: the operator (``data.import``) or a scheduled job.
        source: the feed's import-mapping name, e.g. ``tax_paid_api``.
        since: fetch what changed since then; default: the start of the last finished pull of ``source``.
        api: the adapter to read from; default: the configured HTTP feed of ``source``.
        progress: optional callback ``(fraction, stage message key)``.

    Raises:
        ImportSourceUnknownError: no mapping called ``source``.
        GovApiNotConfiguredError: the source has no URL configured.
        GovApiError: the feed failed (unauthorized, refused, unavailable, invalid answer); nothing written.
        ImportFailedError: an error while importing; nothing written.
    """
    mapping = get_mapping(source)
    notify = progress or (lambda _f, _s: None)
    feed = api if api is not None else feed_for(source, get_settings())
    if since is None:
        since = _last_pull(uow, source)
    started = utcnow()
    extra = {"since": since.astimezone(UTC).isoformat() if since else None}
    records: list[dict] = []
    try:
        for page_number, page in enumerate(feed.fetch(since), start=1):
            records.extend(page)
            notify(min(0.04, 0.01 * page_number), "ingest.stage.fetch")
    except GovApiError as exc:
        uow.session.rollback()
        record_failure(actor, mapping=mapping, filename=f"{source}-pull", content=b"", channel="pull", error=exc,
                       extra=extra)
        raise
    extra["pages_requested"] = getattr(feed, "requests_made", None)
    extra["fetch_seconds"] = round((utcnow() - started).total_seconds(), 4)
    filename = f"{source}-{started:%Y%m%dT%H%M%SZ}.jsonl"
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True, default=str) for r in records]
    content = ("\n".join(lines) + "\n").encode("utf-8") if lines else b""
    if not records:  # nothing new is a normal answer: a finished batch with zero rows, not a failure
        return _empty_pull(uow, mapping_name=source, filename=filename, extra=extra, notify=notify)
    return guarded_import(uow, mapping=mapping, filename=filename, content=content, channel="pull",
                          progress=progress, extra=extra)


def _empty_pull(uow: UnitOfWork, *, mapping_name: str, filename: str, extra: dict, notify: Progress) -> ImportReport:
    mapping = get_mapping(mapping_name)
    batch = ImportBatch(
        source=mapping.name, target=mapping.target, channel="pull", filename=filename, file_sha256="",
        file_bytes=0, mapping_version=mapping.version, status="done", actor_user_id=uow.actor.user_id,
        report={**extra, "nothing_new": True}, finished_at=utcnow(),
    )
    uow.session.add(batch)
    uow.session.flush()
    uow.audit("pull_department", entity_type="import_batch", entity_id=batch.id,
              after={"source": mapping.name, "status": "done", "read": 0})
    notify(1.0, "ingest.stage.done")
    return report_of(batch)


# ----------------------------------------------------------------------------------- read side


@use_case(Permission.data_import)
def list_import_batches(
    uow: UnitOfWork, *, actor: Actor, source: str | None = None, limit: int = 200
) -> pd.DataFrame:
    """The latest import batches, newest first (``BATCH_COLUMNS``).

    Args:
        actor: the operator (``data.import``).
        source: only this mapping's batches.
        limit: at most this many (1–1000).
    """
    stmt = select(ImportBatch).order_by(col(ImportBatch.id).desc()).limit(max(1, min(int(limit), 1000)))
    if source:
        stmt = stmt.where(ImportBatch.source == source)
    rows = [
        {
            "id": b.id, "source": b.source, "target": b.target, "channel": b.channel, "filename": b.filename,
            "status": b.status, "rows_read": b.rows_read, "rows_inserted": b.rows_accepted,
            "rows_updated": b.rows_updated, "rows_unchanged": b.rows_unchanged, "rows_rejected": b.rows_rejected,
            "file_bytes": b.file_bytes, "started_at": b.started_at, "finished_at": b.finished_at,
        }
        for b in uow.session.exec(stmt).all()
    ]
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    for name in ("started_at", "finished_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _load_batch(uow: UnitOfWork, batch_id: int) -> ImportBatch:
    batch = uow.session.get(ImportBatch, batch_id)
    if batch is None:
        raise ImportBatchNotFoundError(batch_id=batch_id)
    return batch


def _rows_batch(batch: ImportBatch) -> int:
    """The batch whose quarantined rows a batch shows: its own, or for a duplicate the first import's."""
    return int((batch.report or {}).get("duplicate_of") or batch.id)


def reason_text(reason: dict, locale: str | None) -> str:
    """One quarantine reason in words: ``<column>: <message> (<value>)``.

    Args:
        reason: a stored reason (``code``, ``key``, ``field``, ``column``, ``value``).
        locale: ``zh_CN`` or ``en``.
    """
    where = reason.get("column") or reason.get("field") or ""
    message = translate(str(reason.get("key")), locale, value=reason.get("value") or "", field=where)
    value = reason.get("value")
    shown = translate("ingest.reason.with_value", locale, value=value) if value not in (None, "") else ""
    return f"{where}{translate('ingest.reason.sep', locale)}{message}{shown}" if where else f"{message}{shown}"


def _quarantined(uow: UnitOfWork, batch: ImportBatch, locale: str | None) -> pd.DataFrame:
    rows = uow.session.exec(
        select(QuarantinedRow).where(QuarantinedRow.batch_id == _rows_batch(batch))
        .order_by(col(QuarantinedRow.row_number))
    ).all()
    return pd.DataFrame(
        [
            {
                "row_number": q.row_number,
                "credit_code": q.credit_code,
                "reasons": "\n".join(reason_text(r, locale) for r in q.reasons),
                "reason_codes": ";".join(dict.fromkeys(str(r.get("code")) for r in q.reasons)),
                "fields": ";".join(dict.fromkeys(str(r.get("field")) for r in q.reasons if r.get("field"))),
                "raw": dict(q.raw or {}),
            }
            for q in rows
        ],
        columns=QUARANTINE_COLUMNS,
    )


@use_case(Permission.data_import)
def import_batch_report(
    uow: UnitOfWork, *, actor: Actor, batch_id: int, locale: str | None = None
) -> BatchReport:
    """One batch's report with its quarantined rows, reasons in ``locale``.

    Args:
        actor: the operator (``data.import``).
        batch_id: the batch.
        locale: the language of the reasons (default Chinese).

    Raises:
        ImportBatchNotFoundError: no such batch.
    """
    batch = _load_batch(uow, batch_id)
    return BatchReport(report_of(batch), _quarantined(uow, batch, normalize_locale(locale)))


@use_case(Permission.data_import)
def quarantine_export(
    uow: UnitOfWork, *, actor: Actor, batch_id: int, fmt: str = "csv", locale: str | None = None
) -> bytes:
    """A batch's rejected rows for the department: its columns as sent, the row number and the reasons.

    Args:
        actor: the operator (``data.import``).
        batch_id: the batch.
        fmt: ``csv`` (UTF-8 with BOM) or ``xlsx``.
        locale: the language of the added columns and reasons.

    Raises:
        ImportBatchNotFoundError: no such batch.
        ExportFormatError: another format.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportFormatError(field="fmt", fmt=fmt)
    loc = normalize_locale(locale)
    batch = _load_batch(uow, batch_id)
    rows = _quarantined(uow, batch, loc)
    source_batch = uow.session.get(ImportBatch, _rows_batch(batch)) or batch
    columns = list((source_batch.report or {}).get("columns") or [])
    for raw in rows["raw"]:
        columns.extend(k for k in raw if k not in columns)
    row_label = translate("ingest.export.row", loc)
    reasons_label = translate("ingest.export.reasons", loc)
    table = pd.DataFrame([{c: raw.get(c) for c in columns} for raw in rows["raw"]], columns=columns)
    table.insert(0, row_label, rows["row_number"].to_numpy())
    table[reasons_label] = rows["reasons"].str.replace("\n", "；" if loc == "zh_CN" else "; ", regex=False)
    if fmt == "csv":
        return table.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, sheet_name="quarantine")
    return buffer.getvalue()
