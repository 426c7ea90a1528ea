"""Matching service, words and tables: why a product fits, what an enterprise is missing, and the
recommendation frames.

Explanations are message keys with parameters (:class:`~core.services.products.MissingCriterion`),
built only for the products shown (the top k, the nearest misses). The recommendation frames are
sliced from a table of every product built once per product side (:func:`product_table`), with exactly
the columns and dtypes the per-call construction from row dicts gives. :mod:`core.services.matching`
re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from core.matching.engine import BIT, CRITERIA, GRADE_RANK, Prepared
from core.matching.single import full_years
from core.models import FinancingNeed
from core.services.products import CRITERION_KEYS, MissingCriterion

MISSING_KEYS = {
    **CRITERION_KEYS,
    "grade": "matching.missing.grade",
    "amount": "matching.missing.amount",
    "term": "matching.missing.term",
    "collateral": "matching.missing.collateral",
    "rate": "matching.missing.rate",
}
PRODUCT_COLUMNS = [
    "product_id", "product_name", "product_name_en", "product_type", "institution_id", "institution_name",
    "institution_name_en", "rate_min", "rate_max", "amount_min", "amount_max", "term_min_months",
    "term_max_months", "first_loan_friendly", "collateral_required", "min_credit_grade",
]
_RECORD_COLUMNS = ["id", "name", "name_en", *PRODUCT_COLUMNS[3:]]


def _wan(yuan: float) -> str:
    return f"{yuan / 10_000:,.0f}" if yuan >= 10_000 else f"{yuan / 10_000:,.2f}"


def explain_missing(mask: int, product: Mapping[str, Any], facts: Mapping[str, Any], *, as_of: date,
                    rate_failed: bool = False) -> list[MissingCriterion]:
    """The failed criteria of one pair as message keys with parameters (what the enterprise is missing).

    Args:
        mask: the engine's failure bit mask for the pair.
        product: the product's row of :func:`load_products`.
        facts: the enterprise's row (plus ``amount``, ``term_months``, ``max_rate`` for a need).
        as_of: the day years in business are counted to.
        rate_failed: the product's lowest rate is above the need's acceptable maximum.
    """
    out: list[MissingCriterion] = []
    for name in CRITERIA:
        if not int(mask) & int(BIT[name]):
            continue
        params: dict[str, object] = {}
        key = MISSING_KEYS[name]
        if name == "district":
            params["districts"] = list(product["eligible_districts"])
        elif name == "industry":
            params["sections"] = list(product["eligible_industries"])
        elif name == "scale":
            params["scales"] = list(product["eligible_scales"])
        elif name == "years_in_business":
            years = full_years(facts["founded_on"], as_of)
            params.update(required=int(product["min_years_in_business"]), actual=years)
        elif name == "grade":
            params.update(required=product["min_credit_grade"], actual=facts.get("grade") or "—")
            if not facts.get("grade"):
                key = "matching.missing.grade_unrated"
        elif name == "amount":
            params.update(min=_wan(product["amount_min"]), max=_wan(product["amount_max"]),
                          amount=_wan(float(facts["amount"])))
        elif name == "term":
            params.update(min=int(product["term_min_months"]), max=int(product["term_max_months"]),
                          term=int(facts["term_months"]))
        out.append(MissingCriterion(criterion=name, key=key, params=params))
    if rate_failed:
        out.append(MissingCriterion(criterion="rate", key=MISSING_KEYS["rate"],
                                    params={"rate": f"{product['rate_min']:.2f}",
                                            "max_rate": f"{float(facts['max_rate']):.2f}"}))
    return out


def fit_reasons(product: Mapping[str, Any], facts: Mapping[str, Any], *, p_approval: float | None) -> list[MissingCriterion]:
    """Why an eligible product fits: rate, approval chance, amount and term, grade room, first loan.

    Args:
        product: the product's row of :func:`load_products`.
        facts: the enterprise's row (plus ``amount`` and ``term_months`` for a need).
        p_approval: the model's approval probability for the pair, if known.
    """
    reasons = [MissingCriterion("rate", "matching.reason.rate", {"rate": f"{product['rate_min']:.2f}"})]
    if p_approval is not None and not np.isnan(p_approval):
        reasons.append(MissingCriterion("approval", "matching.reason.approval", {"pct": f"{100 * p_approval:.0f}"}))
    amount = facts.get("amount")
    if amount is not None and not pd.isna(amount):
        reasons.append(MissingCriterion("amount", "matching.reason.amount", {
            "min": _wan(product["amount_min"]), "max": _wan(product["amount_max"]), "amount": _wan(float(amount))}))
        reasons.append(MissingCriterion("term", "matching.reason.term", {
            "min": int(product["term_min_months"]), "max": int(product["term_max_months"]),
            "term": int(facts["term_months"])}))
    else:
        reasons.append(MissingCriterion("amount", "matching.reason.amount_range", {
            "min": _wan(product["amount_min"]), "max": _wan(product["amount_max"])}))
    grade, required = facts.get("grade"), product.get("min_credit_grade")
    if required and grade:
        reasons.append(MissingCriterion("grade", "matching.reason.grade", {"grade": grade, "required": required}))
    elif not required:
        reasons.append(MissingCriterion("grade", "matching.reason.no_grade_needed", {}))
    if product["first_loan_friendly"] and not bool(facts.get("has_had_loan")):
        reasons.append(MissingCriterion("first_loan", "matching.reason.first_loan", {}))
    return reasons


def grade_room(prep: Prepared, grades: pd.Series) -> np.ndarray:
    """(n, n_products) how far each grade is above each product's minimum, in [0, 1] (0.5: no minimum)."""
    g = grades.map(GRADE_RANK).fillna(-1).to_numpy(np.int64)
    return np.where(prep.min_grade[None, :] >= 0, np.clip((g[:, None] - prep.min_grade[None, :]) / 8.0, 0, 1), 0.5)


