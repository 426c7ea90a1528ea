"""The regulator's rating-models page under AppTest: tables, training, maker-checker approval, comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core.auth import Actor
from core.db import session_scope
from core.i18n import translate
from core.models import ScoringModel
from core.models.types import OrgKind
from tests import factories
from tests.integration.permission_rules.scoring import draft_model, outcome_world

PAGE = Path(__file__).resolve().parents[3] / "apps/regulator/app_pages/models/models.py"
pytestmark = pytest.mark.slow


@pytest.fixture
def people(db):
    with session_scope() as s:
        reg = factories.institution(s, kind=OrgKind.regulator)
        analyst = factories.user(s, reg, ["regulator_analyst"])
        admin = factories.user(s, reg, ["regulator_admin"])
    return {"analyst": Actor(analyst.id, "analyst", frozenset({"regulator_analyst"}), reg.id),
            "admin": Actor(admin.id, "admin", frozenset({"regulator_admin"}), reg.id)}


def page(actor: Actor, lang: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=120)
    at.session_state["actor"] = actor
    if lang:
        at.session_state["lang"] = lang
    return at.run()


def statuses() -> dict[int, str]:
    with session_scope() as s:
        return {m.id: str(getattr(m.status, "value", m.status)) for m in s.exec(select(ScoringModel))}


def test_analyst_trains_sees_versions_but_cannot_approve(people):
    outcome_world()
    at = page(people["analyst"])
    assert not at.exception and not at.error
    assert len(at.tabs) == 4 and at.dataframe  # the indicator-system table
    assert not [b for b in at.button if b.key in ("models_approve", "models_retire", "models_run")]
    at.button(key="models_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.success and "v1" in at.success[0].value
    assert list(statuses().values()) == ["draft"]
    assert not [b for b in at.button if b.key == "models_approve"]  # still hidden after training


def test_admin_approves_and_compares_and_a_stale_version_is_a_clear_message(people):
    first = draft_model(trained_by_id=people["analyst"].user_id)
    second = draft_model(trained_by_id=people["analyst"].user_id)
    at = page(people["admin"])  # Chinese: AppTest formats options outside the run, in the default language
    assert not at.exception and not at.error
    assert at.selectbox(key="models_left") and at.selectbox(key="models_right")  # comparison rendered
    assert any("两个版本对比" in s.value for s in at.subheader)
    at.selectbox(key="models_pick").set_value(first).run()
    # Someone else changes the same draft in the meantime: this page's click is stale.
    with session_scope() as s:
        row = s.get(ScoringModel, first)
        row.metrics = {**row.metrics, "note": "re-validated elsewhere"}
    at.button(key="models_approve").click().run()
    assert not at.exception and at.error and at.error[0].value == translate("error.stale_version")
    assert statuses()[first] == "draft"
    at.selectbox(key="models_pick").set_value(second).run()
    at.button(key="models_approve").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert statuses()[second] == "approved" and at.success
