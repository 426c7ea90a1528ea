"""Each of the four apps, served for real, opens in headless Chromium at desktop and phone size.

The Streamlit apps are opened signed in: one browser context per app signs in once through the
provider (as a demo user of the app's role), and each viewport opens a fresh page — a new Streamlit
session reading the same identity cookie. The wall is opened with its kiosk token.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import KIOSK_TOKEN, SIGNIN_TIMES, STREAMLIT_APPS, VIEWPORTS, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# A different demo user per sign-in in the whole folder: a TOTP code is accepted once per time step.
SUBJECTS = {
    "enterprise": "demo-enterprise_user-1",
    "bank": "demo-bank_officer-1",
    "regulator": "demo-regulator_analyst-1",
}


@pytest.fixture(scope="module")
def app_contexts(browser, served_apps):
    """``app_contexts(app)``: a browser context signed in to ``app`` (once per module)."""
    contexts = {}

    def get(app: str):
        if app not in contexts:
            context = browser.new_context(
                viewport=VIEWPORTS["desktop"], locale="zh-CN", device_scale_factor=1
            )
            page = context.new_page()
            page.set_default_timeout(45_000)
            seconds = sign_in(page, served_apps[app], served_apps["sso"], SUBJECTS[app])
            SIGNIN_TIMES.setdefault(app, []).append(seconds)
            page.close()
            contexts[app] = context
        return contexts[app]

    yield get
    for context in contexts.values():
        context.close()


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("app", STREAMLIT_APPS)
def test_streamlit_app_shows_its_main_content(app_contexts, served_apps, app, viewport):
    page = app_contexts(app).new_page()
    page.set_default_timeout(45_000)
    page.set_viewport_size(VIEWPORTS[viewport])
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
    page.goto(f"{served_apps['bigscreen']}?kiosk={KIOSK_TOKEN}", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").nth(1).wait_for(state="visible", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2
    assert "kiosk=" not in page.url, "the token must leave the address bar"
    body = page.inner_text("body")
    assert "衡水" in body
    assert "Traceback" not in body and "Error" not in body


def test_english_switch_reaches_the_wall(served_apps, page_at):
    page = page_at("desktop", locale="en-US")
    page.goto(f"{served_apps['bigscreen']}?lang=en&kiosk={KIOSK_TOKEN}", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)
    assert "Hengshui" in page.inner_text("body")