def grade_room_one(prep: Prepared, grade: str | None) -> np.ndarray:
    """:func:`grade_room` for one grade (None = unrated): one value per product."""
    g = GRADE_RANK.get(grade, -1) if grade is not None else -1
    return np.where(prep.min_grade >= 0, np.clip((g - prep.min_grade) / 8.0, 0, 1), 0.5)


def rate_mask(prep: Prepared, max_rate: float | None) -> np.ndarray:
    """Per product: its lowest rate is above ``max_rate`` (all False without a maximum)."""
    if max_rate is None or pd.isna(max_rate):
        return np.zeros(len(prep.products), dtype=bool)
    return prep.rate_min > float(max_rate) + 1e-9


def need_frame(facts: pd.DataFrame, need: FinancingNeed | pd.Series) -> pd.DataFrame:
    """One enterprise's facts with a need's amount, term, collateral and maximum rate added."""
    out = facts.copy()
    out["amount"] = float(need.amount if isinstance(need, FinancingNeed) else need["amount"])
    out["term_months"] = int(need.term_months if isinstance(need, FinancingNeed) else need["term_months"])
    out["accepts_collateral"] = bool(
        need.accepts_collateral if isinstance(need, FinancingNeed) else need["accepts_collateral"]
    )
    max_rate = need.max_rate if isinstance(need, FinancingNeed) else need["max_rate"]
    out["max_rate"] = None if max_rate is None or pd.isna(max_rate) else float(max_rate)
    return out


def need_facts(facts: Mapping[str, Any], need: FinancingNeed) -> dict[str, Any]:
    """:func:`need_frame` for one enterprise's plain facts (see ``matching_load.enterprise_row``)."""
    return {
        **facts,
        "amount": float(need.amount),
        "term_months": int(need.term_months),
        "accepts_collateral": bool(need.accepts_collateral),
        "max_rate": None if need.max_rate is None else float(need.max_rate),
    }


# ----------------------------------------------------------------------------------- product tables


@dataclass(frozen=True)
class ProductTable:
    """Every product of a product side column by column, built once, sliced per call (:func:`product_frame`).

    A column with a value in every row and a numeric or boolean dtype is kept typed; any other column
    keeps the row dicts' own values (``object``) and is handed to the frame as a list, so its dtype is
    inferred from the rows taken, as for a frame built from those row dicts.
    """

    columns: dict[str, np.ndarray]  # PRODUCT_COLUMNS → one value per product, in ``Prepared`` order


def rows_frame(records: Sequence[Mapping[str, Any]], positions: Sequence[int] | np.ndarray) -> pd.DataFrame:
    """The products at ``positions`` as a frame of :data:`PRODUCT_COLUMNS`, built from their row dicts."""
    rows = [records[int(i)] for i in positions]
    frame = pd.DataFrame(rows, columns=_RECORD_COLUMNS)
    return frame.rename(columns={"id": "product_id", "name": "product_name", "name_en": "product_name_en"})[
        PRODUCT_COLUMNS
    ]


def product_table(records: Sequence[Mapping[str, Any]]) -> ProductTable:
    """Build the column table of every product once (see :func:`product_frame`)."""
    whole = rows_frame(records, range(len(records)))
    columns: dict[str, np.ndarray] = {}
    for name, key in zip(PRODUCT_COLUMNS, _RECORD_COLUMNS, strict=True):
        column = whole[name]
        typed = is_numeric_dtype(column) or is_bool_dtype(column)
        if len(column) and typed and not column.isna().any():
            columns[name] = column.to_numpy()
        else:
            raw = np.empty(len(records), dtype=object)
            raw[:] = [r[key] for r in records]
            columns[name] = raw
    return ProductTable(columns=columns)


def product_frame(table: ProductTable, records: Sequence[Mapping[str, Any]], positions: Sequence[int] | np.ndarray,
                  extra: Mapping[str, Any]) -> pd.DataFrame:
    """The products at ``positions`` in :data:`PRODUCT_COLUMNS`, then the ``extra`` columns, in one frame.

    The same values, columns and dtypes as :func:`rows_frame` followed by assigning each extra column
    (arrays, lists or a scalar), at a fraction of the cost: one constructor over sliced arrays.
    """
    if len(positions) == 0:
        frame = rows_frame(records, positions)
        for name, values in extra.items():
            frame[name] = values
        return frame
    idx = np.asarray(positions, dtype=np.intp)
    n = len(idx)
    # typed columns are sliced; raw (object) ones go in as lists, so their dtype is inferred as from rows
    data: dict[str, Any] = {
        name: values[idx].tolist() if values.dtype == object else values[idx] for name, values in table.columns.items()
    }
    for name, values in extra.items():
        if isinstance(values, list):
            column = np.empty(n, dtype=object)  # a list of lists stays one object (a list) per row
            for i, value in enumerate(values):
                column[i] = value
            data[name] = column
        elif np.ndim(values) == 0:
            data[name] = np.full(n, values)
        else:
            data[name] = values
    return pd.DataFrame(data, copy=False)


def popcount(masks: np.ndarray) -> np.ndarray:
    """Failed criteria per uint16 bit mask."""
    return np.unpackbits(masks.astype(">u2").view(np.uint8).reshape(-1, 2), axis=1).sum(axis=1)
