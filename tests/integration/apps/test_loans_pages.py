"""The loans pages under AppTest with real rows: my loans, the first-loan center (booking), the inbox
(unread first, mark read), the bank's servicing (sign, disburse with a preview; a partial repayment, the form
following the picked loan and its version, an amount above what is owed refused; each tab runs alone) and the
regulator's ledger (filters, export, funnel)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.i18n import translate
from core.models import Appointment, Loan, Notification, Repayment, RepaymentInstallment
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


def _first_installment(loan_id: int) -> tuple[date, Decimal]:
    """The first installment's due date and total (principal and interest) as the schedule stores them."""
    with session_scope() as s:
        first = s.exec(select(RepaymentInstallment).where(RepaymentInstallment.loan_id == loan_id)
                       .order_by(RepaymentInstallment.seq)).first()
        return first.due_date, Decimal(first.principal_due) + Decimal(first.interest_due)


def _amount_input(at: AppTest):
    """The repayment form's amount (its key names the loan and the loan's version)."""
    inputs = [n for n in at.number_input if n.key.startswith("bank_loans_amount_")]
    assert len(inputs) == 1, [n.key for n in at.number_input]
    return inputs[0]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _open_tab(at: AppTest, tab: str) -> AppTest:
    """Open one of the servicing page's tabs (stateful: the server keeps the open tab, only it runs)."""
    at.session_state["bank_loans_tab"] = translate(f"loans.svc.tab.{tab}")
    return at.run()


def test_servicing_signs_disburses_and_records_a_partial_repayment(world):
    app = make_application(world, status=ApplicationStatus.approved)
    at = page(SERVICING, world.officer)
    assert not at.exception
    at.button(key="bank_loans_sign").click().run()
    assert not at.exception and any(f"#{app.id}" in s.value for s in at.success)
    assert at.dataframe  # the schedule preview of the signed contract
    at.button(key="bank_loans_disburse").click().run()
    assert not at.exception and count(Loan) == 1
    assert not [n for n in at.number_input if n.key.startswith("bank_loans_amount_")]  # a hidden tab does not run
    with session_scope() as s:
        loan_id = s.exec(select(Loan.id)).one()
    due, total = _first_installment(loan_id)
    _open_tab(at, "repay")
    assert not at.exception
    assert _amount_input(at).value == float(total)  # the form proposes the first installment in full
    paid = (total * Decimal("0.4")).quantize(Decimal("0.01"))
    remaining = total - paid
    _amount_input(at).set_value(float(paid))
    at.button(key="bank_loans_record").click().run()
    assert not at.exception and count(Repayment) == 1
    with session_scope() as s:
        assert s.exec(select(Repayment.amount)).one() == paid
    assert any(f"已登记还款 ¥{paid:,.2f}" in s.value for s in at.success)
    # Still on the repayments tab, with a fresh form for the loan as it now stands.
    assert at.session_state["bank_loans_tab"] == translate("loans.svc.tab.repay")
    assert _amount_input(at).value == float(remaining)
    assert _metric(at, "下期还款") == due.isoformat()
    assert _metric(at, "下期应还") == f"¥{remaining:,.2f}"
    history = at.dataframe[-1].value  # the history under the schedule
    assert list(history["amount"]) == [paid]
    # A late second submit of the same form (a double click; the loan has moved on) stores nothing more.
    with session_scope() as s:
        version = s.get(Loan, loan_id).version
    at.session_state["bank_loans_repay_sent"] = (loan_id, version - 1)
    at.run()
    assert not at.exception and count(Repayment) == 1


def test_servicing_refuses_more_than_is_owed_and_keeps_the_input(world):
    _loan(world, day=date.today())
    at = _open_tab(page(SERVICING, world.officer), "repay")
    assert not at.exception
    _amount_input(at).set_value(9_999_999.0)
    at.button(key="bank_loans_record").click().run()
    assert not at.exception and count(Repayment) == 0
    assert any("超过尚欠的全部本息" in e.value for e in at.error)
    assert _amount_input(at).value == 9_999_999.0  # the officer corrects it rather than typing it again
    assert not at.success


def test_servicing_form_shows_the_picked_loans_amount(world):
    small = _loan(world, day=date.today())
    big = loans.disburse_loan(actor=world.officer, application_id=make_application(world, amount="480000").id,
                              method="equal_principal", disbursed_on=date.today(), idempotency_key=key())
    at = _open_tab(page(SERVICING, world.officer), "repay")
    shown = at.selectbox(key="bank_loans_loan").value
    other = small.id if shown == big.id else big.id
    at.selectbox(key="bank_loans_loan").set_value(other).run()
    assert not at.exception
    assert _amount_input(at).value == float(_first_installment(other)[1])  # not the previous loan's amount


def test_servicing_portfolio_and_first_loan_tabs(world):
    _loan(world)
    at = _open_tab(page(SERVICING, world.officer), "portfolio")
    assert not at.exception
    assert [m.label for m in at.metric] == [translate(f"loans.bucket.{b}") for b in ("M0", "M1", "M2", "M3+")]
    assert at.get("plotly_chart")
    at = _open_tab(at, "first")
    assert not at.exception
    assert any(translate("loans.svc.first_queue") in m.value for m in at.markdown)
    assert not at.get("plotly_chart")  # the portfolio tab no longer runs


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
