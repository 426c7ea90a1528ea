"""Rule-set versions on both databases: the shipped set on first use, one draft, validated edits,
optimistic locking, publish, diff and the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ForbiddenError, StaleVersionError
from core.models import AuditEvent, QualityRuleSet
from core.quality.rules import DIMENSIONS
from core.services import quality_rules as qr
from tests import factories

OPERATOR = factories.actor("operator")
ANALYST = factories.actor("regulator_analyst")


def stored(set_version: int) -> QualityRuleSet:
    with session_scope() as s:
        return s.exec(select(QualityRuleSet).where(QualityRuleSet.set_version == set_version)).one()


def rule(doc: dict, code: str) -> dict:
    return next(r for r in doc["rules"] if r["code"] == code)


def test_the_shipped_set_becomes_version_one_published_with_at_least_60_rules_over_every_dimension(db):
    versions = qr.list_rule_sets(actor=ANALYST)
    assert [(v.set_version, v.status) for v in versions] == [(1, "published")]
    detail = qr.rule_set_detail(actor=ANALYST)
    assert len(detail.lines) >= 60 and detail.rules == len(detail.lines)
    assert {line.dimension for line in detail.lines} == set(DIMENSIONS)
    assert len(qr.list_rule_sets(actor=ANALYST)) == 1  # seeded once


def test_draft_edit_and_publish_supersede_the_previous_version(db):
    draft = qr.create_rule_set_draft(actor=OPERATOR, note="tighten credit codes")
    assert (draft.set_version, draft.status) == (2, "draft")
    with pytest.raises(qr.DraftExistsError):
        qr.create_rule_set_draft(actor=OPERATOR)
    edited = qr.update_rule_set_draft(
        actor=OPERATOR, set_version=2, expected_version=draft.version,
        changes={"MKT-005": {"enabled": False},
                 "MKT-016": {"severity": "error", "params": '{"column": "employees", "max": 50000}'}})
    assert edited.version == draft.version + 1 and edited.enabled == edited.rules - 1
    doc = stored(2).rules
    assert rule(doc, "MKT-016")["version"] == 2 and rule(doc, "MKT-016")["params"]["max"] == 50000
    assert rule(doc, "MKT-005")["version"] == 1  # switching off is not a new rule version
    published = qr.publish_rule_set(actor=OPERATOR, set_version=2, expected_version=edited.version)
    assert published.status == "published" and published.published_at is not None
    assert [(v.set_version, v.status) for v in qr.list_rule_sets(actor=ANALYST)] == [(2, "published"),
                                                                                        (1, "superseded")]
    diff = qr.diff_rule_sets(actor=ANALYST, from_version=1, to_version=2).set_index("rule_code")
    assert sorted(diff.index) == ["MKT-005", "MKT-016"]
    assert diff.loc["MKT-005", "fields"] == "enabled"
    assert diff.loc["MKT-016", "fields"] == "severity, params" and diff.loc["MKT-016", "change"] == "changed"
    with session_scope() as s:
        actions = set(s.exec(select(AuditEvent.action)).all())
    assert {"quality.rule_set.draft", "quality.rule_set.edit", "quality.rule_set.publish"} <= actions


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        ({"MKT-013": {"params": {"column": "employees", "min": "many"}}}, qr.RuleEditInvalidError, "MKT-013"),
        ({"MKT-013": {"params": {"column": "employees", "min": 0, "colour": "red"}}}, qr.RuleEditInvalidError,
         "colour"),
        ({"MKT-013": {"params": "{not json"}}, qr.RuleEditInvalidError, "JSON"),
        ({"MKT-013": {"severity": "fatal"}}, qr.RuleEditInvalidError, "severity"),
        ({"MKT-013": {"table": "gov_record"}}, qr.UnknownRuleFieldError, "table"),
        ({"XYZ-999": {"enabled": False}}, qr.UnknownRuleError, "XYZ-999"),
        # one good change and one bad one: neither is stored
        ({"MKT-005": {"enabled": False}, "MKT-016": {"params": {"column": "employees"}}}, qr.RuleEditInvalidError,
         "MKT-016"),
    ],
)
def test_an_invalid_edit_is_refused_with_a_clear_message_and_changes_nothing(db, changes, error, words):
    draft = qr.create_rule_set_draft(actor=OPERATOR)
    before = stored(draft.set_version)
    with pytest.raises(error) as refused:
        qr.update_rule_set_draft(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version,
                                 changes=changes)
    assert words in refused.value.message("en")
    assert refused.value.message("zh_CN") != refused.value.message("en")
    after = stored(draft.set_version)
    assert after.rules == before.rules and after.version == before.version


def test_a_stale_form_is_refused_for_edits_and_publishing(db):
    draft = qr.create_rule_set_draft(actor=OPERATOR)
    qr.update_rule_set_draft(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version,
                             changes={"MKT-005": {"enabled": False}})
    with pytest.raises(StaleVersionError):
        qr.update_rule_set_draft(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version,
                                 changes={"MKT-004": {"enabled": False}})
    with pytest.raises(StaleVersionError):
        qr.publish_rule_set(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version)
    assert stored(draft.set_version).status == "draft" and stored(1).status == "published"
    assert rule(stored(draft.set_version).rules, "MKT-004")["enabled"] is True


def test_only_a_draft_is_edited_and_only_quality_managers_edit(db):
    qr.list_rule_sets(actor=ANALYST)
    with pytest.raises(qr.RuleSetNotDraftError):
        qr.update_rule_set_draft(actor=OPERATOR, set_version=1, expected_version=1,
                                 changes={"MKT-005": {"enabled": False}})
    with pytest.raises(ForbiddenError):
        qr.create_rule_set_draft(actor=ANALYST)
    with pytest.raises(qr.RuleSetNotFoundError):
        qr.rule_set_detail(actor=ANALYST, set_version=9)
    draft = qr.create_rule_set_draft(actor=factories.actor("regulator_admin"))
    qr.discard_rule_set_draft(actor=OPERATOR, set_version=draft.set_version, expected_version=draft.version)
    assert [v.status for v in qr.list_rule_sets(actor=ANALYST)] == ["published"]
