"""Hard eligibility of one enterprise against many products, vectorized over the products.

A product lists who may apply: districts, GB/T 4754 industry sections and enterprise scales (an
empty list means "any"), a minimum number of full years in business, and whether it welcomes a
first-time borrower. A product *not* marked first-loan friendly expects a borrowing history, so an
enterprise that never had a loan fails that criterion. The result says, per product, whether the
enterprise passes and which criteria it failed, so the UI can explain "what you are missing".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

# Evaluation order is also the order failures are reported in.
CRITERIA: tuple[str, ...] = ("district", "industry", "scale", "years_in_business", "first_loan")

PRODUCT_COLUMNS = (
    "eligible_districts",
    "eligible_industries",
    "eligible_scales",
    "min_years_in_business",
    "first_loan_friendly",
)


@dataclass(frozen=True)
class EnterpriseFacts:
    """The facts about an enterprise that hard eligibility looks at."""

    district_code: str
    industry_section: str
    scale: str
    founded_on: date
    has_had_loan: bool


def years_in_business(founded_on: date, as_of: date) -> int:
    """Full years between founding and ``as_of`` (0 before the first anniversary)."""
    years = as_of.year - founded_on.year - ((as_of.month, as_of.day) < (founded_on.month, founded_on.day))
    return max(years, 0)


def _allows(lists: pd.Series, value: str) -> pd.Series:
    """Per row: the list is empty (anyone) or contains ``value``. Vectorized through explode."""
    lengths = lists.map(lambda v: len(v) if isinstance(v, list | tuple | set | np.ndarray) else 0)
    exploded = lists.explode()
    contains = (exploded.astype("string") == str(value)).fillna(False).groupby(level=0).any()
    contains = contains.reindex(lists.index, fill_value=False)
    return (lengths == 0) | contains


def evaluate_eligibility(enterprise: EnterpriseFacts, products: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Check ``enterprise`` against every row of ``products``.

    Args:
        enterprise: the enterprise's facts.
        products: one row per product with the columns in ``PRODUCT_COLUMNS`` (list columns may hold
            empty lists, meaning no restriction); the index is kept in the result.
        as_of: the date years in business are counted to.

    Returns:
        A DataFrame on the products' index with one boolean column ``ok_<criterion>`` per criterion,
        ``eligible`` (all passed), ``failed`` (list of failed criterion names in ``CRITERIA`` order)
        and ``years_in_business`` / ``min_years_in_business`` for the explanation.
    """
    missing = [c for c in PRODUCT_COLUMNS if c not in products.columns]
    if missing:
        raise ValueError(f"products lacks columns: {missing}")
    index = products.index
    years = years_in_business(enterprise.founded_on, as_of)
    min_years = pd.to_numeric(products["min_years_in_business"], errors="coerce").fillna(0).astype(int)
    friendly = products["first_loan_friendly"].fillna(False).astype(bool)

    checks = pd.DataFrame(
        {
            "ok_district": _allows(products["eligible_districts"], enterprise.district_code),
            "ok_industry": _allows(products["eligible_industries"], enterprise.industry_section),
            "ok_scale": _allows(products["eligible_scales"], str(enterprise.scale)),
            "ok_years_in_business": min_years <= years,
            "ok_first_loan": friendly | bool(enterprise.has_had_loan),
        },
        index=index,
    ).astype(bool)

    result = checks.copy()
    result["eligible"] = checks.all(axis=1)
    failed_matrix = ~checks.to_numpy()
    names = np.array(CRITERIA, dtype=object)
    result["failed"] = [list(names[row]) for row in failed_matrix]
    result["years_in_business"] = years
    result["min_years_in_business"] = min_years
    return result
