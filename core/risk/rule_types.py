"""Rule types: each declares its parameters (type, range, vocabulary), the inputs it reads, and evaluates.

A rule in the library is a :class:`~core.risk.rules.RiskRuleSpec` naming one of :data:`RULE_TYPES`
with concrete parameters. An evaluator takes the point-in-time view and the spec and returns one row
per fact found — ``enterprise_id, loan_id, fact_key, observed_on, detail`` — computed with pandas
group-bys, merges and matrix operations over all enterprises at once (never a loop over enterprises).
``fact_key`` is a stable identity of the fact (the same lawsuit, the same first unpaid installment, the
same episode of falling electricity use) so repeated runs produce the same fingerprint. ``detail`` holds
message parameters — observed facts only, never a rule's thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.enums import GRADE_ORDER
from core.risk.inputs import PointInTime, as_date_str, as_month_str

if TYPE_CHECKING:
    from core.risk.rules import RiskRuleSpec

# The data dictionary rule parameters may refer to.
GOV_SERIES = ("tax_paid", "si_headcount", "hf_contributors", "electricity_kwh", "water_t", "gas_m3")
GOV_EVENTS = (
    "judicial_case", "dishonest_executee", "executed_person", "penalty", "abnormal_operation", "tax_arrears",
    "si_arrears", "hf_arrears", "utility_arrears", "registration_change", "equity_pledge", "equity_freeze",
    "license_revoked", "blacklist", "commendation",
)
DETAIL_KEYS = ("role", "cause", "field", "months_owed", "pledged_pct", "frozen_pct")
TAX_GRADES = ("A", "B", "M", "C", "D")  # best first
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "gov_series": GOV_SERIES, "gov_event": GOV_EVENTS, "detail_key": DETAIL_KEYS,
    "tax_grade": TAX_GRADES, "credit_grade": tuple(GRADE_ORDER), "compare": ("yoy", "prior"),
}
HIT_COLUMNS = ["enterprise_id", "loan_id", "fact_key", "observed_on", "detail"]


@dataclass(frozen=True)
class Param:
    """One parameter of a rule type: its kind, allowed range or vocabulary, and default.

    ``kind`` is ``int``, ``float``, ``choice`` (one word of ``vocabulary``), ``field`` (one field name
    of ``vocabulary`` — a reference to data), ``list`` (words of ``vocabulary``, at least one).
    ``default=REQUIRED`` makes it mandatory; ``None`` makes it optional.
    """

    kind: str
    min: float | None = None
    max: float | None = None
    vocabulary: str | None = None
    default: Any = "__required__"

    @property
    def required(self) -> bool:
        return self.default == "__required__"

    def check(self, value: Any) -> tuple[str, dict] | None:
        """``None`` if the value is allowed, else ``(problem key suffix, params)``."""
        if value is None and not self.required:
            return None
        if self.kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float) or (
                    self.kind == "int" and not float(value).is_integer()):
                return "param_type", {"expected": self.kind}
            if (self.min is not None and value < self.min) or (self.max is not None and value > self.max):
                return "param_range", {"value": value, "min": self.min, "max": self.max}
            return None
        words = VOCABULARIES[self.vocabulary] if self.vocabulary else None
        if self.kind in ("choice", "field") and words is not None:
            if not isinstance(value, str):
                return "param_type", {"expected": "text"}
            if value not in words:
                key = "unknown_field" if self.kind == "field" else "param_choice"
                return key, {"value": value, "allowed": ", ".join(words)}
            return None
        if self.kind == "list":
            if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
                return "param_type", {"expected": "list"}
            bad = [v for v in value if words is not None and v not in words]
            if bad:
                return "param_choice", {"value": ", ".join(bad), "allowed": ", ".join(words)}
            return None
        raise AssertionError(self.kind)


REQUIRED = "__required__"


@dataclass(frozen=True)
class RuleType:
    """A kind of rule: parameters it takes, frames and columns it reads, and its evaluator."""

    name: str
    params: Mapping[str, Param]
    reads: tuple[str, ...]  # "frame.column" the evaluator reads
    evaluate: Callable[[PointInTime, RiskRuleSpec], pd.DataFrame] | None
    loan_level: bool = False
    pauses: bool = False  # skips loans on an agreed repayment holiday (paused_until >= as_of)
    stage: str = "facts"  # "facts", then "combine" (on the facts' hits), then "propagate" (on all hits)
    cross_check: Callable[[Mapping[str, Any]], list[tuple[str, str, dict]]] | None = None


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in HIT_COLUMNS})


def _hits(enterprise_id, fact_key, observed_on, detail: pd.DataFrame, loan_id=None) -> pd.DataFrame:
    """Assemble evaluator output; ``detail`` columns become one dict per row (None values dropped)."""
    n = len(detail)
    if n == 0:
        return _empty()
    records = detail.to_dict("records")
    records = [{k: _plain(v) for k, v in r.items() if not _missing(v)} for r in records]
    return pd.DataFrame({
        "enterprise_id": np.asarray(enterprise_id, dtype="int64"),
        "loan_id": pd.array(np.asarray(loan_id) if loan_id is not None else [None] * n, dtype="Int64"),
        "fact_key": np.asarray(fact_key, dtype=object),
        "observed_on": pd.to_datetime(np.asarray(observed_on)).date,
        "detail": records,
    })


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT or v == ""


def _plain(v):
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _detail_values(ev: pd.DataFrame, key: str) -> pd.Series:
    if "detail" not in ev.columns:
        return pd.Series(None, index=ev.index, dtype=object)
    return ev["detail"].map(lambda d: d.get(key) if isinstance(d, dict) else None)


# ---------------------------------------------------------------------------------------- government events

def _filtered_events(ctx: PointInTime, p: Mapping[str, Any]) -> pd.DataFrame:
    ev = ctx.events(p["kind"])
    ev = ev[ev["period"] >= ctx.days_before(p["lookback_days"])]
    if p.get("min_value"):
        ev = ev[ev["value"].astype(float) >= float(p["min_value"])]
    if p.get("detail_key") and (p.get("detail_in") or p.get("detail_at_least") is not None):
        vals = _detail_values(ev, p["detail_key"])
        if p.get("detail_in"):
            ev = ev[vals.astype(str).isin(list(p["detail_in"]))]
        if p.get("detail_at_least") is not None:
            ev = ev[pd.to_numeric(vals, errors="coerce") >= float(p["detail_at_least"])]
    return ev


def _event_fact(ev: pd.DataFrame, kind: str) -> pd.Series:
    return kind + "|" + as_date_str(ev["period"]) + "|" + ev["ref"].fillna("").astype(str)


def eval_gov_event(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    ev = _filtered_events(ctx, spec.params)
    detail = pd.DataFrame({"date": as_date_str(ev["period"]), "ref": ev["ref"], "amount": ev["value"],
                           "text": ev["text"]})
    return _hits(ev["enterprise_id"], _event_fact(ev, spec.params["kind"]), ev["period"], detail)


def eval_gov_event_count(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    ev = _filtered_events(ctx, spec.params).sort_values(["enterprise_id", "period", "ref"], kind="stable")
    g = ev.groupby("enterprise_id", sort=True)
    agg = pd.DataFrame({"count": g.size(), "first": g["period"].min(), "last": g["period"].max()})
    latest = g.tail(1).set_index("enterprise_id")
    agg = agg[agg["count"] >= int(spec.params["min_count"])]
    latest = latest.loc[agg.index]
    fact = spec.params["kind"] + "|n|" + as_date_str(latest["period"]) + "|" + latest["ref"].fillna("").astype(str)
    detail = pd.DataFrame({"count": agg["count"].to_numpy(), "first_date": as_date_str(agg["first"]).to_numpy(),
                           "last_date": as_date_str(agg["last"]).to_numpy()})
    return _hits(agg.index, fact.to_numpy(), agg["last"], detail)


_EVENT_PARAMS = {
    "kind": Param("field", vocabulary="gov_event"),
    "lookback_days": Param("int", 1, 1825, default=90),
    "min_value": Param("float", 0, 1e12, default=None),
    "detail_key": Param("field", vocabulary="detail_key", default=None),
    "detail_in": Param("list", vocabulary=None, default=None),
    "detail_at_least": Param("float", 0, 1e9, default=None),
}


def _event_cross_check(p: Mapping[str, Any]) -> list[tuple[str, str, dict]]:
    if (p.get("detail_in") or p.get("detail_at_least") is not None) and not p.get("detail_key"):
        return [("detail_key", "param_missing", {})]
    return []


# ---------------------------------------------------------------------------------------- monthly series

def eval_series_drop(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    """Rolling mean of the last ``window_months`` vs the same window a year earlier (yoy) or just before.

    The condition is computed for every month; a hit is an enterprise whose condition holds in the
    latest month, and the fact is the episode (the first month of the current unbroken run).
    """
    p = spec.params
    M = ctx.series(p["series"])
    if M.empty:
        return _empty()
    w = int(p["window_months"])
    lag = 12 if p["compare"] == "yoy" else w
    vals = M.to_numpy(float)
    recent = pd.DataFrame(vals.T).rolling(w, min_periods=max(1, (w + 1) // 2)).mean().to_numpy().T
    base = np.full_like(recent, np.nan)
    if recent.shape[1] > lag:
        base[:, lag:] = recent[:, :-lag]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = recent / base
    floor = float(p.get("min_base") or 0)
    cond = (base > floor) & (base > 0) & (ratio <= 1 - float(p["drop_pct"]) / 100)
    run = np.cumprod(cond[:, ::-1], axis=1).sum(axis=1)  # trailing run length at the latest month
    fired = run > 0
    if not fired.any():
        return _empty()
    months = M.columns
    last = months[-1]
    start = months[len(months) - run[fired]]
    drop = np.round((1 - ratio[fired, -1]) * 100).astype(int)
    detail = pd.DataFrame({"decline_pct": drop, "since": as_month_str(pd.Series(start)).to_numpy(),
                           "month": last.strftime("%Y-%m")})
    fact = p["series"] + "|" + p["compare"] + "|" + detail["since"]
    observed = pd.Series(last + pd.offsets.MonthEnd(0), index=range(int(fired.sum())))
    return _hits(M.index[fired], fact, observed, detail)


# ---------------------------------------------------------------------------------------- tax grade

def _last_two(df: pd.DataFrame, time_col: str, value_col: str) -> pd.DataFrame:
    df = df.sort_values(["enterprise_id", time_col], kind="stable")
    g = df.groupby("enterprise_id", sort=True)
    last = g.tail(1).set_index("enterprise_id")
    prev = g.nth(-2).set_index("enterprise_id")
    out = pd.DataFrame({"latest": last[value_col], "at": last[time_col]})
    out["previous"] = prev[value_col].reindex(out.index)
    return out


def _notches(g: pd.DataFrame, order: tuple[str, ...] | list[str]) -> pd.Series:
    """How many notches ``latest`` lies below ``previous`` on ``order`` (best first), as float.

    The ranks are cast explicitly: on an empty frame pandas 3 keeps the text dtype through ``map``,
    and subtracting two text columns raises.
    """
    rank = {x: i for i, x in enumerate(order)}
    return g["latest"].map(rank).astype("float64") - g["previous"].map(rank).astype("float64")


def _grades(ctx: PointInTime) -> pd.DataFrame:
    ev = ctx.events("tax_grade")
    return _last_two(ev[ev["text"].isin(TAX_GRADES)], "period", "text")


def eval_tax_grade_drop(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    g = _grades(ctx).dropna(subset=["previous"])
    g = g[_notches(g, TAX_GRADES) >= int(spec.params["min_notches"])]
    year = g["at"].dt.year.astype(str)
    detail = pd.DataFrame({"year": year.to_numpy(), "previous": g["previous"].to_numpy(), "grade": g["latest"].to_numpy()})
    fact = ("tax_grade|" + year + "|" + g["previous"] + ">" + g["latest"]).to_numpy()
    return _hits(g.index, fact, g["at"], detail)


def eval_tax_grade_in(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    g = _grades(ctx)
    g = g[g["latest"].isin(list(spec.params["grades"]))]
    year = g["at"].dt.year.astype(str)
    detail = pd.DataFrame({"year": year.to_numpy(), "grade": g["latest"].to_numpy()})
    return _hits(g.index, ("tax_grade|" + year + "|" + g["latest"]).to_numpy(), g["at"], detail)


# ---------------------------------------------------------------------------------------- loans

def _unpaid_by_loan(ctx: PointInTime) -> pd.DataFrame:
    """Per loan not on a repayment holiday: its oldest unpaid installment and the amount overdue."""
    un = ctx.unpaid
    paused = un["paused_until"].notna() & (un["paused_until"] >= ctx.as_of)
    un = un[~paused].sort_values(["loan_id", "due_date", "seq"], kind="stable")
    g = un.groupby("loan_id", sort=True)
    first = g.head(1).set_index("loan_id")
    first["overdue_amount"] = g["amount_due"].sum().round(2)
    first["n_overdue"] = g.size()
    return first


def eval_overdue(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    f = _unpaid_by_loan(ctx)
    f = f[f["dpd"] >= int(spec.params["min_days"])]
    detail = pd.DataFrame({"days_past_due": f["dpd"].to_numpy(), "due_date": as_date_str(f["due_date"]).to_numpy(),
                           "amount": f["overdue_amount"].to_numpy(), "installments": f["n_overdue"].to_numpy()})
    fact = ("overdue|" + f["seq"].astype(str) + "|" + as_date_str(f["due_date"])).to_numpy()
    observed = f["due_date"] + pd.to_timedelta(int(spec.params["min_days"]), unit="D")
    return _hits(f["enterprise_id"], fact, observed, detail, loan_id=f.index)


def eval_overdue_multi_loan(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    f = _unpaid_by_loan(ctx)
    f = f[f["dpd"] >= int(spec.params["min_days"])].reset_index()
    if f.empty:  # loans overdue, none long enough: the text join below needs at least one row
        return _empty()
    g = f.groupby("enterprise_id", sort=True)
    agg = pd.DataFrame({"loans": g.size(), "amount": g["overdue_amount"].sum().round(2),
                        "since": g["due_date"].min(), "ids": g["loan_id"].agg(lambda s: ",".join(map(str, sorted(s))))})
    agg = agg[agg["loans"] >= int(spec.params["min_loans"])]
    detail = pd.DataFrame({"loans": agg["loans"].to_numpy(), "amount": agg["amount"].to_numpy(),
                           "since": as_date_str(agg["since"]).to_numpy()})
    return _hits(agg.index, ("multi_overdue|" + agg["ids"]).to_numpy(), agg["since"], detail)


def eval_late_payments(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    p = spec.params
    inst = ctx.installments
    paid = inst["paid_on"].notna() & (inst["paid_on"] < ctx.end) & (inst["paid_on"] >= ctx.days_before(p["lookback_days"]))
    late_days = (inst["paid_on"] - inst["due_date"]).dt.days
    late = inst[paid & (late_days >= int(p["min_days_late"]))]
    g = late.groupby("enterprise_id", sort=True)
    agg = pd.DataFrame({"count": g.size(), "last": g["due_date"].max()})
    agg = agg[agg["count"] >= int(p["min_count"])]
    detail = pd.DataFrame({"count": agg["count"].to_numpy(), "last_date": as_date_str(agg["last"]).to_numpy()})
    return _hits(agg.index, ("late|" + as_date_str(agg["last"])).to_numpy(), agg["last"], detail)


def eval_loan_defaulted(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    ln = ctx.loans
    ln = ln[ln["defaulted_at"].notna() & (ln["defaulted_at"] < ctx.end)
            & (ln["defaulted_at"] >= ctx.days_before(spec.params["lookback_days"]))]
    detail = pd.DataFrame({"date": as_date_str(ln["defaulted_at"]).to_numpy(),
                           "amount": ln["outstanding_principal"].astype(float).to_numpy()})
    fact = ("defaulted|" + as_date_str(ln["defaulted_at"])).to_numpy()
    return _hits(ln["enterprise_id"], fact, ln["defaulted_at"], detail, loan_id=ln["id"])


def eval_application_burst(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    p = spec.params
    ap = ctx.applications
    ap = ap[ap["submitted_at"] >= ctx.days_before(p["window_days"])]
    g = ap.groupby("enterprise_id", sort=True)
    agg = pd.DataFrame({"count": g.size(), "institutions": g["institution_id"].nunique(),
                        "first": g["submitted_at"].min(), "last": g["submitted_at"].max()})
    agg = agg[(agg["count"] >= int(p["min_count"])) & (agg["institutions"] >= int(p.get("min_institutions") or 1))]
    detail = pd.DataFrame({"count": agg["count"].to_numpy(), "institutions": agg["institutions"].to_numpy(),
                           "first_date": as_date_str(agg["first"]).to_numpy(),
                           "last_date": as_date_str(agg["last"]).to_numpy()})
    return _hits(agg.index, ("applications|" + as_month_str(agg["last"])).to_numpy(), agg["last"], detail)


# ---------------------------------------------------------------------------------------- rating

def eval_score_drop(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    p = spec.params
    sc = ctx.scores.dropna(subset=["score"])
    sc = sc[sc["as_of"] >= ctx.days_before(p["lookback_days"])].sort_values(["enterprise_id", "as_of"], kind="stable")
    g = sc.groupby("enterprise_id", sort=True)
    last = g.tail(1).set_index("enterprise_id")
    peak = g["score"].max().astype(float)
    drop = peak - last["score"].astype(float)
    keep = drop >= float(p["min_points"])
    last, drop, peak = last[keep], drop[keep], peak[keep]
    detail = pd.DataFrame({"previous": peak.round(1).to_numpy(), "score": last["score"].astype(float).round(1).to_numpy(),
                           "drop": drop.round(1).to_numpy(), "date": as_date_str(last["as_of"]).to_numpy()})
    return _hits(last.index, ("score|" + as_date_str(last["as_of"])).to_numpy(), last["as_of"], detail)


def eval_rating_grade_drop(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    sc = ctx.scores
    g = _last_two(sc[sc["grade"].isin(GRADE_ORDER)], "as_of", "grade").dropna(subset=["previous"])
    g = g[_notches(g, GRADE_ORDER) >= int(spec.params["min_notches"])]
    detail = pd.DataFrame({"previous": g["previous"].to_numpy(), "grade": g["latest"].to_numpy(),
                           "date": as_date_str(g["at"]).to_numpy()})
    fact = ("grade|" + as_date_str(g["at"]) + "|" + g["previous"] + ">" + g["latest"]).to_numpy()
    return _hits(g.index, fact, g["at"], detail)


def eval_rating_grade_in(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    sc = ctx.scores
    g = _last_two(sc[sc["grade"].isin(GRADE_ORDER)], "as_of", "grade")
    g = g[g["latest"].isin(list(spec.params["grades"]))]
    detail = pd.DataFrame({"grade": g["latest"].to_numpy(), "date": as_date_str(g["at"]).to_numpy()})
    return _hits(g.index, ("grade_in|" + as_date_str(g["at"]) + "|" + g["latest"]).to_numpy(), g["at"], detail)


# ---------------------------------------------------------------------------------------- ownership

def eval_shareholder_exit(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    p = spec.params
    sh = ctx.all_shareholdings
    sh = sh[sh["until"].notna() & (sh["until"] < ctx.end) & (sh["until"] >= ctx.days_before(p["lookback_days"]))
            & (sh["share_pct"].astype(float) >= float(p["min_pct"]))]
    detail = pd.DataFrame({"holder": sh["holder_name"].to_numpy(), "share_pct": sh["share_pct"].astype(float).round(2).to_numpy(),
                           "date": as_date_str(sh["until"]).to_numpy()})
    fact = ("exit|" + sh["holder_name"].astype(str) + "|" + as_date_str(sh["until"])).to_numpy()
    return _hits(sh["enterprise_id"], fact, sh["until"], detail)


def eval_shareholder_entry(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    p = spec.params
    sh = ctx.all_shareholdings
    first = sh.groupby("enterprise_id")["since"].transform("min")
    sh = sh[sh["since"].notna() & (sh["since"] > first) & (sh["since"] >= ctx.days_before(p["lookback_days"]))
            & (sh["share_pct"].astype(float) >= float(p["min_pct"]))]
    detail = pd.DataFrame({"holder": sh["holder_name"].to_numpy(), "share_pct": sh["share_pct"].astype(float).round(2).to_numpy(),
                           "date": as_date_str(sh["since"]).to_numpy()})
    fact = ("entry|" + sh["holder_name"].astype(str) + "|" + as_date_str(sh["since"])).to_numpy()
    return _hits(sh["enterprise_id"], fact, sh["since"], detail)


def eval_circular_holding(ctx: PointInTime, spec: RiskRuleSpec) -> pd.DataFrame:
    import networkx as nx

    G = ctx.graph
    floor = float(spec.params.get("min_share") or 0)
    ents = [n for n, d in G.nodes(data=True) if d.get("holder_type") == "enterprise"]
    H = nx.DiGraph((h, t) for h, t, s in G.subgraph(ents).edges(data="share") if s >= floor)
    comps = [sorted(c) for c in nx.strongly_connected_components(H) if len(c) > 1]
    if not comps:
        return _empty()
    rows = pd.DataFrame({"members": comps}).explode("members", ignore_index=False)
    rows["key"] = rows.index.map(lambda i: "cycle|" + "-".join(map(str, comps[i])))
    rows["size"] = rows.index.map(lambda i: len(comps[i]))
    rows = rows.rename(columns={"members": "enterprise_id"})
    if ctx.enterprise_ids is not None:
        rows = rows[rows["enterprise_id"].isin(ctx.enterprise_ids)]
    detail = pd.DataFrame({"members": rows["size"].to_numpy()})
    return _hits(rows["enterprise_id"], rows["key"], pd.Series(ctx.as_of, index=rows.index), detail)


# ---------------------------------------------------------------------------------------- registry

_LOOKBACK = Param("int", 1, 3650, default=180)
RULE_TYPES: dict[str, RuleType] = {
    "gov_event": RuleType(
        "gov_event", _EVENT_PARAMS, ("gov_records.kind", "gov_records.period", "gov_records.value",
                                     "gov_records.ref", "gov_records.detail"), eval_gov_event,
        cross_check=_event_cross_check),
    "gov_event_count": RuleType(
        "gov_event_count", {**_EVENT_PARAMS, "min_count": Param("int", 2, 100)},
        ("gov_records.kind", "gov_records.period", "gov_records.value", "gov_records.detail"), eval_gov_event_count,
        cross_check=_event_cross_check),
    "series_drop": RuleType(
        "series_drop", {"series": Param("field", vocabulary="gov_series"), "window_months": Param("int", 1, 12, default=3),
                        "compare": Param("choice", vocabulary="compare", default="yoy"),
                        "drop_pct": Param("float", 1, 100), "min_base": Param("float", 0, 1e12, default=0)},
        ("gov_records.kind", "gov_records.period", "gov_records.value"), eval_series_drop),
    "tax_grade_drop": RuleType("tax_grade_drop", {"min_notches": Param("int", 1, 4)},
                               ("gov_records.kind", "gov_records.text"), eval_tax_grade_drop),
    "tax_grade_in": RuleType("tax_grade_in", {"grades": Param("list", vocabulary="tax_grade")},
                             ("gov_records.kind", "gov_records.text"), eval_tax_grade_in),
    "overdue": RuleType("overdue", {"min_days": Param("int", 1, 3650)},
                        ("installments.due_date", "installments.paid_on", "loans.paused_until"), eval_overdue,
                        loan_level=True, pauses=True),
    "overdue_multi_loan": RuleType(
        "overdue_multi_loan", {"min_days": Param("int", 1, 3650), "min_loans": Param("int", 2, 50)},
        ("installments.due_date", "installments.paid_on", "loans.paused_until"), eval_overdue_multi_loan, pauses=True),
    "late_payments": RuleType(
        "late_payments", {"min_days_late": Param("int", 1, 365), "min_count": Param("int", 1, 100),
                          "lookback_days": Param("int", 30, 1825, default=365)},
        ("installments.due_date", "installments.paid_on"), eval_late_payments),
    "loan_defaulted": RuleType("loan_defaulted", {"lookback_days": Param("int", 1, 3650, default=365)},
                               ("loans.defaulted_at", "loans.outstanding_principal"), eval_loan_defaulted,
                               loan_level=True),
    "application_burst": RuleType(
        "application_burst", {"window_days": Param("int", 1, 365), "min_count": Param("int", 2, 100),
                              "min_institutions": Param("int", 1, 50, default=1)},
        ("applications.submitted_at", "applications.institution_id"), eval_application_burst),
    "score_drop": RuleType("score_drop", {"min_points": Param("float", 1, 1000),
                                          "lookback_days": Param("int", 30, 1825, default=365)},
                           ("scores.as_of", "scores.score"), eval_score_drop),
    "rating_grade_drop": RuleType("rating_grade_drop", {"min_notches": Param("int", 1, 8)},
                                  ("scores.as_of", "scores.grade"), eval_rating_grade_drop),
    "rating_grade_in": RuleType("rating_grade_in", {"grades": Param("list", vocabulary="credit_grade")},
                                ("scores.as_of", "scores.grade"), eval_rating_grade_in),
    "shareholder_exit": RuleType("shareholder_exit", {"min_pct": Param("float", 1, 100), "lookback_days": _LOOKBACK},
                                 ("shareholdings.until", "shareholdings.share_pct"), eval_shareholder_exit),
    "shareholder_entry": RuleType("shareholder_entry", {"min_pct": Param("float", 1, 100), "lookback_days": _LOOKBACK},
                                  ("shareholdings.since", "shareholdings.share_pct"), eval_shareholder_entry),
    "circular_holding": RuleType("circular_holding", {"min_share": Param("float", 0, 1, default=0.0)},
                                 ("shareholdings.holder_enterprise_id", "shareholdings.share_pct"),
                                 eval_circular_holding),
    "multi_category": RuleType(
        "multi_category", {"min_categories": Param("int", 2, 12), "min_level": Param("int", 1, 8)},
        ("hits.category", "hits.level"), None, stage="combine"),
    "related_party": RuleType(
        "related_party", {"min_share": Param("float", 0.01, 1), "level_drop": Param("int", 1, 7),
                          "min_source_level": Param("int", 1, 8)},
        ("shareholdings.holder_enterprise_id", "shareholdings.share_pct"), None, stage="propagate"),
}
