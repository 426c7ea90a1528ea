"""Backtest measures on a hand-made history: recall 90 days ahead, false alarms, lead times."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.risk.backtest import default_dates, inconsistent_loans, month_ends, score_history, without_loans
from core.risk.inputs import RiskInputs


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


def test_the_per_level_table_and_lead_times_follow_the_overall_definition():
    dates = month_ends(date(2024, 10, 31), date(2026, 10, 31))
    out = score_history(_history(), _loans(), dates, min_level=7)
    levels = {row["min_level"]: row for row in out["levels"]}
    assert sorted(levels) == list(range(1, 9))
    assert {k: levels[7][k] for k in ("warned_90d", "flagged", "false_alarms")} == {
        k: out[k] for k in ("warned_90d", "flagged", "false_alarms")}
    # Enterprise 4's level-3 flag counts from level 3 down: one more false alarm there.
    assert (levels[3]["flagged"], levels[3]["false_alarms"]) == (3, 2) and levels[8]["flagged"] == 0
    # Enterprise 1 was first warned 168 days ahead; enterprise 2 only 51 days ahead (late, not warned).
    assert out["lead_days"] == {"90-179": 1, "180-269": 0, "270-365": 0}
    assert out["warned_late"] == 1


def _installments(*rows):
    return pd.DataFrame([{"loan_id": lo, "due_date": pd.Timestamp(d), "paid_on": pd.Timestamp(p) if p else pd.NaT}
                         for lo, d, p in rows])


def _loans_with_ids():
    loans = _loans()
    loans.insert(0, "id", [11, 12, 13, 14])
    return loans


def test_a_loan_90_days_past_due_is_a_default_even_without_a_default_date():
    loans = _loans_with_ids()
    inst = _installments(
        (13, "2025-06-01", None),  # enterprise 3: unpaid → in default from 2025-08-30
        (14, "2025-06-01", "2025-07-01"),  # enterprise 4: 30 days late, then paid → no default
        (12, "2025-06-01", "2025-09-10"),  # enterprise 2: paid 101 days late → defaulted on 2025-08-30 already
        (11, "2026-09-01", None),  # enterprise 1: only 60 days unpaid at the end of the history
    )
    dates = month_ends(date(2024, 10, 31), date(2026, 10, 31))
    got = default_dates(loans, inst, end=dates[-1])
    assert got.to_dict() == {1: pd.Timestamp("2025-12-15"), 2: pd.Timestamp("2025-08-30"),
                             3: pd.Timestamp("2025-08-30")}
    with pytest.raises(ValueError):
        default_dates(loans, inst)
    # Enterprise 3's flag on 2025-03-31 preceded its default by 152 days: no longer a false alarm.
    out = score_history(_history(), loans, dates, min_level=7, installments=inst)
    assert (out["flagged"], out["false_alarms"]) == (2, 0)
    assert score_history(_history(), loans, dates, min_level=7)["false_alarms"] == 1


def test_loans_left_unpaid_without_a_default_date_are_found_and_can_be_dropped():
    loans = _loans_with_ids()
    inst = _installments((13, "2025-06-01", None), (14, "2025-06-01", "2025-06-03"), (11, "2025-01-01", None))
    end = date(2026, 10, 31)
    assert inconsistent_loans(loans, inst, end) == [13]  # 11 is unpaid too, but it has a default date
    world = RiskInputs(loans=loans, installments=inst)
    kept = without_loans(world, [13])
    assert list(kept.loans["id"]) == [11, 12, 14] and set(kept.installments["loan_id"]) == {11, 14}
    assert len(world.loans) == 4  # the original is untouched
