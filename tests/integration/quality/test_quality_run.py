"""The daily quality run on both databases: issues and scores computed by hand, idempotent re-runs,
resolution, a rule in error, disabled rules, trends and the department report."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest
from sqlmodel import func, select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError
from core.i18n import translate
from core.models import DataQualityIssue, Enterprise, QualityRun, QualityScore
from core.quality import rule_types
from core.services import quality, quality_rules
from tests import factories
from tests.integration.quality import world as w

OPERATOR = factories.actor("operator")
ANALYST = factories.actor("regulator_analyst")


@pytest.fixture
def small(db, tmp_path, monkeypatch):
    monkeypatch.setattr(quality_rules, "SHIPPED_RULE_SET", w.small_rule_set(tmp_path))
    return w.build()


def issues(open_only: bool = False) -> pd.DataFrame:
    with session_scope() as s:
        q = select(DataQualityIssue)
        if open_only:
            q = q.where(DataQualityIssue.resolved_at.is_(None))
        rows = [r.model_dump() for r in s.exec(q)]
    return pd.DataFrame(rows, columns=list(DataQualityIssue.model_fields))


def scores(run_id: str) -> dict[tuple[str, str], float | None]:
    with session_scope() as s:
        return {(r.level, r.key): r.score for r in s.exec(select(QualityScore).where(QualityScore.run_id == run_id))}


def test_the_run_writes_the_expected_issues_and_hand_computed_scores(small):
    run = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    assert (run.rules_evaluated, run.rules_not_evaluated, run.rules_disabled, run.rules_error) == (6, 0, 0, 0)
    found = issues()
    assert sorted(found["rule_code"]) == ["MKT-006", "MKT-023", "MKT-023", "SI-009", "TAX-004"]
    by_rule = found.groupby("rule_code")["enterprise_id"].apply(lambda s: sorted(s.dropna().astype(int)))
    assert by_rule["MKT-006"] == [small.e2] and by_rule["MKT-023"] == [small.e1, small.e3]
    assert by_rule["SI-009"] == [small.e2]
    assert (found["run_id"] == run.run_id).all() and found["resolved_at"].isna().all()
    assert run.issues_found == run.new_issues == 5
    got = scores(run.run_id)
    # market: (5·2/3 + 2·1/3) / 7 = 4/7; social insurance: (2·1/2 + 3·1) / 5; tax: stale → 0
    assert got[("source", "market")] == pytest.approx(57.14)
    assert got[("source", "social_insurance")] == pytest.approx(80.0)
    assert got[("source", "tax")] == pytest.approx(0.0)
    assert got[("source", "finance")] is None  # FIN-002 checked nothing: no score, never a silent 100
    assert got[("dimension", "validity")] == pytest.approx(66.67)
    assert got[("dimension", "timeliness")] == pytest.approx(50.0)
    assert got[("overall", "all")] == pytest.approx(53.33) == run.overall_score  # 8 / 15
    assert got[("rule", "MKT-023")] == pytest.approx(33.33)
    assert got[("source_dimension", "social_insurance|consistency")] == pytest.approx(50.0)


def test_re_running_the_same_day_replaces_the_run_without_duplicate_issues(small):
    first = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    second = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    assert second.run_id != first.run_id
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(QualityRun)).one() == 1
        assert set(s.exec(select(QualityScore.run_id)).all()) == {second.run_id}
    found = issues()
    assert len(found) == 5 and not found.duplicated(["rule_code", "record_ref"]).any()


def test_an_issue_fixed_at_the_source_is_resolved_by_the_next_run(small):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    with session_scope() as s:
        s.get(Enterprise, small.e2).credit_code = small.good_code_for_e2
    nxt = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF + timedelta(days=1))
    assert (nxt.new_issues, nxt.resolved_issues) == (0, 1)
    resolved = issues().dropna(subset=["resolved_at"])
    assert resolved["rule_code"].tolist() == ["MKT-006"]
    assert len(issues(open_only=True)) == 4
    overview = quality.quality_overview(actor=ANALYST)
    market = overview.scores.set_index(["level", "key"]).loc[("source", "market")]
    assert market["score"] == pytest.approx(100 * (5 + 2 / 3) / 7, abs=0.01)
    assert market["direction"] == "up" and market["delta"] > 0
    history = quality.quality_trend(actor=ANALYST, level="overall")
    assert history["as_of"].tolist() == [w.AS_OF, w.AS_OF + timedelta(days=1)]
    # re-running that day again reopens nothing twice and resolves the same issue once
    again = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF + timedelta(days=1))
    assert (again.new_issues, again.resolved_issues) == (0, 1) and len(issues()) == 5


def test_a_rule_that_raises_is_recorded_as_error_and_the_others_complete(small, monkeypatch):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)

    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setitem(rule_types.RULE_TYPES, "unique",
                        rule_types.RuleType(rule_types.UniqueParams, boom))
    run = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF + timedelta(days=1))
    assert (run.rules_evaluated, run.rules_error, run.rules_not_evaluated) == (5, 1, 1)
    with session_scope() as s:
        stored = s.exec(select(QualityRun).where(QualityRun.run_id == run.run_id)).one()
    line = next(r for r in stored.summary["rules"] if r["rule_code"] == "MKT-023")
    assert line["status"] == "error" and "simulated failure" in line["reason"]
    assert scores(run.run_id)[("rule", "MKT-023")] is None
    # the rule did not run, so its earlier findings stay open instead of being silently resolved
    assert (issues(open_only=True)["rule_code"] == "MKT-023").sum() == 2
    assert scores(run.run_id)[("source", "market")] == pytest.approx(100 * 2 / 3, abs=0.01)


def test_a_rule_disabled_in_a_published_version_is_not_evaluated_and_says_so(small):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    draft = quality_rules.create_rule_set_draft(actor=OPERATOR, note="MKT-023 too noisy")
    draft = quality_rules.update_rule_set_draft(actor=OPERATOR, set_version=draft.set_version,
                                                expected_version=draft.version,
                                                changes={"MKT-023": {"enabled": False}})
    quality_rules.publish_rule_set(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version)
    run = quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF + timedelta(days=1))
    assert run.rule_set_version == 2 and run.rules_disabled == 1 and run.rules_evaluated == 5
    rules = quality.quality_overview(actor=ANALYST).rules.set_index("rule_code")
    assert rules.loc["MKT-023", "status"] == "disabled" and pd.isna(rules.loc["MKT-023", "pass_rate"])
    assert rules.loc["MKT-006", "status"] == "evaluated"


def test_issues_are_listed_filtered_and_paged(small):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    page = quality.quality_issues(actor=ANALYST, source="market", page_size=2)
    assert page.total == 3 and len(page.rows) == 2
    assert page.rows["severity"].iloc[0] == "critical"  # most severe first
    assert quality.quality_issues(actor=ANALYST, rule="si-009").rows["credit_code"].notna().all()
    with pytest.raises(InvalidError):
        quality.quality_issues(actor=ANALYST, source="nowhere")


def test_department_report_has_one_readable_row_per_failure(small):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    raw = quality.department_failure_report(actor=ANALYST, source="market", fmt="csv", locale="zh_CN")
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Chinese text correctly
    report = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str)
    assert len(report) == 3
    first = report.iloc[0]  # the critical failure first
    assert first["规则编号"] == "MKT-006" and first["规则说明"] == translate("dq.rule.mkt_006", "zh_CN")
    assert first["字段"] == "credit_code" and first["错误值"] == small.bad_code
    assert first["质量维度"] == translate("dq.dimension.validity", "zh_CN")
    xlsx = quality.department_failure_report(actor=ANALYST, source="market", fmt="xlsx", locale="en")
    english = pd.read_excel(io.BytesIO(xlsx))
    assert len(english) == 3 and "Offending value" in english.columns
    assert set(english["Rule code"]) == {"MKT-006", "MKT-023"}
    with pytest.raises(InvalidError):
        quality.department_failure_report(actor=ANALYST, source="market", fmt="pdf")


def test_runs_go_forward_and_only_quality_managers_run_them(small):
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF)
    with pytest.raises(quality.QualityRunOutOfOrderError) as refused:
        quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF - timedelta(days=1))
    assert "2026-10-31" in refused.value.message("en")
    with pytest.raises(ForbiddenError):
        quality.run_quality_checks(actor=ANALYST, as_of=w.AS_OF)
    assert quality.run_quality_checks(actor=SYSTEM_ACTOR, as_of=w.AS_OF).status == "done"


def test_progress_is_reported_from_load_to_write(small):
    steps = []
    quality.run_quality_checks(actor=OPERATOR, as_of=w.AS_OF, progress=lambda d, t, s: steps.append((d, t, s)))
    assert steps[0][2] == "load" and steps[-1][2] == "write" and steps[-1][0] == steps[-1][1]
    assert [d for d, _, _ in steps] == sorted(d for d, _, _ in steps)
