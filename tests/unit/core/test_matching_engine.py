"""All-pairs matching: each criterion explained on constructed cases; the vectorized masks agree with a
plain per-pair loop on random data; top-k never picks an ineligible product; the approval model learns."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.matching.engine import (
    BIT,
    CRITERIA,
    GRADE_RANK,
    ApprovalModel,
    explain,
    match_all,
    match_chunk,
    prepare_products,
    top_k,
)

AS_OF = date(2026, 11, 1)


def _product(**kw):
    base = {
        "eligible_districts": [],
        "eligible_industries": [],
        "eligible_scales": [],
        "min_years_in_business": 0,
        "first_loan_friendly": True,
        "min_credit_grade": None,
        "collateral_required": False,
        "amount_min": 10_000.0,
        "amount_max": 1_000_000.0,
        "term_min_months": 3,
        "term_max_months": 36,
        "rate_min": 4.0,
        "institution_id": 1,
    }
    return base | kw


def _enterprise(**kw):
    base = {
        "district_code": "131102",
        "industry_section": "C",
        "scale": "small",
        "founded_on": date(2018, 5, 1),
        "has_had_loan": True,
        "grade": "BBB",
        "amount": 200_000.0,
        "term_months": 12,
        "accepts_collateral": False,
    }
    return base | kw


CASES = [
    ("district", _product(eligible_districts=["131121"]), _enterprise()),
    ("industry", _product(eligible_industries=["A"]), _enterprise()),
    ("scale", _product(eligible_scales=["micro"]), _enterprise()),
    ("years_in_business", _product(min_years_in_business=10), _enterprise()),
    ("first_loan", _product(first_loan_friendly=False), _enterprise(has_had_loan=False)),
    ("grade", _product(min_credit_grade="A"), _enterprise(grade="BBB")),
    ("grade", _product(min_credit_grade="C"), _enterprise(grade=None)),
    ("amount", _product(amount_max=100_000.0), _enterprise()),
    ("term", _product(term_max_months=6), _enterprise()),
    ("collateral", _product(collateral_required=True), _enterprise()),
]


@pytest.mark.parametrize(("criterion", "product", "enterprise"), CASES, ids=[c[0] for c in CASES])
def test_each_criterion_fails_alone_and_is_explained(criterion, product, enterprise):
    res = match_chunk(pd.DataFrame([enterprise]), prepare_products(pd.DataFrame([product])), as_of=AS_OF)
    assert explain(res.failed[0, 0]) == [criterion]
    assert np.isnan(res.fit[0, 0])


def test_a_fitting_pair_passes_everything():
    res = match_chunk(
        pd.DataFrame([_enterprise()]), prepare_products(pd.DataFrame([_product()])), as_of=AS_OF
    )
    assert res.failed[0, 0] == 0 and 0 < res.fit[0, 0] <= 1


def test_without_a_need_amount_and_term_are_not_checked():
    ent = _enterprise()
    del ent["amount"], ent["term_months"]
    res = match_chunk(
        pd.DataFrame([ent]), prepare_products(pd.DataFrame([_product(amount_max=1.0)])), as_of=AS_OF
    )
    assert res.failed[0, 0] == 0


def _naive(ent: dict, prod: dict) -> list[str]:
    """The straightforward per-pair rules, written independently of the engine."""
    out = []
    if prod["eligible_districts"] and ent["district_code"] not in prod["eligible_districts"]:
        out.append("district")
    if prod["eligible_industries"] and ent["industry_section"] not in prod["eligible_industries"]:
        out.append("industry")
    if prod["eligible_scales"] and ent["scale"] not in prod["eligible_scales"]:
        out.append("scale")
    f = ent["founded_on"]
    years = AS_OF.year - f.year - ((AS_OF.month, AS_OF.day) < (f.month, f.day))
    if max(years, 0) < prod["min_years_in_business"]:
        out.append("years_in_business")
    if not ent["has_had_loan"] and not prod["first_loan_friendly"]:
        out.append("first_loan")
    if prod["min_credit_grade"] is not None and (
        ent["grade"] is None or GRADE_RANK[ent["grade"]] < GRADE_RANK[prod["min_credit_grade"]]
    ):
        out.append("grade")
    if not prod["amount_min"] <= ent["amount"] <= prod["amount_max"]:
        out.append("amount")
    if not prod["term_min_months"] <= ent["term_months"] <= prod["term_max_months"]:
        out.append("term")
    if prod["collateral_required"] and not ent["accepts_collateral"]:
        out.append("collateral")
    return out


def _random_world(rng, n_ent, n_prod):
    districts = ["131102", "131103", "131121", "131122"]
    grades = [None, "AAA", "AA", "A", "BBB", "BB", "B", "CCC"]
    ents = [
        _enterprise(
            district_code=str(rng.choice(districts)),
            industry_section=str(rng.choice(list("ACFGI"))),
            scale=str(rng.choice(["micro", "small", "medium"])),
            founded_on=date(
                int(rng.integers(2005, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
            ),
            has_had_loan=bool(rng.random() < 0.6),
            grade=grades[int(rng.integers(len(grades)))],
            amount=float(rng.integers(1, 300)) * 10_000,
            term_months=int(rng.integers(1, 60)),
            accepts_collateral=bool(rng.random() < 0.3),
        )
        for _ in range(n_ent)
    ]
    prods = [
        _product(
            eligible_districts=list(rng.choice(districts, int(rng.integers(0, 3)), replace=False)),
            eligible_industries=list(rng.choice(list("ACFG"), int(rng.integers(0, 3)), replace=False)),
            eligible_scales=list(
                rng.choice(["micro", "small", "medium"], int(rng.integers(0, 3)), replace=False)
            ),
            min_years_in_business=int(rng.integers(0, 6)),
            first_loan_friendly=bool(rng.random() < 0.5),
            min_credit_grade=grades[int(rng.integers(len(grades)))],
            collateral_required=bool(rng.random() < 0.2),
            amount_min=float(rng.integers(0, 10)) * 10_000,
            amount_max=float(rng.integers(10, 500)) * 10_000,
            term_min_months=int(rng.integers(1, 12)),
            term_max_months=int(rng.integers(12, 60)),
            rate_min=float(rng.uniform(3, 12)),
            institution_id=int(rng.integers(1, 5)),
        )
        for _ in range(n_prod)
    ]
    return ents, prods


def test_vectorized_masks_equal_the_per_pair_loop():
    rng = np.random.default_rng(7)
    ents, prods = _random_world(rng, 300, 40)
    res = match_chunk(pd.DataFrame(ents), prepare_products(pd.DataFrame(prods)), as_of=AS_OF)
    for i, e in enumerate(ents):
        for j, p in enumerate(prods):
            assert explain(res.failed[i, j]) == _naive(e, p), (i, j)
    assert 0 < (res.failed == 0).sum() < res.failed.size  # the world has both outcomes


def test_top_k_picks_only_eligible_products_best_first():
    rng = np.random.default_rng(3)
    ents, prods = _random_world(rng, 200, 30)
    ent_frame = pd.DataFrame(ents, index=pd.RangeIndex(1000, 1200))
    prod_frame = pd.DataFrame(prods, index=pd.RangeIndex(1, 31))
    seen = 0
    for ids, top, score in match_all(ent_frame, prod_frame, as_of=AS_OF, k=5, chunk=64):
        res = match_chunk(ent_frame.loc[ids], prepare_products(prod_frame), as_of=AS_OF)
        for row in range(len(ids)):
            chosen = [p for p in top[row] if p != -1]
            eligible = set(prod_frame.index[res.failed[row] == 0])
            assert set(chosen) <= eligible
            assert len(chosen) == min(5, len(eligible))
            s = score[row][~np.isnan(score[row])]
            assert list(s) == sorted(s, reverse=True)
        seen += len(ids)
    assert seen == 200


def test_top_k_pads_rows_with_no_eligible_product():
    fit = np.array([[np.nan, np.nan, np.nan], [0.2, np.nan, 0.9]])
    pos, score = top_k(fit, 2)
    assert pos[0].tolist() == [-1, -1] and np.isnan(score[0]).all()
    assert pos[1].tolist() == [2, 0]


def test_the_approval_model_learns_that_better_grades_get_approved():
    rng = np.random.default_rng(11)
    n = 600
    grades = rng.choice(["AAA", "AA", "A", "BBB", "BB", "B", "CCC"], n)
    rank = np.array([GRADE_RANK[g] for g in grades])
    approved = rng.random(n) < 1 / (1 + np.exp(-(rank - 4.5)))
    decided = pd.DataFrame(
        {
            "grade": grades,
            "has_had_loan": rng.random(n) < 0.5,
            "scale": "small",
            "founded_on": pd.Timestamp("2015-01-01"),
            "institution_id": rng.integers(1, 4, n),
            "amount_ratio": rng.uniform(0.1, 1.0, n),
            "approved": approved,
        }
    )
    model = ApprovalModel.fit(decided, AS_OF)
    assert model.trained_on == n and model.coef_enterprise["grade"] > 0
    probe = pd.DataFrame(
        {
            "grade": ["AAA", "CCC"],
            "has_had_loan": [True, True],
            "scale": ["small", "small"],
            "founded_on": [date(2015, 1, 1)] * 2,
        }
    )
    hi, lo = model.enterprise_logit(probe, AS_OF)
    assert hi > lo


def test_a_thin_history_falls_back_to_the_base_rate():
    decided = pd.DataFrame(
        {
            "grade": ["A"] * 5,
            "has_had_loan": True,
            "scale": "small",
            "founded_on": pd.Timestamp("2015-01-01"),
            "institution_id": 1,
            "amount_ratio": 0.5,
            "approved": [True, True, True, False, True],
        }
    )
    model = ApprovalModel.fit(decided, AS_OF)
    assert model.coef_enterprise == {} and abs(1 / (1 + np.exp(-model.intercept)) - 0.8) < 1e-9


def test_bits_cover_every_criterion_once():
    assert len(set(BIT.values())) == len(CRITERIA)
