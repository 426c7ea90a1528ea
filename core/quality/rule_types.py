"""Rule types: each one's parameter model and its vectorized evaluation over a frame.

A rule type reads the rows its ``where`` filter selects and returns :class:`Hits` — the units it
checked and the failing ones, with a detail each. A type that lacks an input raises
:class:`NotEvaluatedError`, which the runner (:mod:`core.quality.rules`) reports as ``not_evaluated``
with the reason. Nulls pass validity checks; completeness rules report them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.quality import checks as ck

TABLES = ("enterprise", "shareholding", "gov_record", "financial_statement")


# ------------------------------------------------------------------------------------------ params

class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    where: dict[str, list[Any]] = Field(default_factory=dict)  # column -> allowed values
    where_missing: list[str] = Field(default_factory=list)  # columns that must be null (e.g. until)

    def columns(self) -> set[str]:
        return set(self.where) | set(self.where_missing)


class RequiredParams(_Params):
    columns_: list[str] = Field(alias="columns", min_length=1)

    def columns(self) -> set[str]:
        return super().columns()  # the checked columns' absence is itself the finding


class RangeParams(_Params):
    column: str
    min: float | None = None
    max: float | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _bounded(self) -> RangeParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class InSetParams(_Params):
    column: str
    values: list[Any] | None = None
    reference: Literal["districts", "industry_sections", "industry_divisions"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> InSetParams:
        if (self.values is None) == (self.reference is None):
            raise ValueError("give exactly one of values or reference")
        return self

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class PatternParams(_Params):
    column: str
    regex: str

    @model_validator(mode="after")
    def _compiles(self) -> PatternParams:
        try:
            re.compile(self.regex)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc}") from exc
        return self

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class LengthParams(_Params):
    column: str
    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=1)

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class ColumnParams(_Params):
    column: str

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class DateWindowParams(_Params):
    column: str
    not_before: date | None = None
    max_days_after_as_of: int | None = None  # 0: not in the future

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class YearWindowParams(_Params):
    column: str
    min_year: int
    max_years_after_as_of: int = 0

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class CompareParams(_Params):
    left: str
    op: Literal["le", "lt", "ge", "gt", "eq", "ne"]
    right: str
    factor: float = 1.0
    tolerance: float = Field(default=0.0, ge=0)
    abs_left: bool = False

    def columns(self) -> set[str]:
        return super().columns() | {self.left, self.right}


class BalanceParams(_Params):
    total: str
    parts: list[str] = Field(min_length=1)
    rel_tolerance: float = Field(default=0.01, ge=0)
    abs_tolerance: float = Field(default=1.0, ge=0)

    def columns(self) -> set[str]:
        return super().columns() | {self.total, *self.parts}


class SectionDivisionParams(_Params):
    section_column: str = "industry_section"
    division_column: str = "industry_division"

    def columns(self) -> set[str]:
        return super().columns() | {self.section_column, self.division_column}


class UniqueParams(_Params):
    columns_: list[str] = Field(alias="columns", min_length=1)

    def columns(self) -> set[str]:
        return super().columns() | set(self.columns_)


class GroupSumParams(_Params):
    group_by: list[str] = Field(min_length=1)
    column: str
    min: float | None = None
    max: float | None = None
    tolerance: float = Field(default=0.0, ge=0)

    def columns(self) -> set[str]:
        return super().columns() | set(self.group_by) | {self.column}


class SeriesParams(_Params):
    group_by: list[str] = Field(default_factory=lambda: ["enterprise_id", "source", "kind"])
    period: str = "period"

    def columns(self) -> set[str]:
        return super().columns() | set(self.group_by) | {self.period}


class GapParams(SeriesParams):
    max_missing_months: int = Field(default=0, ge=0)


class SpikeParams(SeriesParams):
    column: str = "value"
    factor: float = Field(default=20.0, gt=1)
    min_base: float = Field(default=0.0, ge=0)
    step: Literal["month", "year"] = "month"

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class StaleParams(_Params):
    column: str = "period"
    max_age_days: int = Field(ge=1)
    column_is_year: bool = False
    scope: Literal["source", "enterprise"] = "source"

    def columns(self) -> set[str]:
        cols = super().columns() | {self.column}
        return cols | ({"enterprise_id"} if self.scope == "enterprise" else set())


class DelayParams(_Params):
    start: str = "period"
    end: str = "received_at"
    min_days: int = 0
    max_days: int = Field(ge=0)

    def columns(self) -> set[str]:
        return super().columns() | {self.start, self.end}


class CrossEnterpriseParams(_Params):
    kind: str
    value_column: str = "value"
    enterprise_column: str
    op: Literal["le", "ge"] = "le"
    factor: float = 1.0
    tolerance: float = Field(default=0.0, ge=0)
    statistic: Literal["latest", "max", "mean"] = "latest"

    def columns(self) -> set[str]:
        return super().columns() | {"enterprise_id", "kind", "period", self.value_column}


class CrossKindParams(_Params):
    kind: str
    other_kind: str
    op: Literal["le", "ge"] = "le"
    factor: float = 1.0
    tolerance: float = Field(default=0.0, ge=0)

    def columns(self) -> set[str]:
        return super().columns() | {"enterprise_id", "kind", "period", "value"}


class ForeignKeyParams(_Params):
    column: str
    ref_table: Literal[TABLES]  # type: ignore[valid-type]
    ref_column: str = "id"

    def columns(self) -> set[str]:
        return super().columns() | {self.column}


class AfterFoundingParams(_Params):
    column: str
    granularity: Literal["day", "month", "year"] = "day"
    column_is_year: bool = False

    def columns(self) -> set[str]:
        return super().columns() | {self.column, "enterprise_id"}


class CoverageParams(_Params):
    """Every enterprise has at least one row of this table (after ``where``)."""

    def columns(self) -> set[str]:
        return super().columns() | {"enterprise_id"}


class RefYearParams(_Params):
    ref_column: str = "ref"
    period: str = "period"
    max_years_apart: int = Field(default=0, ge=0)

    def columns(self) -> set[str]:
        return super().columns() | {self.ref_column, self.period}


class CodeDistrictParams(_Params):
    code_column: str = "credit_code"
    district_column: str = "district_code"

    def columns(self) -> set[str]:
        return super().columns() | {self.code_column, self.district_column}


class YearlySumParams(_Params):
    kind: str
    statement_column: str = "revenue"
    factor: float = Field(gt=0)

    def columns(self) -> set[str]:
        return super().columns() | {"enterprise_id", "kind", "period", "value"}


@dataclass(frozen=True)
class Reference:
    """Reference lists some rules compare against (None: that rule reports itself not evaluated)."""

    districts: frozenset[str] | None = None
    sections: frozenset[str] | None = None
    divisions: Mapping[str, str] | None = None  # division -> section

    @classmethod
    def from_frames(cls, districts: pd.DataFrame | None = None, industries: pd.DataFrame | None = None,
                    sections: pd.DataFrame | None = None) -> Reference:
        return cls(
            districts=frozenset(districts["code"].astype(str)) if districts is not None else None,
            sections=frozenset(sections["section"].astype(str)) if sections is not None else (
                frozenset(industries["section"].astype(str)) if industries is not None else None),
            divisions=dict(zip(industries["division"].astype(str), industries["section"].astype(str), strict=True))
            if industries is not None else None,
        )


# ------------------------------------------------------------------------------------------ evaluation

class NotEvaluatedError(Exception):
    """Raised inside a rule when an input it needs is absent; becomes status ``not_evaluated``."""


@dataclass
class RuleContext:
    """The frames a run reads (model-shaped, money in yuan), the run date and the reference lists."""

    frames: Mapping[str, pd.DataFrame]
    as_of: date
    reference: Reference = field(default_factory=Reference)
    _masks: dict = field(default_factory=dict, repr=False)

    def table(self, name: str) -> pd.DataFrame:
        frame = self.frames.get(name)
        if frame is None:
            raise NotEvaluatedError(f"table {name} not provided")
        return frame

    def where(self, table: str, frame: pd.DataFrame, params: _Params) -> pd.DataFrame:
        """The rows and columns a rule looks at; the row selection is cached (many rules share a filter)."""
        key = (table, repr(sorted(params.where.items())), tuple(params.where_missing))
        positions = self._masks.get(key)
        if positions is None:
            mask = np.ones(len(frame), dtype=bool)
            for col, values in params.where.items():
                mask &= frame[col].isin(values).to_numpy(bool)
            for col in params.where_missing:
                mask &= frame[col].isna().to_numpy(bool)
            positions = None if mask.all() else np.flatnonzero(mask)
            self._masks[key] = positions if positions is not None else slice(None)
        positions = self._masks[key]
        wanted = params.columns() | _REF_COLUMNS | set(getattr(params, "columns_", ()))
        cols = [c for c in frame.columns if c in wanted]
        sub = frame[cols]
        return sub if isinstance(positions, slice) else sub.iloc[positions]


_REF_COLUMNS = {"id", "enterprise_id", "credit_code", "_row"}


@dataclass(frozen=True)
class Hits:
    """A rule's outcome: how many units it checked and the failing ones (rows of ``frame``)."""

    checked: int
    frame: pd.DataFrame  # the failing rows (of the rule's table, or synthetic ones)
    field: str | pd.Series
    detail: pd.Series | str


