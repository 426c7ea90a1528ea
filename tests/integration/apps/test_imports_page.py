"""The operator's import page under AppTest: upload and import with a report, send-back files, history, pull."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import Actor, Role
from core.config import get_settings
from core.services import ingestion
from tests.integration.ingestion.helpers import OPERATOR, data_counts, sample

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "apps/regulator/app_pages/data/imports.py"
PREFIX = "ingest_imports_"
pytestmark = pytest.mark.slow


def page(actor: Actor, lang: str | None = None, source: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["actor"] = actor
    if source:
        at.session_state[PREFIX + "source"] = source
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def test_the_operator_uploads_a_file_and_sees_the_report_with_the_rejected_rows(db):
    at = page(OPERATOR)
    assert not at.exception
    assert at.button(key=PREFIX + "run").disabled  # nothing uploaded yet
    assert at.selectbox(key=PREFIX + "source").value == "market_enterprise"  # the register comes first
    at.file_uploader(key=PREFIX + "file").upload("register.csv", sample("market_enterprise_gbk.csv"), "text/csv")
    at.run()
    assert any("register.csv" in c.value for c in at.caption)
    at.button(key=PREFIX + "run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert data_counts()["enterprise"] == 3
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["读取行数"], metrics["新增"], metrics["隔离"], metrics["文件内重复"]) == ("5", "3", "1", "1")
    table = at.dataframe[-1].value  # the history comes first, the rejected rows last
    assert table["行号"].tolist() == [6]
    assert "校验位不正确" in table.loc[0, "原因"] and "不可能成立" in table.loc[0, "原因"]
    assert at.get("download_button")  # the send-back files


def test_a_bad_file_shows_every_problem_in_english_and_writes_nothing(db):
    # AppTest formats options in the test's own (Chinese) session, so the English page's source is preset
    at = page(OPERATOR, lang="en", source="tax_paid")
    at.file_uploader(key=PREFIX + "file").upload("bad.csv", "所属期,备注\n2026-01,x\n".encode(), "text/csv")
    at.run()
    at.button(key=PREFIX + "run").click().run()
    assert not at.exception
    messages = " ".join(e.value for e in at.error) + " ".join(m.value for m in at.markdown)
    assert "nothing was written" in messages and "Unexpected column 备注" in messages
    assert data_counts()["gov_record"] == 0


def test_history_lists_batches_and_shows_a_chosen_report(db):
    first = ingestion.import_department_file(actor=OPERATOR, source="market_enterprise", filename="m.csv",
                                             content=sample("market_enterprise_gbk.csv"))
    again = ingestion.import_department_file(actor=OPERATOR, source="market_enterprise", filename="m.csv",
                                             content=sample("market_enterprise_gbk.csv"))
    at = page(OPERATOR, lang="en")
    assert not at.exception
    assert at.selectbox(key=PREFIX + "batch").value == again.batch_id  # the newest batch is shown
    assert any(f"identical to batch {first.batch_id}" in i.value for i in at.info)
    at.selectbox(key=PREFIX + "batch").select_index(1).run()  # newest first: the first import is second
    assert not at.exception and any(f"batch {first.batch_id}" in s.value for s in at.subheader)


def test_the_pull_button_explains_a_missing_url_and_reports_an_unreachable_feed(db, monkeypatch):
    monkeypatch.delenv("GOV_API_TAX_PAID_URL", raising=False)
    get_settings.cache_clear()
    at = page(OPERATOR, lang="en")
    assert at.button(key=PREFIX + "pull_tax_paid_api").disabled
    assert any("GOV_API_TAX_PAID_URL" in c.value for c in at.caption)
    monkeypatch.setenv("GOV_API_TAX_PAID_URL", "http://127.0.0.1:9/closed")  # nothing listens on the discard port
    monkeypatch.setenv("GOV_API_RETRIES", "0")
    get_settings.cache_clear()
    at = page(OPERATOR, lang="en")
    at.button(key=PREFIX + "pull_tax_paid_api").click().run()
    assert not at.exception
    assert any("is unavailable" in e.value and "Nothing was written" in e.value for e in at.error)


def test_a_person_without_the_import_permission_sees_no_form(db):
    analyst = Actor(user_id=None, label="analyst", roles=frozenset({Role.regulator_analyst.value}))
    at = page(analyst)
    assert not at.exception and at.info and not at.file_uploader
