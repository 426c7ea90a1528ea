"""Matrix rules for the risk screens' read side (issue 7): the wall's aggregates and the bank's
post-loan borrower list and ownership network (``core.services.risk_views``)."""

from __future__ import annotations

from core.auth import Permission, Role
from core.db import session_scope
from core.models import Enterprise
from core.models.types import ApplicationStatus, LoanStatus
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

RV = "core.services.risk_views."
FAMILY = Rule(None, "own_institution_family")

RULES: dict[str, Rule] = {
    RV + "risk_map": Rule(Permission.platform_stats, "any", note="aggregates only; no enterprise named"),
    RV + "open_cases_masked": Rule(Permission.platform_stats, "any", note="enterprise names masked"),
    RV + "post_loan_borrowers": FAMILY,
    RV + "borrower_ownership": FAMILY,
}


def _borrower(w: World, scope: str, role: Role) -> int:
    """The side's enterprise, made a borrower of the institution the case targets."""
    with session_scope() as s:
        ent = s.get(Enterprise, w.side(scope).enterprise_id)
        product = factories.product(s, w.institution(scope, role))
        app = factories.application(s, ent, product, status=ApplicationStatus.repaying)
        factories.loan(s, app, status=LoanStatus.active)
        return ent.id


ARGUMENTS: dict[str, Builder] = {
    RV + "risk_map": lambda w, sc, r: {},
    RV + "open_cases_masked": lambda w, sc, r: {},
    RV + "post_loan_borrowers": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    RV + "borrower_ownership": lambda w, sc, r: {
        "institution_id": w.institution(sc, r), "enterprise_id": _borrower(w, sc, r)},
}