def _hits(rows: pd.DataFrame, mask: pd.Series, field_name: str, detail) -> Hits:
    mask = mask.reindex(rows.index, fill_value=False).fillna(False).astype(bool)
    failing = rows[mask.to_numpy()]
    if callable(detail):
        detail = detail(failing) if len(failing) else pd.Series([], dtype="string")
    return Hits(len(rows), failing, field_name, detail)


def _fmt(values: pd.Series) -> pd.Series:
    return values.astype("string").fillna("∅")


def _r_required(ctx, t, rows, p: RequiredParams):
    present = [c for c in p.columns_ if c in rows]
    absent = [c for c in p.columns_ if c not in rows]
    miss = pd.DataFrame({c: ck.missing(rows[c]) for c in present}, index=rows.index)
    for c in absent:
        miss[c] = True
    bad = miss.any(axis=1)
    names = pd.Series("", index=rows.index, dtype="string")
    for c in p.columns_:
        names = names.where(~miss[c], names + c + ",")
    names = names.str.rstrip(",")
    return Hits(len(rows), rows[bad.to_numpy()], names[bad], "missing: " + names[bad])


def _r_range(ctx, t, rows, p: RangeParams):
    bad = ck.out_of_range(rows[p.column], p.min, p.max, low_inclusive=p.min_inclusive,
                          high_inclusive=p.max_inclusive)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column])
                 + f" outside [{p.min}, {p.max}]")


