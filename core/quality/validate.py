"""Row-level validation of a normalized import: accepted rows, rejected rows with reasons, duplicates.

The gates here are the hard constraints a row must meet to be upserted at all (the model's field
rules and the database's CHECK constraints); softer data-quality findings are the rule engine's
(:mod:`core.quality.rules`). Each rejected row carries every reason found — a machine-readable code,
a message key (``dq.reason.*`` / ``dq.cell.*`` / ``error.credit_code.*``), the field and the raw
value — so an import service can quarantine it and a department can fix it at the source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from core.quality import checks as ck
from core.quality.mapping import SOURCES, DedupeSpec
from core.quality.reader import ISSUE_COLUMNS, ROW

TAX_GRADES = ("A", "B", "M", "C", "D")
SCALES = ("micro", "small", "medium", "large")
HOLDER_TYPES = ("person", "enterprise")
MONTHLY_KINDS = ("tax_paid", "si_headcount", "hf_contributors", "electricity_kwh", "water_t", "gas_m3")
EARLIEST = date(1949, 1, 1)


@dataclass(frozen=True)
class GateContext:
    """What gates may compare against: the run's date and, when given, the reference lists."""

    as_of: date
    districts: frozenset[str] | None = None
    divisions: dict[str, str] | None = None  # GB/T 4754 division -> section


@dataclass(frozen=True)
class Gate:
    """One hard constraint on one field; ``test`` returns True where a row fails."""

    field: str
    code: str
    message_key: str
    test: Callable[[pd.DataFrame, GateContext], pd.Series]
    needs: tuple[str, ...] = ()  # other columns the test reads
    handles_absence: bool = False  # the test itself decides what an absent ``field`` column means


def _required(col: str) -> Gate:
    return Gate(col, "required", "dq.reason.required", lambda f, _c: ck.missing(f[col]))


def _where(frame: pd.DataFrame, col: str, values) -> pd.Series:
    return frame[col].astype(object).isin(list(values)) if col in frame else pd.Series(False, index=frame.index)


def _enterprise_gates() -> list[Gate]:
    gates = [_required(c) for c in ("credit_code", "name", "district_code", "industry_section", "industry_division",
                                    "scale", "founded_on", "registered_capital", "employees", "legal_rep_name")]
    gates += [
        Gate("name", "length", "dq.reason.length", lambda f, _c: ck.bad_length(f["name"], 2, 120)),
        Gate("industry_section", "pattern", "dq.reason.code_list",
             lambda f, _c: ck.not_matching(f["industry_section"], "[A-T]")),
        Gate("industry_division", "pattern", "dq.reason.code_list",
             lambda f, _c: ck.not_matching(f["industry_division"], r"\d{2}")),
        Gate("scale", "code_list", "dq.reason.code_list", lambda f, _c: ck.not_in(f["scale"], SCALES)),
        Gate("district_code", "code_list", "dq.reason.unknown_district",
             lambda f, c: ck.not_in(f["district_code"], c.districts) if c.districts is not None
             else pd.Series(False, index=f.index)),
        Gate("industry_division", "code_list", "dq.reason.unknown_industry",
             lambda f, c: ck.not_in(f["industry_division"], c.divisions) if c.divisions is not None
             else pd.Series(False, index=f.index)),
        Gate("founded_on", "date_range", "dq.reason.date_range",
             lambda f, c: ck.after(f["founded_on"], c.as_of) | ck.before(f["founded_on"], EARLIEST)),
        Gate("registered_capital", "negative", "dq.reason.negative",
             lambda f, _c: ck.out_of_range(f["registered_capital"], 0, None)),
        Gate("employees", "negative", "dq.reason.negative", lambda f, _c: ck.out_of_range(f["employees"], 0, None)),
    ]
    return gates


