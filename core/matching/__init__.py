"""Matching engines (pure): which products suit an enterprise, why not when they do not, and how well.

``core.matching.eligibility`` is the plain hard-eligibility filter; ``core.matching.engine`` the
all-pairs engine (every enterprise or need × every product, vectorized, with the fit ranking and the
approval model); ``core.matching.single`` its one-enterprise path over the same arrays. No database,
no clock: callers pass ``as_of``.
"""

from core.matching.eligibility import CRITERIA, EnterpriseFacts, evaluate_eligibility, years_in_business

__all__ = ["CRITERIA", "EnterpriseFacts", "evaluate_eligibility", "years_in_business"]