def _allowed(ctx: RuleContext, p: InSetParams):
    if p.values is not None:
        return p.values
    ref = {"districts": ctx.reference.districts, "industry_sections": ctx.reference.sections,
           "industry_divisions": ctx.reference.divisions}[p.reference]
    if ref is None:
        raise NotEvaluatedError(f"reference list {p.reference} not provided")
    return list(ref)


def _r_in_set(ctx, t, rows, p: InSetParams):
    allowed = _allowed(ctx, p)
    bad = ck.not_in(rows[p.column], allowed)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + " not in the code list")


def _r_pattern(ctx, t, rows, p: PatternParams):
    bad = ck.not_matching(rows[p.column], p.regex)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + " does not match the format")


def _r_length(ctx, t, rows, p: LengthParams):
    bad = ck.bad_length(rows[p.column], p.min, p.max)
    return _hits(rows, bad, p.column, lambda f: f"{p.column} length " + _fmt(f[p.column].astype("string").str.len())
                 + f" outside [{p.min}, {p.max}]")


def _r_credit_code(ctx, t, rows, p: ColumnParams):
    bad = ck.bad_credit_code(rows[p.column])
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + " fails the GB 32100 check")


def _r_id_number(ctx, t, rows, p: ColumnParams):
    bad = ck.bad_id_number(rows[p.column])
    return _hits(rows, bad, p.column, lambda f: f"{p.column} fails the GB 11643 check")  # never echo an ID number


