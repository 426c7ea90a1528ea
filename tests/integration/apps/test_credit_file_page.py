"""The bank's credit report page under AppTest with real rows: open a consented report, tabs, disputes, the PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
import streamlit as st
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.models import ConsentGrant, DataAccessLog
from core.models.types import utcnow
from tests.integration.credit_report.conftest import add_grant, build_world, dispute

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "apps/bank/app_pages/credit_file/viewer.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def world(db):
    return build_world()


def page(actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def scopes_logged() -> list[str]:
    with session_scope() as s:
        return [r.scope for r in s.exec(select(DataAccessLog).order_by(DataAccessLog.id))]


def open_report(at: AppTest, purpose: str = "贷前调查") -> AppTest:
    at.text_input(key="bank_file_purpose").input(purpose).run()
    return at.button(key="bank_file_read").click().run()


def test_the_bank_opens_a_consented_report_with_every_section_and_a_pdf_button(world):
    add_grant(world)
    at = page(world.head_officer)
    assert not at.exception
    assert scopes_logged() == []  # rendering the picker reads nothing
    open_report(at)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [t.label for t in at.tabs] == [
        "基本信息",
        "股权结构",
        "政务数据",
        "财务报表",
        "信用评级",
        "融资记录",
    ]
    lines = [e.value for e in at.text]
    assert "法定代表人：欧阳娜娜" in lines and "法定代表人身份证号：130102********1234" in lines
    assert not any("130102199001011234" in line for line in lines)
    assert len(at.get("plotly_chart")) >= 3  # government series and the score trend
    assert [b.proto.label for b in at.get("download_button")].count("下载 PDF") == 1
    at.run()  # a rerun shows the kept report without reading again
    assert scopes_logged() == ["basic", "gov_records", "financials", "credit"]


def test_sections_the_enterprise_did_not_grant_say_not_authorised(world):
    add_grant(world, scopes=["basic"])
    at = open_report(page(world.head_officer, lang="en"))
    assert not at.exception
    notes = [i.value for i in at.info]
    assert sum("Not authorised" in n for n in notes) == 4
    assert scopes_logged() == ["basic"]


def test_disputed_records_show_a_banner_and_a_badge(world):
    add_grant(world)
    dispute(world, "gov_record", world.records["case"])
    at = open_report(page(world.head_officer))
    assert not at.exception
    assert any("1 条记录处于异议处理中" in w.value for w in at.warning)
    assert any("异议处理中" in str(b.proto) for b in at.get("badge")) or any(
        "异议处理中" in str(m.value) for m in at.markdown
    )


def test_without_a_purpose_the_page_shows_a_field_message_and_logs_nothing(world):
    add_grant(world)
    at = page(world.head_officer, lang="en")
    at.button(key="bank_file_read").click().run()
    assert not at.exception
    assert at.error and "purpose" in at.error[0].value
    assert scopes_logged() == []


def test_the_pdf_is_built_and_logged_only_when_downloaded(world, monkeypatch):
    """AppTest runs no media server, so the button's deferred ``data`` callable is captured and called."""
    captured = {}
    original = st.download_button

    def spy(label, data, *args, **kwargs):
        if kwargs.get("key") == "bank_file_pdf":
            captured.update(kwargs, data=data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    grant_id = add_grant(world, scopes=["basic", "credit"])
    open_report(page(world.head_officer))
    assert scopes_logged() == ["basic", "credit"]  # the PDF is not built before it is asked for
    assert captured["file_name"].startswith("信用报告_9113") and captured["file_name"].endswith(".pdf")
    data = captured["data"]()
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "衡水信用报告测试有限公司" in text
    assert scopes_logged() == ["basic", "credit", "report_pdf"]
    with session_scope() as s:
        s.get(ConsentGrant, grant_id).revoked_at = utcnow()
    with pytest.raises(RuntimeError, match="授权"):  # shown by Streamlit as a failed download, no traceback
        captured["data"]()
    assert scopes_logged() == ["basic", "credit", "report_pdf"]
