"""Scorecard design choices made by inner CV: monotone bins kept, settings round-trip, test folds never read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import core.scoring.evaluate as evaluate
from core.scoring.evaluate import cross_validate, stratified_folds
from core.scoring.scorecard import (
    Scorecard,
    ScorecardConfig,
    ScorecardError,
    fit_scorecard,
    woe_is_monotone,
)

from .test_scorecard import synthetic

GRID = ScorecardConfig(c_grid=(0.1, 1.0), inner_folds=2, min_bin_size_grid=(0.05, 0.1), iv_floor_grid=(0.0, 0.02),
                       rare_category_share=0.03, max_corr=0.9)
LIGHT_GRID = ScorecardConfig(c_grid=(1.0,), inner_folds=2, min_bin_size_grid=(0.05, 0.1), rare_category_share=0.03)


def with_rare_levels(n: int = 1500, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """The synthetic data plus a region with four common and five rare levels, and a near-copy of debt."""
    X, y = synthetic(n, seed)
    rng = np.random.default_rng(seed + 100)
    common = rng.choice(["north", "south", "east", "west"], n)
    rare = rng.choice(["r1", "r2", "r3", "r4", "r5"], n)
    X["region"] = pd.Series(np.where(rng.random(n) < 0.06, rare, common), dtype=object)
    X["debt_copy"] = X["debt"] * 2 + rng.normal(0, 0.01, n)
    return X, y


@pytest.fixture(scope="module")
def grid_card() -> tuple[Scorecard, pd.DataFrame, np.ndarray]:
    X, y = with_rare_levels()
    return fit_scorecard(X, y, GRID), X, y


@pytest.mark.slow  # shares a card whose design is chosen by inner CV
def test_numeric_bins_stay_monotone_whatever_design_inner_cv_chose(grid_card):
    card, _, _ = grid_card
    numeric = [fb for fb in card.features if fb.kind == "numeric"]
    assert numeric
    assert all(woe_is_monotone(fb) for fb in numeric)
    chosen = card.training["design"]
    assert chosen["min_bin_size"] in GRID.min_bin_size_grid and chosen["iv_floor"] in GRID.iv_floor_grid
    trials = card.training["design_trials"]
    assert len(trials) == 4 and all(t["log_loss"] is not None for t in trials)
    best = min(trials, key=lambda t: t["log_loss"])
    assert (best["min_bin_size"], best["iv_floor"]) == (chosen["min_bin_size"], chosen["iv_floor"])
    # Every bin holds at least the chosen share of the training rows (missing bin aside).
    for fb in numeric:
        assert min(fb.counts[:-1]) >= chosen["min_bin_size"] * card.training["rows"] * 0.95


@pytest.mark.slow  # shares a card whose design is chosen by inner CV
def test_rare_categories_share_one_bin(grid_card):
    card, _, _ = grid_card
    region = next((fb for fb in card.features if fb.name == "region"), None)
    if region is None:  # an uninformative region may be dropped; bin it directly instead
        from core.scoring.scorecard import bin_feature

        X, y = with_rare_levels()
        region = bin_feature(X["region"], y, GRID)
    homes = {next(i for i, g in enumerate(region.categories) if level in g) for level in ["r1", "r2", "r3", "r4", "r5"]}
    assert len(homes) == 1
    assert "\x00rare" not in {c for g in region.categories for c in g}


@pytest.mark.slow  # shares a card whose design is chosen by inner CV
def test_the_weaker_of_two_nearly_identical_columns_is_dropped(grid_card):
    card, _, _ = grid_card
    names = {fb.name for fb in card.features}
    assert len(names & {"debt", "debt_copy"}) == 1


@pytest.mark.slow  # shares a card whose design is chosen by inner CV
def test_new_settings_round_trip_and_old_cards_still_load(grid_card):
    card, X, _ = grid_card
    assert ScorecardConfig.from_dict(json.loads(json.dumps(GRID.to_dict()))) == GRID
    again = Scorecard.from_dict(json.loads(json.dumps(card.to_dict())))
    assert again.config == GRID
    np.testing.assert_array_equal(again.score(X), card.score(X))
    # A card stored before these settings existed: its config lacks them, and it loads with the defaults.
    old = card.to_dict()
    for key in ("min_bin_size_grid", "iv_floor_grid", "penalty_grid", "crossfit_woe", "max_corr",
                "rare_category_share", "select_max_rows"):
        del old["config"][key]
    loaded = Scorecard.from_dict(json.loads(json.dumps(old)))
    assert loaded.config.min_bin_size_grid == () and loaded.config.max_corr == 1.0
    np.testing.assert_array_equal(loaded.score(X), card.score(X))


def test_unknown_settings_are_refused():
    with pytest.raises(ScorecardError, match="unknown scorecard settings: colour"):
        ScorecardConfig.from_dict({"colour": "blue"})
    with pytest.raises(ScorecardError, match="unknown penalty"):
        fit_scorecard(*synthetic(600), ScorecardConfig(penalty_grid=("l3",), c_grid=(1.0,)))


def test_l1_and_crossfit_woe_give_a_valid_card():
    X, y = synthetic(1500, seed=2)
    card = fit_scorecard(X, y, ScorecardConfig(c_grid=(0.1, 1.0), inner_folds=3, penalty_grid=("l1", "l2"),
                                               crossfit_woe=True))
    assert card.training["penalty"] in {"l1", "l2"}
    assert all(fb.coefficient < 0 for fb in card.features)
    assert all(woe_is_monotone(fb) for fb in card.features if fb.kind == "numeric")
    assert card.training["auc"] > 0.7


def test_large_training_sets_choose_the_design_on_a_sample():
    X, y = synthetic(1200, seed=4)
    card = fit_scorecard(X, y, ScorecardConfig(c_grid=(1.0,), inner_folds=2, min_bin_size_grid=(0.05, 0.1),
                                               select_max_rows=500))
    assert card.training["rows"] == 1200 and len(card.training["design_trials"]) == 2


@pytest.mark.slow
def test_inner_cv_choices_never_read_the_outer_test_fold(monkeypatch):
    X, y = with_rare_levels(900, seed=6)
    folds = stratified_folds(y, 3, seed=1)[:1]
    train, test = folds[0]
    cards = []
    seen_rows = []

    def spy(Xf, yf, config):
        seen_rows.append(set(Xf.index))
        card = fit_scorecard(Xf, yf, config)
        cards.append(json.dumps(card.to_dict(), sort_keys=True))
        return card

    monkeypatch.setattr(evaluate, "fit_scorecard", spy)
    first = cross_validate(X, y, folds=folds, config=LIGHT_GRID)
    # Scramble the held-out rows: shuffle every feature independently and flip the labels.
    rng = np.random.default_rng(0)
    X2, y2 = X.copy(), y.copy()
    for col in X2.columns:
        X2.iloc[test, X2.columns.get_loc(col)] = X2[col].iloc[rng.permutation(test)].to_numpy()
    y2[test] = 1 - y2[test]
    second = cross_validate(X2, y2, folds=folds, config=LIGHT_GRID)
    assert seen_rows[0] == seen_rows[1] == set(X.index[train])
    assert cards[0] == cards[1]  # the same card, inner choices included
    assert first["folds"][0]["auc"] != second["folds"][0]["auc"]  # the test fold itself did change