def _r_date_window(ctx, t, rows, p: DateWindowParams):
    d = ck.as_dates(rows[p.column])
    bad = pd.Series(False, index=rows.index)
    if p.not_before is not None:
        bad |= d < pd.Timestamp(p.not_before)
    if p.max_days_after_as_of is not None:
        bad |= d > pd.Timestamp(ctx.as_of) + pd.Timedelta(days=p.max_days_after_as_of)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(ck.as_dates(f[p.column]).dt.date)
                 + f" outside [{p.not_before}, as_of+{p.max_days_after_as_of}d]")


def _r_year_window(ctx, t, rows, p: YearWindowParams):
    bad = ck.out_of_range(rows[p.column], p.min_year, ctx.as_of.year + p.max_years_after_as_of)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]))


_OPS: dict[str, Callable] = {"le": np.less_equal, "lt": np.less, "ge": np.greater_equal, "gt": np.greater,
                             "eq": np.equal, "ne": np.not_equal}


def _compare(left: pd.Series, op: str, right: pd.Series, factor: float, tol: float) -> pd.Series:
    """True where ``left op right*factor`` fails beyond ``tol`` (nulls pass)."""
    r = right * factor
    both = left.notna() & r.notna()
    if op in ("le", "lt"):
        ok = _OPS[op](left, r + tol)
    elif op in ("ge", "gt"):
        ok = _OPS[op](left, r - tol)
    elif op == "eq":
        ok = (left - r).abs() <= tol
    else:
        ok = (left - r).abs() > tol
    return both & ~ok.fillna(True).astype(bool)


