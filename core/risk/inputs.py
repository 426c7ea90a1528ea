"""The frames the early-warning engine reads, and their point-in-time view at one ``as_of`` date.

:class:`RiskInputs` holds plain DataFrames (money in yuan as float). :class:`PointInTime` is what rule
types evaluate against: every frame restricted to what was *known* by the end of ``as_of`` (government
records received and dated by then, loans disbursed by then, holdings in force then …) and, for an
incremental run, to the chosen enterprises. Derived views (monthly series matrices, unpaid installments,
the ownership graph) are computed once per evaluation and cached on the view. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import date
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

# Frame name -> the columns the engine reads (extra columns are ignored, missing ones are an error).
COLUMNS: dict[str, tuple[str, ...]] = {
    "enterprises": ("id", "name", "district_code", "industry_section", "scale"),
    "gov_records": ("enterprise_id", "source", "kind", "period", "ref", "value", "text", "received_at"),
    "loans": ("id", "enterprise_id", "institution_id", "amount", "status", "disbursed_at", "paused_until",
              "outstanding_principal", "defaulted_at"),
    "installments": ("loan_id", "seq", "due_date", "principal_due", "interest_due", "paid_amount", "paid_on",
                     "days_past_due", "status"),
    "shareholdings": ("enterprise_id", "holder_type", "holder_enterprise_id", "holder_name", "share_pct", "since",
                      "until"),
    "scores": ("enterprise_id", "as_of", "score", "grade"),
    "applications": ("enterprise_id", "institution_id", "submitted_at"),
}
DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "gov_records": ("period", "received_at"),
    "loans": ("disbursed_at", "paused_until", "defaulted_at"),
    "installments": ("due_date", "paid_on"),
    "shareholdings": ("since", "until"),
    "scores": ("as_of",),
    "applications": ("submitted_at",),
}


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the columns of input ``name`` (tests build only the frames they need)."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS[name]})


def _frame(name: str):
    return field(default_factory=lambda: empty_frame(name))


@dataclass
class RiskInputs:
    """Everything the rules read, as DataFrames; see :data:`COLUMNS` for each frame's columns.

    ``gov_records.detail`` (a dict per row, e.g. ``{"role": "defendant"}``) and
    ``shareholdings.holder_id_number`` are optional extra columns the engine uses when present.
    """

    enterprises: pd.DataFrame = _frame("enterprises")
    gov_records: pd.DataFrame = _frame("gov_records")
    loans: pd.DataFrame = _frame("loans")
    installments: pd.DataFrame = _frame("installments")
    shareholdings: pd.DataFrame = _frame("shareholdings")
    scores: pd.DataFrame = _frame("scores")
    applications: pd.DataFrame = _frame("applications")

    def normalized(self) -> RiskInputs:
        """A copy with every date column as tz-naive UTC ``datetime64`` and missing columns reported.

        Raises:
            ValueError: a frame lacks a column the engine reads.
        """
        out = {}
        for f in fields(self):
            df = getattr(self, f.name)
            missing = [c for c in COLUMNS[f.name] if c not in df.columns]
            if missing:
                raise ValueError(f"{f.name} lacks columns {missing}")
            df = df.copy()
            for col in DATE_COLUMNS.get(f.name, ()):
                df[col] = to_naive(df[col])
            out[f.name] = df
        return RiskInputs(**out)


def to_naive(values) -> pd.Series:
    """Dates, datetimes or timestamps (aware or naive) as tz-naive UTC ``datetime64[ns]``."""
    s = pd.Series(values)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.astype("datetime64[ns]")
    conv = pd.to_datetime(s, utc=True, errors="coerce")
    return conv.dt.tz_localize(None).astype("datetime64[ns]")


def month_start(values: pd.Series) -> pd.Series:
    """The first day of each value's month."""
    return values.dt.to_period("M").dt.to_timestamp()


