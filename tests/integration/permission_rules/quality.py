"""Matrix rules for the data-quality services (issue 5): the daily run, its reads, rule-set versions."""

from __future__ import annotations

from datetime import date

from sqlmodel import delete

from core.auth import SYSTEM_ACTOR, Permission
from core.db import session_scope
from core.models import QualityRuleSet
from core.services import quality_rules
from tests.integration.permission_world import Builder, Rule

Q = "core.services.quality."
QR = "core.services.quality_rules."
READ = Rule(Permission.oversight, "any", note="platform-wide data-quality figures, read-only")
MANAGE = Rule(Permission.quality_manage, "any", note="platform-wide rule sets and runs")
AS_OF = date(2026, 10, 31)  # one day for every case: each run replaces the previous one


def _draft() -> dict:
    """A draft to act on (made by the system actor when none exists): its number and row version."""
    found = [v for v in quality_rules.list_rule_sets(actor=SYSTEM_ACTOR) if v.status == "draft"]
    draft = found[0] if found else quality_rules.create_rule_set_draft(actor=SYSTEM_ACTOR, note="matrix")
    return {"set_version": draft.set_version, "expected_version": draft.version}


def _no_draft() -> dict:
    quality_rules.list_rule_sets(actor=SYSTEM_ACTOR)  # seeds the published version on first use
    with session_scope() as s:
        s.exec(delete(QualityRuleSet).where(QualityRuleSet.status == "draft"))
    return {"note": "matrix"}


RULES: dict[str, Rule] = {
    Q + "run_quality_checks": MANAGE,
    Q + "quality_overview": READ,
    Q + "quality_trend": READ,
    Q + "quality_issues": READ,
    Q + "department_failure_report": READ,
    QR + "list_rule_sets": READ,
    QR + "rule_set_detail": READ,
    QR + "diff_rule_sets": READ,
    QR + "create_rule_set_draft": MANAGE,
    QR + "update_rule_set_draft": MANAGE,
    QR + "publish_rule_set": MANAGE,
    QR + "discard_rule_set_draft": MANAGE,
}

ARGUMENTS: dict[str, Builder] = {
    Q + "run_quality_checks": lambda w, sc, r: {"as_of": AS_OF},
    Q + "quality_overview": lambda w, sc, r: {},
    Q + "quality_trend": lambda w, sc, r: {"level": "source"},
    Q + "quality_issues": lambda w, sc, r: {"source": "market"},
    Q + "department_failure_report": lambda w, sc, r: {"source": "market", "fmt": "csv"},
    QR + "list_rule_sets": lambda w, sc, r: {},
    QR + "rule_set_detail": lambda w, sc, r: {},
    QR + "diff_rule_sets": lambda w, sc, r: {"from_version": 1, "to_version": 1},
    QR + "create_rule_set_draft": lambda w, sc, r: _no_draft(),
    QR + "update_rule_set_draft": lambda w, sc, r: {**_draft(), "changes": {"MKT-005": {"enabled": False}}},
    QR + "publish_rule_set": lambda w, sc, r: _draft(),
    QR + "discard_rule_set_draft": lambda w, sc, r: _draft(),
}
