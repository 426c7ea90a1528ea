"""Scorecard: monotonic bins, export/import round trip, vectorized scoring against a slow reference, PSI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.scoring.scorecard import (
    FeatureBins,
    Scorecard,
    ScorecardConfig,
    ScorecardError,
    fit_scorecard,
    fit_segmented,
    psi,
    psi_band,
    woe_is_monotone,
)

FAST = ScorecardConfig(c_grid=(1.0,), iv_floor=0.02)


def synthetic(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises with debt, falls with growth; a categorical sector matters; some values are missing."""
    rng = np.random.default_rng(seed)
    debt = rng.uniform(0, 1, n)
    growth = rng.normal(0, 0.2, n)
    sector = rng.choice(["A", "B", "C", "D"], n)
    noise = rng.normal(size=n)
    logit = -2.0 + 3.0 * (debt - 0.5) - 4.0 * growth + np.where(sector == "D", 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    growth[rng.random(n) < 0.05] = np.nan
    sec = pd.Series(sector, dtype=object)
    sec[rng.random(n) < 0.03] = None
    return pd.DataFrame({"debt": debt, "growth": growth, "sector": sec, "noise": noise}), y


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame, np.ndarray]:
    X, y = synthetic()
    return fit_scorecard(X, y, FAST), X, y


def test_numeric_bins_have_monotone_woe_in_the_known_direction(fitted):
    card, _, _ = fitted
    by = {fb.name: fb for fb in card.features}
    assert woe_is_monotone(by["debt"]) and woe_is_monotone(by["growth"])
    debt, growth = np.asarray(by["debt"].woe[:-1]), np.asarray(by["growth"].woe[:-1])
    assert len(debt) >= 3 and np.all(np.diff(debt) <= 0)  # more debt, worse
    assert len(growth) >= 3 and np.all(np.diff(growth) >= 0)  # more growth, better
    assert by["sector"].kind == "categorical"


def test_iv_floor_drops_the_noise_feature(fitted):
    card, _, _ = fitted
    assert "noise" not in {fb.name for fb in card.features}
    assert card.training["iv"]["noise"] < 0.02


def test_discriminates_on_its_training_data(fitted):
    card, X, y = fitted
    assert card.training["auc"] > 0.7
    pd_ = card.predict_pd(X)
    assert np.all((pd_ > 0) & (pd_ < 1))


def test_export_import_round_trip_gives_identical_points(fitted):
    card, X, _ = fitted
    blob = json.dumps(card.to_dict())  # must be JSON-serialisable for ScoringModel.parameters
    again = Scorecard.from_dict(json.loads(blob))
    np.testing.assert_array_equal(again.score(X), card.score(X))


def _slow_score(card: Scorecard, X: pd.DataFrame) -> np.ndarray:
    """Row by row, bin by bin: the reference the vectorized lookup must equal."""
    out = []
    for _, row in X.iterrows():
        total = card.base_points
        for fb in card.features:
            v = row[fb.name]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                b = fb.n_bins - 1
            elif fb.kind == "numeric":
                b = sum(1 for e in fb.edges if v >= e)
            else:
                b = next((i for i, g in enumerate(fb.categories) if str(v) in g), fb.n_bins - 1)
            total += fb.points[b]
        out.append(total)
    return np.asarray(out)


def test_vectorized_scoring_equals_the_slow_reference_on_random_data(fitted):
    card, _, _ = fitted
    rng = np.random.default_rng(5)
    n = 600
    X = pd.DataFrame({
        "debt": rng.uniform(-0.2, 1.2, n), "growth": rng.normal(0, 0.3, n),
        "sector": pd.Series(rng.choice(["A", "B", "C", "D", "Z"], n), dtype=object), "noise": rng.normal(size=n),
    })
    X.loc[rng.random(n) < 0.1, "debt"] = np.nan
    X.loc[rng.random(n) < 0.1, "sector"] = None
    # Values exactly on the edges exercise the left-closed convention.
    edges = [fb for fb in card.features if fb.name == "debt"][0].edges
    X.loc[: len(edges) - 1, "debt"] = edges
    np.testing.assert_allclose(card.score(X), _slow_score(card, X), rtol=0, atol=1e-9)


def test_unseen_category_scores_as_missing(fitted):
    card, _, _ = fitted
    fb = [f for f in card.features if f.name == "sector"][0]
    assert fb.bin_index(np.array(["never-seen", None], dtype=object)).tolist() == [fb.missing_bin] * 2


def test_points_scaling_follows_pdo_and_base_odds(fitted):
    card, _, _ = fitted
    pd_base = 1 / (1 + card.config.base_odds)
    assert card.score_for_pd(np.array([pd_base]))[0] == pytest.approx(card.config.base_score)
    # PDO points more double the odds of good.
    p2 = card.pd_from_score(np.array([card.config.base_score + card.config.pdo]))[0]
    assert (1 - p2) / p2 == pytest.approx(2 * card.config.base_odds)


def test_one_class_target_is_refused():
    X, _ = synthetic(200)
    with pytest.raises(ScorecardError, match="both classes"):
        fit_scorecard(X, np.zeros(200), FAST)


def test_import_refuses_inconsistent_bins():
    fb = FeatureBins("x", "numeric", edges=[1.0, 2.0], woe=[0, 0, 0, 0], points=[1, 2, 3])
    with pytest.raises(ScorecardError, match="points for 4 bins"):
        FeatureBins.from_dict(fb.to_dict())


@pytest.mark.parametrize(("value", "band"), [(0.0, "stable"), (0.0999, "stable"), (0.10, "monitor"),
                                             (0.2499, "monitor"), (0.25, "alert"), (1.3, "alert")])
def test_psi_bands(value, band):
    assert psi_band(value) == band


def test_psi_of_identical_distributions_is_zero_and_of_a_shift_is_an_alert(fitted):
    card, X, _ = fitted
    assert psi(np.array([10, 20, 30]), np.array([1, 2, 3])) == pytest.approx(0.0)
    scores = card.score(X)
    assert card.score_psi(scores)["band"] == "stable"
    assert card.score_psi(scores + 60)["band"] == "alert"
    shifted = X.assign(debt=X["debt"] + 0.4)
    table = card.feature_psi(shifted).set_index("feature")
    assert table.loc["debt", "band"] == "alert"
    assert table.loc["growth", "band"] == "stable"


def test_segments_fall_back_to_the_population_when_thin():
    X, y = synthetic(3000, seed=3)
    rng = np.random.default_rng(1)
    X["industry_section"] = np.where(rng.random(3000) < 0.8, "C", "F")
    X["scale"] = "small"
    seg = fit_segmented(X, y, FAST, min_rows=1000, min_bads=100)
    assert set(seg.segments) == {"C:small"}
    assert seg.card_for("F:small") is seg.population
    again = type(seg).from_dict(json.loads(json.dumps(seg.to_dict())))
    np.testing.assert_array_equal(again.score(X), seg.score(X))
    rows_f = np.flatnonzero(X["industry_section"].to_numpy() == "F")
    np.testing.assert_array_equal(seg.score(X)[rows_f], seg.population.score(X.iloc[rows_f]))
