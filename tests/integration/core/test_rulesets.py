"""The shared versioned rule document (``core.services.rulesets``) behaves the same for both kinds that use
it — data-quality and early-warning rule sets — on both databases: what an edit records, the order
in which a bad change is refused, and the document diff."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from core.models import AuditEvent, QualityRuleSet, RiskRuleSet
from core.services import quality_rules as qr
from core.services import risk_rules as rr
from core.services.rulesets import diff_documents
from tests import factories

OPERATOR = factories.actor("operator")
ADMIN = factories.actor("regulator_admin")

KINDS = {
    # kind: (actor, create draft, update draft, stored table, rule code, field, two values, unknown-rule error)
    "quality": (OPERATOR, qr.create_rule_set_draft, qr.update_rule_set_draft, QualityRuleSet, "MKT-016",
                "severity", ("error", "warning"), qr.UnknownRuleError),
    "risk": (ADMIN, rr.create_risk_draft, rr.update_risk_draft, RiskRuleSet, "PEN.LARGE_PENALTY", "level", (5, 6),
             rr.RiskUnknownRuleError),
}


def _stored_rule(model, set_version: int, code: str) -> dict:
    with session_scope() as s:
        row = s.exec(select(model).where(model.set_version == set_version)).one()
        return next(r for r in row.rules["rules"] if r["code"] == code)


def _last_edit(action: str) -> AuditEvent:
    with session_scope() as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_edit_records_the_old_and_new_value_of_each_changed_field_and_the_new_rule_version(db, kind):
    actor, create, update, model, code, field, values, _ = KINDS[kind]
    draft = create(actor=actor)
    before = _stored_rule(model, draft.set_version, code)
    new = next(v for v in values if v != before[field])
    update(actor=actor, set_version=draft.set_version, expected_version=draft.version, changes={code: {field: new}})
    after = _stored_rule(model, draft.set_version, code)
    assert (after[field], after["version"]) == (new, before["version"] + 1)
    event = _last_edit(f"{kind}.rule_set.edit")
    assert event.after["changed"] == {code: {field: new, "version": before["version"] + 1}}
    assert event.before == {code: {field: before[field], "version": before["version"]}}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_unknown_rule_is_named_before_a_malformed_change_is_looked_at(db, kind):
    actor, create, update, model, code, _, _, unknown_rule = KINDS[kind]
    draft = create(actor=actor)
    before = _stored_rule(model, draft.set_version, code)
    with pytest.raises(unknown_rule) as refused:
        update(actor=actor, set_version=draft.set_version, expected_version=draft.version,
               changes={code: {"enabled": False}, "NO-999": "not a mapping"})
    assert "NO-999" in refused.value.message("en") and "NO-999" in refused.value.message("zh_CN")
    assert _stored_rule(model, draft.set_version, code) == before  # the good change was not stored either


def test_the_document_diff_names_added_removed_and_changed_rules_with_the_changed_fields():
    old = {"rules": [{"code": "A", "level": 1, "params": {"x": 1}}, {"code": "B", "level": 2}]}
    new = {"rules": [{"code": "A", "level": 1, "params": {"x": 2}}, {"code": "C", "level": 3}]}
    diff = diff_documents(old, new, ("level", "params")).set_index("rule_code")
    assert diff["change"].to_dict() == {"A": "changed", "B": "removed", "C": "added"}
    assert diff.loc["A", "fields"] == "params"
    assert diff.loc["A", "before"] == '{"params": {"x": 1}}' and diff.loc["A", "after"] == '{"params": {"x": 2}}'
    assert diff.loc["B", "after"] == "" and '"code": "B"' in diff.loc["B", "before"]
    assert diff_documents(old, old, ("level", "params")).empty
