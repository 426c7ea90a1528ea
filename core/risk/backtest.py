"""Backtest of the rule library on a generated history: did the rules warn before borrowers defaulted?

Pure functions over frames (the script ``scripts/backtest_risk.py`` generates the data and prints).
The rules are evaluated at every month-end with only what was known then (the engine's point-in-time
view), and the hits are compared with the loans' actual default dates.

Definitions (all at enterprise level; a *default* is the first day any loan of the enterprise was in
default — its ``defaulted_at``, or the day one of its installments reached 90 days past due when the
installments are given (:func:`default_dates`); *flagged at t* means the enterprise's highest level over
the counted rules at month-end ``t`` is at least ``min_level``):

* ``recall_90d`` — of the enterprises that defaulted on a date ``D`` with ``D − 365 days`` inside the
  evaluated months, the share flagged at some month-end ``t`` with ``D − 365 ≤ t ≤ D − 90``.
* ``false_alarm_rate`` — of the enterprises flagged at some month-end ``t`` while a borrower (a loan
  disbursed by ``t`` and not past its maturity by more than 90 days) not yet in default, with ``t`` at
  least 365 days before the end of the history (so the outcome is observable), the share that did **not**
  default within 365 days after any of those flags.
* lead time — for each warned default, ``D`` minus the first month-end ``t ≥ D − 365`` it was flagged;
  quartiles and counts per :data:`LEAD_BUCKETS`, and ``warned_late``: defaults flagged in their year but
  only in the last 90 days.

The same measures are given for every threshold level 1–8 (``levels``) and per rule with that rule
alone (``min_level`` ignored: any hit counts). :func:`inconsistent_loans` finds loans 90+ days past due
without a default date (the demo generator leaves some); :func:`without_loans` drops them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd

from core.risk.evaluate import evaluate
from core.risk.inputs import COLUMNS, RiskInputs, empty_frame, to_naive
from core.risk.levels import LEVELS
from core.risk.rules import RiskRuleSet

LEAD_DAYS = 90
HORIZON_DAYS = 365
DEFAULT_DPD = 90  # days past due at which a loan is in default
LEAD_BUCKETS = ((90, 180), (180, 270), (270, 366))  # lead-time classes of the warned defaults, in days
_LEVEL_KEYS = ("warned_90d", "recall_90d", "flagged", "false_alarms", "false_alarm_rate", "lead_median")


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


def _reached_default(installments: pd.DataFrame, end: date) -> pd.DataFrame:
    """``loan_id, at`` for every installment that reached 90 days past due by ``end`` (unpaid, or paid that late)."""
    due = to_naive(installments["due_date"]).dt.normalize().to_numpy()
    paid = to_naive(installments["paid_on"]).dt.normalize().to_numpy()
    hit = due + np.timedelta64(DEFAULT_DPD, "D")
    reached = np.where(pd.isna(paid), hit <= pd.Timestamp(end).to_datetime64(), paid >= hit)
    return pd.DataFrame({"loan_id": installments["loan_id"].to_numpy()[reached], "at": hit[reached]})


def inconsistent_loans(loans: pd.DataFrame, installments: pd.DataFrame, end: date) -> list[int]:
    """Loans with an installment 90 or more days past due by ``end`` but no ``defaulted_at``.

    In a consistent history such a loan has defaulted; the demo generator leaves some "late payers"
    unpaid for good without marking a default (see ``docs/benchmarks.md``), and the backtest drops them.

    Args:
        loans: ``id, defaulted_at``.
        installments: ``loan_id, due_date, paid_on``.
        end: the end of the history.
    """
    reached = set(_reached_default(installments, end)["loan_id"].astype("int64"))
    no_default = loans.loc[to_naive(loans["defaulted_at"]).isna().to_numpy(), "id"].astype("int64")
    return sorted(int(i) for i in no_default if int(i) in reached)


def without_loans(inputs: RiskInputs, loan_ids: Sequence[int]) -> RiskInputs:
    """A copy of ``inputs`` without these loans and their installments.

    Args:
        inputs: the engine inputs.
        loan_ids: the loans to drop.
    """
    drop = {int(i) for i in loan_ids}
    return replace(inputs, loans=inputs.loans[~inputs.loans["id"].isin(drop)].reset_index(drop=True),
                   installments=inputs.installments[~inputs.installments["loan_id"].isin(drop)].reset_index(drop=True))


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


def default_dates(loans: pd.DataFrame, installments: pd.DataFrame | None = None, *,
                  end: date | None = None) -> pd.Series:
    """Enterprise → the date its first loan defaulted (enterprises that never defaulted are absent).

    A loan defaults on its ``defaulted_at``, or — the bank's definition, whatever the loan's status
    says — on the day one of its installments reached 90 days past due (due date + 90 days), if that
    happened by ``end``: unpaid by ``end`` or paid 90 or more days late. The earlier of the two counts.

    Args:
        loans: ``id, enterprise_id, defaulted_at``.
        installments: ``loan_id, due_date, paid_on`` (None: only ``defaulted_at`` counts).
        end: the end of the history (required with ``installments``).
    """
    d = loans.assign(defaulted_at=to_naive(loans["defaulted_at"]).dt.normalize()).dropna(subset=["defaulted_at"])
    dates = d.groupby("enterprise_id")["defaulted_at"].min()
    if installments is None or installments.empty:
        return dates
    if end is None:
        raise ValueError("end is required with installments")
    dpd = _reached_default(installments, end).merge(loans[["id", "enterprise_id"]].rename(columns={"id": "loan_id"}), on="loan_id")
    by_dpd = dpd.groupby("enterprise_id")["at"].min()
    both = pd.concat([dates, by_dpd], axis=1).min(axis=1)
    return both.rename("defaulted_at").rename_axis("enterprise_id")


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
    buckets = {f"{lo}-{hi - 1}": int(((lead >= lo) & (lead < hi)).sum()) for lo, hi in LEAD_BUCKETS}
    return {
        "defaults": int(len(eligible)), "warned_90d": int(len(warned)),
        "recall_90d": round(len(warned) / len(eligible), 4) if len(eligible) else None,
        "warned_late": int(before["enterprise_id"].nunique() - len(warned)),
        "flagged": n_flagged, "false_alarms": n_false,
        "false_alarm_rate": round(n_false / n_flagged, 4) if n_flagged else None,
        "lead_p25": _num(q[0.25]), "lead_median": _num(q[0.5]), "lead_p75": _num(q[0.75]), "lead_days": buckets,
    }


def _num(x) -> float | None:
    return None if pd.isna(x) else float(x)


def score_history(
    history: pd.DataFrame, loans: pd.DataFrame, dates: Sequence[date], *, min_level: int,
    rule_codes: Sequence[str] | None = None, installments: pd.DataFrame | None = None,
) -> dict:
    """Overall, per-level and per-rule measures of a :func:`run_history` result (see the module docstring).

    Args:
        history: hits per month-end.
        loans: the loans frame (``id, enterprise_id, disbursed_at, maturity_date, defaulted_at``).
        dates: the evaluated month-ends, ascending.
        min_level: the level from which an enterprise counts as warned overall.
        rule_codes: the rules to report (default: every rule in ``history``).
        installments: ``loan_id, due_date, paid_on``; with them a loan also defaults when an installment
            reaches 90 days past due (see :func:`default_dates`).
    """
    defaults = default_dates(loans, installments, end=dates[-1])
    borrowers = borrower_months(loans, dates)
    agg = history.groupby(["as_of", "enterprise_id"], as_index=False)["level"].max()
    overall = _measures(agg[agg["level"] >= min_level], defaults, borrowers, dates)
    by_level = []
    for level in LEVELS:
        m = _measures(agg[agg["level"] >= level], defaults, borrowers, dates)
        by_level.append({"min_level": level, **{k: m[k] for k in _LEVEL_KEYS}})
    per_rule = []
    for code in (rule_codes if rule_codes is not None else sorted(history["rule_code"].unique())):
        sub = history[history["rule_code"] == code]
        m = _measures(sub, defaults, borrowers, dates)
        per_rule.append({"rule_code": code, "hits": int(len(sub)), "enterprises": int(sub["enterprise_id"].nunique()),
                         **{k: m[k] for k in ("warned_90d", "recall_90d", "flagged", "false_alarm_rate", "lead_p25",
                                              "lead_median", "lead_p75")}})
    return {"min_level": min_level, **overall, "levels": by_level, "rules": per_rule}
