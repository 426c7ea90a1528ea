"""The enterprise home page in real Chromium: the landing page after sign-in, at desktop and phone size.

The demo enterprise of ``demo-enterprise_admin-1`` has overdue loans in the seeded data; the test adds an
open need (pushed to banks) and an unread notice, so every block of the page has content. The page
must fit a 390 px phone without sideways scrolling, and "view and apply" must open the supermarket with
that product's detail. ``SAVE_SCREENSHOTS=docs/screenshots`` keeps the screenshots for review.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import use_database
from tests.e2e.conftest import ROOT, VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SUBJECT = "demo-enterprise_admin-1"  # a demo enterprise with loans (some overdue) and no open need yet


def _user_id(db_url: str, subject: str) -> int:
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        row = conn.execute("SELECT id FROM user_account WHERE subject = ?", (subject,)).fetchone()
    assert row, subject
    return int(row[0])


def _busy_enterprise(db_url: str, monkeypatch) -> str:
    """Publish a need and leave an unread notice for the demo enterprise; return its name."""
    from sqlmodel import select

    from core.db import reset_engine, session_scope
    from core.models import Enterprise, Loan
    from core.services import directory, needs
    from core.services.notifications import notify

    use_database(monkeypatch, db_url)
    try:
        actor = directory.demo_actor(user_id=_user_id(db_url, SUBJECT))
        needs.publish_need(
            actor=actor, idempotency_key="e2e-home-need-0001",
            need={"amount": Decimal("800000"), "term_months": 12, "purpose": "采购原材料，扩大生产",
                  "max_rate": None, "accepts_collateral": False, "dispatch_limit": 3},
        )
        with session_scope() as s:
            loan = s.exec(select(Loan).where(Loan.enterprise_id == actor.enterprise_id).limit(1)).first()
            notify(s, kind="loan.due_in_3", title_key="loans.notify.due.title", enterprise_id=actor.enterprise_id,
                   params={"loan": loan.id if loan else 1, "seq": 3, "due": "2026-12-01", "amount": "12,345.00",
                           "days": 3},
                   dedupe_key="e2e-home-notice-0001")
            return s.get(Enterprise, actor.enterprise_id).name
    finally:
        reset_engine()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _keep(page, name: str, folder: Path, viewport: str) -> None:
    """Screenshot the whole page at the viewport's width (Streamlit scrolls inside its main block, so the
    window is made as tall as the content for the picture, then set back)."""
    size = VIEWPORTS[viewport]
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height))})
    page.wait_for_timeout(800)  # let the layout settle after a resize
    page.screenshot(path=str(folder / f"{name}.png"))
    page.set_viewport_size(size)
    target = os.environ.get("SAVE_SCREENSHOTS")
    if target:
        keep = (ROOT / target).resolve()
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / f"{name}.png", keep / f"{name}.png")


def test_home_is_the_landing_page_and_fits_desktop_and_phone(signed_in, served_apps, e2e_database, monkeypatch,
                                                              tmp_path):
    name = _busy_enterprise(e2e_database, monkeypatch)
    page = signed_in("enterprise", SUBJECT).page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    main = page.locator('[data-testid="stMain"]')
    heading = main.locator("h1").first
    heading.wait_for(state="visible")
    assert name in heading.inner_text()
    main.get_by_role("link", name="查看全部消息").wait_for(state="visible")  # the last block has rendered
    text = main.inner_text()
    for block in ("待办事项", "为您推荐", "我的融资需求", "我的申请", "还款提醒", "最新消息"):
        assert block in text, block
    assert "紧急" in text and "已逾期" in text  # the overdue repayment is the first to-do
    assert "已推送" in text and "采购原材料" in text  # the need just published, with its institutions
    assert "到期" in text or "应还" in text  # the unread reminder among the latest notices
    assert main.get_by_role("link", name="查看贷款").first.is_visible()  # to-dos link to their pages
    assert page.locator('[data-testid="stException"]').count() == 0
    _keep(page, "enterprise_home_desktop", tmp_path, "desktop")

    page.set_viewport_size(VIEWPORTS["phone"])
    page.goto(served_apps["enterprise"], wait_until="domcontentloaded")
    main.get_by_role("link", name="查看全部消息").wait_for(state="visible")
    assert _fits(page), "the home page must fit a 390 px phone without sideways scrolling"
    _keep(page, "enterprise_home_phone", tmp_path, "phone")

    main.get_by_role("button", name="查看并申请").first.click()
    page.wait_for_url("**/products*")
    main.get_by_text("产品详情").first.wait_for(state="visible")
    assert errors == []
