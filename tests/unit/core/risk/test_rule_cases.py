"""Every shipped rule fires on a constructed case and stays silent on its near miss.

Cases are built from each rule's own parameters (so retuning the library keeps the tests meaningful):
the firing case sits just past the threshold, the near miss just short of it (or outside the window).
"""

from __future__ import annotations

import dataclasses

import pytest

from core.enums import GRADE_ORDER
from core.risk.evaluate import evaluate
from core.risk.rule_types import TAX_GRADES
from core.risk.rules import RiskRuleSet, load_shipped_rule_set, parse_rule_set
from tests.unit.core.risk.world import (
    AS_OF,
    application,
    event,
    holding,
    inputs,
    installment,
    loan,
    score,
    series,
)

LIBRARY = parse_rule_set(load_shipped_rule_set())
CODES = [r.code for r in LIBRARY.rules]
HELPERS = ("JUD.DISHONEST_EXECUTEE", "PUB.BLACKLIST", "TAX.ARREARS", "MKT.ABNORMAL_OPERATION", "SI.ARREARS")


def _event_rows(p: dict, eid: int, *, fire: bool) -> list[dict]:
    detail = None
    if p.get("detail_key"):
        if p.get("detail_in"):
            detail = {p["detail_key"]: p["detail_in"][0] if fire else "no-such-value"}
        else:
            detail = {p["detail_key"]: p["detail_at_least"] + (1 if fire else -1)}
    value = (p.get("min_value") or 100) * 2
    n = p.get("min_count", 1)
    if "min_count" in p and not fire:
        n -= 1
    days = 5 if (fire or p.get("detail_key") or "min_count" in p) else p["lookback_days"] + 30
    return [event(eid, p["kind"], days + i, value=value, detail=detail, ref=f"ref-{i}") for i in range(n)]


def _series_rows(p: dict, eid: int, *, fire: bool) -> list[dict]:
    base = max(10 * (p.get("min_base") or 0), 1000.0)
    factor = 1 - p["drop_pct"] / 100 + (-0.05 if fire else 0.05)
    w = p["window_months"]
    values = [base] * 24
    values[-w:] = [base * factor] * w
    if p["compare"] == "yoy":
        values[-w - 12: -12] = [base] * w
    return series(eid, p["series"], values)