class PointInTime:
    """The inputs as known at the end of ``as_of``, optionally for some enterprises only.

    Args:
        inputs: normalized inputs (see :meth:`RiskInputs.normalized`).
        as_of: the evaluation date; records dated or received after it are invisible.
        enterprise_ids: restrict every frame to these enterprises (an incremental run); the ownership
            graph always covers everyone, so related parties outside the set are still found.
    """

    def __init__(self, inputs: RiskInputs, as_of: date, enterprise_ids: Iterable[int] | None = None) -> None:
        self.inputs = inputs
        self.as_of_date = as_of
        self.as_of = pd.Timestamp(as_of)
        self.end = self.as_of + pd.Timedelta(days=1)  # exclusive upper bound: the end of as_of
        self.enterprise_ids = None if enterprise_ids is None else pd.Index(sorted({int(i) for i in enterprise_ids}))

    def _restrict(self, df: pd.DataFrame, column: str = "enterprise_id") -> pd.DataFrame:
        if self.enterprise_ids is None:
            return df
        return df[df[column].isin(self.enterprise_ids)]

    def days_before(self, days: int) -> pd.Timestamp:
        """The exclusive lower bound of a look-back window of ``days`` ending with ``as_of``."""
        return self.end - pd.Timedelta(days=int(days))

    # ------------------------------------------------------------------ government records
    @cached_property
    def gov(self) -> pd.DataFrame:
        g = self.inputs.gov_records
        known = g["received_at"].isna() | (g["received_at"] < self.end)
        g = g[known & (g["period"] < self.end)]
        return self._restrict(g)

    @cached_property
    def _gov_by_kind(self) -> dict[str, pd.DataFrame]:
        return {str(k): df for k, df in self.gov.groupby("kind", sort=False)}

    def events(self, kind: str) -> pd.DataFrame:
        """The known records of one kind (empty if none)."""
        return self._gov_by_kind.get(kind, self.gov.iloc[0:0])

    def series(self, kind: str) -> pd.DataFrame:
        """A monthly series as an enterprise × month matrix (contiguous months; NaN where not reported)."""
        cache = self.__dict__.setdefault("_series_cache", {})
        if kind not in cache:
            ev = self.events(kind)
            if ev.empty:
                cache[kind] = pd.DataFrame(dtype=float)
            else:
                m = ev.assign(month=month_start(ev["period"]))
                mat = m.pivot_table(index="enterprise_id", columns="month", values="value", aggfunc="sum")
                months = pd.date_range(mat.columns.min(), mat.columns.max(), freq="MS")
                cache[kind] = mat.reindex(columns=months).astype(float)
        return cache[kind]

    # ------------------------------------------------------------------ loans
    @cached_property
    def loans(self) -> pd.DataFrame:
        ln = self.inputs.loans
        return self._restrict(ln[ln["disbursed_at"].isna() | (ln["disbursed_at"] < self.end)])

    @cached_property
    def installments(self) -> pd.DataFrame:
        """Installments of known loans with the loan's enterprise, institution and pause date."""
        loans = self.loans[["id", "enterprise_id", "institution_id", "paused_until"]].rename(columns={"id": "loan_id"})
        return self.inputs.installments.merge(loans, on="loan_id", how="inner")

    @cached_property
    def unpaid(self) -> pd.DataFrame:
        """Installments due before ``as_of`` and not paid by its end, with days past due at ``as_of``."""
        inst = self.installments
        open_ = (inst["due_date"] < self.as_of) & (inst["paid_on"].isna() | (inst["paid_on"] >= self.end))
        out = inst[open_].copy()
        out["dpd"] = (self.as_of - out["due_date"]).dt.days.astype("int64")
        out["amount_due"] = out["principal_due"].astype(float) + out["interest_due"].astype(float)
        return out

    # ------------------------------------------------------------------ the rest
    @cached_property
    def shareholdings(self) -> pd.DataFrame:
        sh = self.inputs.shareholdings
        live = (sh["since"].isna() | (sh["since"] < self.end)) & (sh["until"].isna() | (sh["until"] >= self.end))
        return sh[live]

    @cached_property
    def all_shareholdings(self) -> pd.DataFrame:
        """Every holding that started by ``as_of`` (ended ones included), restricted to the enterprises."""
        sh = self.inputs.shareholdings
        return self._restrict(sh[sh["since"].isna() | (sh["since"] < self.end)])

    @cached_property
    def scores(self) -> pd.DataFrame:
        sc = self.inputs.scores
        return self._restrict(sc[sc["as_of"] < self.end])

    @cached_property
    def applications(self) -> pd.DataFrame:
        ap = self.inputs.applications
        return self._restrict(ap[ap["submitted_at"] < self.end])

    @cached_property
    def graph(self) -> nx.DiGraph:
        from core.risk.graph import ownership_graph

        return ownership_graph(self.shareholdings, self.as_of_date)


def as_date_str(values: pd.Series) -> pd.Series:
    """Timestamps as ``YYYY-MM-DD`` strings ('' where missing)."""
    return values.dt.strftime("%Y-%m-%d").fillna("")


def as_month_str(values: pd.Series) -> pd.Series:
    """Timestamps as ``YYYY-MM`` strings ('' where missing)."""
    return values.dt.strftime("%Y-%m").fillna("")


def nan_to_none(values: np.ndarray) -> list:
    return [None if (v is None or (isinstance(v, float) and np.isnan(v))) else v for v in values]