def _shareholding_gates() -> list[Gate]:
    gates = [_required(c) for c in ("credit_code", "holder_type", "holder_name", "share_pct", "since")]
    gates += [
        Gate("share_pct", "range", "dq.reason.share_range",
             lambda f, _c: ck.out_of_range(f["share_pct"], 0, 100, low_inclusive=False)),
        Gate("since", "date_range", "dq.reason.date_range",
             lambda f, c: ck.after(f["since"], c.as_of) | ck.before(f["since"], EARLIEST)),
        Gate("until", "order", "dq.reason.until_before_since",
             lambda f, _c: (ck.as_dates(f["until"]) < ck.as_dates(f["since"])) if "until" in f
             else pd.Series(False, index=f.index), needs=("since",), handles_absence=True),
        Gate("holder_credit_code", "required", "dq.reason.holder_code",
             lambda f, _c: _where(f, "holder_type", ["enterprise"]) & (
                 ck.missing(f["holder_credit_code"]) | ck.bad_credit_code(f["holder_credit_code"]))
             if "holder_credit_code" in f else _where(f, "holder_type", ["enterprise"]),
             needs=("holder_type",), handles_absence=True),
    ]
    return gates


def _gov_record_gates() -> list[Gate]:
    gates = [_required(c) for c in ("credit_code", "source", "kind", "period")]
    gates += [
        Gate("source", "code_list", "dq.reason.code_list", lambda f, _c: ck.not_in(f["source"], SOURCES)),
        Gate("period", "date_range", "dq.reason.date_range",
             lambda f, c: ck.after(f["period"], c.as_of) | ck.before(f["period"], EARLIEST)),
        Gate("value", "required", "dq.reason.required",
             lambda f, _c: _where(f, "kind", MONTHLY_KINDS) & ck.missing(f["value"]) if "value" in f
             else _where(f, "kind", MONTHLY_KINDS), needs=("kind",), handles_absence=True),
        Gate("value", "negative", "dq.reason.negative",
             lambda f, _c: ck.out_of_range(f["value"], 0, None) if "value" in f else pd.Series(False, index=f.index)),
        Gate("text", "code_list", "dq.reason.code_list",
             lambda f, _c: _where(f, "kind", ["tax_grade"]) & (
                 ck.not_in(f["text"], TAX_GRADES) | ck.missing(f["text"])) if "text" in f
             else _where(f, "kind", ["tax_grade"]), needs=("kind",), handles_absence=True),
    ]
    return gates


def _statement_gates() -> list[Gate]:
    gates = [_required(c) for c in ("credit_code", "year", "revenue", "net_profit", "total_assets",
                                    "total_liabilities", "current_assets", "current_liabilities",
                                    "operating_cash_flow")]
    gates += [
        Gate("year", "range", "dq.reason.year_range", lambda f, c: ck.out_of_range(f["year"], 1990, c.as_of.year)),
        Gate("revenue", "negative", "dq.reason.negative", lambda f, _c: ck.out_of_range(f["revenue"], 0, None)),
        Gate("total_assets", "negative", "dq.reason.negative",
             lambda f, _c: ck.out_of_range(f["total_assets"], 0, None)),
    ]
    return gates


GATES: dict[str, list[Gate]] = {
    "enterprise": _enterprise_gates(),
    "shareholding": _shareholding_gates(),
    "gov_record": _gov_record_gates(),
    "financial_statement": _statement_gates(),
}


@dataclass(frozen=True)
class ValidationResult:
    """What an import service upserts (``accepted``), quarantines (``rejected``) and reports."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame  # the rejected rows with ``reason_codes`` and ``message_keys`` (';'-joined)
    reasons: pd.DataFrame  # one row per (row, problem): _row, field, code, message_key, value
    duplicates: pd.DataFrame  # superseded rows: _row, key, kept_row
    counts: dict[str, int] = field(default_factory=dict)


def _key_text(frame: pd.DataFrame, key: list[str]) -> pd.Series:
    parts = [frame[k].astype("string").fillna("") for k in key]
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out


def deduplicate(frame: pd.DataFrame, spec: DedupeSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the last row per key by ``spec.order_by`` then file order; report the superseded rows.

    Returns:
        ``(kept, duplicates)``; ``duplicates`` has ``_row``, ``key`` and the ``kept_row`` that won.
    """
    missing_cols = [c for c in spec.key if c not in frame]
    if missing_cols:
        raise KeyError(f"deduplication needs columns {missing_cols}")
    # An ordering column the file does not carry (an optional one, e.g. 更新时间) orders nothing: file order decides.
    order_by = [c for c in spec.order_by if c in frame]
    order = [*order_by, ROW] if ROW in frame else order_by
    ordered = frame.sort_values(order, kind="stable", na_position="first") if order else frame
    keys = _key_text(ordered, spec.key)
    last = ~keys.duplicated(keep="last")
    kept = ordered[last].sort_index()
    dup_rows = ordered[~last]
    winner_row = (ordered[ROW] if ROW in ordered else pd.Series(ordered.index, index=ordered.index))[last]
    winner_by_key = pd.Series(winner_row.to_numpy(), index=keys[last].to_numpy())
    duplicates = pd.DataFrame({
        ROW: dup_rows[ROW] if ROW in dup_rows else dup_rows.index.to_series(),
        "key": keys[~last],
        "kept_row": keys[~last].map(winner_by_key),
    }).sort_values(ROW, kind="stable").reset_index(drop=True)
    return kept, duplicates


