"""Indicator system: banding edge cases, coverage and insufficient data, configuration validation."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from core.models.types import GRADE_ORDER
from core.scoring.features import FEATURE_NAMES
from core.scoring.indicators import GRADE_ORDER as ENGINE_GRADE_ORDER
from core.scoring.indicators import (
    INDICATOR_DIR,
    STATUS_INSUFFICIENT,
    STATUS_OK,
    IndicatorConfigError,
    load_indicator_system,
)

SYSTEM = load_indicator_system("v1")
RAW = json.loads((INDICATOR_DIR / "v1.json").read_text(encoding="utf-8"))


def test_engine_grade_order_matches_the_model_enum():
    assert ENGINE_GRADE_ORDER == GRADE_ORDER


def test_v1_has_the_required_size_and_weights_sum_to_one():
    assert len(SYSTEM.first_level) >= 5
    assert len(SYSTEM.second_level) >= 15
    assert len(SYSTEM.indicators) >= 45
    assert sum(i.effective_weight for i in SYSTEM.indicators) == pytest.approx(1.0)
    assert set(SYSTEM.features) <= set(FEATURE_NAMES)


@pytest.mark.parametrize("ind", SYSTEM.indicators, ids=lambda i: i.code)
def test_each_indicator_bands_below_at_and_above_every_threshold(ind):
    t = np.asarray(ind.thresholds)
    p = np.asarray(ind.points)
    below_first = t[0] - 1.0 - abs(t[0])
    assert ind.score([below_first])[0] == p[0]
    # At a threshold the value belongs to the band above it (left-closed bands).
    np.testing.assert_array_equal(ind.score(t), p[1:])
    # Just below a threshold it still belongs to the band below.
    np.testing.assert_array_equal(ind.score(np.nextafter(t, -np.inf)), p[:-1])
    assert ind.score([t[-1] + 1.0 + abs(t[-1])])[0] == p[-1]
    assert np.isnan(ind.score([np.nan])[0])
    steps = np.diff(p)
    assert np.all(steps >= 0) if ind.direction == "higher_better" else np.all(steps <= 0)


def _frame(**values) -> pd.DataFrame:
    base = {f: [np.nan] for f in FEATURE_NAMES}
    base.update({k: [v] for k, v in values.items()})
    return pd.DataFrame(base, index=pd.Index([1], name="enterprise_id"))


def _best_values() -> dict[str, float]:
    out = {}
    for i in SYSTEM.indicators:
        t = i.thresholds
        out[i.feature] = t[-1] + 1 if i.direction == "higher_better" else t[0] - 1
    return out


def test_all_best_values_score_1000_and_grade_aaa():
    res = SYSTEM.score(_frame(**_best_values()))
    assert res.composite.iloc[0] == pytest.approx(1000.0)
    assert res.grade.iloc[0] == "AAA"
    assert res.status.iloc[0] == STATUS_OK
    np.testing.assert_allclose(res.sub_indices.iloc[0].to_numpy(float), 100.0)


def test_no_data_is_insufficient_never_zero():
    res = SYSTEM.score(_frame())
    assert res.status.iloc[0] == STATUS_INSUFFICIENT
    assert np.isnan(res.composite.iloc[0])
    assert res.grade.iloc[0] is None
    assert res.coverage.iloc[0] == 0.0


def test_coverage_threshold_decides_insufficient_data():
    best = _best_values()
    # Keep only the OPS and TAX indicators (weights 0.25 + 0.2 < 0.6).
    keep = {i.feature for i in SYSTEM.indicators if i.first_level in ("OPS", "TAX")}
    res = SYSTEM.score(_frame(**{k: v for k, v in best.items() if k in keep}))
    assert res.coverage.iloc[0] == pytest.approx(0.45)
    assert res.status.iloc[0] == STATUS_INSUFFICIENT
    raw = copy.deepcopy(RAW)
    raw["min_coverage"] = 0.4
    res = load_indicator_system(raw).score(_frame(**{k: v for k, v in best.items() if k in keep}))
    assert res.status.iloc[0] == STATUS_OK
    assert res.composite.iloc[0] == pytest.approx(1000.0)
    assert np.isnan(res.sub_indices["FIN"].iloc[0])  # an axis without data is empty, not zero


def test_grade_cutoffs_are_inclusive_lower_bounds():
    grades = SYSTEM.grade_of([1000, 900, 899.9, 850, 0, np.nan])
    assert list(grades) == ["AAA", "AAA", "AA", "AA", "C", None]
    assert SYSTEM.next_grade_floor([899.9])[0] == 900
    assert np.isnan(SYSTEM.next_grade_floor([950])[0])


def _broken(mutate) -> dict:
    raw = copy.deepcopy(RAW)
    mutate(raw)
    return raw


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r["first_level"][0].__setitem__("weight", 0.5), "sum to"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].__setitem__("thresholds", [0.1, -0.1, 0.2, 0.3, 0.4]),
     "strictly ascending"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].__setitem__("feature", "no_such_feature"),
     "unknown feature"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].__setitem__("points", [0, 10]), "need 6 points"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].__setitem__("points", [100, 30, 55, 75, 90, 100]),
     "never fall"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].__setitem__("direction", "up"), "direction"),
    (lambda r: r["first_level"][1].__setitem__("code", "OPS"), "duplicate code"),
    (lambda r: r["grades"].reverse(), "grades"),
    (lambda r: r["grades"][1].__setitem__("min_score", 950), "fall strictly"),
    (lambda r: r.__setitem__("min_coverage", 0), "min_coverage"),
    (lambda r: r["first_level"][0]["children"][0]["children"][0].pop("weight"), "weight"),
])
def test_invalid_configuration_is_refused_with_a_clear_message(mutate, message):
    with pytest.raises(IndicatorConfigError, match=message):
        load_indicator_system(_broken(mutate))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(IndicatorConfigError, match="not found"):
        load_indicator_system(tmp_path / "v9.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(IndicatorConfigError, match="not valid JSON"):
        load_indicator_system(bad)
