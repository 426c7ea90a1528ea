"""The rule engine: every v1 rule passes on a valid world and fails on its own broken example."""

from __future__ import annotations

import copy
import json
from datetime import date

import pandas as pd
import pandera.pandas as pa
import pytest

from core.i18n import catalog
from core.models.types import GovSource
from core.quality.mapping import SOURCES
from core.quality.rules import RULE_TYPES, Reference, RuleSetError, parse_rule_set, run_rules
from tests.unit.core.quality.world import AS_OF, BREAKS, PASSES, RULES_V1, baseline, reference

RULE_SET = parse_rule_set(RULES_V1.read_text(encoding="utf-8"))
CODES = [r.code for r in RULE_SET.rules]


def _run(world, codes=None, **kw):
    rs = RULE_SET
    if codes is not None:
        rs = rs.model_copy(update={"rules": [r for r in rs.rules if r.code in codes]})
    return run_rules(rs, world, as_of=AS_OF, reference=kw.pop("ref", reference()), raise_errors=True, **kw)


@pytest.fixture(scope="module")
def baseline_run():
    return _run(baseline())


def test_v1_ships_at_least_60_rules_over_every_dimension_and_department():
    assert len(RULE_SET.rules) >= 60
    assert {r.dimension for r in RULE_SET.rules} == {"completeness", "validity", "consistency", "uniqueness",
                                                      "timeliness"}
    assert {r.source for r in RULE_SET.rules} == set(SOURCES)


def test_sources_follow_the_gov_source_enum_plus_finance():
    assert set(SOURCES) == {s.value for s in GovSource} | {"finance"}


def test_every_rule_has_a_failing_example_and_no_stale_examples():
    assert sorted(set(CODES) - set(BREAKS)) == [], "rules without a failing example"
    assert sorted(set(BREAKS) - set(CODES)) == [], "examples for rules that do not exist"


def test_every_rule_message_exists_in_both_languages():
    zh, en = catalog("zh_CN"), catalog("en")
    for rule in RULE_SET.rules:
        assert rule.message_key in zh and rule.message_key in en, rule.code


@pytest.mark.parametrize("code", CODES)
def test_rule_passes_on_the_valid_world(baseline_run, code):
    line = baseline_run.summary.set_index("rule_code").loc[code]
    assert line["status"] == "evaluated", line["reason"]
    assert line["failed"] == 0, baseline_run.failures[baseline_run.failures.rule_code == code].to_string()
    assert line["checked"] > 0


@pytest.mark.parametrize("code", CODES)
def test_rule_fails_on_its_broken_example(code):
    world = copy.deepcopy(baseline())
    BREAKS[code](world)
    result = _run(world, [code])
    line = result.summary.iloc[0]
    assert line["status"] == "evaluated", line["reason"]
    assert line["failed"] >= 1
    failures = result.failures
    assert (failures["rule_code"] == code).all() and len(failures) == line["failed"]
    assert failures["detail"].notna().all() and failures["record_ref"].notna().all()


@pytest.mark.parametrize("code", sorted(PASSES))
def test_rule_passes_on_its_boundary_example(code):
    world = copy.deepcopy(baseline())
    PASSES[code](world)
    line = _run(world, [code]).summary.iloc[0]
    assert line["status"] == "evaluated" and line["failed"] == 0


def test_a_rule_whose_inputs_are_missing_reports_itself_not_evaluated():
    world = baseline()
    world["financial_statement"] = world["financial_statement"].drop(columns="total_equity")
    del world["shareholding"]
    result = _run(world, ref=Reference())
    s = result.summary.set_index("rule_code")
    assert s.loc["FIN-006", "status"] == "not_evaluated" and "total_equity" in s.loc["FIN-006", "reason"]
    assert s.loc["MKT-031", "status"] == "not_evaluated" and "shareholding" in s.loc["MKT-031", "reason"]
    assert s.loc["MKT-008", "status"] == "not_evaluated" and "districts" in s.loc["MKT-008", "reason"]
    assert len(s) == len(CODES)  # every rule has a line, none vanished


def test_disabled_rules_are_listed_as_disabled_not_dropped():
    rs = RULE_SET.with_enabled({"MKT-013": False})
    world = baseline()
    BREAKS["MKT-013"](world)
    result = run_rules(rs, world, as_of=AS_OF, reference=reference())
    line = result.summary.set_index("rule_code").loc["MKT-013"]
    assert line["status"] == "disabled" and line["failed"] == 0
    assert "MKT-013" not in set(result.failures["rule_code"])
    with pytest.raises(RuleSetError):
        RULE_SET.with_enabled({"NOPE-001": False})


