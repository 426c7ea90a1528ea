"""The market's three pages under AppTest with real rows: the enterprise's supermarket (search, what is
missing, compare, apply once), the bank's products (errors next to fields, create, preview, publish) and
the white-list (masked ranking, offers pushed once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.models import Application, Notification, Product, ProductVersion
from core.models.types import ProductStatus
from tests.integration.market.conftest import market  # noqa: F401 - the constructed market fixture

ROOT = Path(__file__).resolve().parents[3]
SUPERMARKET = ROOT / "apps/enterprise/app_pages/products/for_me.py"
OUR_PRODUCTS = ROOT / "apps/bank/app_pages/products/our_products.py"
WHITELIST = ROOT / "apps/bank/app_pages/products/whitelist.py"
pytestmark = pytest.mark.slow


def page(path: Path, actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def markdown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def rows(model) -> list:
    with session_scope() as s:
        return list(s.exec(select(model)))


def test_the_supermarket_searches_explains_compares_and_applies_once(market):  # noqa: F811
    at = page(SUPERMARKET, market.owner)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "共找到 4 款产品" in " ".join(c.value for c in at.caption)
    assert "仅面向以下区县" in markdown(at)  # 冀州创业贷 is for 枣强县 only: what the owner is missing
    at.text_input(key="ent_market_text").input("冀州").run()
    assert "共找到 1 款产品" in " ".join(c.value for c in at.caption)
    at.text_input(key="ent_market_text").input("").run()
    cheap, big = market.products["cheap"], market.products["big"]
    at.button(key=f"ent_market_cmp_{cheap}").click().run()
    at.button(key=f"ent_market_cmp_{big}").click().run()
    assert at.session_state["ent_market_compare"] == [cheap, big]
    compared = at.dataframe[0].value
    assert len(compared.columns) == 2 and "衡水银行税易贷" in compared.columns[0]
    at.button(key=f"ent_market_detail_{cheap}").click().run()
    assert not at.exception
    consent = " ".join(i.value for i in at.info)
    assert "衡水银行" in consent and "365 天" in consent and "撤回" in consent
    at.number_input(key=f"ent_market_apply_amount_{cheap}").set_value(30.0).run()
    at.button(key=f"ent_market_apply_{cheap}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "申请已提交" in at.success[0].value
    at.button(key=f"ent_market_apply_{cheap}").click().run()  # the second press of a double-click
    assert not at.exception and not at.error, [e.value for e in at.error]
    stored = rows(Application)
    assert len(stored) == 1 and stored[0].product_id == cheap and int(stored[0].amount_requested) == 300_000


def test_the_supermarket_in_english_filters_first_loan_products(market):  # noqa: F811
    at = page(SUPERMARKET, market.owner, lang="en")
    assert not at.exception
    at.toggle(key="ent_market_friendly").set_value(True).run()
    assert "2 products found" in " ".join(c.value for c in at.caption)


def test_our_products_shows_errors_next_to_fields_then_creates_previews_and_publishes(market):  # noqa: F811
    at = page(OUR_PRODUCTS, market.manager)
    assert not at.exception
    at.text_input(key="bank_products_new_name").input("衡信新贷")
    at.number_input(key="bank_products_new_rate_max").set_value(30.0)
    at.number_input(key="bank_products_new_term_min_months").set_value(48)
    at.button(key="bank_products_create").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("法定范围 0–24%" in e for e in errors) and any("最短期限" in e for e in errors), errors
    assert rows(ProductVersion) == []
    at.number_input(key="bank_products_new_rate_max").set_value(6.5)
    at.number_input(key="bank_products_new_term_min_months").set_value(6)
    at.button(key="bank_products_create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "衡信新贷" in at.success[0].value
    made = [p for p in rows(Product) if p.name == "衡信新贷"]
    assert len(made) == 1 and made[0].status == ProductStatus.draft
    assert at.session_state["bank_products_selected"] == made[0].id
    at.button(key="bank_products_preview").click().run()
    assert not at.exception
    assert [m.value for m in at.metric][-2:] == ["6", "2"]  # not first-loan friendly: the 2 of 6 that borrowed before
    at.button(key="bank_products_publish").click().run()
    assert not at.exception and at.success
    assert rows(Product)[-1].status == ProductStatus.published
    assert [v.change for v in rows(ProductVersion)] == ["created", "published"]


def test_the_white_list_masks_names_and_pushes_offers_once(market):  # noqa: F811
    at = page(WHITELIST, market.officer)
    assert not at.exception
    at.selectbox(key="bank_whitelist_product").select(market.products["cheap"]).run()
    ranked = at.dataframe[0].value
    assert len(ranked) == 6 and ranked.iloc[:, 1].str.contains(r"\*").all()
    at.number_input(key="bank_whitelist_top").set_value(2).run()
    at.button(key="bank_whitelist_send").click().run()
    assert not at.exception and at.success and "已推送 2 家" in at.success[0].value
    at.button(key="bank_whitelist_send").click().run()  # the table now marks them offered: the next two go
    assert len(rows(Notification)) == 4
