"""Each of the four apps, served for real, opens in headless Chromium at desktop and phone size."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import STREAMLIT_APPS, VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def page_at(browser):
    contexts = []

    def open_page(viewport: str, locale: str = "zh-CN"):
        context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale, device_scale_factor=1)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(45_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("app", STREAMLIT_APPS)
def test_streamlit_app_shows_its_main_content(served_apps, page_at, app, viewport):
    page = page_at(viewport)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served_apps[app], wait_until="domcontentloaded")
    main = page.locator('[data-testid="stMain"]')
    main.wait_for(state="visible")
    heading = main.locator("h1").first
    heading.wait_for(state="visible")
    # Real data reached the page: KPI cards or a table or a chart rendered inside the main area.
    main.locator('[data-testid="stMetric"], [data-testid="stDataFrame"], .js-plotly-plot').first.wait_for(
        state="visible"
    )
    assert heading.inner_text().strip()
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()
    assert errors == []
    if viewport == "phone":
        assert _no_horizontal_scroll(page), "the page must fit a 390 px phone without sideways scrolling"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_wall_display_shows_counters_trend_and_map(served_apps, page_at, viewport):
    page = page_at(viewport)
    page.goto(served_apps["bigscreen"], wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").nth(1).wait_for(state="visible", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    body = page.inner_text("body")
    assert "衡水" in body
    assert "Traceback" not in body and "Error" not in body


def test_english_switch_reaches_the_wall(served_apps, page_at):
    page = page_at("desktop", locale="en-US")
    page.goto(served_apps["bigscreen"] + "?lang=en", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)
    assert "Hengshui" in page.inner_text("body")