def test_an_exception_inside_a_rule_is_reported_as_error_not_swallowed():
    broken = Reference(divisions=42)  # not a mapping: the section/division rule cannot run
    result = run_rules(RULE_SET, baseline(), as_of=AS_OF, reference=broken)
    line = result.summary.set_index("rule_code").loc["MKT-011"]
    assert line["status"] == "error" and "TypeError" in line["reason"]
    with pytest.raises(TypeError):
        run_rules(RULE_SET, baseline(), as_of=AS_OF, reference=broken, raise_errors=True)


def test_pandera_global_switches_cannot_skip_a_check():
    from pandera.config import ValidationDepth, config_context

    world = baseline()
    BREAKS["MKT-013"](world)
    schema = pa.DataFrameSchema({"employees": pa.Column(float, pa.Check.ge(0), nullable=True)})
    with config_context(validation_enabled=False, validation_depth=ValidationDepth.SCHEMA_ONLY):
        # schema validation under these switches reports nothing: why checks.py calls Check directly
        schema.validate(world["enterprise"][["employees"]].astype(float))
        assert _run(world, ["MKT-013"]).summary.iloc[0]["failed"] == 1


def _raw():
    return json.loads(RULES_V1.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["rules"][0].update(type="no_such_type"), "unknown type"),
    (lambda d: d["rules"][1].update(code=d["rules"][0]["code"]), "duplicate code"),
    (lambda d: d["rules"][12]["params"].update(min=5, max=1), "min is greater than max"),
    (lambda d: d["rules"][12]["params"].update(bogus=1), "bogus"),
    (lambda d: d["rules"][12]["params"].pop("column"), "column"),
    (lambda d: d["rules"][0].update(dimension="beauty"), "dimension"),
    (lambda d: d["rules"][0].update(source="weather"), "source"),
    (lambda d: d["rules"][6]["params"].update(regex="(unclosed"), "regex does not compile"),
    (lambda d: d["rules"][10].update(table="financial_statement"), "applies to enterprise"),
    (lambda d: d["rules"][7]["params"].update(values=["x"]), "exactly one of values or reference"),
])
def test_rule_set_loader_rejects_bad_config_with_a_clear_message(mutate, expected):
    data = _raw()
    mutate(data)
    with pytest.raises(RuleSetError) as info:
        parse_rule_set(data)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_rule_set_loader_reports_every_problem_at_once():
    data = _raw()
    data["rules"][0]["type"] = "no_such_type"
    data["rules"][12]["params"]["min"] = "lots"
    with pytest.raises(RuleSetError) as info:
        parse_rule_set(data)
    assert len(info.value.problems) >= 2


def test_every_rule_type_is_used_by_v1():
    assert {r.type for r in RULE_SET.rules} == set(RULE_TYPES)


@pytest.fixture(scope="module")
def demo_frames():
    from core.seed.generator import MONEY_COLUMNS, DemoGenerator

    gen = DemoGenerator("small", 7)
    gen.static_frames()
    chunks = list(gen.enterprise_chunks())
    frames = {}
    for name in ("enterprise", "shareholding", "gov_record", "financial_statement"):
        df = pd.concat([c[name] for c in chunks], ignore_index=True)
        for col in MONEY_COLUMNS.get(name, ()):
            df[col] = df[col] / 100
        frames[name] = df
    return gen.as_of, frames


def test_all_rules_over_the_small_demo_run_cleanly_with_a_small_failure_rate(demo_frames):
    as_of, frames = demo_frames
    result = run_rules(RULE_SET, frames, as_of=as_of, reference=reference())
    s = result.summary
    assert (s["status"] != "error").all(), s[s["status"] == "error"][["rule_code", "reason"]].to_string()
    # every rule ran on the demo data (statements carry total equity, so FIN-006 runs too) …
    assert s.loc[s["status"] == "not_evaluated", "rule_code"].tolist() == []
    # … and the balance-sheet identity holds for the generated statements
    assert s.loc[s["rule_code"] == "FIN-006", "failed"].item() == 0
    rate = s["failed"].sum() / s["checked"].sum()
    assert 0 < rate < 0.01, rate
    assert s.loc[s["rule_code"] == "MKT-006", "failed"].item() == 0  # the generator's codes are valid


def test_demo_failures_reference_real_enterprises(demo_frames):
    as_of, frames = demo_frames
    result = run_rules(RULE_SET, frames, as_of=as_of, reference=reference())
    ids = result.failures["enterprise_id"].dropna()
    assert ids.isin(frames["enterprise"]["id"]).all()
    assert result.as_of == as_of and isinstance(result.as_of, date)
