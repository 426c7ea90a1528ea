"""The financial supermarket's search: filters, sorts, paging, search in Chinese and English, the cache
invalidated by a product change, and one product's detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, NotFoundError
from core.models import Enterprise, Product
from core.models.types import ApplicationStatus, ProductStatus
from core.services import products, supermarket
from tests import factories
from tests.integration.market.conftest import good_product


def names(page: supermarket.SearchPage) -> list[str]:
    return page.items["name"].tolist()


def search(market, **filters) -> supermarket.SearchPage:
    return supermarket.search_products(actor=market.owner, **filters)


def test_only_published_products_of_active_institutions_are_listed_cheapest_first(market):
    page = search(market)
    assert names(page) == ["衡水银行税易贷", "桃城抵押贷", "冀州创业贷", "担保增信贷"]
    assert page.total == 4 and page.pages == 1


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"institution_kinds": ["guarantee"]}, ["担保增信贷"]),
        ({"product_types": ["mortgage", "guaranteed"]}, ["桃城抵押贷", "担保增信贷"]),
        ({"guarantee_modes": ["credit"]}, ["衡水银行税易贷", "冀州创业贷"]),
        ({"guarantee_modes": ["collateral"]}, ["桃城抵押贷"]),
        ({"amount": 5_000_000}, ["桃城抵押贷"]),
        ({"term_months": 24}, ["衡水银行税易贷", "桃城抵押贷", "担保增信贷"]),
        ({"max_rate": 4.0}, ["衡水银行税易贷", "桃城抵押贷"]),
        ({"district": "131102"}, ["衡水银行税易贷", "桃城抵押贷", "担保增信贷"]),
        ({"first_loan_only": True}, ["衡水银行税易贷", "冀州创业贷"]),
        ({"text": "纳税"}, ["衡水银行税易贷"]),  # a tag
        ({"text": "冀州"}, ["冀州创业贷"]),  # a Chinese substring of the name and the institution
        ({"text": "STARTUP"}, ["冀州创业贷"]),  # English, case-insensitive
        ({"text": "hengshui bank"}, ["衡水银行税易贷"]),  # the institution's English name
        ({"text": "支行"}, ["桃城抵押贷"]),  # the branch's name
        ({"first_loan_only": True, "max_rate": 4.0}, ["衡水银行税易贷"]),
    ],
)
def test_filters(market, filters, expected):
    assert names(search(market, **filters)) == expected


def test_sorts_by_amount_popularity_and_approval_rate(market):
    assert names(search(market, sort="amount"))[0] == "桃城抵押贷"
    with session_scope() as s:
        ents = [s.get(Enterprise, i) for i in market.enterprise_ids]
        local, guaranteed = s.get(Product, market.products["local"]), s.get(Product, market.products["guaranteed"])
        old = datetime.now(UTC) - timedelta(days=200)
        for ent in ents[:3]:
            factories.application(s, ent, local, status=ApplicationStatus.rejected, submitted_at=old)
        for ent in ents[:2]:
            factories.application(s, ent, guaranteed, status=ApplicationStatus.approved)
        factories.application(s, ents[3], guaranteed, status=ApplicationStatus.rejected)
    with session_scope():  # the direct inserts above did not bump the data version
        from core import cache

        cache.bump_data_version()
    popular = search(market, sort="popularity")
    assert names(popular)[0] == "担保增信贷"
    assert popular.items.set_index("name").loc["冀州创业贷", "applications_90d"] == 0  # older than 90 days
    by_approval = search(market, sort="approval")
    assert names(by_approval)[:2] == ["担保增信贷", "冀州创业贷"]  # 2/3, then 0/3; never decided last
    assert by_approval.items.iloc[0]["approval_rate"] == pytest.approx(2 / 3)
    assert by_approval.items["approval_rate"].iloc[2:].isna().all()


def test_first_loan_friendly_products_can_come_first(market):
    assert names(search(market, sort="rate", first_loan_first=True))[:2] == ["衡水银行税易贷", "冀州创业贷"]


def test_pages_count_every_match(market):
    first = search(market, page_size=3)
    second = search(market, page_size=3, page=2)
    past = search(market, page_size=3, page=9)
    assert (first.total, first.pages, len(first.items), len(second.items)) == (4, 2, 3, 1)
    assert names(second) == ["担保增信贷"] and past.page == 2


@pytest.mark.parametrize(
    "bad",
    [{"sort": "random"}, {"page": 0}, {"page_size": 500}, {"amount": -5}, {"term_months": 999},
     {"institution_kinds": ["casino"]}, {"max_rate": "abc"}],
)
def test_bad_filters_are_refused(market, bad):
    with pytest.raises(InvalidError):
        search(market, **bad)


def test_a_product_change_invalidates_the_cached_catalogue(market):
    assert search(market, text="税易贷").total == 1
    with session_scope() as s:  # a write that bypasses the services: the cached catalogue does not see it
        s.get(Product, market.products["cheap"]).name = "衡水银行纳税贷"
    assert names(search(market, text="税易贷")) == ["衡水银行税易贷"]
    made = products.create_product(actor=market.officer, data=good_product(name="新上架的税易贷"))
    assert search(market, text="税易贷").total == 0  # the service's write bumped the data version
    products.publish_product(actor=market.officer, product_id=made.id)
    assert names(search(market, text="税易贷")) == ["新上架的税易贷"]
    products.withdraw_product(actor=market.manager, product_id=made.id)
    assert search(market, text="税易贷").total == 0


def test_product_detail_shows_the_institution_version_and_numbers(market):
    detail = supermarket.product_detail(actor=market.owner, product_id=market.products["big"])
    assert (detail.institution_name, detail.guarantee_mode, detail.product.version) == (
        "衡水商业银行桃城支行", "collateral", 1)
    assert detail.applications_90d == 0 and detail.approval_rate is None
    assert detail.product.amount_max == Decimal("20000000")


def test_an_unpublished_product_is_hidden_from_outsiders_but_not_from_its_bank(market):
    with pytest.raises(NotFoundError):
        supermarket.product_detail(actor=market.owner, product_id=market.products["draft"])
    own = supermarket.product_detail(actor=market.officer, product_id=market.products["draft"])
    assert own.product.status == ProductStatus.draft
    with pytest.raises(ForbiddenError):
        supermarket.product_detail(actor=market.outsider, product_id=market.products["draft"])
