"""Signing in through the provider into each app, as a different role each time, and out again.

Each person sees only their own data: the enterprise user its own enterprise, the bank officer its
own institution's products (read from the page's CSV export) and none of another bank's; the
regulator analyst the platform overview. A person whose role does not fit the app gets the "not for
you" page. The wall refuses every request without the kiosk token.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import KIOSK_TOKEN, ROOT, SIGNIN_BUTTON, SIGNOUT_BUTTON, VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _db(url: str) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def _enterprise_name(db_url: str, subject: str) -> str:
    with _db(db_url) as conn:
        row = conn.execute(
            "SELECT e.name FROM user_account u JOIN organization o ON o.id = u.organization_id "
            "JOIN enterprise e ON e.id = o.enterprise_id WHERE u.subject = ?",
            (subject,),
        ).fetchone()
    assert row, subject
    return row[0]


def _family(conn: sqlite3.Connection, organization_id: int) -> set[int]:
    root = organization_id
    while parent := conn.execute("SELECT parent_id FROM organization WHERE id = ?", (root,)).fetchone()[0]:
        root = parent
    found, frontier = {root}, {root}
    while frontier:
        marks = ",".join("?" * len(frontier))
        children = {
            r[0]
            for r in conn.execute(
                f"SELECT id FROM organization WHERE parent_id IN ({marks})", tuple(frontier)
            )
        }
        frontier = children - found
        found |= frontier
    return found


def _products(db_url: str, subject: str) -> tuple[str, set[str], set[str]]:
    """(the user's organization name, its family's product names, every other institution's product names)."""
    with _db(db_url) as conn:
        org_id, org_name = conn.execute(
            "SELECT o.id, o.name FROM user_account u JOIN organization o ON o.id = u.organization_id "
            "WHERE u.subject = ?",
            (subject,),
        ).fetchone()
        family = _family(conn, org_id)
        rows = conn.execute("SELECT institution_id, name FROM product").fetchall()
    own = {name for inst, name in rows if inst in family}
    return org_name, own, {name for inst, name in rows if inst not in family}


def _sign_out(page, app_url: str) -> None:
    page.locator(SIGNOUT_BUTTON).click()
    page.locator(SIGNIN_BUTTON).wait_for(state="visible")
    assert page.url.startswith(app_url)


def test_enterprise_user_sees_own_enterprise_then_signs_out(signed_in, served_apps, e2e_database):
    subject = "demo-enterprise_user-3"
    page = signed_in("enterprise", subject).page
    heading = page.locator('[data-testid="stMain"] h1').first
    heading.wait_for(state="visible")
    assert _enterprise_name(e2e_database, subject) in heading.inner_text()  # the home page greets the enterprise
    assert "demo-enterprise_user-3" not in page.inner_text('[data-testid="stMain"]')
    _sign_out(page, served_apps["enterprise"])
    # Signed out for real: a reload stays on the sign-in page.
    page.reload(wait_until="domcontentloaded")
    page.locator(SIGNIN_BUTTON).wait_for(state="visible")
    assert page.locator('[data-testid="stMetric"]').count() == 0


def test_bank_officer_with_totp_sees_only_own_institutions_products(signed_in, served_apps, e2e_database):
    subject = "demo-bank_officer-3"
    org_name, own, others = _products(e2e_database, subject)
    page = signed_in("bank", subject).page
    main = page.locator('[data-testid="stMain"]')
    main.locator("h1").first.wait_for(state="visible")  # the landing page is the workbench
    page.goto(served_apps["bank"] + "products", wait_until="domcontentloaded")
    main.locator('[data-testid="stDataFrame"]').first.wait_for(state="visible")
    assert org_name in main.inner_text()
    with page.expect_download() as download:
        main.get_by_role("button", name="下载 CSV").first.click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    shown = {row[0] for row in list(csv.reader(io.StringIO(text)))[1:] if row}
    assert shown and shown <= own, shown - own
    assert not shown & others
    _sign_out(page, served_apps["bank"])


def test_regulator_analyst_with_totp_sees_the_platform_overview(signed_in, served_apps):
    page = signed_in("regulator", "demo-regulator_analyst-2").page
    main = page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stMetric"]').first.wait_for(state="visible")
    assert main.locator("h1").first.inner_text().strip() == "平台总览"
    _sign_out(page, served_apps["regulator"])


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _screenshot(page, name: str, folder: Path) -> None:
    page.wait_for_timeout(400)  # let the layout settle after a resize
    page.screenshot(path=str(folder / f"{name}.png"))
    target = os.environ.get("SAVE_SCREENSHOTS")  # e.g. docs/screenshots: keep them for review
    if target:
        keep = (ROOT / target).resolve()
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / f"{name}.png", keep / f"{name}.png")


def test_a_user_of_another_role_gets_the_not_for_you_page(signed_in, tmp_path):
    page = signed_in("regulator", "demo-enterprise_user-4").page
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("此应用不适用于您的账号").wait_for(state="visible")
    assert "本应用面向监管部门和平台运营人员" in main.inner_text()
    assert main.locator('[data-testid="stMetric"]').count() == 0
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        assert _fits(page), viewport
        _screenshot(page, f"not-for-you-regulator-{viewport}", tmp_path)
    page.set_viewport_size(VIEWPORTS["desktop"])
    page.locator(".st-key-auth_wrong_signout button").click()
    page.locator(SIGNIN_BUTTON).wait_for(state="visible")


def test_sign_in_page_fits_desktop_and_phone(served_apps, page_at, tmp_path):
    page = page_at("phone")
    page.goto(served_apps["enterprise"], wait_until="domcontentloaded")
    page.locator(SIGNIN_BUTTON).wait_for(state="visible")
    for viewport in ("phone", "desktop"):
        page.set_viewport_size(VIEWPORTS[viewport])
        assert _fits(page), viewport
        assert page.locator(SIGNIN_BUTTON).is_visible()
        _screenshot(page, f"signin-enterprise-{viewport}", tmp_path)


def _status(url: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_wall_refuses_without_the_kiosk_token(served_apps, page_at):
    wall = served_apps["bigscreen"]
    for path in ("", "_dash-layout", "_dash-dependencies"):
        assert _status(wall + path) == 401, path
    assert _status(wall + "_dash-update-component", data=b"{}") == 401
    assert _status(wall + "?kiosk=not-the-token-0123456789") == 401
    assert _status(wall + "healthz") == 200
    page = page_at("desktop")
    response = page.goto(wall, wait_until="domcontentloaded")
    assert response.status == 401
    assert "需要授权" in page.inner_text("body")
    assert page.locator(".js-plotly-plot").count() == 0
    page.goto(f"{wall}?kiosk={KIOSK_TOKEN}", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=60_000)
