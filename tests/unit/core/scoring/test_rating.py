"""Rating: blend, reason codes and "what would raise it" on constructed enterprises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.scoring.features import FEATURE_NAMES
from core.scoring.indicators import load_indicator_system
from core.scoring.rating import RatingConfig, rate
from core.scoring.scorecard import FeatureBins, Scorecard, ScorecardConfig

GRADES = [{"grade": g, "min_score": s} for g, s in
          [("AAA", 900), ("AA", 850), ("A", 800), ("BBB", 740), ("BB", 680), ("B", 620), ("CCC", 550),
           ("CC", 450), ("C", 0)]]


def _ind(code, feature, direction, thresholds, points, weight=1.0):
    return {"code": code, "feature": feature, "direction": direction, "thresholds": thresholds,
            "points": points, "weight": weight}


SYSTEM = load_indicator_system({
    "name": "test", "version": "t1", "min_coverage": 0.6, "grades": GRADES,
    "first_level": [
        {"code": "OPS", "weight": 0.5, "children": [{"code": "OPS.E", "weight": 1.0, "children": [
            _ind("OPS.E.Y", "elec_yoy_12m", "higher_better", [-0.1, 0.0, 0.1], [0, 50, 80, 100])]}]},
        {"code": "BASIC", "weight": 0.3, "children": [{"code": "BASIC.Y", "weight": 1.0, "children": [
            _ind("BASIC.Y.Y", "years_in_business", "higher_better", [3, 10], [20, 60, 100])]}]},
        {"code": "LEGAL", "weight": 0.2, "children": [{"code": "LEGAL.L", "weight": 1.0, "children": [
            _ind("LEGAL.L.L", "lawsuits_12m", "lower_better", [1, 3], [100, 50, 0])]}]},
    ],
})


def frame(rows: list[dict]) -> pd.DataFrame:
    data = {f: [r.get(f, np.nan) for r in rows] for f in FEATURE_NAMES}
    return pd.DataFrame(data, index=pd.Index(range(1, len(rows) + 1), name="enterprise_id"))


def test_falling_electricity_is_the_top_reason_and_the_lever_to_the_next_grade():
    # 10 × (0.5×50 + 0.3×60 + 0.2×100) = 630: grade B, 50 short of BB.
    out = rate(frame([{"elec_yoy_12m": -0.05, "years_in_business": 5, "lawsuits_12m": 0}]), system=SYSTEM, card=None)
    r = out.iloc[0]
    assert r["score"] == pytest.approx(630.0)
    assert r["grade"] == "B"
    assert r["reason_codes"][:2] == ["RC.ELEC_YOY_12M", "RC.YEARS_IN_BUSINESS"]
    assert r["reasons"][0]["points_lost"] == pytest.approx(250.0)
    assert r["reasons"][0]["value"] == pytest.approx(-0.05)
    # Years in business would also lift the grade but is not actionable; electricity back to flat is.
    assert r["raise_feature"] == "elec_yoy_12m"
    assert r["raise_from"] == pytest.approx(-0.05)
    assert r["raise_to"] == pytest.approx(0.0)
    assert r["raise_score"] == pytest.approx(780.0)
    assert r["raise_grade"] == "BBB"


def test_a_count_lever_proposes_a_whole_number_below_the_threshold():
    # 10 × (0.5×100 + 0.3×60 + 0.2×0) = 680: BB; one lawsuit fewer (3 → 2) gives 780.
    out = rate(frame([{"elec_yoy_12m": 0.2, "years_in_business": 5, "lawsuits_12m": 3}]), system=SYSTEM, card=None)
    r = out.iloc[0]
    assert r["grade"] == "BB"
    assert r["raise_feature"] == "lawsuits_12m"
    assert r["raise_to"] == 2.0
    assert r["raise_grade"] == "BBB"


def test_smallest_change_wins_when_two_levers_work():
    # Electricity needs two band crossings (-0.15 → 0.0), lawsuits one (1 → 0): lawsuits is the smaller change.
    # 10 × (0.5×0 + 0.3×100 + 0.2×50) = 400 (CC floor 450): electricity to -0.1 gives 650, lawsuits to 0 gives 500.
    out = rate(frame([{"elec_yoy_12m": -0.15, "years_in_business": 12, "lawsuits_12m": 1}]), system=SYSTEM, card=None)
    r = out.iloc[0]
    assert r["grade"] == "C"
    assert r["raise_feature"] in {"elec_yoy_12m", "lawsuits_12m"}
    assert r["raise_to"] == (0.0 if r["raise_feature"] == "lawsuits_12m" else -0.1)


def test_nothing_actionable_left_gives_no_lever_and_top_grade_none():
    out = rate(frame([
        {"elec_yoy_12m": 0.2, "years_in_business": 1, "lawsuits_12m": 0},  # only years are short
        {"elec_yoy_12m": 0.2, "years_in_business": 20, "lawsuits_12m": 0},  # AAA already
    ]), system=SYSTEM, card=None)
    assert out["raise_feature"].isna().all()
    assert out["grade"].tolist() == ["BBB", "AAA"]  # 10 × (50 + 0.3×20 + 20) = 760


def test_insufficient_data_is_explicit():
    out = rate(frame([{"elec_yoy_12m": np.nan, "years_in_business": 5, "lawsuits_12m": 0}]), system=SYSTEM, card=None)
    r = out.iloc[0]
    assert r["status"] == "insufficient_data"
    assert np.isnan(r["score"]) and np.isnan(r["pd"]) and r["grade"] is None
    assert r["reason_codes"] == []


def _card() -> Scorecard:
    # Electricity growth at or above 0 earns 40 points; missing is neutral.
    fb = FeatureBins("elec_yoy_12m", "numeric", edges=[0.0], woe=[0, 0, 0], points=[0.0, 40.0, 20.0],
                     counts=[1, 1, 0], bads=[0, 0, 0])
    return Scorecard(features=[fb], intercept=0.0, config=ScorecardConfig(), base_points=560.0)


def test_blend_is_consistent_and_the_card_moves_the_lever():
    cfg = RatingConfig(card_weight=0.5)
    out = rate(frame([{"elec_yoy_12m": -0.05, "years_in_business": 5, "lawsuits_12m": 0}]), system=SYSTEM,
               card=_card(), config=cfg)
    r = out.iloc[0]
    assert r["score"] == pytest.approx(0.5 * r["card_score"] + 0.5 * r["composite"], abs=0.05)
    assert r["pd"] == pytest.approx(cfg.pd_of_score(r["score"]), rel=1e-3)
    assert r["card_pd"] == pytest.approx(_card().pd_from_score(np.array([560.0]))[0])
    assert r["raise_feature"] == "elec_yoy_12m"
    assert r["raise_to"] == pytest.approx(0.0)
    assert r["raise_score"] > r["score"]
    # The pull of electricity combines both parts: indicator 0.5 × 250 plus the card's 40 points lacking.
    assert r["reasons"][0]["feature"] == "elec_yoy_12m"
    assert r["reasons"][0]["points_lost"] > 125.0


def test_pd_and_score_maps_are_inverse():
    cfg = RatingConfig()
    s = np.array([0.0, 250.0, 500.0, 999.0])
    np.testing.assert_allclose(cfg.score_of_pd(cfg.pd_of_score(s)), s, atol=1e-6)
    assert cfg.score_of_pd([cfg.pd_at_0])[0] == pytest.approx(0.0)
    assert cfg.score_of_pd([cfg.pd_at_1000])[0] == pytest.approx(1000.0)
