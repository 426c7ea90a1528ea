"""Matching engine (pure): which products suit an enterprise, and why not when they do not.

Only the hard-eligibility filter exists so far (``core.matching.eligibility``); ranking and
need-to-product dispatch grow here later. No database, no clock: callers pass ``as_of``.
"""

from core.matching.eligibility import CRITERIA, EnterpriseFacts, evaluate_eligibility, years_in_business

__all__ = ["CRITERIA", "EnterpriseFacts", "evaluate_eligibility", "years_in_business"]
