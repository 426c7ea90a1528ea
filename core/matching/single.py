"""One enterprise (or one need) against every product: the interactive path, NumPy only.

The all-pairs engine reads a frame of enterprises; building a one-row frame and running pandas over it
costs more than the matching itself. Here the enterprise's facts are plain values (a mapping, as one
SQL row gives them), encoded straight into the engine's arrays and scored by the very same
:func:`~core.matching.engine.match_encoded`, so masks, approval probabilities and fit scores are bit
for bit those of :func:`~core.matching.engine.match_chunk` (tests compare them on random data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np

from core.matching.engine import (
    GRADE_RANK,
    SCALES,
    ApprovalModel,
    EnterpriseArrays,
    FitWeights,
    Prepared,
    match_encoded,
)

_SCALE_INDEX = {s: i for i, s in enumerate(SCALES)}


@dataclass(frozen=True)
class OneResult:
    """One enterprise against every product: 1-D arrays over the prepared products."""

    failed: np.ndarray  # uint16 failure bit mask; 0 = eligible
    fit: np.ndarray  # float32; NaN where not eligible
    p_approval: np.ndarray  # float32


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _code(value: Any, lookup: Mapping[str, int]) -> int:
    """The value's code (−1 when missing or listed by no product), as ``engine._codes`` gives it."""
    return -1 if _missing(value) else lookup.get(str(value), -1)


def _number(value: Any) -> float:
    """``pd.to_numeric(errors="coerce")`` for one value: NaN when missing or not a number."""
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):  # also a pandas Timestamp
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def full_years(founded_on: Any, as_of: date) -> int:
    """Full years between founding and ``as_of`` (0 before the first anniversary), as ``years_between``."""
    f = _as_date(founded_on)
    return max(as_of.year - f.year - ((f.month, f.day) > (as_of.month, as_of.day)), 0)


def grade_rank_one(grade: Any) -> int:
    """AAA = 8 … C = 0; unrated (None) or unknown = −1."""
    return -1 if _missing(grade) else GRADE_RANK.get(grade, -1)


def encode_one(facts: Mapping[str, Any], prep: Prepared, *, as_of: date,
               model: ApprovalModel | None = None) -> EnterpriseArrays:
    """Encode one enterprise's facts (keys as the columns of ``match_chunk``'s frame) against ``prep``.

    Args:
        facts: district_code, industry_section, scale, founded_on, has_had_loan, grade (None =
            unrated); for a need also amount, term_months and accepts_collateral.
        prep: the prepared product side.
        as_of: the day years in business are counted to.
        model: the approval model (its enterprise logit is computed here), or None.
    """
    scale = "nan" if _missing(facts.get("scale")) else str(facts["scale"])
    years = full_years(facts["founded_on"], as_of)
    had = not _missing(facts.get("has_had_loan")) and bool(facts["has_had_loan"])
    grade = grade_rank_one(facts.get("grade"))
    collateral = facts.get("accepts_collateral") if "accepts_collateral" in facts else None
    logit = None
    if model is not None:
        logit = np.array([model.enterprise_logit_one(grade=grade, has_had_loan=had, years=years, scale=scale)])
    return EnterpriseArrays(
        ids=np.array([facts.get("id", 0)]),
        district=np.array([_code(facts.get("district_code"), prep.district_index)], dtype=np.int64),
        industry=np.array([_code(facts.get("industry_section"), prep.section_index)], dtype=np.int64),
        scale=np.array([_SCALE_INDEX.get(scale, -1)], dtype=np.int64),
        years=np.array([years], dtype=np.int64),
        had_loan=np.array([had]),
        grade=np.array([grade], dtype=np.int64),
        amount=np.array([_number(facts.get("amount"))]),
        term=np.array([_number(facts.get("term_months"))]),
        accepts_collateral=(None if "accepts_collateral" not in facts
                            else np.array([not _missing(collateral) and bool(collateral)])),
        logit=logit,
    )


def match_one(facts: Mapping[str, Any], prep: Prepared, *, as_of: date, model: ApprovalModel | None = None,
              weights: FitWeights | None = None) -> OneResult:
    """One enterprise (or need) against every prepared product; see :func:`encode_one` for ``facts``.

    Args:
        facts: the enterprise's facts as plain values.
        prep: the prepared product side.
        as_of: the day years in business are counted to.
        model: the approval model, or None (every approval probability 0.5).
        weights: the fit score's weights (default :class:`FitWeights`).

    Returns:
        :class:`OneResult`: failure masks, fit scores (NaN = ineligible) and approval probabilities,
        equal to row 0 of ``match_chunk`` on the same enterprise.
    """
    res = match_encoded(encode_one(facts, prep, as_of=as_of, model=model), prep, model=model, weights=weights)
    return OneResult(failed=res.failed[0], fit=res.fit[0], p_approval=res.p_approval[0])
