"""Shipped library versions stay comparable, and v2's levels behave as tuned: noisy facts alone stay below
orange, two areas at once turn red, a short dip is not a sustained decline, related parties are yellow."""

from __future__ import annotations

import pytest

from core.risk.evaluate import evaluate
from core.risk.levels import aggregate
from core.risk.rules import (
    SHIPPED_VERSION,
    load_shipped_rule_set,
    parse_rule_set,
    shipped_versions,
)
from tests.unit.core.risk.world import AS_OF, event, holding, inputs, installment, loan, series

VERSIONS = shipped_versions()
LIBRARY = parse_rule_set(load_shipped_rule_set())
ORANGE = 5  # the first level a bank acts on (the backtest's default warning level)


def _max_level(world, eid: int = 1) -> int:
    res = evaluate(world, LIBRARY, as_of=AS_OF, raise_errors=True)
    agg = aggregate(res.hits).set_index("enterprise_id")
    return int(agg.loc[eid, "max_level"]) if eid in agg.index else 0


def _codes(world, eid: int = 1) -> set[str]:
    res = evaluate(world, LIBRARY, as_of=AS_OF, raise_errors=True)
    return set(res.hits.loc[res.hits["enterprise_id"] == eid, "rule_code"])


# ------------------------------------------------------------------ versions

def test_the_default_shipped_library_is_the_newest_version():
    assert VERSIONS[-1] == SHIPPED_VERSION and VERSIONS[0] == 1
    assert load_shipped_rule_set()["set_version"] == SHIPPED_VERSION


@pytest.mark.parametrize("version", VERSIONS)
def test_every_shipped_version_parses_and_numbers_itself_like_its_file(version):
    rule_set = parse_rule_set(load_shipped_rule_set(version))
    assert rule_set.set_version == version and len(rule_set.rules) >= 40


@pytest.mark.parametrize("version", VERSIONS[1:])
def test_later_versions_keep_the_rule_codes_and_change_only_params_levels_and_enabled(version):
    before = parse_rule_set(load_shipped_rule_set(version - 1)).by_code
    after = parse_rule_set(load_shipped_rule_set(version)).by_code
    assert set(after) == set(before)  # codes are stable, so signals and feedback carry over
    for code, rule in after.items():
        old = before[code]
        assert (rule.type, rule.category, rule.message_key, rule.clear_key) == (
            old.type, old.category, old.message_key, old.clear_key), code


@pytest.mark.parametrize("version", VERSIONS)
def test_a_shipped_file_numbers_every_rule_version_1(version):
    # A new installation publishes the shipped file as its first version; the rule-set service numbers
    # every later change of a rule (one above any version that installation has materialized).
    assert {r["version"] for r in load_shipped_rule_set(version)["rules"]} == {1}


def test_an_unknown_shipped_version_is_an_error():
    with pytest.raises(FileNotFoundError):
        load_shipped_rule_set(999)


# ------------------------------------------------------------------ v2 levels

@pytest.mark.parametrize("kind", ["tax_arrears", "hf_arrears", "utility_arrears", "si_arrears", "abnormal_operation"])
def test_one_arrears_notice_or_listing_alone_stays_below_orange(kind):
    assert 0 < _max_level(inputs(gov_records=[event(1, kind, 20)])) < ORANGE


def test_noisy_facts_alone_stay_below_orange():
    big_case = event(1, "judicial_case", 20, value=1_000_000, detail={"role": "defendant", "cause": "买卖合同纠纷"})
    assert "JUD.LARGE_CASE_DEFENDANT" in _codes(inputs(gov_records=[big_case]))
    assert _max_level(inputs(gov_records=[big_case])) < ORANGE
    grades = [event(1, "tax_grade", 800, text="B"), event(1, "tax_grade", 400, text="D")]
    assert {"TAX.GRADE_D", "TAX.GRADE_DROP_SEVERE"} <= _codes(inputs(gov_records=grades))
    assert _max_level(inputs(gov_records=grades)) < ORANGE
    tax = series(1, "tax_paid", [10_000.0] * 21 + [2_000.0] * 3)  # paid tax down 80 % year on year
    assert "TAX.PAID_DROP_SEVERE" in _codes(inputs(gov_records=tax))
    assert _max_level(inputs(gov_records=tax)) < ORANGE


def test_facts_in_two_areas_at_once_turn_the_enterprise_red():
    world = inputs(gov_records=[event(1, "tax_arrears", 20), event(1, "si_arrears", 30)])
    assert "COMBO.TWO_DIMENSIONS" in _codes(world)
    assert _max_level(world) >= 7


def test_a_tax_drop_and_a_tax_grade_are_not_two_areas():
    rows = [*series(1, "tax_paid", [10_000.0] * 21 + [2_000.0] * 3),
            event(1, "tax_grade", 800, text="B"), event(1, "tax_grade", 400, text="D")]
    assert "COMBO.TWO_DIMENSIONS" not in _codes(inputs(gov_records=rows))


def test_a_three_month_dip_in_electricity_is_not_a_sustained_decline():
    values = [1_000.0] * 24
    values[-3:] = [700.0] * 3  # 30 % down for three months, as a healthy firm's temporary dip
    codes = _codes(inputs(gov_records=series(1, "electricity_kwh", values)))
    assert "UTL.ELEC_DROP" in codes and "UTL.ELEC_DROP_SUSTAINED" not in codes
    assert _max_level(inputs(gov_records=series(1, "electricity_kwh", values))) < ORANGE


def test_six_months_of_electricity_well_below_last_year_is_a_sustained_decline():
    values = [1_000.0] * 24
    values[-6:] = [700.0] * 6
    world = inputs(gov_records=series(1, "electricity_kwh", values))
    assert "UTL.ELEC_DROP_SUSTAINED" in _codes(world)
    assert _max_level(world) >= ORANGE


def test_a_seasonal_swing_against_the_previous_half_year_is_not_a_decline():
    # A busy half-year then a quiet one, as every year: the last six months are 25 % below the six before.
    world = inputs(gov_records=series(1, "electricity_kwh", ([1_067.0] * 6 + [800.0] * 6) * 2))
    assert "UTL.ELEC_DROP_SUSTAINED" not in _codes(world)
    # v1 compared with the previous half-year and flagged the season as a decline.
    v1 = parse_rule_set(load_shipped_rule_set(1))
    res = evaluate(world, v1, as_of=AS_OF, raise_errors=True)
    assert "UTL.ELEC_DROP_SUSTAINED" in set(res.hits["rule_code"])


@pytest.mark.parametrize(("days", "fires"), [(5, False), (29, False), (31, True)])
def test_several_loans_overdue_at_once_counts_from_30_days(days, fires):
    world = inputs(loans=[loan(10, 1), loan(11, 1)],
                   installments=[installment(10, 1, days), installment(11, 1, days)])
    assert ("LOAN.MULTI_OVERDUE" in _codes(world)) is fires


def test_trouble_at_a_related_party_alone_is_yellow():
    world = inputs(gov_records=[event(1, "dishonest_executee", 5)],
                   shareholdings=[holding(2, 60, holder_enterprise=1), holding(2, 40, name="P")])
    res = evaluate(world, LIBRARY, as_of=AS_OF, raise_errors=True)
    related = res.hits[res.hits["rule_code"] == "GRAPH.RELATED"]
    assert set(related["enterprise_id"]) == {2}
    assert related["level"].max() < ORANGE
    assert _max_level(world, eid=2) < ORANGE and _max_level(world, eid=1) == 8
