"""Per-enterprise indicator inputs computed from plain DataFrames as of a date (vectorized, pure).

Inputs are the platform's rows as DataFrames (no session, no clock):

* ``gov_records``: ``enterprise_id, source, kind, period, ref, value, text`` (``received_at`` optional:
  when present, a record counts only if it had arrived by the end of ``as_of`` — point-in-time truth).
* ``statements``: ``enterprise_id, year, revenue, net_profit, total_assets, total_liabilities,
  current_assets, current_liabilities, operating_cash_flow`` (yuan; ``received_at`` optional, as above).
* ``enterprises``: ``id, industry_section, scale, founded_on, registered_capital, employees``
  (``registered_capital`` in yuan).
* ``shareholdings`` (optional): ``enterprise_id, holder_type, holder_enterprise_id`` — related parties.

Missing data is NaN, never a silent zero: a monthly series with too few reported months gives NaN, a
ratio over a zero or missing denominator gives NaN, an enterprise without statements gives NaN ratios.
Event counts are true zeros when no event was recorded (departments report events, not their absence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

MONTHLY_KINDS = ("tax_paid", "si_headcount", "hf_contributors", "electricity_kwh", "water_t", "gas_m3")
ARREARS_KINDS = ("si_arrears", "hf_arrears", "tax_arrears", "utility_arrears")
TAX_GRADE_POINTS = {"A": 5.0, "B": 4.0, "M": 3.0, "C": 2.0, "D": 1.0}
HISTORY_MONTHS = 24  # monthly values kept for trends: the last 12 months and the 12 before
EVENT_MONTHS = 36  # look-back of event recency; "never seen in the window" is this many months
_MIN_MONTHS = {3: 2, 6: 4, 12: 8}  # a window of N months needs this many reported months


@dataclass(frozen=True)
class FeatureSpec:
    """What the engine knows about one feature: its type, whether an enterprise can act on it."""

    name: str
    kind: str = "numeric"  # numeric | categorical
    integer: bool = False  # counts and flags: "what would raise it" proposes whole numbers
    actionable: bool = True  # an enterprise can change it by its own conduct
    unit: str = ""


def _spec(name: str, **kw) -> tuple[str, FeatureSpec]:
    return name, FeatureSpec(name, **kw)


FEATURES: dict[str, FeatureSpec] = dict([
    # electricity, water, gas
    _spec("elec_yoy_6m", unit="ratio"), _spec("elec_yoy_12m", unit="ratio"),
    _spec("elec_mom_3m", unit="ratio"), _spec("elec_cv_12m", unit="ratio"),
    _spec("water_yoy_12m", unit="ratio"), _spec("water_cv_12m", unit="ratio"),
    _spec("gas_yoy_12m", unit="ratio"),
    # employment
    _spec("si_headcount_change_12m", unit="ratio"), _spec("si_coverage", unit="ratio"),
    _spec("hf_ratio", unit="ratio"), _spec("hf_change_12m", unit="ratio"),
    # tax
    _spec("tax_yoy_6m", unit="ratio"), _spec("tax_yoy_12m", unit="ratio"), _spec("tax_cv_12m", unit="ratio"),
    _spec("tax_months_paid_12m", integer=True, unit="months"),
    _spec("tax_grade_score", unit="grade"), _spec("tax_grade_change", unit="grade"),
    _spec("tax_to_revenue", unit="ratio"),
    # arrears
    _spec("si_arrears_24m", integer=True, unit="count"), _spec("hf_arrears_24m", integer=True, unit="count"),
    _spec("tax_arrears_24m", integer=True, unit="count"),
    _spec("utility_arrears_24m", integer=True, unit="count"),
    _spec("arrears_12m", integer=True, unit="count"),
    _spec("months_since_arrears", integer=True, unit="months"),
    # judicial and public credit
    _spec("lawsuits_12m", integer=True, unit="count"), _spec("lawsuits_24m", integer=True, unit="count"),
    _spec("lawsuit_trend", integer=True, unit="count"),
    _spec("dishonest_executee", integer=True, unit="flag"), _spec("blacklisted", integer=True, unit="flag"),
    _spec("penalties_24m", integer=True, unit="count"), _spec("penalty_amount_24m", unit="yuan"),
    _spec("abnormal_operation_24m", integer=True, unit="flag"),
    _spec("commendations_36m", integer=True, unit="count"),
    _spec("registration_changes_24m", integer=True, unit="count"),
    _spec("related_distress_12m", integer=True, actionable=False, unit="count"),
    # financial statements
    _spec("debt_ratio", unit="ratio"), _spec("current_ratio", unit="ratio"),
    _spec("cfo_to_liabilities", unit="ratio"), _spec("net_margin", unit="ratio"), _spec("roa", unit="ratio"),
    _spec("revenue_growth", unit="ratio"), _spec("asset_growth", unit="ratio"),
    _spec("asset_turnover", unit="ratio"),
    # basic facts
    _spec("years_in_business", actionable=False, unit="years"),
    _spec("registered_capital_wan", actionable=False, unit="10k yuan"),
    _spec("employees", actionable=False, integer=True, unit="persons"),
    _spec("revenue_wan", actionable=False, unit="10k yuan"),
    _spec("industry_section", kind="categorical", actionable=False),
    _spec("scale", kind="categorical", actionable=False),
])
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


def _month_index(values: pd.Series) -> np.ndarray:
    """Months since 1970-01 of date-like values (vectorized)."""
    return pd.to_datetime(values).to_numpy().astype("datetime64[M]").astype(np.int64)


def _known_by(df: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Rows that had arrived by the end of ``as_of`` when a ``received_at`` column is present."""
    if "received_at" not in df.columns or df.empty:
        return df
    received = pd.to_datetime(df["received_at"], utc=True)
    cutoff = pd.Timestamp(as_of, tz="UTC") + pd.Timedelta(days=1)
    return df[received.isna() | (received < cutoff)]