def validate_rows(
    frame: pd.DataFrame,
    *,
    target: str,
    context: GateContext,
    cell_issues: pd.DataFrame | None = None,
    dedupe: DedupeSpec | None = None,
) -> ValidationResult:
    """Split normalized rows into accepted and rejected ones, then deduplicate the accepted.

    Args:
        frame: rows from :func:`core.quality.reader.read_department_file` (model field names, ``_row``).
        target: ``enterprise``, ``shareholding``, ``gov_record`` or ``financial_statement``.
        context: ``as_of`` and the optional reference lists.
        cell_issues: the reader's cell problems (unparseable, impossible, invalid credit code); each
            rejects its row.
        dedupe: the mapping's key and order; duplicates among accepted rows keep the last.
    """
    if target not in GATES:
        raise ValueError(f"unknown target {target!r}")
    if ROW not in frame:
        frame = frame.assign(**{ROW: range(1, len(frame) + 1)})
    parts = []
    if cell_issues is not None and len(cell_issues):
        parts.append(cell_issues[ISSUE_COLUMNS])
    for gate in GATES[target]:
        if gate.field not in frame and not gate.handles_absence:
            # an absent column: every row lacks a required field; an optional one has nothing to check
            bad = pd.Series(gate.code == "required", index=frame.index)
        elif any(n not in frame for n in gate.needs):
            bad = pd.Series(False, index=frame.index)  # the needed column's own required gate reports it
        else:
            bad = gate.test(frame, context).reindex(frame.index, fill_value=False).fillna(False).astype(bool)
        if bad.any():
            parts.append(pd.DataFrame({
                ROW: frame.loc[bad, ROW], "field": gate.field, "code": gate.code, "message_key": gate.message_key,
                "column": None,
                "value": frame.loc[bad, gate.field].astype(object) if gate.field in frame else None,
            })[ISSUE_COLUMNS])
    reasons = (pd.concat(parts, ignore_index=True) if parts
               else pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS}))
    reasons = reasons.drop_duplicates([ROW, "field", "code"]).sort_values([ROW, "field"], kind="stable")
    reasons = reasons.reset_index(drop=True)
    bad_rows = set(reasons[ROW].tolist())
    is_bad = frame[ROW].isin(bad_rows)
    grouped = reasons.groupby(ROW).agg(reason_codes=("code", lambda s: ";".join(dict.fromkeys(s))),
                                       message_keys=("message_key", lambda s: ";".join(dict.fromkeys(s))),
                                       fields=("field", lambda s: ";".join(dict.fromkeys(s))))
    rejected = frame[is_bad].merge(grouped, left_on=ROW, right_index=True, how="left").reset_index(drop=True)
    accepted = frame[~is_bad]
    duplicates = pd.DataFrame({ROW: pd.Series(dtype="int64"), "key": pd.Series(dtype="string"),
                               "kept_row": pd.Series(dtype="int64")})
    if dedupe is not None and len(accepted):
        accepted, duplicates = deduplicate(accepted, dedupe)
    accepted = accepted.reset_index(drop=True)
    counts = {"read": len(frame), "accepted": len(accepted), "rejected": len(rejected),
              "duplicates": len(duplicates)}
    return ValidationResult(accepted, rejected, reasons, duplicates, counts)
