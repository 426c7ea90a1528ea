"""The one-enterprise path (``core.matching.single``) equals the all-pairs engine bit for bit: the same
failure masks, approval probabilities and fit scores, hence the same ranking, on random worlds with and
without a need, with and without an approval model, and on awkward values (unknown district, unrated,
missing scale)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.matching.engine import ApprovalModel, match_chunk, prepare_products, top_k
from core.matching.single import encode_one, full_years, match_one
from tests.unit.core.test_matching_engine import AS_OF, _enterprise, _product, _random_world


def _model(rng, institutions=range(1, 5)) -> ApprovalModel:
    """A model with arbitrary (non-round) coefficients, so float rounding would show."""
    names = ["grade", "unrated", "first_loan", "years", "scale_micro", "scale_small", "scale_medium"]
    return ApprovalModel(
        coef_enterprise={n: float(rng.normal(0, 1.3)) for n in names},
        coef_institution={int(i): float(rng.normal(0, 0.7)) for i in institutions},
        coef_ratio=float(rng.normal(-0.4, 0.2)),
        intercept=float(rng.normal(0.2, 0.5)),
        trained_on=123,
    )


def _assert_same(frame: pd.DataFrame, prods: pd.DataFrame, model: ApprovalModel | None) -> int:
    prep = prepare_products(prods, model)
    chunk = match_chunk(frame, prep, as_of=AS_OF, model=model)
    eligible = 0
    for row, facts in enumerate(frame.to_dict("records")):
        one = match_one(facts, prep, as_of=AS_OF, model=model)
        assert np.array_equal(one.failed, chunk.failed[row]), row
        assert np.array_equal(one.fit, chunk.fit[row], equal_nan=True), row
        assert np.array_equal(one.p_approval, chunk.p_approval[row]), row
        assert one.fit.dtype == chunk.fit.dtype and one.p_approval.dtype == chunk.p_approval.dtype
        pos_one, score_one = top_k(one.fit[None, :], 10)
        pos_all, score_all = top_k(chunk.fit[row:row + 1], 10)
        assert pos_one.tolist() == pos_all.tolist()
        assert np.array_equal(score_one, score_all, equal_nan=True)
        eligible += int((one.failed == 0).sum())
    return eligible


@pytest.mark.parametrize("with_model", [True, False], ids=["model", "no-model"])
@pytest.mark.parametrize("with_need", [True, False], ids=["need", "enterprise"])
def test_one_enterprise_equals_its_row_of_the_all_pairs_engine(with_model, with_need):
    rng = np.random.default_rng(20260930)
    ents, prods = _random_world(rng, 250, 60)
    frame = pd.DataFrame(ents)
    if not with_need:
        frame = frame.drop(columns=["amount", "term_months", "accepts_collateral"])
    model = _model(rng) if with_model else None
    eligible = _assert_same(frame, pd.DataFrame(prods, index=pd.RangeIndex(101, 161)), model)
    assert 0 < eligible < 250 * 60  # the world has both outcomes


def test_awkward_values_are_encoded_like_the_frame_path():
    rng = np.random.default_rng(5)
    ents = [
        _enterprise(district_code="999999", industry_section="Z", grade=None),  # listed by no product
        _enterprise(scale=None, has_had_loan=None, grade="CC"),
        _enterprise(founded_on=date(2026, 11, 2), grade="AAA", amount=None, term_months=None),  # founded tomorrow
        _enterprise(founded_on=pd.Timestamp("2000-11-01"), accepts_collateral=None),  # anniversary today
        _enterprise(amount=1e12, term_months=600, grade="B"),
    ]
    prods = [
        _product(),
        _product(eligible_districts=["131102"], eligible_scales=["small"], min_credit_grade="BB"),
        _product(eligible_industries=["C"], min_years_in_business=26, collateral_required=True),
        _product(first_loan_friendly=False, amount_max=2e12, term_max_months=700, rate_min=9.5),
    ]
    frame = pd.DataFrame(ents)
    frame["grade"] = frame["grade"].astype(object)
    _assert_same(frame, pd.DataFrame(prods), _model(rng, institutions=[1]))


def test_encoding_reads_plain_values():
    prep = prepare_products(pd.DataFrame([_product(eligible_districts=["131102", "131121"])]))
    enc = encode_one(_enterprise(district_code="131121", grade="A", founded_on=date(2016, 11, 2)), prep, as_of=AS_OF)
    assert enc.district.tolist() == [1] and enc.grade.tolist() == [6] and enc.years.tolist() == [9]
    assert enc.logit is None and enc.accepts_collateral.tolist() == [False]
    assert full_years("2016-11-01", AS_OF) == 10 and full_years(date(2030, 1, 1), AS_OF) == 0
