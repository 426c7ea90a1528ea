"""The hard-eligibility engine: plain DataFrames in, eligible flags and failed criteria out."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from core.matching import CRITERIA, EnterpriseFacts, evaluate_eligibility, years_in_business
from core.matching.eligibility import PRODUCT_COLUMNS

AS_OF = date(2026, 6, 30)

FIRM = EnterpriseFacts(
    district_code="131102",
    industry_section="C",
    scale="small",
    founded_on=date(2022, 7, 1),  # 3 full years on AS_OF (4th anniversary is the next day)
    has_had_loan=True,
)


def products(*rows: dict) -> pd.DataFrame:
    base = {
        "eligible_districts": [],
        "eligible_industries": [],
        "eligible_scales": [],
        "min_years_in_business": 0,
        "first_loan_friendly": False,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def test_unrestricted_product_is_eligible():
    result = evaluate_eligibility(FIRM, products({}), as_of=AS_OF)
    assert bool(result.at[0, "eligible"]) is True
    assert result.at[0, "failed"] == []


@pytest.mark.parametrize(
    ("row", "criterion"),
    [
        ({"eligible_districts": ["131103", "131121"]}, "district"),
        ({"eligible_industries": ["A", "F"]}, "industry"),
        ({"eligible_scales": ["micro"]}, "scale"),
        ({"min_years_in_business": 4}, "years_in_business"),
    ],
)
def test_each_restriction_names_the_failed_criterion(row, criterion):
    result = evaluate_eligibility(FIRM, products(row), as_of=AS_OF)
    assert bool(result.at[0, "eligible"]) is False
    assert result.at[0, "failed"] == [criterion]
    assert bool(result.at[0, f"ok_{criterion}"]) is False


def test_listed_values_pass():
    row = {
        "eligible_districts": ["131102"],
        "eligible_industries": ["C", "I"],
        "eligible_scales": ["micro", "small"],
        "min_years_in_business": 3,
    }
    result = evaluate_eligibility(FIRM, products(row), as_of=AS_OF)
    assert bool(result.at[0, "eligible"]) is True


def test_first_time_borrower_only_fits_first_loan_friendly_products():
    newcomer = EnterpriseFacts(**{**FIRM.__dict__, "has_had_loan": False})
    result = evaluate_eligibility(
        newcomer, products({"first_loan_friendly": False}, {"first_loan_friendly": True}), as_of=AS_OF
    )
    assert result["eligible"].tolist() == [False, True]
    assert result.at[0, "failed"] == ["first_loan"]


def test_failures_are_reported_in_criteria_order_for_many_products():
    rows = [
        {"eligible_scales": ["medium"], "eligible_districts": ["999999"], "min_years_in_business": 10},
        {},
        {"eligible_industries": ["Z"]},
    ]
    result = evaluate_eligibility(FIRM, products(*rows), as_of=AS_OF)
    assert result.at[0, "failed"] == ["district", "scale", "years_in_business"]
    assert result["eligible"].tolist() == [False, True, False]
    assert list(CRITERIA) == ["district", "industry", "scale", "years_in_business", "first_loan"]


def test_index_is_kept_and_missing_columns_refused():
    frame = products({}, {"eligible_scales": ["large"]})
    frame.index = [101, 202]
    result = evaluate_eligibility(FIRM, frame, as_of=AS_OF)
    assert list(result.index) == [101, 202]
    assert result.loc[202, "failed"] == ["scale"]
    with pytest.raises(ValueError, match="lacks columns"):
        evaluate_eligibility(FIRM, frame.drop(columns=["eligible_scales"]), as_of=AS_OF)


def test_empty_product_frame_gives_empty_result():
    empty = pd.DataFrame(columns=list(PRODUCT_COLUMNS))
    result = evaluate_eligibility(FIRM, empty, as_of=AS_OF)
    assert result.empty
    assert "eligible" in result.columns


@pytest.mark.parametrize(
    ("founded", "as_of", "years"),
    [
        (date(2020, 3, 1), date(2026, 2, 28), 5),
        (date(2020, 3, 1), date(2026, 3, 1), 6),
        (date(2026, 5, 1), date(2026, 3, 1), 0),  # founded in the future: never negative
    ],
)
def test_years_in_business_counts_full_years(founded, as_of, years):
    assert years_in_business(founded, as_of) == years
