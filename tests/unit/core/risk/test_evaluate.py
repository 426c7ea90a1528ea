"""The evaluation run: graded hits, failing rules isolated, paused loans, stable fingerprints, propagation."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

import pandas as pd
import pytest

from core.risk.evaluate import HIT_COLUMNS, evaluate, fingerprint
from core.risk.levels import aggregate, colour_of
from core.risk.rules import RiskRuleSet, load_shipped_rule_set, parse_rule_set
from tests.unit.core.risk.world import AS_OF, day, event, holding, inputs, installment, loan

LIBRARY = parse_rule_set(load_shipped_rule_set())


def _set(*codes, **changes):
    rules = []
    for code in codes:
        spec = LIBRARY.by_code[code]
        rules.append(dataclasses.replace(spec, **changes.get(code.replace(".", "_"), {})))
    return RiskRuleSet(set_version=3, rules=tuple(rules))


def _world():
    return inputs(
        gov_records=[event(1, "dishonest_executee", 10, ref="(2026)冀1102执1号"), event(2, "tax_arrears", 20)],
        loans=[loan(10, 1), loan(11, 3, paused_until=day(-30)), loan(12, 4)],
        installments=[installment(10, 1, 95), installment(11, 1, 95), installment(12, 1, 95, 60)],
    )


def test_hits_carry_level_colour_rule_version_and_the_set_version():
    res = evaluate(_world(), _set("JUD.DISHONEST_EXECUTEE", "TAX.ARREARS", "LOAN.OVERDUE_90"), as_of=AS_OF)
    assert list(res.hits.columns) == HIT_COLUMNS
    assert res.set_version == 3
    got = res.hits.set_index("rule_code")
    assert got.loc["JUD.DISHONEST_EXECUTEE", "colour"] == "red"
    assert got.loc["TAX.ARREARS", "level"] == LIBRARY.by_code["TAX.ARREARS"].level
    assert got.loc["LOAN.OVERDUE_90", "loan_id"] == 10
    assert got.loc["LOAN.OVERDUE_90", "detail"]["days_past_due"] == 95
    assert got.loc["JUD.DISHONEST_EXECUTEE", "fact_key"] == "dishonest_executee|2026-06-20|(2026)冀1102执1号"


def test_overdue_rules_skip_a_loan_on_an_agreed_repayment_holiday():
    res = evaluate(_world(), _set("LOAN.OVERDUE_1", "LOAN.OVERDUE_90"), as_of=AS_OF)
    assert set(res.hits["loan_id"]) == {10}  # loan 11 is paused, loan 12 was paid (late) before as_of
    # Once the holiday is over the same loan is overdue again.
    later = evaluate(_world(), _set("LOAN.OVERDUE_1"), as_of=AS_OF + timedelta(days=31))
    assert set(later.hits["loan_id"]) == {10, 11}


def test_a_failing_rule_is_reported_and_the_others_complete():
    def boom(ctx, spec):
        raise RuntimeError("broken source")

    rs = _set("JUD.DISHONEST_EXECUTEE", "TAX.ARREARS")
    broken_type = dataclasses.replace(rs.rules[0].rule_type, evaluate=boom)
    from core.risk import rule_types

    rule_types.RULE_TYPES["__broken"] = broken_type
    try:
        bad = dataclasses.replace(rs.rules[0], code="JUD.BROKEN", type="__broken")
        res = evaluate(_world(), RiskRuleSet(1, (bad, rs.rules[1])), as_of=AS_OF)
    finally:
        del rule_types.RULE_TYPES["__broken"]
    st = res.rule_status.set_index("rule_code")
    assert st.loc["JUD.BROKEN", "status"] == "error"
    assert "broken source" in st.loc["JUD.BROKEN", "error"]
    assert st.loc["TAX.ARREARS", "status"] == "evaluated" and st.loc["TAX.ARREARS", "hits"] == 1
    assert res.hits["rule_code"].tolist() == ["TAX.ARREARS"]


def test_disabled_rules_are_reported_and_raise_nothing():
    rs = _set("JUD.DISHONEST_EXECUTEE", "TAX.ARREARS", TAX_ARREARS={"enabled": False})
    res = evaluate(_world(), rs, as_of=AS_OF)
    assert res.rule_status.set_index("rule_code").loc["TAX.ARREARS", "status"] == "disabled"
    assert "TAX.ARREARS" not in set(res.hits["rule_code"])


def test_fingerprints_are_stable_across_runs_and_days_and_dedupe_repeated_facts():
    rs = _set("JUD.DISHONEST_EXECUTEE", "LOAN.OVERDUE_1")
    a = evaluate(_world(), rs, as_of=AS_OF).hits
    b = evaluate(_world(), rs, as_of=AS_OF + timedelta(days=5)).hits
    assert set(a["fingerprint"]) == set(b["fingerprint"])  # the same facts, seen again later
    row = a[a["rule_code"] == "LOAN.OVERDUE_1"].iloc[0]
    raw = f"1|10|LOAN.OVERDUE_1|{row['fact_key']}"
    assert row["fingerprint"] == hashlib.sha256(raw.encode()).hexdigest() == fingerprint(1, 10, "LOAN.OVERDUE_1",
                                                                                         row["fact_key"])
    # The same record delivered twice is one signal.
    world = _world()
    world.gov_records = pd.concat([world.gov_records, world.gov_records.iloc[[0]]], ignore_index=True)
    assert len(evaluate(world, rs, as_of=AS_OF).hits) == len(a)


def test_only_records_known_by_as_of_are_used():
    world = inputs(gov_records=[event(1, "tax_arrears", 10, received_days_ago=-3)])
    rs = _set("TAX.ARREARS")
    assert evaluate(world, rs, as_of=AS_OF).hits.empty
    assert len(evaluate(world, rs, as_of=AS_OF + timedelta(days=3)).hits) == 1


def test_an_incremental_run_evaluates_only_the_given_enterprises():
    res = evaluate(_world(), _set("JUD.DISHONEST_EXECUTEE", "TAX.ARREARS"), as_of=AS_OF, enterprise_ids=[2])
    assert set(res.hits["enterprise_id"]) == {2}


def _group(*rows):
    return [event(1, "dishonest_executee", 10), *rows]


def test_trouble_propagates_down_a_chain_at_a_lower_level_with_its_source():
    rs = _set("JUD.DISHONEST_EXECUTEE", "GRAPH.RELATED")
    world = inputs(gov_records=_group(), shareholdings=[
        holding(2, 60, holder_enterprise=1), holding(3, 55, holder_enterprise=2), holding(9, 51, name="Someone")])
    res = evaluate(world, rs, as_of=AS_OF)
    src = res.hits[res.hits["rule_code"] == "JUD.DISHONEST_EXECUTEE"].iloc[0]
    rel = res.hits[res.hits["rule_code"] == "GRAPH.RELATED"].set_index("enterprise_id")
    assert set(rel.index) == {2, 3}
    spec = LIBRARY.by_code["GRAPH.RELATED"]
    assert (rel["level"] == min(spec.level, src["level"] - spec.params["level_drop"])).all()
    assert (rel["propagated_from"] == src["fingerprint"]).all()
    assert rel.loc[2, "detail"] == {"source_enterprise_id": 1, "source_rule": "JUD.DISHONEST_EXECUTEE",
                                    "source_level": 8}


def test_propagation_through_a_cycle_terminates_and_never_echoes_back():
    rs = _set("JUD.DISHONEST_EXECUTEE", "GRAPH.RELATED")
    world = inputs(gov_records=_group(), shareholdings=[
        holding(2, 60, holder_enterprise=1), holding(3, 60, holder_enterprise=2), holding(1, 30, holder_enterprise=3)])
    res = evaluate(world, rs, as_of=AS_OF)
    rel = res.hits[res.hits["rule_code"] == "GRAPH.RELATED"]
    assert sorted(rel["enterprise_id"]) == [2, 3]  # not back to 1, and once each


def test_an_incremental_run_still_warns_related_parties_outside_the_set():
    rs = _set("JUD.DISHONEST_EXECUTEE", "GRAPH.RELATED")
    world = inputs(gov_records=_group(), shareholdings=[holding(2, 60, holder_enterprise=1)])
    res = evaluate(world, rs, as_of=AS_OF, enterprise_ids=[1])
    assert set(res.hits.loc[res.hits["rule_code"] == "GRAPH.RELATED", "enterprise_id"]) == {2}


def test_levels_map_to_the_four_colours_and_aggregate_per_enterprise():
    assert [colour_of(x) for x in range(1, 9)] == ["blue", "blue", "yellow", "yellow", "orange", "orange", "red", "red"]
    with pytest.raises(ValueError):
        colour_of(9)
    res = evaluate(_world(), _set("JUD.DISHONEST_EXECUTEE", "LOAN.OVERDUE_1", "LOAN.OVERDUE_90", "TAX.ARREARS"),
                   as_of=AS_OF)
    agg = aggregate(res.hits).set_index("enterprise_id")
    assert agg.loc[1, "max_level"] == 8 and agg.loc[1, "colour"] == "red" and agg.loc[1, "n_signals"] == 3
    assert agg.loc[1, "rule_codes"] == ["JUD.DISHONEST_EXECUTEE", "LOAN.OVERDUE_1", "LOAN.OVERDUE_90"]
    assert aggregate(res.hits.iloc[0:0]).empty
