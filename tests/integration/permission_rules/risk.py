"""Matrix rules for the risk early-warning services (issue 7): runs, the dry run, rule-set versions,
signal handling and queues, feedback statistics, large-default cases."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import delete, select

from core.auth import SYSTEM_ACTOR, Permission
from core.db import session_scope
from core.models import Enterprise, LargeDefaultCase, Product, RiskRuleSet, RiskSignal
from core.models.types import ApplicationStatus, utcnow
from core.services import risk_rules
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

R = "core.services.risk."
RD = "core.services.risk_dry_run."
RR = "core.services.risk_rules."
RS = "core.services.risk_signals."
RQ = "core.services.risk_queues."
RP = "core.services.risk_performance."
RC = "core.services.risk_cases."
AS_OF = date(2026, 10, 31)
READ = Rule(Permission.oversight, "any", note="platform-wide early-warning figures, read-only")
MANAGE = Rule(Permission.risk_manage, "any", note="the regulator's rule sets and large-default cases")
HANDLE = Rule(Permission.applications_institution, "own_institution_family",
              note="staff of the signal's institution family handle it; oversight reads only")
_n = itertools.count(1)


def _draft() -> dict:
    """A draft to act on (made by the system actor when none exists): its number and row version."""
    found = [v for v in risk_rules.risk_rule_set_history(actor=SYSTEM_ACTOR) if v.status == "draft"]
    draft = found[0] if found else risk_rules.create_risk_draft(actor=SYSTEM_ACTOR, note="matrix")
    return {"set_version": draft.set_version, "expected_version": draft.version}


def _no_draft() -> dict:
    risk_rules.risk_rule_set_history(actor=SYSTEM_ACTOR)  # publishes v1 on first use
    with session_scope() as s:
        s.execute(delete(RiskRuleSet).where(RiskRuleSet.status == "draft"))
    return {"note": "matrix"}


def _rollbackable() -> dict:
    """The published version's row version, with a superseded one before it to roll back to."""
    versions = risk_rules.risk_rule_set_history(actor=SYSTEM_ACTOR)
    published = next(v for v in versions if v.status == "published")
    if not any(v.status == "superseded" and v.set_version < published.set_version for v in versions):
        published = risk_rules.publish_risk_draft(actor=SYSTEM_ACTOR, **_draft())
    return {"expected_version": published.version}


def _signal(w: World, scope: str, role, status: str = "open", feedback: str | None = None) -> dict:
    """A fresh signal of the scope's enterprise in the institution the case targets."""
    n = next(_n)
    with session_scope() as s:
        row = RiskSignal(enterprise_id=w.side(scope).enterprise_id, institution_id=w.institution(scope, role),
                         rule_code="JUD.DISHONEST_EXECUTEE", rule_version=1, level=8, colour="red",
                         detail={"ref": f"matrix-{n}"}, fingerprint=hashlib.sha256(f"matrix|{n}".encode()).hexdigest(),
                         status=status, feedback=feedback, expires_at=utcnow() + timedelta(days=30))
        s.add(row)
        s.flush()
        return {"signal_id": row.id, "expected_version": row.version}


def _case(w: World, scope: str, status: str = "open") -> dict:
    """A fresh large-default case on a new defaulted loan of the scope's enterprise."""
    side = w.side(scope)
    with session_scope() as s:
        ent = s.get(Enterprise, side.enterprise_id)
        product = s.execute(select(Product).where(Product.institution_id == side.bank_id)).scalars().first()
        app = factories.application(s, ent, product, amount_requested=Decimal("6000000"),
                                    status=ApplicationStatus.defaulted)
        loan = factories.loan(s, app, status="defaulted")
        case = LargeDefaultCase(loan_id=loan.id, enterprise_id=ent.id, institution_id=side.bank_id,
                                amount=Decimal("6000000"), status=status,
                                departments=["tax"] if status != "open" else [])
        s.add(case)
        s.flush()
        return {"case_id": case.id, "expected_version": case.version}


