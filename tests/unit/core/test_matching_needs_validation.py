"""Need validation without a database: every bad field named, good input cleaned."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import InvalidError, ValidationErrors
from core.services.needs import clean_need


def test_a_good_need_is_cleaned_to_cents_and_a_stripped_purpose():
    out = clean_need({"amount": "500000.005", "term_months": 12, "purpose": "  采购原材料 ", "max_rate": "6.5",
                      "dispatch_limit": 3})
    assert out["amount"] == Decimal("500000.01") and out["purpose"] == "采购原材料"
    assert out["max_rate"] == Decimal("6.5000") and out["accepts_collateral"] is False


def test_every_bad_field_is_reported_at_once():
    with pytest.raises(ValidationErrors) as caught:
        clean_need({"amount": "NaN", "term_months": True, "purpose": "x", "max_rate": "-1", "dispatch_limit": 0})
    assert {e.field for e in caught.value.errors} == {"amount", "term_months", "purpose", "max_rate",
                                                      "dispatch_limit"}


def test_the_amount_ceiling_is_one_hundred_million_yuan():
    clean_need({"amount": Decimal("100000000"), "term_months": 1, "purpose": "扩大生产"})
    with pytest.raises(InvalidError) as caught:
        clean_need({"amount": Decimal("100000000.01"), "term_months": 1, "purpose": "扩大生产"})
    assert caught.value.field == "amount"
