"""Data-quality rules as versioned data, and the engine that evaluates a rule set over frames.

A rule set (``data/reference/quality_rules/v<N>.json``) lists rules, each with a ``code``, a
``version``, a ``type`` (one of :data:`RULE_TYPES`), the ``table`` it reads, its ``dimension``,
``severity``, the ``source`` department it concerns, ``params`` and a ``message_key``.
:func:`parse_rule_set` validates the whole set (unknown types, duplicate codes, bad parameters) and
reports every problem at once. :func:`run_rules` evaluates every rule vectorized and returns the
failures (one row per failing record) and a status per rule: ``evaluated``, ``not_evaluated`` with
the reason (a missing table, column or reference list), ``disabled``, or ``error`` with the
exception — no rule is ever skipped silently. Pure: frames in, frames out; ``as_of`` is passed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import InvalidError
from core.quality.mapping import SOURCES
from core.quality.rule_types import RULE_TYPES, TABLES, Hits, NotEvaluatedError, Reference, RuleContext

__all__ = ["RULE_TYPES", "Reference", "RuleSet", "RuleSetError", "RuleSpec", "RunResult", "parse_rule_set",
           "run_rules"]

DIMENSIONS = ("completeness", "validity", "consistency", "uniqueness", "timeliness")
SEVERITY_WEIGHTS = {"info": 1, "warning": 2, "error": 3, "critical": 5}
FAILURE_COLUMNS = ["rule_code", "rule_version", "dimension", "severity", "source", "table", "enterprise_id",
                   "credit_code", "record_ref", "field", "detail", "message_key"]
SUMMARY_COLUMNS = ["rule_code", "rule_version", "type", "table", "dimension", "severity", "source", "status",
                   "reason", "checked", "failed", "elapsed_ms", "message_key"]


class RuleSetError(InvalidError):
    """A rule set is malformed; ``problems`` lists each problem with the rule code or position."""

    key = "dq.config.rule_set_invalid"

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(detail="; ".join(problems[:20]))


# ------------------------------------------------------------------------------------------ rule set

class RuleSpec(BaseModel):
    """One data-quality rule as configured."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Z]{2,4}-\d{3}$")
    version: int = Field(ge=1)
    type: str
    table: Literal[TABLES]  # type: ignore[valid-type]
    dimension: Literal[DIMENSIONS]  # type: ignore[valid-type]
    severity: Literal[tuple(SEVERITY_WEIGHTS)]  # type: ignore[valid-type]
    source: Literal[SOURCES]  # type: ignore[valid-type]
    enabled: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    message_key: str = Field(pattern=r"^dq\.[a-z0-9_.]+$")
    description: str = ""