RULES: dict[str, Rule] = {
    R + "run_risk": Rule(Permission.rating_run, "any", note="the operator's scheduled job"),
    R + "bootstrap_demo_risk": Rule(Permission.seed, "any"),
    RD + "dry_run_risk_draft": MANAGE,
    RR + "risk_rule_set_history": READ,
    RR + "risk_rule_table": READ,
    RR + "create_risk_draft": MANAGE,
    RR + "update_risk_draft": MANAGE,
    RR + "publish_risk_draft": MANAGE,
    RR + "rollback_risk_rule_set": MANAGE,
    RR + "discard_risk_draft": MANAGE,
    RS + "acknowledge_signal": HANDLE,
    RS + "start_investigation": HANDLE,
    RS + "give_feedback": HANDLE,
    RS + "close_signal": HANDLE,
    RS + "signal_detail": Rule(None, "own_institution_family"),
    RQ + "institution_signal_queue": Rule(Permission.applications_institution, "own_institution_implicit",
                                          note="reads only the caller's institution family's queue"),
    RQ + "regulator_signals": READ,
    RQ + "signals_by_level_district_industry": READ,
    RP + "rule_performance": READ,
    RQ + "enterprise_warnings": Rule(None, "own_enterprise"),
    RC + "list_cases": READ,
    RC + "case_detail": READ,
    RC + "assign_case": MANAGE,
    RC + "add_case_note": MANAGE,
    RC + "set_case_status": MANAGE,
}

ARGUMENTS: dict[str, Builder] = {
    R + "run_risk": lambda w, sc, r: {"as_of": AS_OF},
    R + "bootstrap_demo_risk": lambda w, sc, r: {"as_of": AS_OF},
    RD + "dry_run_risk_draft": lambda w, sc, r: {"set_version": _draft()["set_version"], "as_of": AS_OF},
    RR + "risk_rule_set_history": lambda w, sc, r: {},
    RR + "risk_rule_table": lambda w, sc, r: {},
    RR + "create_risk_draft": lambda w, sc, r: _no_draft(),
    RR + "update_risk_draft": lambda w, sc, r: {**_draft(), "changes": {"PEN.PENALTY": {"enabled": False}}},
    RR + "publish_risk_draft": lambda w, sc, r: _draft(),
    RR + "rollback_risk_rule_set": lambda w, sc, r: _rollbackable(),
    RR + "discard_risk_draft": lambda w, sc, r: _draft(),
    RS + "acknowledge_signal": lambda w, sc, r: _signal(w, sc, r),
    RS + "start_investigation": lambda w, sc, r: _signal(w, sc, r, "acknowledged"),
    RS + "give_feedback": lambda w, sc, r: {**_signal(w, sc, r, "acknowledged"), "outcome": "true_alarm",
                                            "action_taken": "watch"},
    RS + "close_signal": lambda w, sc, r: _signal(w, sc, r, "investigating", "false_alarm"),
    RS + "signal_detail": lambda w, sc, r: {"signal_id": _signal(w, sc, r)["signal_id"]},
    RQ + "institution_signal_queue": lambda w, sc, r: {},
    RQ + "regulator_signals": lambda w, sc, r: {},
    RQ + "signals_by_level_district_industry": lambda w, sc, r: {},
    RP + "rule_performance": lambda w, sc, r: {},
    RQ + "enterprise_warnings": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    RC + "list_cases": lambda w, sc, r: {},
    RC + "case_detail": lambda w, sc, r: {"case_id": _case(w, sc)["case_id"]},
    RC + "assign_case": lambda w, sc, r: {**_case(w, sc), "departments": ["court"]},
    RC + "add_case_note": lambda w, sc, r: {**_case(w, sc), "text": "矩阵测试记录"},
    RC + "set_case_status": lambda w, sc, r: {**_case(w, sc, "assigned"), "status": "in_progress"},
}