def _as_comparable(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or isinstance(values.dtype, pd.DatetimeTZDtype):
        return ck.as_dates(values).astype("int64").where(values.notna()).astype("float64") / 86_400
    return ck.as_number(values)


def _r_compare(ctx, t, rows, p: CompareParams):
    left, right = _as_comparable(rows[p.left]), _as_comparable(rows[p.right])
    if p.abs_left:
        left = left.abs()
    bad = _compare(left, p.op, right, p.factor, p.tolerance)
    return _hits(rows, bad, p.left, lambda f: f"{p.left}=" + _fmt(f[p.left]) + f" not {p.op} "
                 + f"{p.factor}×{p.right}=" + _fmt(f[p.right]))


def _r_balance(ctx, t, rows, p: BalanceParams):
    total = ck.as_number(rows[p.total])
    parts = sum(ck.as_number(rows[c]) for c in p.parts)
    tol = np.maximum(p.abs_tolerance, p.rel_tolerance * total.abs())
    bad = (total - parts).abs() > tol
    return _hits(rows, bad, p.total, lambda f: f"{p.total}=" + _fmt(f[p.total]) + f" ≠ {'+'.join(p.parts)}")


def _r_section_division(ctx, t, rows, p: SectionDivisionParams):
    if ctx.reference.divisions is None:
        raise NotEvaluatedError("reference list industry_divisions not provided")
    expected = rows[p.division_column].astype(object).map(ctx.reference.divisions)
    sec = rows[p.section_column].astype(object)
    bad = expected.notna() & sec.notna() & (expected != sec)
    return _hits(rows, bad, p.section_column, lambda f: "section " + _fmt(f[p.section_column]) + " but division "
                 + _fmt(f[p.division_column]) + " belongs to " + _fmt(f[p.division_column].astype(object).map(
                     ctx.reference.divisions)))


def _r_unique(ctx, t, rows, p: UniqueParams):
    present = rows[p.columns_].notna().all(axis=1)
    dup = rows.duplicated(p.columns_, keep=False) & present
    return _hits(rows, dup, ",".join(p.columns_), lambda f: "duplicate of " + ",".join(p.columns_))


def _r_group_sum(ctx, t, rows, p: GroupSumParams):
    sums = ck.as_number(rows[p.column]).groupby([rows[g] for g in p.group_by], dropna=False).sum()
    bad = pd.Series(False, index=sums.index)
    if p.max is not None:
        bad |= sums > p.max + p.tolerance
    if p.min is not None:
        bad |= sums < p.min - p.tolerance
    groups = sums[bad].reset_index()
    groups.columns = [*p.group_by, "_sum"]
    groups["_ref"] = _group_ref(groups, p.group_by)
    detail = f"sum of {p.column}=" + _fmt(groups["_sum"].round(4)) + f" outside [{p.min}, {p.max}]"
    return Hits(len(sums), groups, p.column, detail)


def _group_ref(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """``col=value/col=value`` naming an aggregated unit (a series, a company's holdings)."""
    out = pd.Series("", index=frame.index, dtype="string")
    for i, c in enumerate(cols):
        out = out + ("/" if i else "") + f"{c}=" + frame[c].astype("string").fillna("")
    return out


def _month_number(values: pd.Series) -> pd.Series:
    d = ck.as_dates(values)
    return (d.dt.year * 12 + d.dt.month - 1).astype("float64")


def _r_series_gaps(ctx, t, rows, p: GapParams):
    months = _month_number(rows[p.period])
    g = pd.DataFrame({**{c: rows[c] for c in p.group_by}, "_m": months}).dropna(subset=["_m"])
    agg = g.groupby(p.group_by, dropna=False)["_m"].agg(["min", "max", "nunique"])
    missing_months = (agg["max"] - agg["min"] + 1 - agg["nunique"]).astype("int64")
    bad = missing_months > p.max_missing_months
    out = agg[bad].reset_index()
    out["_ref"] = _group_ref(out, p.group_by)
    detail = (_fmt(missing_months[bad].reset_index(drop=True)) + " month(s) missing between "
              + _fmt(out["min"].astype("int64").floordiv(12)) + "-" + _fmt(out["min"].astype("int64").mod(12) + 1)
              + " and " + _fmt(out["max"].astype("int64").floordiv(12)) + "-"
              + _fmt(out["max"].astype("int64").mod(12) + 1))
    return Hits(len(agg), out, p.period, detail)


def _r_spike(ctx, t, rows, p: SpikeParams):
    step = _month_number(rows[p.period]) if p.step == "month" else ck.as_number(rows[p.period])
    ordered = rows.assign(_step=step.to_numpy()).sort_values([*p.group_by, "_step"], kind="stable")
    value = ck.as_number(ordered[p.column])
    grouped = [ordered[c] for c in p.group_by]
    prev = value.groupby(grouped, dropna=False).shift(1)
    prev_step = ordered["_step"].groupby(grouped, dropna=False).shift(1)
    consecutive = (ordered["_step"] - prev_step) == 1
    bad = consecutive & (prev >= max(p.min_base, 1e-12)) & (value > prev * p.factor)
    failing = ordered[bad.to_numpy()]
    detail = (f"{p.column} " + _fmt(prev[bad].round(2)) + " → " + _fmt(value[bad].round(2))
              + f" (more than ×{p.factor:g} in one {p.step})")
    return Hits(int(consecutive.sum()), failing, p.column, detail.reset_index(drop=True))


def _r_stale(ctx, t, rows, p: StaleParams):
    if p.column_is_year:
        years = ck.as_number(rows[p.column])
        d = pd.to_datetime(years.astype("Int64").astype("string") + "-12-31", errors="coerce")
    else:
        d = ck.as_dates(rows[p.column])
    limit = pd.Timestamp(ctx.as_of) - pd.Timedelta(days=p.max_age_days)
    if p.scope == "source":
        latest = d.max()
        bad = pd.isna(latest) or latest < limit
        out = pd.DataFrame({"_latest": [latest]}) if bad else pd.DataFrame({"_latest": pd.Series([], dtype="object")})
        out["_ref"] = "latest " + p.column
        detail = (f"latest {p.column} " + _fmt(out["_latest"].astype("string"))
                  + f" older than {p.max_age_days} days before {ctx.as_of}")
        return Hits(1, out, p.column, detail)
    latest = d.groupby(rows["enterprise_id"]).max()
    bad = latest < limit
    out = latest[bad].rename("_latest").reset_index()
    out["_ref"] = _group_ref(out, ["enterprise_id"])
    detail = (f"latest {p.column} " + _fmt(out["_latest"].dt.date)
              + f" older than {p.max_age_days} days before {ctx.as_of}")
    return Hits(len(latest), out, p.column, detail)


def _r_delay(ctx, t, rows, p: DelayParams):
    days = (ck.as_dates(rows[p.end]) - ck.as_dates(rows[p.start])).dt.days
    bad = ((days < p.min_days) | (days > p.max_days)).fillna(False).astype(bool)
    return _hits(rows, bad, p.end, lambda f: f"{p.end} - {p.start} = " + _fmt(days.loc[f.index])
                 + f" days outside [{p.min_days}, {p.max_days}]")


def _r_cross_enterprise(ctx, t, rows, p: CrossEnterpriseParams):
    ent = ctx.table("enterprise")
    if p.enterprise_column not in ent or "id" not in ent:
        raise NotEvaluatedError(f"enterprise.{p.enterprise_column} not provided")
    sel = rows[rows["kind"] == p.kind]
    value = ck.as_number(sel[p.value_column])
    if p.statistic == "latest":
        order = sel.assign(_v=value.to_numpy()).sort_values(["enterprise_id", "period"], kind="stable")
        stat = order.groupby("enterprise_id")["_v"].last()
    else:
        stat = value.groupby(sel["enterprise_id"]).agg(p.statistic)
    other = ck.as_number(ent.set_index("id")[p.enterprise_column])
    other = other[~other.index.duplicated()].reindex(stat.index)
    bad = _compare(stat, p.op, other, p.factor, p.tolerance)
    out = pd.DataFrame({"enterprise_id": stat.index[bad.to_numpy()]})
    out["_ref"] = _group_ref(out, ["enterprise_id"]) + f"/kind={p.kind}"
    detail = (f"{p.statistic} {p.kind}=" + _fmt(stat[bad].reset_index(drop=True).round(2))
              + f" vs {p.factor:g}×enterprise.{p.enterprise_column}=" + _fmt(other[bad].reset_index(drop=True)))
    return Hits(int((stat.notna() & other.notna()).sum()), out, p.value_column, detail)


def _r_cross_kind(ctx, t, rows, p: CrossKindParams):
    a = rows.loc[rows["kind"] == p.kind, ["enterprise_id", "period", "value"]]
    b = rows.loc[rows["kind"] == p.other_kind, ["enterprise_id", "period", "value"]]
    b = b.drop_duplicates(["enterprise_id", "period"]).rename(columns={"value": "_other"})
    a = a.reset_index().merge(b, on=["enterprise_id", "period"], how="inner").set_index("index")
    bad = _compare(ck.as_number(a["value"]), p.op, ck.as_number(a["_other"]), p.factor, p.tolerance)
    failing = rows.loc[a.index[bad.to_numpy()]]
    detail = (f"{p.kind}=" + _fmt(a.loc[bad, "value"]) + f" vs {p.factor:g}×{p.other_kind}="
              + _fmt(a.loc[bad, "_other"])).reset_index(drop=True)
    return Hits(len(a), failing, "value", detail)


def _r_foreign_key(ctx, t, rows, p: ForeignKeyParams):
    ref = ctx.table(p.ref_table)
    if p.ref_column not in ref:
        raise NotEvaluatedError(f"{p.ref_table}.{p.ref_column} not provided")
    present = rows[p.column].notna()
    bad = present & ~rows[p.column].isin(ref[p.ref_column])
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + f" not in {p.ref_table}")


def _founding(ctx: RuleContext) -> pd.Series:
    ent = ctx.table("enterprise")
    if "founded_on" not in ent or "id" not in ent:
        raise NotEvaluatedError("enterprise.founded_on not provided")
    founded = ck.as_dates(ent["founded_on"])
    founded.index = ent["id"].to_numpy()
    return founded[~founded.index.duplicated()]


def _r_after_founding(ctx, t, rows, p: AfterFoundingParams):
    founded = _founding(ctx).reindex(rows["enterprise_id"].to_numpy())
    founded.index = rows.index
    if p.column_is_year:
        when_year = ck.as_number(rows[p.column])
        bad = when_year < founded.dt.year
    else:
        when = ck.as_dates(rows[p.column])
        if p.granularity == "month":
            bad = (when.dt.year * 12 + when.dt.month) < (founded.dt.year * 12 + founded.dt.month)
        elif p.granularity == "year":
            bad = when.dt.year < founded.dt.year
        else:
            bad = when < founded
    bad = bad.fillna(False).astype(bool)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + " before founding "
                 + _fmt(founded[bad].dt.date))


