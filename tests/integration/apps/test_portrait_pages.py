"""The credit portrait, "my data" and the operator's dispute desk under AppTest, with real rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.models import CreditScore, GovRecord, RecordDispute, ScoringModel
from core.models.types import GovSource, Grade, ModelStatus, OrgKind
from core.services import dispute_answers, disputes
from tests import factories

ROOT = Path(__file__).resolve().parents[3]
PORTRAIT = ROOT / "apps/enterprise/app_pages/credit/portrait.py"
MY_DATA = ROOT / "apps/enterprise/app_pages/credit/my_data.py"
DESK = ROOT / "apps/regulator/app_pages/data/disputes.py"
pytestmark = pytest.mark.slow


def _breakdown(sub: dict[str, float]) -> dict:
    return {
        "status": "ok",
        "sub": sub,
        "reasons": [
            {"code": "RC.TAX_GRADE_SCORE", "feature": "tax_grade_score", "value": 2.0, "points_lost": 31.5},
            {"code": "RC.DEBT_RATIO", "feature": "debt_ratio", "value": 0.71, "points_lost": 12.0},
        ],
        "raise": {"feature": "debt_ratio", "from": 0.71, "to": 0.55, "score": 812.0, "grade": "A"},
    }


@pytest.fixture
def firms(db):
    with session_scope() as s:
        rated = factories.enterprise(s, name="衡水画像测试有限公司")
        empty = factories.enterprise(s, name="衡水无数据测试有限公司")
        rated_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=rated.id)
        empty_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=empty.id)
        operator_org = factories.institution(s, kind=OrgKind.operator, name="平台运营")
        rated_user = factories.user(s, rated_org, ["enterprise_admin"])
        empty_user = factories.user(s, empty_org, ["enterprise_user"])
        operator_user = factories.user(s, operator_org, ["operator"])
        model = ScoringModel(name="衡水小微评分卡", model_version="1.0", status=ModelStatus.approved)
        s.add(model)
        s.flush()
        sub = {"OPS": 72.0, "TAX": 55.0, "PERF": 90.0, "LEGAL": 100.0, "FIN": 48.0, "BASIC": 66.0}
        for as_of, score, grade in [(date(2026, 1, 1), 742, Grade.BBB), (date(2026, 2, 1), 768, Grade.BBB),
                                    (date(2026, 3, 1), 781, Grade.BBB)]:
            s.add(CreditScore(enterprise_id=rated.id, model_id=model.id, score=score, grade=grade, pd=0.021,
                              breakdown=_breakdown(sub), reason_codes=["RC.TAX_GRADE_SCORE", "RC.DEBT_RATIO"],
                              as_of=as_of))
        tax = GovRecord(enterprise_id=rated.id, source=GovSource.tax, kind="tax_paid", period=date(2026, 1, 1),
                        value=12000.0)
        court = GovRecord(enterprise_id=rated.id, source=GovSource.judicial, kind="judicial_case",
                          period=date(2025, 9, 1), ref="(2025)冀1102民初123号", text="买卖合同纠纷")
        s.add_all([tax, court])
        s.flush()
        return {
            "rated": Actor(rated_user.id, "rated", frozenset({"enterprise_admin"}), rated_org.id, rated.id),
            "empty": Actor(empty_user.id, "empty", frozenset({"enterprise_user"}), empty_org.id, empty.id),
            "operator": Actor(operator_user.id, "op", frozenset({"operator"}), operator_org.id),
            "tax_id": tax.id,
            "court_id": court.id,
        }


def page(path: Path, actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(path), default_timeout=60)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def charts_of(at: AppTest) -> list[str]:
    """The Plotly trace types on the page (gauge → indicator, radar → scatterpolar)."""
    import json

    kinds = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        kinds += [trace.get("type", "scatter") for trace in spec["data"]]
    return kinds


def test_a_rated_enterprise_sees_its_gauge_radar_reasons_and_how_to_raise_its_grade(firms):
    at = page(PORTRAIT, firms["rated"])
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert {"indicator", "scatterpolar", "scatter"} <= set(charts_of(at))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["信用等级"] == "BBB" and metrics["信用评分"] == "781"
    text = " ".join(m.value for m in at.markdown)
    assert "纳税信用等级不高" in text and "负债占资产的比例偏高" in text  # reason codes in plain words
    assert "每 48 家" in text  # PD 2.1 % in words
    hint = at.success[0].value
    assert "71.0%" in hint and "55.0%" in hint and "A" in hint and "812" in hint


def test_the_portrait_in_english_says_the_same_in_english(firms):
    at = page(PORTRAIT, firms["rated"], lang="en")
    assert not at.exception
    assert [s.value for s in at.subheader] == ["What lowers your score", "How to raise your grade",
                                               "Compared with peers"]


def test_an_enterprise_without_data_is_told_what_is_missing_and_how_to_supply_it(firms):
    at = page(PORTRAIT, firms["empty"])
    assert not at.exception and not at.error
    assert at.warning and "数据不足" in at.warning[0].value
    text = " ".join(m.value for m in at.markdown)
    assert "年度财务报表" in text and "纳税数据" in text
    assert "indicator" not in charts_of(at)


def test_my_data_shows_records_by_source_and_the_dispute_form_submits_once(firms):
    at = page(MY_DATA, firms["rated"])
    assert not at.exception and not at.error, [e.value for e in at.exception]
    at.selectbox(key="ent_mydata_pick_tax").select(firms["tax_id"]).run()
    # Form fields: typed, then sent together by the submit button.
    at.text_area(key=f"ent_mydata_reason_gov_record_{firms['tax_id']}").input("1月实际纳税15000元，请更正")
    at.text_input(key=f"ent_mydata_proposed_gov_record_{firms['tax_id']}").input("15000")
    at.button(key=f"ent_mydata_submit_gov_record_{firms['tax_id']}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "异议" in at.success[0].value
    with session_scope() as s:
        rows = list(s.exec(select(RecordDispute)))
    assert [(r.record_id, r.status, r.proposed_value) for r in rows] == [(firms["tax_id"], "open", "15000")]
    at.run()
    tables = [d.value for d in at.dataframe]
    assert any(table.astype(str).apply(lambda col: col.str.contains("异议处理中")).any().any() for table in tables)


def test_a_short_reason_is_shown_next_to_the_field_and_nothing_is_stored(firms):
    at = page(MY_DATA, firms["rated"], lang="en")
    at.selectbox(key="ent_mydata_pick_judicial").select(firms["court_id"]).run()
    at.text_area(key=f"ent_mydata_reason_gov_record_{firms['court_id']}").input("bad")
    at.button(key=f"ent_mydata_submit_gov_record_{firms['court_id']}").click().run()
    assert not at.exception
    assert at.error and "5–1000" in at.error[0].value
    with session_scope() as s:
        assert list(s.exec(select(RecordDispute))) == []


def test_the_operator_answers_a_dispute_from_the_desk(firms):
    raised = disputes.raise_dispute(actor=firms["rated"], record_type="gov_record", record_id=firms["tax_id"],
                                    reason="1月实际纳税15000元，请更正", proposed_value="15000",
                                    idempotency_key="desk-page-0001")
    at = page(DESK, firms["operator"])
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert at.metric[0].value == "1"  # open
    at.radio(key=f"reg_disputes_outcome_{raised.id}").set_value("corrected").run()
    at.text_area(key=f"reg_disputes_answer_{raised.id}").input("经税务部门核实，已更正")
    at.button(key=f"reg_disputes_submit_{raised.id}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success
    with session_scope() as s:
        assert s.get(GovRecord, firms["tax_id"]).value == 15000.0
        assert s.get(RecordDispute, raised.id).status == "corrected"


def test_the_desk_refuses_a_stale_answer_with_a_clear_message(firms):
    raised = disputes.raise_dispute(actor=firms["rated"], record_type="gov_record", record_id=firms["tax_id"],
                                    reason="1月实际纳税15000元，请更正", idempotency_key="desk-page-0002")
    at = page(DESK, firms["operator"])
    # Another operator answers while this one is still typing.
    dispute_answers.answer_dispute(actor=firms["operator"], dispute_id=raised.id, outcome="rejected",
                                   answer="数据无误", expected_version=raised.version)
    at.text_area(key=f"reg_disputes_answer_{raised.id}").input("维持原数据")
    at.button(key=f"reg_disputes_submit_{raised.id}").click().run()
    assert not at.exception
    assert at.error and "其他人" in at.error[0].value
    with session_scope() as s:
        assert s.get(RecordDispute, raised.id).answer == "数据无误"
