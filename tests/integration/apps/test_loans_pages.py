"""The loans pages under AppTest with real rows: my loans, the first-loan center (booking), the inbox
(unread first, mark read), the bank's servicing (sign, disburse with a preview, record a repayment once)
and the regulator's ledger (filters, export, funnel)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.models import Appointment, Loan, Notification, Repayment
from core.models.types import ApplicationStatus
from core.services import loans
from core.services.loan_sweep import loan_daily_sweep
from tests.integration.loans.conftest import build_world, key, make_application

ROOT = Path(__file__).resolve().parents[3]
MY_LOANS = ROOT / "apps/enterprise/app_pages/loans/my_loans.py"
CENTER = ROOT / "apps/enterprise/app_pages/first_loan/center.py"
INBOX = ROOT / "apps/enterprise/app_pages/notifications/inbox.py"
SERVICING = ROOT / "apps/bank/app_pages/loans/servicing.py"
LEDGER = ROOT / "apps/regulator/app_pages/ledger/ledger.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def world(db):
    return build_world()


def page(path: Path, actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def count(model) -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count(model.id))).one())


def _loan(world, day=date(2026, 1, 15)):
    app = make_application(world)
    return loans.disburse_loan(actor=world.officer, application_id=app.id, method="equal_principal",
                               disbursed_on=day, idempotency_key=key())


def test_my_loans_shows_the_schedule_and_an_overdue_notice(world):
    loan = _loan(world)
    at = page(MY_LOANS, world.owner)
    assert not at.exception and not at.error
    assert at.title[0].value == "我的贷款"
    assert any(f"#{loan.id}" in w.value and "逾期" in w.value for w in at.warning)  # unpaid since February
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 12
    assert not page(MY_LOANS, world.stranger).dataframe  # another enterprise sees none of it
    en = page(MY_LOANS, world.owner, lang="en")
    assert not en.exception and en.title[0].value == "My loans"


def test_first_loan_center_books_a_slot(world):
    at = page(CENTER, world.owner)
    assert not at.exception
    assert "首贷户" in at.success[0].value
    slot = at.pills(key="ent_fl_slot")
    slot.set_value(slot.options[0]).run()
    at.text_input(key="ent_fl_note").input("想了解信用贷").run()
    at.button(key="ent_fl_book").click().run()
    assert not at.exception
    assert count(Appointment) == 1
    assert any("已预约" in s.value for s in at.success)
    with session_scope() as s:
        assert s.exec(select(Appointment)).one().note == "想了解信用贷"


def test_inbox_lists_unread_first_and_marks_read(world):
    _loan(world, day=date(2026, 1, 15))
    loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=date(2026, 2, 16))
    at = page(INBOX, world.owner)
    assert not at.exception
    assert "未读" in at.title[0].value
    before = count(Notification)
    at.button(key="ent_inbox_all").click().run()
    assert not at.exception
    assert at.title[0].value == "消息通知" and count(Notification) == before
    en = page(INBOX, world.owner, lang="en")
    assert "Overdue" in " ".join(m.value for m in en.markdown)  # stored in Chinese, shown in English


def test_servicing_signs_disburses_and_records_one_repayment(world):
    app = make_application(world, status=ApplicationStatus.approved)
    at = page(SERVICING, world.officer)
    assert not at.exception
    at.button(key="bank_loans_sign").click().run()
    assert not at.exception and any(f"#{app.id}" in s.value for s in at.success)
    assert at.dataframe  # the schedule preview of the signed contract
    at.button(key="bank_loans_disburse").click().run()
    assert not at.exception and count(Loan) == 1
    at.number_input(key="bank_loans_amount").set_value(500.0).run()
    submit = at.button(key="FormSubmitter:bank_loans_repay_form-登记还款")
    submit.click().run()
    assert not at.exception and count(Repayment) == 1
    assert any("已登记还款" in s.value for s in at.success)


def test_ledger_page_filters_and_shows_the_funnel(world):
    app = make_application(world, status=ApplicationStatus.approved)
    loans.sign_contract(actor=world.officer, application_id=app.id, expected_version=app.version)
    at = page(LEDGER, world.operator)
    assert not at.exception
    assert at.title[0].value == "银企对接台账"
    assert at.dataframe and len(at.dataframe[0].value) == 1
    assert [b.proto.label for b in at.get("download_button")][:2] == ["下载 CSV", "下载 Excel"]
    at.selectbox(key="reg_ledger_status").select("rejected").run()
    assert not at.exception
    assert not at.dataframe  # nothing was rejected: the table is replaced by "no data"
    refused = page(LEDGER, world.manager)
    assert not refused.exception and not refused.dataframe