def _r_coverage(ctx, t, rows, p: CoverageParams):
    ent = ctx.table("enterprise")
    if "id" not in ent:
        raise NotEvaluatedError("enterprise.id not provided")
    has = ent["id"].isin(rows["enterprise_id"].unique())
    out = pd.DataFrame({"enterprise_id": ent.loc[~has, "id"].to_numpy()})
    out["_ref"] = "enterprise:" + out["enterprise_id"].astype("string")
    if "credit_code" in ent:
        out["credit_code"] = ent.loc[~has, "credit_code"].to_numpy()
    return Hits(len(ent), out, "enterprise_id", f"no {t} rows" + (f" with {p.where}" if p.where else ""))


def _r_ref_year(ctx, t, rows, p: RefYearParams):
    ref_year = pd.to_numeric(rows[p.ref_column].astype("string").str.extract(r"[(（](\d{4})[)）]")[0], errors="coerce")
    year = ck.as_dates(rows[p.period]).dt.year
    bad = (ref_year - year).abs() > p.max_years_apart
    bad = bad.fillna(False).astype(bool)
    return _hits(rows, bad, p.ref_column, lambda f: f"{p.ref_column} year " + _fmt(ref_year[bad].astype("Int64"))
                 + " vs period year " + _fmt(year[bad]))


