"""Backtest of the rule library on a generated history: did the rules warn before borrowers defaulted?

Pure functions over frames (the script ``scripts/backtest_risk.py`` generates the data and prints).
The rules are evaluated at every month-end with only what was known then (the engine's point-in-time
view), and the hits are compared with the loans' actual default dates.

Definitions (all at enterprise level; a *default* is the first ``defaulted_at`` of any of the
enterprise's loans, i.e. 90 days past due; *flagged at t* means the enterprise's highest level over the
counted rules at month-end ``t`` is at least ``min_level``):

* ``recall_90d`` — of the enterprises that defaulted on a date ``D`` with ``D − 365 days`` inside the
  evaluated months, the share flagged at some month-end ``t`` with ``D − 365 ≤ t ≤ D − 90``.
* ``false_alarm_rate`` — of the enterprises flagged at some month-end ``t`` while a borrower (a loan
  disbursed by ``t`` and not past its maturity by more than 90 days) not yet in default, with ``t`` at
  least 365 days before the end of the history (so the outcome is observable), the share that did **not**
  default within 365 days after any of those flags.
* lead time — for each warned default, ``D`` minus the first month-end ``t ≥ D − 365`` it was flagged.

Per rule the same measures are computed with that rule alone (``min_level`` ignored: any hit counts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from core.risk.evaluate import evaluate
from core.risk.inputs import COLUMNS, RiskInputs, empty_frame, to_naive
from core.risk.rules import RiskRuleSet

LEAD_DAYS = 90
HORIZON_DAYS = 365


def inputs_from_frames(frames: dict[str, pd.DataFrame]) -> RiskInputs:
    """Engine inputs from the demo generator's frames (money cents → yuan; no repayment holidays).

    Args:
        frames: the dict :func:`core.seed.generator.generate` returns.
    """
    loans = frames["loan"].copy()
    for col in ("amount", "outstanding_principal"):
        loans[col] = loans[col] / 100
    if "paused_until" not in loans:
        loans["paused_until"] = pd.NaT
    inst = frames["repayment_installment"].copy()
    for col in ("principal_due", "interest_due", "paid_amount"):
        inst[col] = inst[col] / 100
    gov = frames["gov_record"]
    sh = frames["shareholding"]
    return RiskInputs(
        enterprises=frames["enterprise"][list(COLUMNS["enterprises"])],
        gov_records=gov[[*COLUMNS["gov_records"], "detail"]],
        loans=loans[[*COLUMNS["loans"], "maturity_date"]],
        installments=inst[list(COLUMNS["installments"])],
        shareholdings=sh[[*COLUMNS["shareholdings"], *(["holder_id_number"] if "holder_id_number" in sh else [])]],
        scores=empty_frame("scores"),
        applications=frames["application"][list(COLUMNS["applications"])],
    )


def month_ends(start: date, end: date) -> list[date]:
    """Every month-end from ``start``'s month to ``end`` (inclusive).

    Args:
        start: any day of the first month.
        end: the last date (month-ends after it are dropped).
    """
    days = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(how="end").normalize(), end, freq="ME")
    return [d.date() for d in days]


def run_history(
    inputs: RiskInputs, rule_set: RiskRuleSet, dates: Sequence[date], *,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> pd.DataFrame:
    """Evaluate at every date; one row per hit: ``as_of, enterprise_id, rule_code, level, propagated``.

    Args:
        inputs: the engine inputs (normalized here once).
        rule_set: the rules.
        dates: the evaluation dates.
        progress: optional wrapper for the date iterator (e.g. ``tqdm``).
    """
    norm = inputs.normalized()
    rows = []
    for d in (progress or (lambda x: x))(dates):
        res = evaluate(norm, rule_set, as_of=d, normalize=False)
        h = res.hits[["enterprise_id", "rule_code", "level"]].copy()
        h["propagated"] = res.hits["propagated_from"].notna().to_numpy()
        h["as_of"] = pd.Timestamp(d)
        rows.append(h)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["enterprise_id", "rule_code", "level", "propagated", "as_of"])
    return out[["as_of", "enterprise_id", "rule_code", "level", "propagated"]]


def default_dates(loans: pd.DataFrame) -> pd.Series:
    """Enterprise → the date its first loan defaulted (enterprises that never defaulted are absent)."""
    d = loans.assign(defaulted_at=to_naive(loans["defaulted_at"]).dt.normalize()).dropna(subset=["defaulted_at"])
    return d.groupby("enterprise_id")["defaulted_at"].min()


def borrower_months(loans: pd.DataFrame, dates: Sequence[date]) -> pd.DataFrame:
    """``(as_of, enterprise_id)`` pairs where the enterprise had a live loan at that month-end."""
    ln = loans.assign(start=to_naive(loans["disbursed_at"]).dt.normalize(),
                      stop=to_naive(loans["maturity_date"]).dt.normalize() + pd.Timedelta(days=90))
    grid = pd.DataFrame({"as_of": pd.to_datetime(list(dates))})
    pairs = ln[["enterprise_id", "start", "stop"]].merge(grid, how="cross")
    pairs = pairs[(pairs["start"] <= pairs["as_of"]) & (pairs["as_of"] <= pairs["stop"])]
    return pairs[["as_of", "enterprise_id"]].drop_duplicates().reset_index(drop=True)


def _measures(flags: pd.DataFrame, defaults: pd.Series, borrowers: pd.DataFrame, dates: Sequence[date]) -> dict:
    """recall_90d, false_alarm_rate and lead times for one set of ``(as_of, enterprise_id)`` flags."""
    first, last = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    flags = flags[["as_of", "enterprise_id"]].drop_duplicates()
    # Recall: defaults whose full year of warning lies inside the evaluated months.
    eligible = defaults[(defaults - pd.Timedelta(days=HORIZON_DAYS) >= first - pd.Timedelta(days=31))
                        & (defaults <= last)]
    f = flags.merge(eligible.rename("D").reset_index(), on="enterprise_id")
    before = f[(f["as_of"] >= f["D"] - pd.Timedelta(days=HORIZON_DAYS)) & (f["as_of"] < f["D"])]
    early = before[before["as_of"] <= before["D"] - pd.Timedelta(days=LEAD_DAYS)]
    warned = early["enterprise_id"].unique()
    lead = (before.groupby("enterprise_id")["D"].first() - before.groupby("enterprise_id")["as_of"].min()).dt.days
    lead = lead.reindex(warned)
    # False alarms: flags on live, not-yet-defaulted borrowers with a year of follow-up.
    obs = flags[flags["as_of"] <= last - pd.Timedelta(days=HORIZON_DAYS)]
    obs = obs.merge(borrowers, on=["as_of", "enterprise_id"])
    obs = obs.assign(D=obs["enterprise_id"].map(defaults))
    obs = obs[obs["D"].isna() | (obs["D"] > obs["as_of"])]
    obs = obs.assign(hit=(obs["D"] - obs["as_of"]).dt.days.le(HORIZON_DAYS).fillna(False))
    per_ent = obs.groupby("enterprise_id")["hit"].any()
    n_flagged = int(len(per_ent))
    n_false = int((~per_ent).sum())
    q = lead.quantile([0.25, 0.5, 0.75]) if len(lead) else pd.Series([np.nan] * 3, index=[0.25, 0.5, 0.75])
    return {
        "defaults": int(len(eligible)), "warned_90d": int(len(warned)),
        "recall_90d": round(len(warned) / len(eligible), 4) if len(eligible) else None,
        "flagged": n_flagged, "false_alarms": n_false,
        "false_alarm_rate": round(n_false / n_flagged, 4) if n_flagged else None,
        "lead_p25": _num(q[0.25]), "lead_median": _num(q[0.5]), "lead_p75": _num(q[0.75]),
    }


def _num(x) -> float | None:
    return None if pd.isna(x) else float(x)


def score_history(
    history: pd.DataFrame, loans: pd.DataFrame, dates: Sequence[date], *, min_level: int,
    rule_codes: Sequence[str] | None = None,
) -> dict:
    """Overall and per-rule measures of a :func:`run_history` result (see the module docstring).

    Args:
        history: hits per month-end.
        loans: the loans frame (``enterprise_id, disbursed_at, maturity_date, defaulted_at``).
        dates: the evaluated month-ends, ascending.
        min_level: the level from which an enterprise counts as warned overall.
        rule_codes: the rules to report (default: every rule in ``history``).
    """
    defaults = default_dates(loans)
    borrowers = borrower_months(loans, dates)
    agg = history.groupby(["as_of", "enterprise_id"], as_index=False)["level"].max()
    overall = _measures(agg[agg["level"] >= min_level], defaults, borrowers, dates)
    per_rule = []
    for code in (rule_codes if rule_codes is not None else sorted(history["rule_code"].unique())):
        sub = history[history["rule_code"] == code]
        m = _measures(sub, defaults, borrowers, dates)
        per_rule.append({"rule_code": code, "hits": int(len(sub)), "enterprises": int(sub["enterprise_id"].nunique()),
                         **{k: m[k] for k in ("warned_90d", "recall_90d", "flagged", "false_alarm_rate", "lead_p25",
                                              "lead_median", "lead_p75")}})
    return {"min_level": min_level, **overall, "rules": per_rule}
