"""A bad rule edit on the regulator's rule-sets page reads as a sentence in the user's language — the
rule code, the parameter and its allowed range — never as message keys; the service errors behind it
are localized in both catalogs and nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.db import session_scope
from core.i18n import translate
from core.models import RiskRuleSet
from core.services import risk_rules
from tests import factories

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "apps/regulator/app_pages/risk/rule_sets.py"
RULE = "JUD.NEW_CASE_DEFENDANT"  # lookback_days: an int in 1–1825, 90 shipped
pytestmark = pytest.mark.slow


def _draft_page(lang: str) -> AppTest:
    at = AppTest.from_file(str(RULES), default_timeout=60)
    at.session_state["actor"] = factories.actor("regulator_admin")
    at.session_state["lang"] = lang
    at.run()
    at.button(key="reg_rules_create").click().run()
    at.selectbox(key="reg_rules_code").set_value(RULE).run()
    return at


def _stored_lookback() -> int:
    with session_scope() as s:
        draft = s.exec(select(RiskRuleSet).where(RiskRuleSet.status == "draft")).one()
    return next(r for r in draft.rules["rules"] if r["code"] == RULE)["params"]["lookback_days"]


@pytest.mark.parametrize("lang, words", [
    ("zh_CN", ["规则", "lookback_days", "5000", "1–1825", "未作任何更改"]),
    ("en", ["Rule", "lookback_days", "5000", "1–1825", "nothing was changed"]),
])
def test_an_out_of_range_parameter_is_refused_with_the_rule_the_parameter_and_its_range(db, lang, words):
    risk_rules.risk_rule_set_history(actor=factories.actor("regulator_admin"))  # ships v1
    at = _draft_page(lang)
    at.text_area(key=f"reg_rules_params_{RULE}").input('{"lookback_days": 5000}')
    save = translate("riskui.rules.save", lang)
    next(b for b in at.button if b.label == save).click().run()
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert RULE in error and all(w in error for w in words), error
    assert "risk." not in error  # no message key leaks through
    assert _stored_lookback() == 90


@pytest.mark.parametrize("problem, params", [
    ("params_json", {"reason": "Expecting value"}),
    ("params_object", {}),
    ("level_range", {"value": 9, "min": 1, "max": 8}),
    ("enabled_type", {"value": "yes"}),
])
def test_each_shape_error_of_a_rule_edit_names_the_rule_in_both_languages(problem, params):
    error = risk_rules.RiskRuleInvalidError(problem, field="x", code=RULE, **params)
    for locale in ("zh_CN", "en"):
        text = error.message(locale)
        assert not text.startswith("risk.") and RULE in text, text
        assert all(str(v) in text for v in params.values()), text


@pytest.mark.parametrize("change", [{"params": "[1, 2]"}, {"level": 9}, {"enabled": "yes"}, {"params": "{oops"}])
def test_a_malformed_edit_through_the_service_is_localized_and_changes_nothing(db, change):
    admin = factories.actor("regulator_admin")
    draft = risk_rules.create_risk_draft(actor=admin)
    with pytest.raises(risk_rules.RiskRuleInvalidError) as caught:
        risk_rules.update_risk_draft(actor=admin, set_version=draft.set_version, expected_version=draft.version,
                                     changes={RULE: change})
    for locale in ("zh_CN", "en"):
        assert RULE in caught.value.message(locale) and "risk." not in caught.value.message(locale)
    assert _stored_lookback() == 90
