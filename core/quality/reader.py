"""Read one department file (CSV, Excel .xlsx, JSON Lines) from bytes into model-field columns.

:func:`read_department_file` decodes (UTF-8 with or without BOM, GBK, GB18030), applies the
configured column mapping (aliases, header unit suffixes such as ``注册资本(万元)``, unit columns),
normalizes every cell and returns the frame with one row per source row plus the cell problems it
found. File-level problems (too large, wrong encoding, unreadable, missing or unexpected columns)
raise :class:`ImportFileError` carrying every problem at once. The bytes are already in memory (the
caller read them); the reader never opens a file, and it refuses rather than truncates.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

import pandas as pd

from core.errors import InvalidError
from core.quality import normalize as nz
from core.quality.mapping import ColumnSpec, ImportMapping

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 500_000
ROW = "_row"  # the 1-based line (CSV, JSON Lines) or sheet row (Excel) a row came from
_UNIT_SUFFIX = re.compile(r"^(?P<base>.+?)[(\[]?(?P<unit>万元|亿元|元|万|亿|YUAN|WAN)[)\]]?$", re.IGNORECASE)


@dataclass(frozen=True)
class FileProblem:
    """One file-level problem: a machine-readable code, its message key and parameters."""

    code: str  # too_large, too_many_rows, encoding, unreadable, format, missing_column, extra_column, duplicate_column
    message_key: str
    params: dict = field(default_factory=dict)


class ImportFileError(InvalidError):
    """The file cannot be imported as a whole; ``problems`` lists every reason (nothing was read)."""

    key = "dq.import.file_rejected"

    def __init__(self, problems: list[FileProblem]) -> None:
        self.problems = problems
        super().__init__(count=len(problems), codes=",".join(p.code for p in problems))


@dataclass(frozen=True)
class ParsedFile:
    """The normalized rows (model field names, ``_row``) and the cell problems found while reading."""

    frame: pd.DataFrame
    issues: pd.DataFrame  # _row, field, column, code, message_key, value
    encoding: str | None
    rows_read: int
    header_units: dict[str, str]  # field -> unit taken from a header suffix
    ignored_columns: list[str]
    raw: pd.DataFrame | None = None  # the cells as the department sent them (original headers, ``_row``)


ISSUE_COLUMNS = [ROW, "field", "column", "code", "message_key", "value"]


def _norm_header(name: object) -> str:
    return re.sub(r"\s+", "", str(name).translate(nz._HALFWIDTH)).strip()


def _load(content: bytes, filename: str, mapping: ImportMapping) -> tuple[pd.DataFrame, str | None, int]:
    """Raw cells as strings (or None), the encoding used, and the line number of the first data row."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in ("csv", "txt"):
        text, encoding = nz.decode_bytes(content, mapping.encoding)
        try:
            raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ImportFileError([FileProblem("unreadable", "dq.import.unreadable", {"detail": str(exc)[:200]})]) from exc
        return raw, encoding, 2
    if suffix in ("jsonl", "ndjson"):
        text, encoding = nz.decode_bytes(content, mapping.encoding)
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFileError([FileProblem("unreadable", "dq.import.bad_json_line", {"line": number})]) from exc
            if not isinstance(obj, dict):
                raise ImportFileError([FileProblem("unreadable", "dq.import.bad_json_line", {"line": number})])
            obj[ROW] = number
            records.append(obj)
        raw = pd.DataFrame.from_records(records)
        if raw.empty:
            return raw, encoding, 1
        rows = raw.pop(ROW)
        raw = raw.astype(object).where(raw.notna(), None).map(lambda v: v if v is None else str(v))
        raw.insert(0, ROW, rows)
        return raw, encoding, 0
    if suffix == "xlsx":
        try:
            raw = pd.read_excel(io.BytesIO(content), sheet_name=mapping.sheet, dtype=str, engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for a corrupt workbook
            raise ImportFileError([FileProblem("unreadable", "dq.import.unreadable", {"detail": type(exc).__name__})]) from exc
        return raw, None, 2
    raise ImportFileError([FileProblem("format", "dq.import.format", {"filename": filename})])


def _resolve_columns(
    headers: list[str], mapping: ImportMapping
) -> tuple[dict[str, tuple[str, ColumnSpec]], dict[str, str], list[FileProblem], list[str]]:
    """Match file headers to mapping columns: field -> (header, spec), header units, problems, ignored."""
    problems: list[FileProblem] = []
    normalized = [_norm_header(h) for h in headers]
    seen: dict[str, int] = {}
    for h in normalized:
        seen[h] = seen.get(h, 0) + 1
    for h, n in seen.items():
        if n > 1:
            problems.append(FileProblem("duplicate_column", "dq.import.duplicate_column", {"column": h}))
    by_name = dict(zip(normalized, headers, strict=True))
    resolved: dict[str, tuple[str, ColumnSpec]] = {}
    units: dict[str, str] = {}
    used: set[str] = set()
    for name, spec in mapping.columns.items():
        wanted = [_norm_header(n) for n in [name, *spec.aliases]]
        hit = next((w for w in wanted if w in by_name), None)
        if hit is None and spec.type == "amount":  # 注册资本(万元) for 注册资本
            for h in normalized:
                m = _UNIT_SUFFIX.match(h)
                if m and m.group("base") in wanted and h not in used:
                    hit = h
                    units[spec.field] = nz.unit_of(m.group("unit")) or "yuan"
                    break
        if hit is None:
            if spec.required:
                problems.append(FileProblem("missing_column", "dq.import.missing_column",
                                            {"column": name, "field": spec.field}))
            continue
        used.add(hit)
        resolved[spec.field] = (by_name[hit], spec)
        if spec.unit_column:
            unit_header = _norm_header(spec.unit_column)
            if unit_header in by_name:
                used.add(unit_header)
            else:
                problems.append(FileProblem("missing_column", "dq.import.missing_column",
                                            {"column": spec.unit_column, "field": f"{spec.field}.unit"}))
    extra = [by_name[h] for h in normalized if h not in used and h != ROW]
    ignored: list[str] = []
    if extra and mapping.extra_columns == "error":
        problems.extend(FileProblem("extra_column", "dq.import.extra_column", {"column": c}) for c in extra)
    else:
        ignored = extra
    return resolved, units, problems, ignored


def _convert(raw: pd.Series, spec: ColumnSpec, unit: str | pd.Series) -> tuple[pd.Series, nz.Parsed | None, pd.Series]:
    """Typed values, the Parsed result (None for plain text) and per-row message keys ('' when fine)."""
    no_keys = pd.Series("", index=raw.index, dtype="string")
    if spec.type == "text":
        return nz.clean_text(raw), None, no_keys
    if spec.type == "code":
        return nz.clean_code(raw), None, no_keys
    if spec.type == "credit_code":
        codes, problems = nz.normalize_credit_codes(raw)
        problems = problems.where(problems != "dq.cell.empty", "")  # emptiness is the validator's call
        return codes, None, problems
    if spec.type in ("date", "month"):
        parsed = nz.parse_dates(raw, month_only=spec.type == "month")
    elif spec.type == "amount":
        parsed = nz.parse_amount_cents(raw, unit)
        parsed = nz.Parsed(nz.cents_to_yuan(parsed.values), parsed.status)
    elif spec.type in ("number", "integer", "year"):
        parsed = nz.parse_number(raw, integer=spec.type != "number")
    else:  # enum
        parsed = nz.map_enum(raw, spec.values or nz.ENUM_MAPS[spec.enum or ""])
    keys = ("dq.cell." + parsed.status).where(parsed.bad, "")
    return parsed.values, parsed, keys.astype("string")


def read_department_file(
    content: bytes,
    filename: str,
    mapping: ImportMapping,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> ParsedFile:
    """Decode, map and normalize one department file.

    Args:
        content: the whole file as uploaded.
        filename: its name; the suffix picks the format (``.csv``/``.txt``, ``.xlsx``, ``.jsonl``/``.ndjson``).
        mapping: the department's column mapping (:func:`core.quality.mapping.parse_mapping`).
        max_bytes: larger files are refused before any parsing (never truncated).
        max_rows: more data rows than this are refused.

    Raises:
        ImportFileError: every file-level problem found (size, encoding, format, columns).
    """
    if len(content) > max_bytes:
        raise ImportFileError([FileProblem("too_large", "dq.import.too_large",
                                           {"size_mb": round(len(content) / 2**20, 1),
                                            "limit_mb": round(max_bytes / 2**20, 1)})])
    try:
        raw, encoding, first_line = _load(content, filename, mapping)
    except nz.EncodingUndetectedError as exc:
        raise ImportFileError([FileProblem("encoding", "dq.import.encoding", dict(exc.params))]) from exc
    if len(raw) > max_rows:
        raise ImportFileError([FileProblem("too_many_rows", "dq.import.too_many_rows",
                                           {"rows": len(raw), "limit": max_rows})])
    rows = raw.pop(ROW) if ROW in raw.columns else pd.Series(range(first_line, first_line + len(raw)), index=raw.index)
    resolved, header_units, problems, ignored = _resolve_columns([str(c) for c in raw.columns], mapping)
    if raw.empty and not problems:
        problems.append(FileProblem("unreadable", "dq.import.empty_file", {}))
    if problems:
        raise ImportFileError(problems)
    by_norm = {_norm_header(c): c for c in raw.columns}
    out = pd.DataFrame(index=raw.index)
    issue_parts = []
    for fld, (header, spec) in resolved.items():
        unit: str | pd.Series = header_units.get(fld) or spec.unit or "yuan"
        if spec.unit_column and fld not in header_units:
            unit = raw[by_norm[_norm_header(spec.unit_column)]]
        values, parsed, keys = _convert(raw[header], spec, unit)
        out[fld] = values
        bad = keys != ""
        if bad.any():
            status = parsed.status[bad] if parsed is not None else pd.Series("invalid", index=keys[bad].index)
            issue_parts.append(pd.DataFrame({
                ROW: rows[bad], "field": fld, "column": header, "code": status.astype(str),
                "message_key": keys[bad].astype(str), "value": raw[header][bad].astype(object),
            }))
    for name, value in mapping.constants.items():
        out[name] = value
    out.insert(0, ROW, rows.astype("int64"))
    issues = (pd.concat(issue_parts, ignore_index=True) if issue_parts
              else pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS}))
    original = raw.astype(object).where(raw.notna(), None)
    original.insert(0, ROW, rows.astype("int64"))
    return ParsedFile(out.reset_index(drop=True), issues[ISSUE_COLUMNS], encoding, len(out), header_units, ignored,
                      original.reset_index(drop=True))