def _window_mean(hist: np.ndarray, start: int, length: int) -> np.ndarray:
    """Mean of months ``start .. start+length-1`` back (0 = the as-of month); NaN below the minimum count."""
    block = hist[:, start:start + length]
    count = np.sum(~np.isnan(block), axis=1)
    total = np.nansum(block, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(count >= _MIN_MONTHS[length], mean, np.nan)


def _ratio_change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = new / old - 1.0
    return np.where(np.isfinite(out) & (old > 0), out, np.nan)


def _monthly_history(records: pd.DataFrame, ids: pd.Index, as_of_month: int) -> dict[str, np.ndarray]:
    """kind -> (n_enterprises × HISTORY_MONTHS) array, column k = k months before the as-of month."""
    out = {}
    monthly = records[records["kind"].isin(MONTHLY_KINDS)]
    lag = as_of_month - _month_index(monthly["period"])
    keep = (lag >= 0) & (lag < HISTORY_MONTHS)
    monthly = monthly.loc[keep, ["enterprise_id", "kind", "value"]].assign(lag=lag[keep])
    row = ids.get_indexer(monthly["enterprise_id"])
    ok = row >= 0
    monthly, row = monthly[ok], row[ok]
    kind_codes = pd.Categorical(monthly["kind"], categories=MONTHLY_KINDS).codes
    cube = np.full((len(MONTHLY_KINDS), len(ids), HISTORY_MONTHS), np.nan)
    # Several rows for one (enterprise, kind, month) are summed (e.g. two meters); absent months stay NaN.
    flat = np.ravel_multi_index((kind_codes, row, monthly["lag"].to_numpy()), cube.shape)
    sums = np.bincount(flat, weights=monthly["value"].to_numpy(float, na_value=np.nan), minlength=cube.size)
    seen = np.bincount(flat, minlength=cube.size) > 0
    cube.ravel()[seen] = sums[seen]
    for i, kind in enumerate(MONTHLY_KINDS):
        out[kind] = cube[i]
    return out


def _series_features(hist: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    f: dict[str, np.ndarray] = {}
    elec, tax, water, gas = hist["electricity_kwh"], hist["tax_paid"], hist["water_t"], hist["gas_m3"]
    si, hf = hist["si_headcount"], hist["hf_contributors"]
    f["elec_yoy_6m"] = _ratio_change(_window_mean(elec, 0, 6), _window_mean(elec, 12, 6))
    f["elec_yoy_12m"] = _ratio_change(_window_mean(elec, 0, 12), _window_mean(elec, 12, 12))
    f["elec_mom_3m"] = _ratio_change(_window_mean(elec, 0, 3), _window_mean(elec, 3, 3))
    f["tax_yoy_6m"] = _ratio_change(_window_mean(tax, 0, 6), _window_mean(tax, 12, 6))
    f["tax_yoy_12m"] = _ratio_change(_window_mean(tax, 0, 12), _window_mean(tax, 12, 12))
    f["water_yoy_12m"] = _ratio_change(_window_mean(water, 0, 12), _window_mean(water, 12, 12))
    f["gas_yoy_12m"] = _ratio_change(_window_mean(gas, 0, 12), _window_mean(gas, 12, 12))
    for name, series in (("elec_cv_12m", elec), ("tax_cv_12m", tax), ("water_cv_12m", water)):
        block = series[:, :12]
        count = np.sum(~np.isnan(block), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(block, axis=1) / count
            sd = np.sqrt(np.nansum((block - mean[:, None]) ** 2, axis=1) / count)
            cv = sd / mean
        f[name] = np.where((count >= _MIN_MONTHS[12]) & (mean > 0), cv, np.nan)
    tax_block = tax[:, :12]
    tax_count = np.sum(~np.isnan(tax_block), axis=1)
    f["tax_months_paid_12m"] = np.where(tax_count >= _MIN_MONTHS[12], np.sum(tax_block > 0, axis=1), np.nan)
    f["_tax_12m_sum"] = _window_mean(tax, 0, 12) * 12
    si_now, si_then = _window_mean(si, 0, 3), _window_mean(si, 12, 3)
    f["si_headcount_change_12m"] = _ratio_change(si_now, si_then)
    f["_si_now"] = si_now
    hf_now, hf_then = _window_mean(hf, 0, 3), _window_mean(hf, 12, 3)
    f["hf_change_12m"] = _ratio_change(hf_now, hf_then)
    with np.errstate(invalid="ignore", divide="ignore"):
        # No housing-fund rows while insured headcount is known: the enterprise contributes for nobody.
        hf_ratio = np.where(np.isnan(hf_now), 0.0, hf_now) / si_now
    f["hf_ratio"] = np.where(np.isfinite(hf_ratio) & (si_now > 0), hf_ratio, np.nan)
    return f


def _event_features(records: pd.DataFrame, ids: pd.Index, as_of_month: int) -> dict[str, np.ndarray]:
    events = records[~records["kind"].isin(MONTHLY_KINDS) & (records["kind"] != "tax_grade")]
    age = as_of_month - _month_index(events["period"])
    row = ids.get_indexer(events["enterprise_id"])
    ok = (row >= 0) & (age >= 0)
    kind = events["kind"].to_numpy()[ok]
    age, row = age[ok], row[ok]
    value = events["value"].to_numpy(float, na_value=np.nan)[ok]
    n = len(ids)

    def count(kinds, months, lo=0) -> np.ndarray:
        sel = np.isin(kind, kinds) & (age < months) & (age >= lo)
        return np.bincount(row[sel], minlength=n).astype(float)

    f: dict[str, np.ndarray] = {}
    f["si_arrears_24m"] = count(["si_arrears"], 24)
    f["hf_arrears_24m"] = count(["hf_arrears"], 24)
    f["tax_arrears_24m"] = count(["tax_arrears"], 24)
    f["utility_arrears_24m"] = count(["utility_arrears"], 24)
    f["arrears_12m"] = count(list(ARREARS_KINDS), 12)
    sel = np.isin(kind, ARREARS_KINDS) & (age < EVENT_MONTHS)
    recency = np.full(n, float(EVENT_MONTHS))
    np.minimum.at(recency, row[sel], age[sel].astype(float))
    f["months_since_arrears"] = recency
    f["lawsuits_12m"] = count(["judicial_case"], 12)
    f["lawsuits_24m"] = count(["judicial_case"], 24)
    f["lawsuit_trend"] = f["lawsuits_12m"] - count(["judicial_case"], 24, lo=12)
    f["dishonest_executee"] = (count(["dishonest_executee"], EVENT_MONTHS) > 0).astype(float)
    f["blacklisted"] = (count(["blacklist"], EVENT_MONTHS) > 0).astype(float)
    f["penalties_24m"] = count(["penalty"], 24)
    sel = (kind == "penalty") & (age < 24)
    f["penalty_amount_24m"] = np.bincount(row[sel], weights=np.nan_to_num(value[sel]), minlength=n)
    f["abnormal_operation_24m"] = (count(["abnormal_operation"], 24) > 0).astype(float)
    f["commendations_36m"] = count(["commendation"], 36)
    f["registration_changes_24m"] = count(["registration_change"], 24)
    return f


def _tax_grade_features(records: pd.DataFrame, ids: pd.Index, as_of: date) -> dict[str, np.ndarray]:
    grades = records[(records["kind"] == "tax_grade")]
    grades = grades[pd.to_datetime(grades["period"]) <= pd.Timestamp(as_of)]
    points = grades["text"].map(TAX_GRADE_POINTS)
    frame = pd.DataFrame({"enterprise_id": grades["enterprise_id"].to_numpy(),
                          "period": pd.to_datetime(grades["period"]).to_numpy(), "points": points.to_numpy(float)})
    frame = frame.dropna().sort_values(["enterprise_id", "period"])
    last = frame.groupby("enterprise_id")["points"].agg(["last", "count"])
    prev = frame.groupby("enterprise_id")["points"].nth(-2)
    prev = pd.Series(prev.to_numpy(), index=frame.loc[prev.index, "enterprise_id"].to_numpy())
    latest = last["last"].reindex(ids).to_numpy(float)
    before = prev.reindex(ids).to_numpy(float)
    return {"tax_grade_score": latest, "tax_grade_change": latest - before}


def _statement_features(statements: pd.DataFrame | None, ids: pd.Index, as_of: date) -> dict[str, np.ndarray]:
    names = ["debt_ratio", "current_ratio", "cfo_to_liabilities", "net_margin", "roa", "revenue_growth",
             "asset_growth", "asset_turnover", "_revenue"]
    if statements is None or statements.empty:
        return {k: np.full(len(ids), np.nan) for k in names}
    st = _known_by(statements, as_of)
    st = st[st["year"] < as_of.year].sort_values(["enterprise_id", "year"])
    cols = ["revenue", "net_profit", "total_assets", "total_liabilities", "current_assets",
            "current_liabilities", "operating_cash_flow"]
    st = st.assign(**{c: pd.to_numeric(st[c], errors="coerce").astype(float) for c in cols})
    grouped = st.groupby("enterprise_id")
    last = grouped.nth(-1).set_index("enterprise_id").reindex(ids)
    prev = grouped.nth(-2).set_index("enterprise_id").reindex(ids)
    prev = prev.where((last["year"] - prev["year"]) == 1)  # growth only over consecutive years

    def div(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = a / b
        return np.where(np.isfinite(out) & (b != 0), out, np.nan)

    f = {
        "debt_ratio": div(last["total_liabilities"], last["total_assets"]),
        "current_ratio": div(last["current_assets"], last["current_liabilities"]),
        "cfo_to_liabilities": div(last["operating_cash_flow"], last["current_liabilities"]),
        "net_margin": div(last["net_profit"], last["revenue"]),
        "roa": div(last["net_profit"], last["total_assets"]),
        "revenue_growth": div(last["revenue"], prev["revenue"]) - 1.0,
        "asset_growth": div(last["total_assets"], prev["total_assets"]) - 1.0,
        "asset_turnover": div(last["revenue"], last["total_assets"]),
        "_revenue": last["revenue"].to_numpy(float),
    }
    return f


def _related_distress(shareholdings: pd.DataFrame | None, ids: pd.Index, flag: np.ndarray) -> np.ndarray:
    """How many related enterprises (holders or holdings) show distress: arrears or new lawsuits in 12 months."""
    if shareholdings is None:
        return np.full(len(ids), np.nan)
    links = shareholdings[shareholdings["holder_type"] == "enterprise"]
    a = links["enterprise_id"].to_numpy()
    b = pd.to_numeric(links["holder_enterprise_id"], errors="coerce").to_numpy(float, na_value=np.nan)
    ok = ~np.isnan(b)
    a, b = a[ok], b[ok].astype(np.int64)
    pairs = pd.DataFrame({"x": np.concatenate([a, b]), "y": np.concatenate([b, a])}).drop_duplicates()
    xi, yi = ids.get_indexer(pairs["x"]), ids.get_indexer(pairs["y"])
    ok = (xi >= 0) & (yi >= 0) & (xi != yi)
    xi, yi = xi[ok], yi[ok]
    return np.bincount(xi, weights=flag[yi].astype(float), minlength=len(ids))


def compute_features(
    *,
    enterprises: pd.DataFrame,
    gov_records: pd.DataFrame,
    as_of: date,
    statements: pd.DataFrame | None = None,
    shareholdings: pd.DataFrame | None = None,
    reporting_lag_months: int = 1,
) -> pd.DataFrame:
    """One row per enterprise (index ``enterprise_id``), one column per name in :data:`FEATURE_NAMES`.

    Args:
        enterprises: enterprise rows; ``id`` identifies them.
        gov_records: government records of (any superset of) these enterprises.
        as_of: the rating date; records after it are ignored, trends end at its month.
        statements: yearly financial statements (only years before ``as_of``'s year count).
        shareholdings: shareholding rows, for the related-party feature (NaN when not given).
        reporting_lag_months: monthly windows end this many months before ``as_of``'s month, because a
            month's figures arrive weeks after it ends (the as-of month itself is never complete).
    """
    ids = pd.Index(enterprises["id"].to_numpy(), name="enterprise_id")
    as_of_month = int(np.datetime64(as_of, "M").astype(np.int64))
    records = _known_by(gov_records, as_of)
    records = records[pd.to_datetime(records["period"]) <= pd.Timestamp(as_of)]
    f: dict[str, np.ndarray] = {}
    f.update(_series_features(_monthly_history(records, ids, as_of_month - int(reporting_lag_months))))
    f.update(_event_features(records, ids, as_of_month))
    f.update(_tax_grade_features(records, ids, as_of))
    f.update(_statement_features(statements, ids, as_of))

    employees = pd.to_numeric(enterprises["employees"], errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        si_cov = f.pop("_si_now") / employees
    f["si_coverage"] = np.where(np.isfinite(si_cov) & (employees > 0), si_cov, np.nan)
    revenue = f.pop("_revenue")
    with np.errstate(invalid="ignore", divide="ignore"):
        burden = f.pop("_tax_12m_sum") / revenue
    f["tax_to_revenue"] = np.where(np.isfinite(burden) & (revenue > 0), burden, np.nan)
    f["revenue_wan"] = revenue / 1e4
    founded = pd.to_datetime(enterprises["founded_on"]).to_numpy().astype("datetime64[D]")
    age_days = (np.datetime64(as_of, "D") - founded).astype("timedelta64[D]").astype(float)
    f["years_in_business"] = np.where(age_days >= 0, age_days / 365.25, np.nan)
    capital = pd.to_numeric(enterprises["registered_capital"], errors="coerce").to_numpy(float)
    f["registered_capital_wan"] = capital / 1e4
    f["employees"] = employees
    distress_flag = (f["arrears_12m"] > 0) | (f["lawsuits_12m"] > 0) | (f["dishonest_executee"] > 0)
    f["related_distress_12m"] = _related_distress(shareholdings, ids, distress_flag)

    out = pd.DataFrame({name: f[name] for name in FEATURE_NAMES if FEATURES[name].kind == "numeric"}, index=ids)
    out["industry_section"] = pd.Series(enterprises["industry_section"].to_numpy(), index=ids, dtype=object)
    out["scale"] = pd.Series(enterprises["scale"].astype(str).to_numpy(), index=ids, dtype=object)
    return out[list(FEATURE_NAMES)]
