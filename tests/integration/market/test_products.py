"""Product writes: validation messages per bad field, a version on every change, stale edits and
other institutions refused, publish and withdraw as a lifecycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError, ValidationErrors
from core.models import Product, ProductVersion
from core.models.types import ProductStatus
from core.services import products
from core.services.product_validation import clean_product
from tests.integration.market.conftest import good_product


def _field_errors(exc: InvalidError) -> dict[str, str]:
    errors = exc.errors if isinstance(exc, ValidationErrors) else [exc]
    return {e.field: e.message("en") for e in errors}


def _count(model) -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": "贷"}, "name", "2–80 characters"),
        ({"product_type": "magic_loan"}, "product_type", "product type"),
        ({"amount_min": "-5"}, "amount_min", "yuan"),
        ({"amount_max": "100.001"}, "amount_max", "cents"),
        ({"amount_max": "99999999999"}, "amount_max", "100"),
        ({"amount_min": "5000000"}, "amount_min", "minimum amount"),
        ({"term_min_months": 2.5}, "term_min_months", "whole months"),
        ({"term_max_months": 400}, "term_max_months", "whole months"),
        ({"term_min_months": 40}, "term_min_months", "minimum term"),
        ({"rate_max": "36"}, "rate_max", "0–24"),
        ({"rate_min": "-1"}, "rate_min", "0–24"),
        ({"rate_min": "7"}, "rate_min", "minimum rate"),
        ({"eligible_districts": ["999999"]}, "eligible_districts", "999999"),
        ({"eligible_industries": ["Z"]}, "eligible_industries", "Z"),
        ({"eligible_scales": ["huge"]}, "eligible_scales", "huge"),
        ({"repayment_methods": ["whenever"]}, "repayment_methods", "whenever"),
        ({"min_years_in_business": 80}, "min_years_in_business", "from 0 to 50"),
        ({"min_credit_grade": "Z"}, "min_credit_grade", "grade"),
        ({"tags": ["很长很长的标签" * 4]}, "tags", "20 characters"),
    ],
)
def test_each_bad_field_is_refused_with_its_message(overrides, field, words):
    with pytest.raises(InvalidError) as caught:
        clean_product(good_product(**overrides))
    messages = _field_errors(caught.value)
    assert field in messages, messages
    assert words in messages[field], messages[field]


def test_a_bad_product_writes_nothing(market):
    with pytest.raises(InvalidError):
        products.create_product(actor=market.officer, data=good_product(amount_min="-1"))
    assert _count(ProductVersion) == 0 and _count(Product) == len(market.products)


def test_several_bad_fields_are_reported_together(market):
    with pytest.raises(ValidationErrors) as caught:
        products.create_product(actor=market.officer, data=good_product(name="", rate_max="99", term_min_months=0))
    assert set(_field_errors(caught.value)) == {"name", "rate_max", "term_min_months"}


def test_the_legal_rate_ceiling_is_a_setting(market, monkeypatch):
    from core.config import get_settings

    monkeypatch.setenv("PRODUCT_RATE_MAX", "15.4")
    get_settings.cache_clear()
    with pytest.raises(InvalidError) as caught:
        products.create_product(actor=market.officer, data=good_product(rate_max="16"))
    assert "0–15.4" in caught.value.message("en")


def test_every_change_writes_a_version(market):
    made = products.create_product(actor=market.officer, data=good_product())
    assert (made.status, made.version) == (ProductStatus.draft, 1)
    edited = products.update_product(actor=market.officer, product_id=made.id,
                                     changes={"rate_min": "3.20", "tags": "纳税贷，首贷"}, expected_version=1)
    assert edited.version == 2 and edited.rate_min == Decimal("3.2") and edited.tags == ["纳税贷", "首贷"]
    published = products.publish_product(actor=market.manager, product_id=made.id, expected_version=2)
    withdrawn = products.withdraw_product(actor=market.officer, product_id=made.id, expected_version=3)
    assert (published.status, withdrawn.status, withdrawn.version) == ("published", "withdrawn", 4)
    history = products.product_history(actor=market.manager, product_id=made.id)
    assert history["change"].tolist() == ["withdrawn", "published", "edited", "created"]
    assert history["product_version"].tolist() == [4, 3, 2, 1]
    assert history.iloc[2]["snapshot"]["rate_min"] == "3.20"
    assert history.iloc[3]["snapshot"]["rate_min"] == "3.45"
    assert history["changed_by"].notna().all()


def test_an_edit_that_changes_nothing_writes_no_version(market):
    made = products.create_product(actor=market.officer, data=good_product())
    same = products.update_product(actor=market.officer, product_id=made.id, changes={"rate_min": "3.4500"},
                                   expected_version=1)
    assert same.version == 1
    assert _count(ProductVersion) == 1


def test_a_stale_edit_is_refused(market):
    made = products.create_product(actor=market.officer, data=good_product())
    products.update_product(actor=market.manager, product_id=made.id, changes={"name": "衡信快贷二代"},
                            expected_version=1)
    with pytest.raises(StaleVersionError):
        products.update_product(actor=market.officer, product_id=made.id, changes={"rate_min": "3.30"},
                                expected_version=1)
    with session_scope() as s:
        row = s.get(Product, made.id)
        assert (row.name, Decimal(row.rate_min), row.version) == ("衡信快贷二代", Decimal("3.45"), 2)


def test_another_institution_cannot_edit_publish_or_withdraw(market):
    draft = market.products["draft"]
    for call in (
        lambda: products.publish_product(actor=market.outsider, product_id=draft),
        lambda: products.withdraw_product(actor=market.outsider, product_id=market.products["cheap"]),
        lambda: products.update_product(actor=market.outsider, product_id=draft, changes={"name": "改名"},
                                        expected_version=1),
        lambda: products.product_history(actor=market.outsider, product_id=draft),
        lambda: products.create_product(actor=market.outsider, data=good_product(), institution_id=market.bank_id),
    ):
        with pytest.raises(ForbiddenError):
            call()
    with pytest.raises(ForbiddenError):  # oversight reads, never acts
        products.publish_product(actor=market.regulator, product_id=draft)
    with session_scope() as s:
        assert s.get(Product, draft).status == ProductStatus.draft
    assert _count(ProductVersion) == 0


def test_lifecycle_steps_out_of_order_are_refused(market):
    with pytest.raises(products.ProductStateError):
        products.publish_product(actor=market.officer, product_id=market.products["cheap"])
    with pytest.raises(products.ProductStateError):
        products.withdraw_product(actor=market.officer, product_id=market.products["draft"])


def test_a_double_clicked_create_stores_one_product(market):
    first = products.create_product(actor=market.officer, data=good_product(), idempotency_key="form-key-0001")
    again = products.create_product(actor=market.officer, data=good_product(), idempotency_key="form-key-0001")
    assert first.id == again.id
    with pytest.raises(products.ProductKeyReusedError):
        products.create_product(actor=market.officer, data=good_product(name="别的产品"),
                                idempotency_key="form-key-0001")
    assert _count(ProductVersion) == 1


def test_a_branch_officer_creates_for_the_head_office(market):
    made = products.create_product(actor=market.officer, data=good_product(), institution_id=market.bank_id)
    assert made.institution_id == market.bank_id
    listed = products.list_products(actor=market.manager, institution_id=market.bank_id)
    assert made.id in {p.id for p in listed}