def _r_code_district(ctx, t, rows, p: CodeDistrictParams):
    code_part = rows[p.code_column].astype("string").str.slice(2, 8)
    district = rows[p.district_column].astype("string")
    bad = (code_part != district).fillna(False).astype(bool)
    return _hits(rows, bad, p.code_column, lambda f: "code area " + _fmt(code_part[bad]) + " vs district "
                 + _fmt(district[bad]))


def _r_yearly_sum(ctx, t, rows, p: YearlySumParams):
    st = ctx.table("financial_statement")
    need = {"enterprise_id", "year", p.statement_column}
    if not need <= set(st.columns):
        raise NotEvaluatedError(f"financial_statement.{sorted(need - set(st.columns))} not provided")
    sel = rows[rows["kind"] == p.kind]
    year = ck.as_dates(sel["period"]).dt.year
    sums = ck.as_number(sel["value"]).groupby([sel["enterprise_id"], year]).agg(["sum", "count"])
    sums = sums[sums["count"] == 12]["sum"]  # only complete years compare with a yearly statement
    sums.index.names = ["enterprise_id", "year"]
    stmt = st.assign(_rev=ck.as_number(st[p.statement_column])).drop_duplicates(["enterprise_id", "year"])
    joined = sums.rename("_sum").reset_index().merge(
        stmt[["enterprise_id", "year", "_rev"]], on=["enterprise_id", "year"], how="inner")
    bad = _compare(joined["_sum"], "le", joined["_rev"], p.factor, 0.0)
    out = joined[bad.to_numpy()].reset_index(drop=True)
    out["_ref"] = _group_ref(out, ["enterprise_id", "year"])
    detail = (f"yearly {p.kind}=" + _fmt(out["_sum"].round(2)) + f" > {p.factor:g}×{p.statement_column}="
              + _fmt(out["_rev"].round(2)))
    return Hits(len(joined), out, "value", detail)


