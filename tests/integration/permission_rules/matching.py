"""Matrix rules for matchmaking (issue 6): recommendations, needs and dispatch, claims, leads, the sweep."""

from __future__ import annotations

from decimal import Decimal

from core.auth import Permission, Role
from core.auth.rules import INSTITUTION_ROLES
from core.db import session_scope
from core.lending.workdays import sla_deadline
from core.models import FinancingNeed, Lead
from core.models.types import NeedStatus, utcnow
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

M = "core.services.matching."
N = "core.services.needs."
NC = "core.services.need_claims."
LS = "core.services.lead_sweep."
L = "core.services.leads."
FAMILY = Rule(None, "own_institution_family")

RULES: dict[str, Rule] = {
    M + "recommend_products": Rule(Permission.products_browse, "own_enterprise"),
    M + "leads_for_product": Rule(Permission.products_manage, "own_institution_family",
                                  note="the white-list source: staff of the product's family"),
    N + "publish_need": Rule(Permission.applications_own, "own_enterprise_act"),
    N + "list_my_needs": Rule(None, "own_enterprise"),
    NC + "claim_need": Rule(Permission.applications_institution, "own_institution_family",
                            note="claims for the actor's own branch or head office only"),
    NC + "claimable_needs": FAMILY,
    LS + "sweep_leads": Rule(Permission.rating_run, "any", note="the operator's scheduled job"),
    L + "lead_inbox": FAMILY,
    L + "respond_to_lead": Rule(Permission.applications_institution, "own_institution_family"),
    L + "workbench_summary": FAMILY,
}


def _org(w: World, scope: str, role: Role) -> int:
    """The organization a staff role acts for (a branch officer: the branch), else the scope's bank."""
    side = w.side(scope)
    return side.org_of(role) if role in INSTITUTION_ROLES else side.bank_id


def _fresh_product(w: World, scope: str, role: Role) -> int:
    with session_scope() as s:
        return factories.product(s, w.institution(scope, role), first_loan_friendly=True).id


def _fresh_need(w: World, scope: str) -> int:
    with session_scope() as s:
        need = FinancingNeed(enterprise_id=w.side(scope).enterprise_id, amount=Decimal("500000"), term_months=12,
                             purpose="矩阵测试需求", status=NeedStatus.published, published_at=utcnow(),
                             idempotency_key=w.unique("matrix-need-"))
        s.add(need)
        s.flush()
        return need.id


def _claimable(w: World, scope: str, role: Role) -> dict:
    """A fresh open need, and a first-loan friendly product of the claiming institution's family."""
    org = _org(w, scope, role)
    with session_scope() as s:
        factories.product(s, org, first_loan_friendly=True)
    return {"need_id": _fresh_need(w, scope), "institution_id": org}


def _fresh_lead(w: World, scope: str, role: Role) -> int:
    need_id = _fresh_need(w, scope)
    now = utcnow()
    with session_scope() as s:
        lead = Lead(need_id=need_id, institution_id=_org(w, scope, role), first_response_due=sla_deadline(now, 2),
                    decision_due=sla_deadline(now, 5), dispatched_at=now)
        s.add(lead)
        s.flush()
        return lead.id


ARGUMENTS: dict[str, Builder] = {
    M + "recommend_products": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    M + "leads_for_product": lambda w, sc, r: {"product_id": _fresh_product(w, sc, r), "k": 10},
    N + "publish_need": lambda w, sc, r: {
        "need": {"amount": Decimal("300000"), "term_months": 12, "purpose": "矩阵测试", "dispatch_limit": 2},
        "idempotency_key": w.unique("matrix-publish-"),
        "enterprise_id": w.side(sc).enterprise_id,
    },
    N + "list_my_needs": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    NC + "claim_need": lambda w, sc, r: _claimable(w, sc, r),
    NC + "claimable_needs": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    LS + "sweep_leads": lambda w, sc, r: {},
    L + "lead_inbox": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    L + "respond_to_lead": lambda w, sc, r: {"lead_id": _fresh_lead(w, sc, r), "accept": True},
    L + "workbench_summary": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
}
