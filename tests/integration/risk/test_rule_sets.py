"""Rule-set versions: first use, draft edits validated (nothing changes on bad input), dry run diff,
publish, roll back, optimistic locking."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import InvalidError, StaleVersionError
from core.models import RiskRule, RiskRuleSet, RiskSignal
from core.risk.rules import SHIPPED_VERSION, RiskRuleSetError, load_shipped_rule_set
from core.services.risk import run_risk
from core.services.risk_dry_run import dry_run_risk_draft
from core.services.risk_rules import (
    RiskDraftExistsError,
    RiskNoPreviousSetError,
    RiskSetNotDraftError,
    RiskUnknownFieldError,
    RiskUnknownRuleError,
    create_risk_draft,
    discard_risk_draft,
    publish_risk_draft,
    risk_rule_set_history,
    risk_rule_table,
    rollback_risk_rule_set,
    update_risk_draft,
)
from tests import factories
from tests.integration.risk.world import AS_OF, build

ADMIN = factories.actor("regulator_admin")


def _rules(set_version: int) -> dict:
    with session_scope() as s:
        row = s.execute(select(RiskRuleSet).where(RiskRuleSet.set_version == set_version)).scalar_one()
        return {r["code"]: r for r in row.rules["rules"]}


def test_first_use_publishes_the_shipped_set_and_materializes_its_rules(db):
    [v1] = risk_rule_set_history(actor=ADMIN)
    assert (v1.set_version, v1.status) == (1, "published") and v1.rules >= 40
    with session_scope() as s:
        rows = s.execute(select(RiskRule)).scalars().all()
    assert len(rows) == v1.rules and all(r.status == "published" and r.rule_version == 1 for r in rows)
    table = risk_rule_table(actor=ADMIN)
    assert len(table) == v1.rules and {"params", "precision", "lead_time_days"} <= set(table.columns)
    # The first version is the shipped library a new installation gets, and its note names that file.
    shipped = load_shipped_rule_set()
    assert v1.note == f"v{SHIPPED_VERSION}.json"
    levels = {r.code: r.level for r in rows}
    assert levels == {r["code"]: r["level"] for r in shipped["rules"]}


def test_a_draft_edit_bumps_the_rule_version_and_publishing_materializes_it(db):
    create_risk_draft(actor=ADMIN, note="放宽罚款阈值")
    with pytest.raises(RiskDraftExistsError):
        create_risk_draft(actor=ADMIN)
    [draft, _] = risk_rule_set_history(actor=ADMIN)
    edited = update_risk_draft(actor=ADMIN, set_version=draft.set_version, expected_version=draft.version,
                               changes={"PEN.LARGE_PENALTY": {"params": {"min_value": 50000}, "level": 5},
                                        "PEN.PENALTY": {"enabled": False}})
    rules = _rules(2)
    assert rules["PEN.LARGE_PENALTY"]["params"]["min_value"] == 50000
    assert (rules["PEN.LARGE_PENALTY"]["version"], rules["PEN.LARGE_PENALTY"]["level"]) == (2, 5)
    assert (rules["PEN.PENALTY"]["version"], rules["PEN.PENALTY"]["enabled"]) == (1, False)  # enabling keeps it
    assert _rules(1)["PEN.LARGE_PENALTY"]["params"]["min_value"] == 30000  # the published one is untouched
    published = publish_risk_draft(actor=ADMIN, set_version=2, expected_version=edited.version)
    assert (published.set_version, published.status) == (2, "published")
    statuses = {v.set_version: v.status for v in risk_rule_set_history(actor=ADMIN)}
    assert statuses == {1: "superseded", 2: "published"}
    with session_scope() as s:
        rows = {(r.code, r.rule_version): r for r in s.execute(select(RiskRule)).scalars()}
    assert rows[("PEN.LARGE_PENALTY", 1)].status == "superseded"
    assert rows[("PEN.LARGE_PENALTY", 2)].status == "published" and rows[("PEN.LARGE_PENALTY", 2)].level == 5
    assert rows[("PEN.PENALTY", 1)].enabled is False


@pytest.mark.parametrize("changes, error", [
    ({"PEN.LARGE_PENALTY": {"params": {"min_value": -5}}}, RiskRuleSetError),  # out of range
    ({"PEN.LARGE_PENALTY": {"params": {"no_such_param": 1}}}, RiskRuleSetError),  # unknown parameter
    ({"JUD.NEW_CASE_DEFENDANT": {"params": {"kind": "no_such_field"}}}, RiskRuleSetError),  # unknown field
    ({"PEN.LARGE_PENALTY": {"level": 9}}, InvalidError),
    ({"PEN.LARGE_PENALTY": {"enabled": "yes"}}, InvalidError),
    ({"PEN.LARGE_PENALTY": {"params": "{not json"}}, InvalidError),
    ({"PEN.LARGE_PENALTY": {"code": "X"}}, RiskUnknownFieldError),
    ({"NO.SUCH_RULE": {"level": 3}}, RiskUnknownRuleError),
])
def test_a_bad_draft_edit_is_refused_with_a_localized_message_and_nothing_changes(db, changes, error):
    draft = create_risk_draft(actor=ADMIN)
    before = _rules(2)
    with pytest.raises(error) as caught:
        update_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version,
                          changes={"PEN.PENALTY": {"enabled": False}, **changes})
    assert caught.value.message("zh_CN") != caught.value.key and caught.value.message("en") != caught.value.key
    assert _rules(2) == before
    [again, _] = risk_rule_set_history(actor=ADMIN)
    assert again.version == draft.version


def test_edits_and_publishing_need_the_version_the_form_showed(db):
    draft = create_risk_draft(actor=ADMIN)
    update_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version, changes={"PEN.PENALTY": {"level": 3}})
    with pytest.raises(StaleVersionError):
        update_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version,
                          changes={"PEN.PENALTY": {"level": 4}})
    with pytest.raises(StaleVersionError):
        publish_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version)
    with pytest.raises(RiskSetNotDraftError):
        update_risk_draft(actor=ADMIN, set_version=1, expected_version=1, changes={})


def test_rollback_publishes_the_previous_version_again_and_new_runs_use_it(db):
    w = build()
    draft = create_risk_draft(actor=ADMIN)
    draft = update_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version,
                              changes={"JUD.DISHONEST_EXECUTEE": {"level": 6}})
    v2 = publish_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version)
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    back = rollback_risk_rule_set(actor=ADMIN, expected_version=v2.version, note="误报太多")
    assert (back.set_version, back.status) == (1, "published")
    statuses = {v.set_version: v.status for v in risk_rule_set_history(actor=ADMIN)}
    assert statuses == {1: "published", 2: "rolled_back"}
    with pytest.raises(RiskNoPreviousSetError):
        rollback_risk_rule_set(actor=ADMIN, expected_version=back.version)
    with session_scope() as s:
        live = {r.code: r.rule_version for r in s.execute(select(RiskRule).where(RiskRule.status == "published"))
                .scalars()}
        [signal] = s.execute(select(RiskSignal).where(RiskSignal.enterprise_id == w.dishonest,
                                                      RiskSignal.rule_code == "JUD.DISHONEST_EXECUTEE")).scalars()
    assert live["JUD.DISHONEST_EXECUTEE"] == 1
    assert (signal.set_version, signal.rule_version, signal.level) == (2, 2, 6)  # raised under v2, says so
    # A later edit of the same rule never reuses version 2 for other parameters.
    draft = create_risk_draft(actor=ADMIN)
    update_risk_draft(actor=ADMIN, set_version=3, expected_version=draft.version,
                      changes={"JUD.DISHONEST_EXECUTEE": {"level": 7}})
    assert _rules(3)["JUD.DISHONEST_EXECUTEE"]["version"] == 3


def test_a_draft_can_be_discarded(db):
    draft = create_risk_draft(actor=ADMIN)
    discard_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version)
    assert [v.set_version for v in risk_rule_set_history(actor=ADMIN)] == [1]


def test_a_dry_run_shows_which_enterprises_the_draft_flags_differently(db):
    w = build()
    draft = create_risk_draft(actor=ADMIN)
    update_risk_draft(actor=ADMIN, set_version=2, expected_version=draft.version, changes={
        "PEN.PENALTY": {"enabled": False},  # the penalised enterprise is no longer flagged
        "JUD.DISHONEST_EXECUTEE": {"level": 6},  # level down for the dishonest one
        "JUD.NEW_CASE_DEFENDANT": {"params": {"detail_in": ["defendant", "plaintiff"]}},  # plaintiff newly flagged
    })
    result = dry_run_risk_draft(actor=ADMIN, set_version=2, as_of=AS_OF)
    changes = dict(zip(result.frame["enterprise_id"], result.frame["change"], strict=True))
    assert changes[w.penalised] == "no_longer_flagged"
    assert changes[w.dishonest] == "level_down"
    assert changes[w.plaintiff] == "newly_flagged"
    assert w.quiet not in changes
    assert (result.newly_flagged, result.no_longer_flagged) == (1, 1) and result.level_changed >= 1
    row = result.frame.set_index("enterprise_id").loc[w.dishonest]
    assert (row["level_before"], row["level_after"]) == (8, 6)
    [stored, _] = risk_rule_set_history(actor=ADMIN)
    assert stored.dry_run["newly_flagged"] == 1 and len(stored.dry_run["rows"]) == len(result.frame)
    assert stored.version == result.version
    with session_scope() as s:
        assert s.execute(select(RiskSignal.id)).first() is None  # a dry run raises nothing
