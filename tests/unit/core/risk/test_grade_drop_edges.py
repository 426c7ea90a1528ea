"""The grade-drop rules on frames where nothing compares: no enterprise has two grades yet.

With pandas 3 the text columns keep their ``str`` dtype through ``map`` on an empty frame, and the
notch subtraction used to raise instead of returning no hits.
"""

from __future__ import annotations

import dataclasses

import pytest

from core.risk.evaluate import evaluate
from core.risk.rules import RiskRuleSet, parse_rule_set
from core.services.risk_rules import load_shipped_rule_set
from tests.unit.core.risk.world import AS_OF, event, inputs, score

LIBRARY = parse_rule_set(load_shipped_rule_set())


def _only(rule_type: str) -> RiskRuleSet:
    rules = [dataclasses.replace(r, enabled=True) for r in LIBRARY.rules if r.type == rule_type]
    assert rules, rule_type
    return RiskRuleSet(set_version=1, rules=tuple(rules))


@pytest.mark.parametrize("rule_type", ["tax_grade_drop", "rating_grade_drop"])
@pytest.mark.parametrize("world", [
    pytest.param(lambda: inputs(), id="no-rows"),
    pytest.param(lambda: inputs(gov_records=[event(1, "tax_grade", 400, text="A"), event(2, "tax_grade", 30, text="D")],
                                scores=[score(1, 5, 610.0, "A"), score(2, 9, 420.0, "CCC")]), id="one-grade-each"),
])
def test_a_grade_drop_rule_without_any_pair_of_grades_returns_no_hits(rule_type, world):
    result = evaluate(world(), _only(rule_type), as_of=AS_OF, raise_errors=True)
    assert result.hits.empty
    assert (result.rule_status["status"] == "evaluated").all()


@pytest.mark.parametrize("rule_type, rows", [
    ("tax_grade_drop", {"gov_records": [event(1, "tax_grade", 400, text="A"), event(1, "tax_grade", 30, text="D"),
                                        event(2, "tax_grade", 60, text="B")]}),
    ("rating_grade_drop", {"scores": [score(1, 200, 700.0, "AA"), score(1, 5, 380.0, "CC"), score(2, 9, 420.0, "B")]}),
])
def test_a_grade_drop_still_fires_next_to_enterprises_with_a_single_grade(rule_type, rows):
    result = evaluate(inputs(**rows), _only(rule_type), as_of=AS_OF, raise_errors=True)
    assert set(result.hits["enterprise_id"]) == {1}
