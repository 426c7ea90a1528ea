"""Issue 6 in a real browser: one enterprise's financing from need to repayment, every step through the UI.

An enterprise publishes a need (desktop) and, in the financial supermarket on a phone, filters to the
product of a bank family that received the need's lead and applies (the consent step is on screen);
the branch officer who got the lead accepts it, accepts the application, opens the credit report and
proposes approval with the full due-diligence checklist; the family's manager approves; the officer
signs the contract, disburses and records a partial repayment of the first installment (the loan page shows
it in the history and the installment's remaining amount); the enterprise sees each step in its timeline and,
on its loan page (phone), the payment and the next due date and amount; a regulator exports the matchmaking
ledger to Excel and finds it. Expected amounts are computed from the schedule the disbursement stored.

The database (a copy of the seeded one, served by the apps) is read with SQLAlchemy before a step to
find ids and users, and after each step to check what the click stored. The browser is driven with locators
(re-resolved at each use, never element handles) and web-first assertions (``expect``), which wait for the
result a click leads to — a message, a value on the page — rather than for a fixed time.
"""

from __future__ import annotations

import io
import time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, VIEWPORTS
from tests.e2e.journey_helpers import (
    STALE,
    Db,
    fits_phone,
    fresh_totp_step,
    grid_rows,
    healthy,
    live,
    money_cell,
    pick,
    poll,
    press,
    shown,
    type_into,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Subjects not used elsewhere in this folder (a TOTP code is accepted once per time step and user).
ENTERPRISE = "demo-enterprise_user-5"  # a first-loan enterprise in 故城县 (131126)
REGULATOR = "demo-regulator_admin-1"
NEED_WAN = 100  # the need and the application: 1,000,000 yuan
SCREENSHOTS = ROOT / "docs" / "screenshots"
TIMINGS: dict[str, float] = {}
RERUN_MS = 60_000  # how long a web-first assertion waits for a page's rerun (a loaded machine is slow)


# -- helpers ------------------------------------------------------------------------------------------


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(400)  # let charts and fonts settle
    page.screenshot(path=str(SCREENSHOTS / f"journey-{name}.png"), full_page=True)


@pytest.fixture
def db(e2e_database) -> Db:
    database = Db(e2e_database)
    yield database
    database.engine.dispose()


@pytest.fixture
def as_user(signed_in, db):
    """``as_user(app, subject, viewport)``: a signed-in page, after waiting for a fresh TOTP step if needed."""

    def open_page(app: str, subject: str, viewport: str = "desktop"):
        fresh_totp_step(db, subject)
        page = signed_in(app, subject, viewport).page
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        return page

    return open_page


def _timed(name: str):
    class Step:
        def __enter__(self):
            self.started = time.perf_counter()

        def __exit__(self, *exc):
            TIMINGS[name] = time.perf_counter() - self.started

    return Step()


# -- the journey -------------------------------------------------------------------------------------


def test_need_application_loan_and_ledger_end_to_end(as_user, served_apps, db):
    started = time.perf_counter()
    enterprise = db.one(
        "SELECT u.id AS user_id, e.id AS enterprise_id, e.name FROM user_account u "
        "JOIN organization o ON o.id = u.organization_id JOIN enterprise e ON e.id = o.enterprise_id "
        "WHERE u.subject = :s",
        s=ENTERPRISE,
    )
    eid = enterprise["enterprise_id"]
    needs_before = db.value("SELECT COUNT(*) FROM financing_need WHERE enterprise_id = :e", e=eid)

    # 1. The enterprise publishes a need (desktop) and sees the institutions that received it.
    with _timed("enterprise: publish a need"):
        ent = as_user("enterprise", ENTERPRISE, "desktop")
        ent.goto(served_apps["enterprise"] + "needs", wait_until="domcontentloaded")
        type_into(ent, "ent_needs_amount", NEED_WAN)
        type_into(ent, "ent_needs_term", 12)
        type_into(ent, "ent_needs_purpose", "采购原材料，扩大生产线")
        slider = ent.locator(".st-key-ent_needs_limit input[type='range']").first
        slider.focus()
        slider.press("End")  # push it to the largest number of institutions
        poll(lambda: slider.input_value() == "10", "the dispatch limit at 10", 15)
        ent.wait_for_timeout(300)
        press(ent, "ent_needs_submit")
        need = poll(
            lambda: db.one("SELECT * FROM financing_need WHERE enterprise_id = :e ORDER BY id DESC", e=eid)
            if db.value("SELECT COUNT(*) FROM financing_need WHERE enterprise_id = :e", e=eid) > needs_before
            else None,
            "the published need",
        )
        assert float(need["amount"]) == NEED_WAN * 10_000 and need["dispatch_limit"] == 10
        # The flash names the need; its expander lists who received it.
        ent.get_by_text(f"#{need['id']}").first.wait_for(state="visible")
        healthy(ent)
        _shot(ent, "enterprise-need-desktop")

    # The lead that reached a branch with a demo officer (a branch in the enterprise's district).
    lead = db.one(
        "SELECT l.id, l.institution_id, l.product_id, o.parent_id, u.subject AS officer FROM lead l "
        "JOIN organization o ON o.id = l.institution_id "
        "JOIN user_account u ON u.organization_id = l.institution_id AND u.subject LIKE 'demo-bank_officer-%' "
        "WHERE l.need_id = :n AND o.parent_id IS NOT NULL ORDER BY l.rank, u.id",
        n=need["id"],
    )
    assert lead is not None, "the need reached no branch with a demo officer"
    manager = db.value(
        "SELECT subject FROM user_account WHERE organization_id = :p AND subject LIKE 'demo-bank_manager-%' "
        "ORDER BY id",
        p=lead["parent_id"],
    )
    product = db.one("SELECT * FROM product WHERE id = :p", p=lead["product_id"])
    assert product["institution_id"] == lead["parent_id"]
    amount_wan = min(max(NEED_WAN, float(product["amount_min"]) / 10_000), float(product["amount_max"]) / 10_000)
    term = max(product["term_min_months"], min(12, product["term_max_months"]))

    # 2. On a phone, the enterprise filters the supermarket down to that product and applies.
    with _timed("enterprise: filter the supermarket and apply (phone)"):
        ent.set_viewport_size(VIEWPORTS["phone"])
        ent.goto(served_apps["enterprise"] + "products", wait_until="domcontentloaded")
        type_into(ent, "ent_market_text", product["name"])
        ent.locator("[data-testid='stExpander'] summary").first.click()  # the folded filters
        type_into(ent, "ent_market_amount", int(amount_wan))
        type_into(ent, "ent_market_term", term)
        detail = ent.locator(live(f"ent_market_detail_{product['id']}") + " button")
        detail.wait_for(state="visible")
        assert ent.locator(f"[class*='st-key-ent_market_detail_']{STALE}").count() <= 8
        detail.click()
        type_into(ent, f"ent_market_apply_amount_{product['id']}", amount_wan)
        type_into(ent, f"ent_market_apply_term_{product['id']}", term)
        consent = ent.get_by_text("可以查阅贵企业的信用档案").first
        consent.wait_for(state="visible")  # the consent step, stated before the button
        assert "365 天" in consent.inner_text()
        assert fits_phone(ent)
        _shot(ent, "enterprise-apply-phone")
        press(ent, f"ent_market_apply_{product['id']}")
        application = poll(
            lambda: db.one(
                "SELECT * FROM application WHERE enterprise_id = :e AND product_id = :p AND status = 'submitted'",
                e=eid, p=product["id"],
            ),
            "the submitted application",
        )
        aid = application["id"]
        ent.get_by_text(f"编号 {aid}").first.wait_for(state="visible")
        assert float(application["amount_requested"]) == amount_wan * 10_000
        assert db.value(
            "SELECT COUNT(*) FROM consent_grant WHERE application_id = :a AND revoked_at IS NULL", a=aid
        ) == 1
        healthy(ent)

    # 3. The branch officer who received the lead accepts it.
    with _timed("officer: accept the lead"):
        bank = as_user("bank", lead["officer"], "desktop")
        bank.goto(served_apps["bank"] + "leads", wait_until="domcontentloaded")
        type_into(bank, f"bank_leads_reason_{lead['id']}", "已电话联系企业负责人，约定上门")
        press(bank, f"bank_leads_accept_{lead['id']}")
        poll(lambda: db.value("SELECT status FROM lead WHERE id = :l", l=lead["id"]) == "responded",
              "the lead accepted")
        healthy(bank)

    # 4. The officer accepts the application, starts due diligence, opens the credit report and proposes.
    review_url = served_apps["bank"] + f"review?application={aid}"

    def status() -> str:
        return db.value("SELECT status FROM application WHERE id = :a", a=aid)

    with _timed("officer: accept, due diligence, credit report, propose"):
        bank.goto(review_url, wait_until="domcontentloaded")
        press(bank, "bank_review_accept")
        poll(lambda: status() == "accepted", "the application accepted")
        type_into(bank, "bank_review_start_note", "已收到营业执照与近两年财报")
        press(bank, "bank_review_start")
        poll(lambda: status() == "due_diligence", "due diligence started")
        bank.get_by_text(f"申请 #{aid} 已进入尽职调查").first.wait_for(state="visible")
        press(bank, "bank_review_report")  # to the credit report, this enterprise preselected
        bank.wait_for_url("**/credit-file*")
        bank.locator(".st-key-bank_file_purpose input").wait_for(state="visible")
        poll(lambda: enterprise["name"] in shown(bank, "bank_file_enterprise"), "the enterprise preselected", 20)
        type_into(bank, "bank_file_purpose", f"贷前调查：申请 #{aid}")
        reads_before = db.value("SELECT COUNT(*) FROM data_access_log WHERE enterprise_id = :e", e=eid)
        press(bank, "bank_file_read")
        bank.locator(".st-key-bank_file_pdf button").first.wait_for(state="visible", timeout=60_000)
        assert db.value("SELECT COUNT(*) FROM data_access_log WHERE enterprise_id = :e", e=eid) > reads_before
        healthy(bank)
        bank.goto(review_url, wait_until="domcontentloaded")
        from core.services.review import CHECKLIST

        for item in CHECKLIST:
            box = bank.locator(f".st-key-bank_review_check_{item} input[type='checkbox']")
            bank.locator(f".st-key-bank_review_check_{item} label").first.click()
            poll(box.is_checked, f"checklist item {item} ticked", 15)
        type_into(bank, "bank_review_note", "经营稳定，纳税记录良好，建议批准")
        _shot(bank, "bank-proposal-desktop")
        press(bank, "bank_review_propose")
        proposal = poll(
            lambda: db.one("SELECT proposed_action, proposal_note FROM application WHERE id = :a AND "
                           "proposed_action IS NOT NULL", a=aid),
            "the officer's proposal",
        )
        assert proposal["proposed_action"] == "approve"  # the service takes an approval only with the full checklist
        assert proposal["proposal_note"] == "经营稳定，纳税记录良好，建议批准"
        healthy(bank)

    # 5. The family's manager approves.
    with _timed("manager: approve"):
        boss = as_user("bank", manager, "desktop")
        boss.goto(review_url, wait_until="domcontentloaded")
        boss.locator(".st-key-bank_review_approve button").wait_for(state="visible")
        _shot(boss, "bank-manager-decision-desktop")
        press(boss, "bank_review_approve")
        poll(lambda: status() == "approved", "the manager's approval")
        healthy(boss)

    # 6. The officer signs the contract, disburses and records a partial repayment of the first installment.
    with _timed("officer: sign, disburse, repay"):
        bank.goto(served_apps["bank"] + "loans", wait_until="domcontentloaded")
        pick(bank, "bank_loans_app", f"#{aid} ")
        press(bank, "bank_loans_sign")
        poll(lambda: status() == "contract_signed", "the signed contract")
        bank.locator(".st-key-bank_loans_disburse button").wait_for(state="visible")
        pick(bank, "bank_loans_app", f"#{aid} ")  # still the same application
        press(bank, "bank_loans_disburse")
        loan = poll(lambda: db.one("SELECT * FROM loan WHERE application_id = :a", a=aid), "the loan")
        assert float(loan["amount"]) == amount_wan * 10_000
        flash = bank.locator(".st-key-bank_loans_flash_slot [data-testid='stAlertContentSuccess']")
        expect(flash).to_contain_text(f"贷款 #{loan['id']} 已发放", timeout=RERUN_MS)
        first = db.one("SELECT * FROM repayment_installment WHERE loan_id = :l ORDER BY seq", l=loan["id"])
        assert first is not None and first["seq"] == 1
        first_total = Decimal(str(first["principal_due"])) + Decimal(str(first["interest_due"]))
        paid = (first_total * Decimal("0.4")).quantize(Decimal("0.01"))  # a partial payment of installment 1
        remaining = first_total - paid
        first_due = str(first["due_date"])[:10]

        repay_tab = bank.get_by_role("tab", name="登记还款")
        repay_tab.click()
        expect(repay_tab).to_have_attribute("aria-selected", "true")
        expect(bank.locator(f"{live('bank_loans_loan')} input")).to_be_visible(timeout=RERUN_MS)
        if f"#{loan['id']} " not in shown(bank, "bank_loans_loan"):  # the newest loan comes first
            pick(bank, "bank_loans_loan", f"#{loan['id']} ")
        # The form belongs to the picked loan (its inputs are keyed by the loan and its version): it proposes that
        # loan's first installment in full. While a rerun replaces the form, the old input lingers, marked stale.
        amount = bank.locator(f"[class*='st-key-bank_loans_amount_']{STALE} input")
        expect(amount).to_have_value(f"{first_total:.2f}", timeout=RERUN_MS)
        amount.fill(f"{paid:.2f}")
        amount.press("Tab")  # commit the value to the form
        record = bank.locator(f"{live('bank_loans_record')} button")
        expect(record).to_be_enabled()
        record.click()
        expect(flash).to_contain_text(f"已登记还款 ¥{paid:,.2f}", timeout=RERUN_MS)
        repayment = db.one("SELECT * FROM repayment WHERE loan_id = :l", l=loan["id"])
        assert repayment is not None and Decimal(str(repayment["amount"])) == paid
        assert db.value("SELECT COUNT(*) FROM repayment WHERE loan_id = :l", l=loan["id"]) == 1
        paid_on = str(repayment["paid_on"])[:10]
        poll(lambda: status() == "repaying", "the application repaying")
        # The loan page after the payment: still on the repayments tab; the first installment is still due,
        # for what remains of it, and the fresh form proposes exactly that.
        expect(repay_tab).to_have_attribute("aria-selected", "true")
        kpis = bank.locator(live("kpi_bank_loans_loan_kpis"))
        expect(kpis).to_contain_text(f"¥{remaining:,.2f}", timeout=RERUN_MS)
        expect(kpis).to_contain_text(first_due)
        expect(amount).to_have_value(f"{remaining:.2f}", timeout=RERUN_MS)
        for title in ("还款计划", "还款记录"):
            bank.locator("[data-testid='stExpander'] summary", has_text=title).click()
        history = bank.locator("[data-testid='stExpander']", has_text="还款记录").locator("[data-testid='stDataFrame']")
        # (the grid draws on a canvas; its accessible table underneath carries the cells' text)
        expect(history.locator("td[role='gridcell']").first).to_have_text(paid_on, timeout=RERUN_MS)
        rows = grid_rows(history)
        assert [(r["还款日"], money_cell(r["金额（元）"])) for r in rows] == [(paid_on, paid)], rows
        schedule = bank.locator("[data-testid='stExpander']", has_text="还款计划").locator("[data-testid='stDataFrame']")
        expect(schedule.locator("td[role='gridcell']").first).to_have_text("1", timeout=RERUN_MS)
        row1 = grid_rows(schedule)[0]
        assert (row1["期次"], row1["到期日"], money_cell(row1["应还合计"]), money_cell(row1["未还"])) == (
            "1", first_due, first_total, remaining), row1
        assert row1["还款日"] in ("", "—"), row1  # partly paid: no paid-on day yet (an empty cell)
        healthy(bank)
        bank.locator("[data-testid='stExpander'] summary", has_text="还款计划").click()  # fold it for the picture
        expect(schedule).to_be_hidden()
        flash.scroll_into_view_if_needed()
        _shot(bank, "bank-repayment-desktop")
        assert bank.js_errors == []

    # 7. The enterprise sees each step in its timeline, and its loan — desktop and phone.
    with _timed("enterprise: timeline and loan (desktop and phone)"):
        for viewport in ("desktop", "phone"):
            ent.set_viewport_size(VIEWPORTS[viewport])
            ent.goto(served_apps["enterprise"] + "my-applications", wait_until="domcontentloaded")
            card = ent.locator("[data-testid='stExpander']", has_text=f"#{aid} ").first
            card.wait_for(state="visible")
            if card.locator("details[open]").count() == 0:
                card.locator("summary").first.click()
            # the expander's body renders after the click: wait for its first step before reading it all
            poll(lambda c=card: "已提交" in c.inner_text(), "the opened timeline", 20)
            timeline = card.inner_text()
            for step in ("已提交", "已受理", "尽职调查", "已批准", "已签约", "已放款", "还款中"):
                assert step in timeline, (step, timeline)
            healthy(ent)
            if viewport == "phone":
                assert fits_phone(ent)
            _shot(ent, f"enterprise-timeline-{viewport}")
        ent.goto(served_apps["enterprise"] + "my-loans", wait_until="domcontentloaded")
        ent.locator(".st-key-ent_loans_pick").wait_for(state="visible")
        poll(lambda: f"#{loan['id']} " in shown(ent, "ent_loans_pick"), "the loan shown", 20)
        # The next due date is still the first installment's, for what remains of it; the payment is listed.
        expect(ent.locator(live("kpi_ent_loans_loan_kpis"))).to_contain_text(f"{first_due} · ¥{remaining:,.2f}",
                                                                               timeout=RERUN_MS)
        history_tab = ent.get_by_role("tab", name="还款记录")
        history_tab.click()
        expect(history_tab).to_have_attribute("aria-selected", "true")
        paid_grid = ent.locator("[data-testid='stTabs'] [data-testid='stDataFrame']").locator("visible=true")
        expect(paid_grid.locator("td[role='gridcell']").first).to_have_text(paid_on, timeout=RERUN_MS)
        rows = grid_rows(paid_grid)
        assert [(r["还款日"], money_cell(r["金额（元）"])) for r in rows] == [(paid_on, paid)], rows
        assert fits_phone(ent)
        healthy(ent)
        paid_grid.scroll_into_view_if_needed()
        _shot(ent, "enterprise-loan-phone")
        assert ent.js_errors == []

    # 8. A regulator finds it in the matchmaking ledger and exports it to Excel.
    with _timed("regulator: ledger and Excel export"):
        reg = as_user("regulator", REGULATOR, "desktop")
        reg.goto(served_apps["regulator"] + "ledger", wait_until="domcontentloaded")
        download_button = reg.locator(".st-key-reg_ledger_table_xlsx button").first
        download_button.wait_for(state="visible", timeout=60_000)
        healthy(reg)
        _shot(reg, "regulator-ledger-desktop")
        with reg.expect_download(timeout=90_000) as info:
            download_button.click()
        download = info.value
        assert download.suggested_filename.endswith(".xlsx")
        import pandas as pd

        exported = pd.read_excel(io.BytesIO(Path(download.path()).read_bytes()))
        ids = pd.to_numeric(exported["application_id"], errors="coerce")
        mine = exported[ids == aid]
        assert len(mine) == 1, exported.head()
        assert enterprise["name"] in mine.to_string()
        assert reg.js_errors == []

    TIMINGS["whole journey"] = time.perf_counter() - started


def teardown_module(module) -> None:
    """Print how long each step took (visible with -s; also kept for the report)."""
    for name, seconds in TIMINGS.items():
        print(f"{name:<55} {seconds:6.1f} s")  # noqa: T201 - a timing report for the terminal
