"""Quality scores from a rule run: per rule, per source department, per dimension; trends; reports.

A rule's pass rate is ``1 - failed / checked`` over the units it checked (rows, series, companies).
A group's score is ``100 × Σ wᵣ·passᵣ / Σ wᵣ`` over its evaluated rules, ``wᵣ`` the severity weight
(:data:`core.quality.rules.SEVERITY_WEIGHTS`). Rules that were not evaluated, disabled or in error
do not move a score, but every group line counts them, so a score never hides a rule that did not
run. A group with no evaluated rule has no score (NaN), never 100.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.quality.rules import SEVERITY_WEIGHTS, RunResult

SEVERITY_ORDER = {s: i for i, s in enumerate(sorted(SEVERITY_WEIGHTS, key=SEVERITY_WEIGHTS.get, reverse=True))}


def rule_scores(summary: pd.DataFrame) -> pd.DataFrame:
    """One line per rule: its status, checked and failed units, pass rate, score 0–100, weight."""
    out = summary.copy()
    evaluated = (out["status"] == "evaluated") & (out["checked"] > 0)
    rate = 1 - out["failed"] / out["checked"].where(out["checked"] > 0)
    out["pass_rate"] = rate.clip(0, 1).where(evaluated)
    out["score"] = (100 * out["pass_rate"]).round(2)
    out["weight"] = out["severity"].map(SEVERITY_WEIGHTS).astype("float64")
    return out


def group_scores(summary: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Severity-weighted scores per group (``["source"]``, ``["dimension"]``, or both).

    Args:
        summary: :attr:`RunResult.summary` (or :func:`rule_scores` output).
        by: the grouping columns.
    """
    rs = rule_scores(summary) if "pass_rate" not in summary else summary
    scored = rs["pass_rate"].notna()
    frame = rs.assign(
        _wp=(rs["weight"] * rs["pass_rate"]).where(scored, 0.0),
        _w=rs["weight"].where(scored, 0.0),
        _evaluated=scored,
        _not_evaluated=rs["status"] == "not_evaluated",
        _disabled=rs["status"] == "disabled",
        _error=rs["status"] == "error",
    )
    g = frame.groupby(list(by), dropna=False)
    out = g.agg(
        rules=("rule_code", "size"), rules_evaluated=("_evaluated", "sum"),
        rules_not_evaluated=("_not_evaluated", "sum"), rules_disabled=("_disabled", "sum"),
        rules_error=("_error", "sum"), checked=("checked", "sum"), failed=("failed", "sum"),
        _wp=("_wp", "sum"), _w=("_w", "sum"),
    )
    out["score"] = (100 * out["_wp"] / out["_w"].replace(0, np.nan)).round(2)
    return out.drop(columns=["_wp", "_w"]).reset_index()


@dataclass(frozen=True)
class ScoreCard:
    """All the scores of one run, ready to store or chart."""

    as_of: object
    rule_set_version: int
    overall: float
    by_rule: pd.DataFrame
    by_source: pd.DataFrame
    by_dimension: pd.DataFrame
    by_source_dimension: pd.DataFrame


def score_card(result: RunResult) -> ScoreCard:
    """Scores per rule, source, dimension and source×dimension, and the overall score."""
    by_rule = rule_scores(result.summary)
    scored = by_rule["pass_rate"].notna()
    weight = by_rule.loc[scored, "weight"]
    overall = float(round(100 * (weight * by_rule.loc[scored, "pass_rate"]).sum() / weight.sum(), 2)) \
        if scored.any() else float("nan")
    return ScoreCard(
        as_of=result.as_of, rule_set_version=result.rule_set_version, overall=overall, by_rule=by_rule,
        by_source=group_scores(by_rule, ["source"]), by_dimension=group_scores(by_rule, ["dimension"]),
        by_source_dimension=group_scores(by_rule, ["source", "dimension"]),
    )


def trend(previous: pd.DataFrame, current: pd.DataFrame, keys: Sequence[str], *,
          flat_within: float = 0.5) -> pd.DataFrame:
    """Compare two runs' scores on ``keys``: previous, current, delta and direction.

    Direction is ``up``/``down`` beyond ``flat_within`` points, ``flat`` inside it, ``new`` or
    ``gone`` when a group exists in one run only, ``unscored`` when either score is missing.
    """
    left = previous[[*keys, "score"]].rename(columns={"score": "score_previous"})
    right = current[[*keys, "score"]]
    out = left.merge(right, on=list(keys), how="outer", indicator=True)
    out["delta"] = (out["score"] - out["score_previous"]).round(2)
    direction = np.select(
        [out["_merge"] == "right_only", out["_merge"] == "left_only", out["delta"].isna(),
         out["delta"] > flat_within, out["delta"] < -flat_within],
        ["new", "gone", "unscored", "up", "down"], default="flat")
    out["direction"] = direction
    return out.drop(columns="_merge").sort_values(list(keys), kind="stable").reset_index(drop=True)


REPORT_COLUMNS = ["source", "rule_code", "rule_version", "severity", "dimension", "credit_code", "enterprise_name",
                  "record_ref", "field", "detail", "message_key", "message"]


def failure_report(result: RunResult, source: str, *, enterprises: pd.DataFrame | None = None,
                   translate: Callable[[str], str] | None = None) -> pd.DataFrame:
    """The row-level failures of one department, most severe first, ready for CSV/Excel download.

    Args:
        result: a run.
        source: the department (``tax``, ``market`` …).
        enterprises: optional ``id``, ``credit_code``, ``name`` to fill codes and names in.
        translate: optional ``message_key -> text`` (e.g. ``partial(core.i18n.translate, locale="zh_CN")``);
            without it the ``message`` column repeats the key.
    """
    f = result.failures[result.failures["source"] == source].copy()
    f["enterprise_name"] = pd.Series(pd.NA, index=f.index, dtype="string")
    if enterprises is not None and len(f):
        ent = enterprises.drop_duplicates("id").set_index("id")
        ids = f["enterprise_id"]
        if "credit_code" in ent:
            f["credit_code"] = f["credit_code"].fillna(ids.map(ent["credit_code"]).astype("string"))
        if "name" in ent:
            f["enterprise_name"] = ids.map(ent["name"]).astype("string")
    keys = f["message_key"].astype(str)
    f["message"] = keys.map({k: translate(k) for k in keys.unique()}) if translate else keys
    f["_sev"] = f["severity"].map(SEVERITY_ORDER)
    f = f.sort_values(["_sev", "rule_code", "credit_code", "record_ref"], kind="stable", na_position="last")
    return f[REPORT_COLUMNS].reset_index(drop=True)
