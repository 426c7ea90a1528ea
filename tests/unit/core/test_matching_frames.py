"""Recommendation frames sliced from the prebuilt product table equal frames built from the row dicts:
same values, columns and dtypes for every subset — including subsets whose optional text is all missing
(inferred ``object``), mixed (``str``), and the empty selection."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from core.services.matching_explain import PRODUCT_COLUMNS, product_frame, product_table, rows_frame


def _records() -> list[dict]:
    out = []
    for i in range(6):
        out.append({
            "id": 100 + i, "name": f"贷{i}", "name_en": (f"Loan {i}" if i % 2 else None), "product_type": "credit_loan",
            "institution_id": 1 + i % 2, "institution_name": "银行", "institution_name_en": None,
            "rate_min": 3.5 + i / 10, "rate_max": (None if i == 4 else 8.0), "amount_min": 1e5, "amount_max": 3e6 + i,
            "term_min_months": 3, "term_max_months": 36, "first_loan_friendly": bool(i % 3),
            "collateral_required": False, "min_credit_grade": (np.nan if i < 3 else "BBB"),  # NaN as pandas gives it
            "eligible_districts": [],
        })
    return out


def _reference(records, positions, extra) -> pd.DataFrame:
    frame = rows_frame(records, positions)
    for name, values in extra.items():
        frame[name] = values
    return frame


def test_every_subset_equals_the_frame_built_from_row_dicts():
    records = _records()
    table = product_table(records)
    checked = 0
    for size in range(0, len(records) + 1):
        for positions in combinations(range(len(records)), size):
            positions = list(reversed(positions))  # any order, as a ranking gives them
            n = len(positions)
            extra = {
                "fit_score": np.linspace(0.9, 0.1, n).astype(np.float32),
                "amount_fit": 0.5,
                "reasons": [[f"r{i}", f"s{i}"] for i in range(n)],
                "n_missing": np.arange(n).astype(int),
            }
            got = product_frame(table, records, positions, extra)
            assert_frame_equal(got, _reference(records, positions, extra), check_exact=True)
            assert list(got.columns) == [*PRODUCT_COLUMNS, *extra]
            checked += 1
    assert checked == 2 ** len(records)


def test_lists_stay_one_object_per_row():
    records = _records()
    got = product_frame(product_table(records), records, [1, 0], {"reasons": [["a"], ["b"]]})
    assert got["reasons"].tolist() == [["a"], ["b"]] and got["product_id"].tolist() == [101, 100]
