"""The regulator's data-quality console under AppTest with real rows: read-only for analysts; operators
run the checks, open a draft, and see a bad parameter refused without any change."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.models import QualityRuleSet, QualityRun
from core.services import quality
from tests import factories
from tests.integration.quality import world as w

ROOT = Path(__file__).resolve().parents[3]
PAGE = ROOT / "apps/regulator/app_pages/data/quality.py"
pytestmark = pytest.mark.slow


def page(role: str, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["actor"] = Actor(None, f"test:{role}", frozenset({role}), None, None, lang or "zh_CN")
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def runs() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(QualityRun)).one()


def test_analysts_see_scores_and_issues_without_any_action(db):
    w.build()
    quality.run_quality_checks(actor=factories.actor("operator"), as_of=w.AS_OF)
    at = page("regulator_analyst", lang="en")
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = {b.label for b in at.button}
    assert "Run checks now" not in labels and "Create a draft from the published version" not in labels
    assert "Publish the draft" not in labels
    assert {"Score by source department", "Department failure report"} <= {s.value for s in at.subheader}
    assert [m.label for m in at.metric][:2] == ["Overall score", "Open issues"]
    assert {"Download CSV", "Download Excel"} <= {b.label for b in at.get("download_button")}


def test_an_operator_runs_the_checks_from_the_page(db):
    w.build()
    at = page("operator", lang="en")
    assert not at.exception and at.info and "No data-quality check has run yet" in at.info[0].value
    at.button(key="dqc_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "overall score" in at.success[0].value
    assert runs() == 1
    assert at.metric[0].label == "Overall score" and at.metric[0].value != "—"


def test_an_operator_opens_a_draft_and_a_bad_parameter_is_refused(db):
    at = page("operator")
    button(at, "基于已发布版本新建草稿").click().run()
    assert not at.exception and at.success and "第 2 版" in at.success[0].value
    at.selectbox(key="dqc_edit_code").select("MKT-013").run()
    at.text_area(key="dqc_params_MKT-013").input('{"column": "employees", "min": "many"}')
    button(at, "保存规则").click().run()  # a form sends its fields with the submit
    assert not at.exception
    assert at.error and "规则 MKT-013" in at.error[0].value
    with session_scope() as s:
        draft = s.exec(select(QualityRuleSet).where(QualityRuleSet.status == "draft")).one()
    assert next(r for r in draft.rules["rules"] if r["code"] == "MKT-013")["params"]["min"] == 0
