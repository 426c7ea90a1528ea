"""Train the scorecard on generated demo enterprises and rate them: discrimination on held-out firms."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.scoring.features import compute_features
from core.scoring.indicators import load_indicator_system
from core.scoring.rating import rate
from core.scoring.scorecard import ScorecardConfig, classification_metrics, fit_scorecard
from core.seed.generator import MONEY_COLUMNS, generate

FEATURE_DATE = date(2025, 10, 31)  # rate a year before the demo's as-of date, observe the year after


@pytest.fixture(scope="module")
def demo():
    fr = generate("demo", 11, n_enterprises=2500)
    ent = fr["enterprise"].assign(registered_capital=fr["enterprise"]["registered_capital"] / 100)
    st = fr["financial_statement"].copy()
    for c in MONEY_COLUMNS["financial_statement"]:
        st[c] = st[c] / 100  # the generator keeps cents; the engine takes yuan
    X = compute_features(enterprises=ent, gov_records=fr["gov_record"], statements=st,
                         shareholdings=fr["shareholding"], as_of=FEATURE_DATE)
    truth = fr["_truth"].set_index("enterprise_id")
    trouble = pd.to_datetime(truth["trouble_date"])
    already = trouble <= pd.Timestamp(FEATURE_DATE)
    bad = (trouble > pd.Timestamp(FEATURE_DATE)) & (trouble <= pd.Timestamp(FEATURE_DATE) + pd.DateOffset(months=12))
    keep = truth.index[~already]
    return X.loc[keep], bad.loc[keep].astype(int).to_numpy()


@pytest.mark.slow
def test_scorecard_on_demo_data_discriminates_on_held_out_enterprises(demo):
    X, y = demo
    rng = np.random.default_rng(0)
    test = rng.random(len(y)) < 0.3
    card = fit_scorecard(X[~test], y[~test], ScorecardConfig(c_grid=(0.1, 1.0), inner_folds=3))
    m = classification_metrics(y[test], card.predict_pd(X[test]))
    assert y[test].sum() >= 15
    assert m["auc"] > 0.7, m
    out = rate(X[test], system=load_indicator_system("v1"), card=card)
    ok = out["status"] == "ok"
    assert ok.mean() > 0.8
    assert out.loc[ok, "score"].between(0, 1000).all()
    assert set(out.loc[ok, "grade"]) <= {"AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"}
    # The blended rating ranks the held-out firms too.
    blended = classification_metrics(y[test][ok.to_numpy()], out.loc[ok, "pd"].to_numpy())
    assert blended["auc"] > 0.7, blended
