"""Backtest measures on a hand-made history: recall 90 days ahead, false alarms, lead times."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.risk.backtest import month_ends, score_history


def _loans():
    # Enterprise 1 defaults on 2025-12-15, enterprise 2 on 2026-01-20; 3 and 4 never default.
    rows = [(1, "2024-01-01", "2027-01-01", "2025-12-15"), (2, "2024-01-01", "2027-01-01", "2026-01-20"),
            (3, "2024-01-01", "2027-01-01", None), (4, "2024-01-01", "2027-01-01", None)]
    return pd.DataFrame([{"enterprise_id": e, "disbursed_at": pd.Timestamp(a, tz="UTC"), "maturity_date": pd.Timestamp(m),
                          "defaulted_at": pd.Timestamp(d, tz="UTC") if d else pd.NaT} for e, a, m, d in rows])


def _history():
    rows = [
        ("2025-06-30", 1, "R.A", 7),  # 168 days before 1's default: warned ≥ 90 days ahead
        ("2025-11-30", 1, "R.A", 7),
        ("2025-11-30", 2, "R.B", 7),  # only 51 days before 2's default: too late
        ("2025-03-31", 3, "R.B", 7),  # 3 never defaults: a false alarm
        ("2025-03-31", 4, "R.A", 3),  # below the overall level
    ]
    return pd.DataFrame([{"as_of": pd.Timestamp(a), "enterprise_id": e, "rule_code": c, "level": lv,
                          "propagated": False} for a, e, c, lv in rows])


def test_measures_follow_their_definitions():
    dates = month_ends(date(2024, 10, 31), date(2026, 10, 31))
    assert dates[0] == date(2024, 10, 31) and dates[-1] == date(2026, 10, 31) and len(dates) == 25
    out = score_history(_history(), _loans(), dates, min_level=7)
    assert out["defaults"] == 2 and out["warned_90d"] == 1 and out["recall_90d"] == 0.5
    # Flags with a year of follow-up (as_of ≤ 2025-10-31) on live borrowers: 1 (defaults within a year) and 3.
    assert out["flagged"] == 2 and out["false_alarms"] == 1 and out["false_alarm_rate"] == 0.5
    assert out["lead_median"] == (pd.Timestamp("2025-12-15") - pd.Timestamp("2025-06-30")).days
    rules = {r["rule_code"]: r for r in out["rules"]}
    assert rules["R.A"]["recall_90d"] == 0.5 and rules["R.A"]["flagged"] == 2  # per rule, any level counts
    assert rules["R.A"]["false_alarm_rate"] == pytest.approx(0.5)
    assert rules["R.B"]["warned_90d"] == 0 and rules["R.B"]["false_alarm_rate"] == 1.0
