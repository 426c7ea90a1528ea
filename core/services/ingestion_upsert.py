"""Ingestion's data writes: resolve credit codes, upsert accepted rows in bulk, quarantine rejected ones.

Steps 4–6 of the import pipeline (:mod:`core.services.ingestion`), run in the caller's unit of work:
:func:`resolve_enterprises` maps credit codes to enterprise ids (unknown ones become reasons),
:data:`WRITERS` upsert each target table (one query per table for the existing keys, bulk INSERT of new
rows, bulk UPDATE of changed rows with a fresh receipt stamp, unchanged rows counted and not written),
and :func:`quarantine_rows` stores every rejected line verbatim with its reasons.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, select

from core.models import Enterprise, FinancialStatement, GovRecord, QuarantinedRow, Shareholding
from core.quality.mapping import ImportMapping
from core.quality.reader import ROW, ParsedFile

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


WRITERS = {
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


def resolve_enterprises(session: Session, frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def quarantine_rows(session: Session, *, batch_id: int, parsed: ParsedFile, reasons: pd.DataFrame, now: datetime,
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
