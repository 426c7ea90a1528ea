"""Every reason code the rating can emit has a plain-words reason and an action, in both languages."""

from __future__ import annotations

import re

import pytest

from core.i18n import catalog, translate
from core.scoring.features import FEATURES
from core.services.scoring import indicator_system


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_every_feature_has_a_reason_and_an_action(locale):
    messages = catalog(locale)
    for name in FEATURES:
        code = f"RC.{name.upper()}"
        assert code in messages, code
        action = messages[f"{code}.raise"]
        assert set(re.findall(r"{(\w+)}", action)) == {"from", "to", "grade"}, code


def test_actions_fill_in_their_numbers_and_first_level_names_exist():
    text = translate("RC.SI_ARREARS_24M.raise", "zh_CN", **{"from": 2, "to": 0, "grade": "BBB"})
    assert "补缴" in text and "2" in text and "BBB" in text
    for group in indicator_system().first_level:
        assert translate(f"rating.first_level.{group.code}", "zh_CN") == group.name
        assert translate(f"rating.first_level.{group.code}", "en") == group.name_en
