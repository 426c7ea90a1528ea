"""Scores: severity-weighted pass rates per rule, department and dimension; trends; failure reports."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from core.quality.rules import FAILURE_COLUMNS, SUMMARY_COLUMNS, RunResult
from core.quality.scoring import failure_report, group_scores, rule_scores, score_card, trend


def _summary(rows):
    base = {"rule_version": 1, "type": "range", "table": "gov_record", "reason": "", "elapsed_ms": 0.0,
            "message_key": "dq.rule.x"}
    return pd.DataFrame([{**base, **r} for r in rows], columns=SUMMARY_COLUMNS)


SUMMARY = _summary([
    {"rule_code": "A-001", "dimension": "validity", "severity": "critical", "source": "tax", "status": "evaluated",
     "checked": 100, "failed": 10},
    {"rule_code": "A-002", "dimension": "completeness", "severity": "info", "source": "tax", "status": "evaluated",
     "checked": 50, "failed": 0},
    {"rule_code": "A-003", "dimension": "validity", "severity": "error", "source": "tax", "status": "not_evaluated",
     "checked": 0, "failed": 0},
    {"rule_code": "B-001", "dimension": "validity", "severity": "warning", "source": "water", "status": "disabled",
     "checked": 0, "failed": 0},
])


def test_rule_score_is_the_pass_rate():
    rs = rule_scores(SUMMARY).set_index("rule_code")
    assert rs.loc["A-001", "score"] == 90.0 and rs.loc["A-002", "score"] == 100.0
    assert math.isnan(rs.loc["A-003", "score"])


def test_group_score_weights_pass_rates_by_severity_and_counts_rules_that_did_not_run():
    by_source = group_scores(SUMMARY, ["source"]).set_index("source")
    # critical weight 5 at 0.9, info weight 1 at 1.0 -> (4.5 + 1) / 6
    assert by_source.loc["tax", "score"] == round(100 * 5.5 / 6, 2)
    assert by_source.loc["tax", "rules_not_evaluated"] == 1
    assert math.isnan(by_source.loc["water", "score"]) and by_source.loc["water", "rules_disabled"] == 1
    by_dim = group_scores(SUMMARY, ["dimension"]).set_index("dimension")
    assert by_dim.loc["validity", "score"] == 90.0


def _result(summary, failures=None):
    return RunResult("t", 1, date(2026, 10, 31),
                     failures if failures is not None else pd.DataFrame(columns=FAILURE_COLUMNS), summary)


def test_score_card_overall_and_trend_between_runs():
    card = score_card(_result(SUMMARY))
    assert card.overall == round(100 * 5.5 / 6, 2)
    better = SUMMARY.copy()
    better.loc[0, "failed"] = 0
    later = score_card(_result(better))
    t = trend(card.by_source, later.by_source, ["source"]).set_index("source")
    assert t.loc["tax", "direction"] == "up" and t.loc["tax", "delta"] > 0
    assert t.loc["water", "direction"] == "unscored"
    gone = trend(card.by_source, later.by_source[later.by_source.source == "tax"], ["source"]).set_index("source")
    assert gone.loc["water", "direction"] == "gone"


def test_failure_report_for_one_department_sorted_by_severity_with_names_and_messages():
    failures = pd.DataFrame([
        {"rule_code": "A-002", "rule_version": 1, "dimension": "completeness", "severity": "info", "source": "tax",
         "table": "gov_record", "enterprise_id": 2, "credit_code": None, "record_ref": "gov_record:9",
         "field": "value", "detail": "d", "message_key": "dq.rule.tax_001"},
        {"rule_code": "A-001", "rule_version": 1, "dimension": "validity", "severity": "critical", "source": "tax",
         "table": "gov_record", "enterprise_id": 1, "credit_code": None, "record_ref": "gov_record:3",
         "field": "value", "detail": "d", "message_key": "dq.rule.tax_002"},
        {"rule_code": "B-001", "rule_version": 1, "dimension": "validity", "severity": "critical", "source": "water",
         "table": "gov_record", "enterprise_id": 1, "credit_code": None, "record_ref": "gov_record:4",
         "field": "value", "detail": "d", "message_key": "dq.rule.wat_002"},
    ], columns=FAILURE_COLUMNS)
    ents = pd.DataFrame({"id": [1, 2], "credit_code": ["C1", "C2"], "name": ["甲", "乙"]})
    report = failure_report(_result(SUMMARY, failures), "tax", enterprises=ents, translate=str.upper)
    assert report["rule_code"].tolist() == ["A-001", "A-002"]
    assert report["credit_code"].tolist() == ["C1", "C2"] and report["enterprise_name"].tolist() == ["甲", "乙"]
    assert report["message"].tolist() == ["DQ.RULE.TAX_002", "DQ.RULE.TAX_001"]
    assert report.to_csv(index=False).count("\n") == 3