def case(code: str, *, fire: bool):
    """(rule set to evaluate, inputs, enterprise expected to carry the rule's signal)."""
    spec = LIBRARY.by_code[code]
    p = spec.params
    t = spec.type
    rules = [spec]
    e = 1
    if t in ("gov_event", "gov_event_count"):
        return rules, inputs(gov_records=_event_rows(p, e, fire=fire)), e
    if t == "series_drop":
        return rules, inputs(gov_records=_series_rows(p, e, fire=fire)), e
    if t in ("tax_grade_drop", "tax_grade_in"):
        if t == "tax_grade_drop":
            latest = TAX_GRADES[p["min_notches"] if fire else p["min_notches"] - 1]
        else:
            latest = p["grades"][0] if fire else "A"
        rows = [event(e, "tax_grade", 800, text="A"), event(e, "tax_grade", 400, text=latest)]
        return rules, inputs(gov_records=rows), e
    if t == "overdue":
        dpd = p["min_days"] + 3 if fire else p["min_days"] - 1
        return rules, inputs(loans=[loan(10, e)], installments=[installment(10, 1, dpd + 30, dpd + 29),
                                                                 installment(10, 2, dpd)]), e
    if t == "overdue_multi_loan":
        k = p["min_loans"] if fire else p["min_loans"] - 1
        loans = [loan(10 + i, e) for i in range(k)]
        inst = [installment(10 + i, 1, p["min_days"] + 2) for i in range(k)]
        return rules, inputs(loans=loans, installments=inst), e
    if t == "late_payments":
        late = p["min_days_late"] + 2 if fire else p["min_days_late"] - 1
        inst = [installment(10, i + 1, 40 + 30 * i + late, 40 + 30 * i) for i in range(p["min_count"])]
        return rules, inputs(loans=[loan(10, e)], installments=inst), e
    if t == "loan_defaulted":
        return rules, inputs(loans=[loan(10, e, defaulted_days_ago=10 if fire else None)]), e
    if t == "application_burst":
        k = max(p["min_count"], p["min_institutions"]) - (0 if fire else 1)
        rows = [application(e, 900 + i, 1 + i) for i in range(k)]
        return rules, inputs(applications=rows), e
    if t == "score_drop":
        drop = p["min_points"] + 5 if fire else p["min_points"] - 5
        return rules, inputs(scores=[score(e, 90, 700, "A"), score(e, 5, 700 - drop, "BBB")]), e
    if t == "rating_grade_drop":
        latest = GRADE_ORDER[p["min_notches"] if fire else p["min_notches"] - 1]
        return rules, inputs(scores=[score(e, 90, 800, "AAA"), score(e, 5, 700, latest)]), e
    if t == "rating_grade_in":
        return rules, inputs(scores=[score(e, 5, 300, p["grades"][0] if fire else "AA")]), e
    if t == "shareholder_exit":
        pct = p["min_pct"] + 5 if fire else max(p["min_pct"] - 5, 0.5)
        rows = [holding(e, 100 - pct, name="Founder"), holding(e, pct, name="Leaver", until_days_ago=10)]
        return rules, inputs(shareholdings=rows), e
    if t == "shareholder_entry":
        since = 10 if fire else p["lookback_days"] + 30
        rows = [holding(e, 60, name="Founder", since_days_ago=3000), holding(e, p["min_pct"] + 5, name="New",
                                                                            since_days_ago=since)]
        return rules, inputs(shareholdings=rows), e
    if t == "circular_holding":
        rows = [holding(2, 60, holder_enterprise=1), holding(1, 10, holder_enterprise=2)]
        if not fire:
            rows = rows[:1]
        return rules, inputs(shareholdings=rows), e
    if t == "multi_category":
        helpers = [LIBRARY.by_code[c] for c in HELPERS]
        assert len({h.category for h in helpers}) >= p["min_categories"]
        k = p["min_categories"] if fire else p["min_categories"] - 1
        rows = [event(e, h.params["kind"], 5) for h in helpers[:k]]
        return [*helpers, spec], inputs(gov_records=rows), e
    if t == "related_party":
        src = LIBRARY.by_code["JUD.DISHONEST_EXECUTEE"]
        assert src.level >= p["min_source_level"]
        pct = p["min_share"] * 100 + 10 if fire else p["min_share"] * 100 - 1
        rows = [holding(2, pct, holder_enterprise=1), holding(2, 100 - pct, name="P")]
        return [src, spec], inputs(gov_records=[event(1, "dishonest_executee", 5)], shareholdings=rows), 2
    raise AssertionError(f"no case for rule type {t}")


def _run(code: str, *, fire: bool):
    rules, world, eid = case(code, fire=fire)
    rs = RiskRuleSet(set_version=1, rules=tuple(dataclasses.replace(r, enabled=True) for r in rules))
    res = evaluate(world, rs, as_of=AS_OF, raise_errors=True)
    return res.hits[(res.hits["rule_code"] == code) & (res.hits["enterprise_id"] == eid)], res


@pytest.mark.parametrize("code", CODES)
def test_rule_fires_on_its_case(code):
    hits, _ = _run(code, fire=True)
    assert len(hits) >= 1
    spec = LIBRARY.by_code[code]
    assert (hits["rule_version"] == spec.version).all()
    if spec.type != "related_party":
        assert (hits["level"] == spec.level).all()
    # Detail carries observed facts for the message, never the rule's own thresholds.
    for detail in hits["detail"]:
        assert not set(detail) & set(spec.params), detail


@pytest.mark.parametrize("code", CODES)
def test_rule_stays_silent_on_its_near_miss(code):
    hits, res = _run(code, fire=False)
    assert hits.empty, hits[["rule_code", "fact_key"]]
    assert (res.rule_status["status"] == "evaluated").all()