class RuleSet(BaseModel):
    """A published, versioned set of rules."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int = Field(ge=1)
    published_on: date | None = None
    description: str = ""
    rules: list[RuleSpec] = Field(min_length=1)

    def with_enabled(self, codes: Mapping[str, bool]) -> RuleSet:
        """A copy with some rules switched on or off (a regulator's toggles, before publishing)."""
        unknown = set(codes) - {r.code for r in self.rules}
        if unknown:
            raise RuleSetError([f"unknown rule code {c}" for c in sorted(unknown)])
        rules = [r.model_copy(update={"enabled": codes.get(r.code, r.enabled)}) for r in self.rules]
        return self.model_copy(update={"rules": rules})


def parse_rule_set(raw: str | bytes | Mapping[str, Any]) -> RuleSet:
    """Validate a rule set given as JSON text or a parsed mapping; every problem is reported.

    Raises:
        RuleSetError: unknown rule types, duplicate codes, bad parameters, bad fields.
    """
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else dict(raw)
    except json.JSONDecodeError as exc:
        raise RuleSetError([f"not JSON: {exc.msg} at line {exc.lineno}"]) from exc
    problems: list[str] = []
    try:
        rule_set = RuleSet.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            loc = list(e["loc"])
            where = ".".join(str(p) for p in loc)
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                rules = data.get("rules") or []
                code = rules[loc[1]].get("code") if loc[1] < len(rules) and isinstance(rules[loc[1]], dict) else None
                where = f"rule {code or '#' + str(loc[1])}: " + ".".join(str(p) for p in loc[2:])
            problems.append(f"{where}: {e['msg']}")
        raise RuleSetError(problems) from exc
    seen: set[str] = set()
    for rule in rule_set.rules:
        if rule.code in seen:
            problems.append(f"rule {rule.code}: duplicate code")
        seen.add(rule.code)
        rule_type = RULE_TYPES.get(rule.type)
        if rule_type is None:
            problems.append(f"rule {rule.code}: unknown type {rule.type!r}; known: {', '.join(sorted(RULE_TYPES))}")
            continue
        try:
            rule_type.params.model_validate(rule.params)
        except ValidationError as exc:
            for e in exc.errors():
                problems.append(f"rule {rule.code}: params.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}")
        if rule_type.tables and rule.table not in rule_type.tables:
            problems.append(f"rule {rule.code}: type {rule.type} applies to {', '.join(rule_type.tables)}, "
                            f"not {rule.table}")
    if problems:
        raise RuleSetError(problems)
    return rule_set


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: every failure, and one status line per rule of the set."""

    rule_set: str
    rule_set_version: int
    as_of: date
    failures: pd.DataFrame  # FAILURE_COLUMNS
    summary: pd.DataFrame  # SUMMARY_COLUMNS; status evaluated / not_evaluated / disabled / error


def _entity_columns(table: str, out: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    n = len(out)
    if table == "enterprise" and "id" in out and "enterprise_id" not in out:
        ent = out["id"]
    elif "enterprise_id" in out:
        ent = out["enterprise_id"]
    else:
        ent = pd.Series([pd.NA] * n, index=out.index)
    code = out["credit_code"] if "credit_code" in out else pd.Series([pd.NA] * n, index=out.index)
    if "_ref" in out:
        ref = table + ":" + out["_ref"].astype("string")
    elif "id" in out:
        ref = table + ":" + out["id"].astype("string")
    elif "_row" in out:
        ref = table + "@row " + out["_row"].astype("string")
    else:
        ref = table + "@" + pd.Series(out.index, index=out.index).astype("string")
    return ent, code, ref


def _evaluate(ctx: RuleContext, rule: RuleSpec) -> tuple[str, str, Hits | None]:
    rule_type = RULE_TYPES[rule.type]
    params = rule_type.params.model_validate(rule.params)
    frame = ctx.frames.get(rule.table)
    if frame is None:
        return "not_evaluated", f"table {rule.table} not provided", None
    missing_cols = sorted(c for c in params.columns() if c not in frame.columns)
    if missing_cols:
        return "not_evaluated", f"{rule.table} lacks column(s) {', '.join(missing_cols)}", None
    rows = ctx.where(rule.table, frame, params)
    try:
        return "evaluated", "", rule_type.evaluate(ctx, rule.table, rows, params)
    except NotEvaluatedError as exc:
        return "not_evaluated", str(exc), None


def run_rules(rule_set: RuleSet, frames: Mapping[str, pd.DataFrame], *, as_of: date,
              reference: Reference | None = None, raise_errors: bool = False) -> RunResult:
    """Evaluate every rule of ``rule_set`` over ``frames``.

    Args:
        rule_set: a validated set (:func:`parse_rule_set`).
        frames: model-shaped frames by table name (``enterprise``, ``shareholding``, ``gov_record``,
            ``financial_statement``), money in yuan; a table may be absent (its rules report
            ``not_evaluated``).
        as_of: the run's date (timeliness and "not in the future" compare with it).
        reference: district and industry lists; rules needing an absent list report ``not_evaluated``.
        raise_errors: re-raise an exception inside a rule (tests) instead of reporting status ``error``.
    """
    ctx = RuleContext(frames, as_of, reference or Reference())
    parts: list[pd.DataFrame] = []
    summary: list[dict] = []
    for rule in rule_set.rules:
        line = {"rule_code": rule.code, "rule_version": rule.version, "type": rule.type, "table": rule.table,
                "dimension": rule.dimension, "severity": rule.severity, "source": rule.source,
                "status": "disabled", "reason": "disabled in the rule set", "checked": 0, "failed": 0,
                "elapsed_ms": 0.0, "message_key": rule.message_key}
        if rule.enabled:
            started = time.perf_counter()
            try:
                status, reason, hits = _evaluate(ctx, rule)
            except Exception as exc:
                if raise_errors:
                    raise
                status, reason, hits = "error", f"{type(exc).__name__}: {exc}"[:300], None
            line.update(status=status, reason=reason, elapsed_ms=round((time.perf_counter() - started) * 1000, 2))
            if hits is not None:
                out = hits.frame.reset_index(drop=True)
                ent, code, ref = _entity_columns(rule.table, out)
                detail = hits.detail
                detail = detail.reset_index(drop=True) if isinstance(detail, pd.Series) else detail
                fld = hits.field.reset_index(drop=True) if isinstance(hits.field, pd.Series) else hits.field
                line.update(checked=int(hits.checked), failed=len(out))
                if len(out):
                    parts.append(pd.DataFrame({
                        "rule_code": rule.code, "rule_version": rule.version, "dimension": rule.dimension,
                        "severity": rule.severity, "source": rule.source, "table": rule.table,
                        "enterprise_id": pd.array(ent.to_numpy(), dtype="Int64") if len(out) else None,
                        "credit_code": code.astype("string").to_numpy(),
                        "record_ref": ref.astype("string").to_numpy(), "field": fld,
                        "detail": detail if isinstance(detail, str) else detail.astype("string").to_numpy(),
                        "message_key": rule.message_key,
                    }))
        summary.append(line)
    failures = (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS}))
    return RunResult(rule_set.name, rule_set.version, as_of, failures[FAILURE_COLUMNS],
                     pd.DataFrame(summary, columns=SUMMARY_COLUMNS))
