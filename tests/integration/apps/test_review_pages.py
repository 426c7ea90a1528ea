"""The review screens under AppTest with real rows: the enterprise's timeline, upload and withdraw; the bank's
review from acceptance to the manager's decision, with the version-conflict message; the guarantor's queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.models import Application, ApplicationDocument, CreditEnhancement
from core.services import documents, enhancement, review
from tests.integration.review.conftest import proposed, submit, world  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[3]
MY_APPS = ROOT / "apps/enterprise/app_pages/applications/my_applications.py"
REVIEW = ROOT / "apps/bank/app_pages/applications/review.py"
ENHANCEMENT = ROOT / "apps/bank/app_pages/enhancement/requests.py"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
pytestmark = pytest.mark.slow


def page(path: Path, actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def status(application_id: int) -> str:
    with session_scope() as s:
        return str(s.get(Application, application_id).status)


def errors(at: AppTest) -> str:
    return " ".join(e.value for e in at.error)


def test_the_enterprise_sees_its_timeline_and_answers_a_document_request_by_upload(world):  # noqa: F811
    app = submit(world)
    doc = documents.request_document(actor=world.officer, application_id=app.id, note="近 6 个月银行流水")
    at = page(MY_APPS, world.owner)
    assert not at.exception
    assert any("请上传银行要求的材料" in i.value for i in at.info)
    assert "状态变为「已提交」" in " ".join(m.value for m in at.markdown)

    at.file_uploader(key=f"ent_apps_file_{doc.id}").set_value(("statement.pdf", b"<html>x</html>", "application/pdf"))
    at.run()
    at.button(key=f"ent_apps_upload_{doc.id}").click().run()
    assert not at.exception and "PDF、PNG 或 JPEG" in errors(at)
    with session_scope() as s:
        assert s.get(ApplicationDocument, doc.id).content is None

    at.file_uploader(key=f"ent_apps_file_{doc.id}").set_value(("流水.png", PNG, "image/png"))
    at.run()
    at.button(key=f"ent_apps_upload_{doc.id}").click().run()
    assert not at.exception and not at.error, errors(at)
    with session_scope() as s:
        assert s.get(ApplicationDocument, doc.id).content == PNG
    assert any("流水.png" in s.value for s in at.success)


def test_withdrawing_needs_a_confirmation(world):  # noqa: F811
    app = submit(world)
    at = page(MY_APPS, world.owner, lang="en")
    button = at.button(key=f"ent_apps_withdraw_{app.id}")
    assert button.disabled
    at.checkbox(key=f"ent_apps_confirm_{app.id}").check().run()
    at.button(key=f"ent_apps_withdraw_{app.id}").click().run()
    assert not at.exception and not at.error, errors(at)
    assert status(app.id) == "withdrawn"
    assert any(f"#{app.id} withdrawn" in s.value for s in at.success)


def test_a_withdrawal_after_the_bank_moved_is_refused_with_a_reload_message(world):  # noqa: F811
    app = submit(world)
    at = page(MY_APPS, world.owner)
    review.accept_application(actor=world.officer, application_id=app.id, expected_version=app.version)
    at.checkbox(key=f"ent_apps_confirm_{app.id}").check().run()
    at.button(key=f"ent_apps_withdraw_{app.id}").click().run()
    assert not at.exception
    assert any("其他人刚刚修改了这笔申请" in w.value for w in at.warning)
    assert status(app.id) == "accepted"


def test_the_officer_accepts_investigates_and_proposes_then_another_manager_approves(world):  # noqa: F811
    app = submit(world)
    at = page(REVIEW, world.officer)
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="bank_review_accept").click().run()
    assert not at.exception and not at.error, errors(at)
    assert status(app.id) == "accepted"
    at.button(key="bank_review_start").click().run()
    assert status(app.id) == "due_diligence"

    at.button(key="bank_review_propose").click().run()  # the checklist is not done yet
    assert "尽职调查清单" in errors(at)
    for code in review.CHECKLIST:
        at.checkbox(key=f"bank_review_check_{code}").check()
    at.number_input(key="bank_review_amount").set_value(400000.0)
    at.number_input(key="bank_review_rate").set_value(4.35)
    at.text_area(key="bank_review_note").input("经营稳定，流水充足")
    at.button(key="bank_review_propose").click().run()
    assert not at.exception and not at.error, errors(at)
    assert not [b for b in at.button if b.key == "bank_review_approve"]  # an officer does not decide

    mine = page(REVIEW, world.manager)
    assert not mine.exception
    mine.button(key="bank_review_approve").click().run()
    assert not mine.exception and not mine.error, errors(mine)
    assert status(app.id) == "approved"
    with session_scope() as s:
        row = s.get(Application, app.id)
        assert (float(row.approved_amount), float(row.approved_rate)) == (400000.0, 4.35)


def test_a_manager_sees_that_their_own_proposal_needs_someone_else(world):  # noqa: F811
    proposed(world, by=world.manager)
    at = page(REVIEW, world.manager, lang="en")
    assert not at.exception
    assert any("another manager must decide" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "bank_review_approve"]


def test_the_second_manager_is_told_someone_else_changed_it(world):  # noqa: F811
    app = proposed(world)
    first = page(REVIEW, world.manager)
    second = page(REVIEW, world.manager2)
    first.button(key="bank_review_approve").click().run()
    assert status(app.id) == "approved"
    second.button(key="bank_review_reject").click().run()
    assert not second.exception
    assert any("已被他人修改" in w.value for w in second.warning)  # still in view, marked as changed
    assert status(app.id) == "approved"


def test_a_decision_on_a_proposal_that_changed_meanwhile_is_refused_not_overwritten(world):  # noqa: F811
    app = proposed(world)
    at = page(REVIEW, world.manager)
    review.propose_decision(actor=world.officer2, application_id=app.id, expected_version=app.version,
                            action="reject", reason_code="leverage", note="负债率超过 80%")
    at.button(key="bank_review_reject").click().run()
    assert not at.exception
    assert any("其他人刚刚修改了这笔申请" in w.value for w in at.warning)
    assert status(app.id) == "due_diligence"
    at.button(key="bank_review_reload").click().run()
    assert not [w for w in at.warning if "已被他人修改" in w.value]
    assert at.button(key="bank_review_approve").disabled  # the new proposal is to reject


def test_the_guarantor_approves_its_part_from_its_queue(world):  # noqa: F811
    app = proposed(world)
    attached = enhancement.attach_enhancement(actor=world.owner, application_id=app.id,
                                              product_id=world.guarantee_product_id, coverage_pct=80)
    manager = page(REVIEW, world.manager)
    assert manager.button(key="bank_review_approve").disabled  # the provider decides first
    at = page(ENHANCEMENT, world.guarantor)
    assert not at.exception
    at.button(key=f"bank_enh_decline_{attached.id}").click().run()  # declining needs words
    assert "理由" in errors(at)
    at.button(key=f"bank_enh_approve_{attached.id}").click().run()
    assert not at.exception and not at.error, errors(at)
    with session_scope() as s:
        assert s.exec(select(CreditEnhancement.status)).one() == "approved"
    assert at.dataframe  # the decided request moved to the exportable table
    assert not page(REVIEW, world.manager).button(key="bank_review_approve").disabled