def _r_month_start(ctx, t, rows, p: ColumnParams):
    d = ck.as_dates(rows[p.column])
    bad = (d.dt.day != 1).fillna(False).astype(bool)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(ck.as_dates(f[p.column]).dt.date)
                 + " is not the first of a month")


def _r_integral(ctx, t, rows, p: ColumnParams):
    v = ck.as_number(rows[p.column])
    bad = (v.notna() & (v != v.round())).astype(bool)
    return _hits(rows, bad, p.column, lambda f: f"{p.column}=" + _fmt(f[p.column]) + " is not a whole number")


@dataclass(frozen=True)
class RuleType:
    """A kind of rule: its parameter model, its vectorized evaluation, the tables it applies to."""

    params: type[_Params]
    evaluate: Callable[[RuleContext, str, pd.DataFrame, Any], Hits]
    tables: tuple[str, ...] = ()  # empty: any table
    needs_ids: bool = False  # reads enterprise_id to join with another table


_GOV = ("gov_record",)
RULE_TYPES: dict[str, RuleType] = {
    "required": RuleType(RequiredParams, _r_required),
    "range": RuleType(RangeParams, _r_range),
    "in_set": RuleType(InSetParams, _r_in_set),
    "pattern": RuleType(PatternParams, _r_pattern),
    "length": RuleType(LengthParams, _r_length),
    "credit_code": RuleType(ColumnParams, _r_credit_code),
    "id_number": RuleType(ColumnParams, _r_id_number),
    "date_window": RuleType(DateWindowParams, _r_date_window),
    "year_window": RuleType(YearWindowParams, _r_year_window),
    "compare": RuleType(CompareParams, _r_compare),
    "balance": RuleType(BalanceParams, _r_balance),
    "section_division": RuleType(SectionDivisionParams, _r_section_division, ("enterprise",)),
    "unique": RuleType(UniqueParams, _r_unique),
    "group_sum": RuleType(GroupSumParams, _r_group_sum),
    "series_gaps": RuleType(GapParams, _r_series_gaps),
    "spike": RuleType(SpikeParams, _r_spike),
    "stale": RuleType(StaleParams, _r_stale),
    "delay": RuleType(DelayParams, _r_delay),
    "cross_enterprise": RuleType(CrossEnterpriseParams, _r_cross_enterprise, _GOV),
    "cross_kind": RuleType(CrossKindParams, _r_cross_kind, _GOV),
    "foreign_key": RuleType(ForeignKeyParams, _r_foreign_key),
    "after_founding": RuleType(AfterFoundingParams, _r_after_founding, ("shareholding", "gov_record",
                                                                          "financial_statement")),
    "coverage": RuleType(CoverageParams, _r_coverage, ("shareholding", "gov_record", "financial_statement")),
    "ref_year": RuleType(RefYearParams, _r_ref_year, _GOV),
    "code_district": RuleType(CodeDistrictParams, _r_code_district, ("enterprise",)),
    "yearly_sum_vs_statement": RuleType(YearlySumParams, _r_yearly_sum, _GOV),
    "month_start": RuleType(ColumnParams, _r_month_start),
    "integral": RuleType(ColumnParams, _r_integral),
}


