"""The rule library as data: the shipped set, validation that reports every problem, round trips."""

from __future__ import annotations

import copy
import re

import pytest

from core.errors import InvalidError
from core.i18n import catalog, translate
from core.risk.rule_types import RULE_TYPES
from core.risk.rules import (
    CATEGORIES,
    RiskRuleSetError,
    load_shipped_rule_set,
    parse_rule_set,
    rule_set_to_doc,
)

DOC = load_shipped_rule_set()
LIBRARY = parse_rule_set(DOC)


def test_the_shipped_library_has_at_least_40_rules_covering_the_issue():
    assert len(LIBRARY.rules) >= 40
    assert {r.category for r in LIBRARY.rules} >= set(CATEGORIES) - {"public_credit"}
    kinds = {r.params.get("kind") for r in LIBRARY.rules}
    assert kinds >= {"judicial_case", "dishonest_executee", "penalty", "abnormal_operation", "tax_arrears",
                     "si_arrears", "hf_arrears", "utility_arrears", "registration_change", "equity_pledge",
                     "equity_freeze"}
    series = {r.params.get("series") for r in LIBRARY.rules}
    assert series >= {"si_headcount", "electricity_kwh", "water_t", "gas_m3", "tax_paid"}
    overdue_days = sorted(r.params["min_days"] for r in LIBRARY.rules if r.type == "overdue")
    assert overdue_days == [1, 30, 60, 90]
    assert {r.type for r in LIBRARY.rules} == set(RULE_TYPES)
    assert all(1 <= r.level <= 8 and r.ttl_days >= 1 for r in LIBRARY.rules)


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_rule_has_a_name_message_and_clear_text_in_both_languages(locale):
    cat = catalog(locale)
    for r in LIBRARY.rules:
        for key in (f"risk.rule.{r.code}.name", r.message_key, r.clear_key):
            assert key in cat, key
        # The words shown to an enterprise never name a threshold parameter.
        for key in (r.message_key, r.clear_key):
            assert not set(re.findall(r"{(\w+)}", cat[key])) & set(r.params), key


def test_a_round_trip_through_the_document_gives_the_same_set():
    again = parse_rule_set(rule_set_to_doc(LIBRARY))
    assert again == LIBRARY
    assert again.by_code["LOAN.OVERDUE_90"].params["min_days"] == 90


def _bad_doc():
    doc = copy.deepcopy(DOC)
    by = {r["code"]: r for r in doc["rules"]}
    by["LOAN.OVERDUE_30"]["params"]["min_days"] = 0  # out of range
    by["UTL.ELEC_DROP"]["params"]["series"] = "electricity_mwh"  # unknown field
    by["JUD.DISHONEST_EXECUTEE"]["type"] = "lawsuit_magic"  # unknown type
    by["PEN.PENALTY"]["level"] = 9  # level outside 1–8
    by["APP.BURST"]["params"]["colour"] = "red"  # unknown parameter
    doc["rules"].append(copy.deepcopy(by["TAX.ARREARS"]))  # duplicate code
    return doc


def test_every_problem_of_a_bad_document_is_reported_at_once():
    with pytest.raises(RiskRuleSetError) as err:
        parse_rule_set(_bad_doc())
    found = {(p.field, p.key) for p in err.value.problems}
    assert found == {
        ("LOAN.OVERDUE_30.min_days", "risk.rule.error.param_range"),
        ("UTL.ELEC_DROP.series", "risk.rule.error.unknown_field"),
        ("JUD.DISHONEST_EXECUTEE.type", "risk.rule.error.unknown_type"),
        ("PEN.PENALTY.level", "risk.rule.error.level_range"),
        ("APP.BURST.colour", "risk.rule.error.unknown_param"),
        ("TAX.ARREARS.code", "risk.rule.error.duplicate_code"),
    }
    assert isinstance(err.value, InvalidError)
    zh, en = err.value.message("zh_CN"), err.value.message("en")
    assert "6" in zh and "LOAN.OVERDUE_30" in zh and "electricity_mwh" in en
    assert "{" not in zh and "{" not in en


def test_wrong_types_missing_parameters_and_bad_codes_are_refused():
    doc = copy.deepcopy(DOC)
    by = {r["code"]: r for r in doc["rules"]}
    by["LOAN.OVERDUE_60"]["params"]["min_days"] = "sixty"
    del by["SI.ARREARS"]["params"]["kind"]
    by["JUD.REPEATED_CASES"]["params"]["detail_in"] = ["defendant"]
    del by["JUD.REPEATED_CASES"]["params"]["detail_key"]
    by["UTL.GAS_DROP"]["code"] = "gas drop"
    by["TAX.GRADE_D"]["params"]["grades"] = ["Z"]
    with pytest.raises(RiskRuleSetError) as err:
        parse_rule_set(doc)
    keys = {(p.field, p.key) for p in err.value.problems}
    assert ("LOAN.OVERDUE_60.min_days", "risk.rule.error.param_type") in keys
    assert ("SI.ARREARS.kind", "risk.rule.error.param_missing") in keys
    assert ("JUD.REPEATED_CASES.detail_key", "risk.rule.error.param_missing") in keys
    assert ("gas drop.code", "risk.rule.error.bad_code") in keys
    assert ("TAX.GRADE_D.grades", "risk.rule.error.param_choice") in keys


def test_malformed_documents_are_refused_with_a_message():
    for doc in ({}, {"rules": []}, "not json", {"set_version": 0, "rules": DOC["rules"]}):
        with pytest.raises(RiskRuleSetError) as err:
            parse_rule_set(doc)
        assert err.value.problems and err.value.message("en")


def test_error_messages_exist_in_both_languages():
    for key in ("risk.rule.error.param_range", "risk.rule.error.unknown_field", "risk.rule.error.duplicate_code"):
        assert translate(key, "en") != key and translate(key, "zh_CN") != key
