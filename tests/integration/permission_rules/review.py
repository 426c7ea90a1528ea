"""Matrix rules for issue 6's application lifecycle, maker-checker review, documents and credit enhancement:
enterprises submit, withdraw, upload and attach for themselves; institution staff act on their own family's
applications; managers decide; a provider's staff decide its enhancements; regulators read."""

from __future__ import annotations

from decimal import Decimal

from core.auth import Permission, Role
from core.db import session_scope
from core.models import ApplicationDocument, CreditEnhancement, Enterprise
from core.models.types import ApplicationStatus, ProductType
from core.services.review import CHECKLIST
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

AP = "core.services.applications."
RV = "core.services.review."
DOC = "core.services.documents."
ENH = "core.services.enhancement."
DET = "core.services.application_detail."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32

RULES: dict[str, Rule] = {
    AP + "submit_application": Rule(
        Permission.applications_own, "any", note="an enterprise applies for itself, to any published product"
    ),
    AP + "withdraw_application": Rule(Permission.applications_own, "own_enterprise_act"),
    RV + "accept_application": Rule(Permission.applications_institution, "own_institution_family"),
    RV + "start_due_diligence": Rule(Permission.applications_institution, "own_institution_family"),
    RV + "propose_decision": Rule(Permission.applications_institution, "own_institution_family"),
    RV + "decide_application": Rule(
        Permission.applications_decide, "own_institution_family", note="never on one's own proposal"
    ),
    DOC + "request_document": Rule(Permission.applications_institution, "own_institution_family"),
    DOC + "upload_document": Rule(Permission.applications_own, "own_enterprise_act"),
    DOC + "download_document": Rule(Permission.applications_institution, "own_institution_family"),
    ENH + "attach_enhancement": Rule(Permission.applications_own, "own_enterprise_act"),
    ENH + "attach_enhancement_for_application": Rule(Permission.applications_institution, "own_institution_family"),
    ENH + "decide_enhancement": Rule(
        Permission.applications_institution, "own_institution_family", note="staff of the enhancement's provider"
    ),
    ENH + "enhancement_queue": Rule(None, "own_institution_family"),
    DET + "my_applications": Rule(None, "own_enterprise"),
    DET + "application_review": Rule(None, "own_institution_family"),
}


def _product(session, institution_id: int, kind: ProductType = ProductType.credit_loan):
    return factories.product(session, institution_id, product_type=kind)


def _app(w: World, sc: str, r: Role, status=ApplicationStatus.submitted, *, enterprise_side: bool = False, **fields):
    """A new application of the scope's enterprise: at the role's institution (or the scope's bank)."""
    side = w.side(sc)
    institution = side.bank_id if enterprise_side else w.institution(sc, r)
    with session_scope() as s:
        product = _product(s, institution)
        row = factories.application(s, s.get(Enterprise, side.enterprise_id), product, status=status, **fields)
        return row.id


def _proposed(w: World, sc: str, r: Role) -> int:
    return _app(
        w, sc, r, ApplicationStatus.due_diligence, proposed_action="approve", proposed_amount=Decimal("400000"),
        proposed_rate=Decimal("4.0"), proposed_by_id=w.side(sc).users[Role.bank_officer],
    )


def _document(w: World, sc: str, r: Role, *, uploaded: bool, enterprise_side: bool = False) -> int:
    application_id = _app(w, sc, r, enterprise_side=enterprise_side)
    with session_scope() as s:
        doc = ApplicationDocument(application_id=application_id, request_note="营业执照")
        if uploaded:
            doc.status, doc.filename, doc.content_type, doc.content, doc.size_bytes = (
                "uploaded", "a.png", "image/png", PNG, len(PNG))
        s.add(doc)
        s.flush()
        return doc.id


def _guarantee_product(w: World, sc: str) -> int:
    with session_scope() as s:
        return _product(s, w.side(sc).guarantee_id, ProductType.guarantee_service).id


def _enhancement(w: World, sc: str, r: Role) -> int:
    """A pending enhancement whose provider is the role's institution, on the scope's bank's application."""
    application_id = _app(w, sc, r, enterprise_side=True)
    provider = w.institution(sc, r)
    with session_scope() as s:
        product = _product(s, provider, ProductType.guarantee_service)
        row = CreditEnhancement(application_id=application_id, product_id=product.id, provider_id=provider,
                                coverage_pct=Decimal("80"))
        s.add(row)
        s.flush()
        return row.id


def _submit(w: World, sc: str, r: Role) -> dict:
    with session_scope() as s:
        product_id = _product(s, w.side(sc).bank_id).id
    return {"product_id": product_id, "amount": "500000", "term_months": 12,
            "idempotency_key": w.unique("matrix-application-")}


ARGUMENTS: dict[str, Builder] = {
    AP + "submit_application": _submit,
    AP + "withdraw_application": lambda w, sc, r: {
        "application_id": _app(w, sc, r, enterprise_side=True), "expected_version": 1,
    },
    RV + "accept_application": lambda w, sc, r: {"application_id": _app(w, sc, r), "expected_version": 1},
    RV + "start_due_diligence": lambda w, sc, r: {
        "application_id": _app(w, sc, r, ApplicationStatus.accepted), "expected_version": 1,
    },
    RV + "propose_decision": lambda w, sc, r: {
        "application_id": _app(w, sc, r, ApplicationStatus.due_diligence), "expected_version": 1,
        "action": "approve", "checklist": list(CHECKLIST), "amount": "400000", "rate": "4.0", "term_months": 12,
    },
    RV + "decide_application": lambda w, sc, r: {
        "application_id": _proposed(w, sc, r), "expected_version": 1, "action": "approve",
    },
    DOC + "request_document": lambda w, sc, r: {"application_id": _app(w, sc, r), "note": "近 6 个月银行流水"},
    DOC + "upload_document": lambda w, sc, r: {
        "document_id": _document(w, sc, r, uploaded=False, enterprise_side=True), "filename": "a.png",
        "content": PNG, "declared_type": "image/png",
    },
    DOC + "download_document": lambda w, sc, r: {"document_id": _document(w, sc, r, uploaded=True)},
    ENH + "attach_enhancement": lambda w, sc, r: {
        "application_id": _app(w, sc, r, enterprise_side=True), "product_id": _guarantee_product(w, sc),
        "coverage_pct": 80,
    },
    ENH + "attach_enhancement_for_application": lambda w, sc, r: {
        "application_id": _app(w, sc, r), "product_id": _guarantee_product(w, sc), "coverage_pct": 80,
    },
    ENH + "decide_enhancement": lambda w, sc, r: {
        "enhancement_id": _enhancement(w, sc, r), "approve": True, "expected_version": 1,
    },
    ENH + "enhancement_queue": lambda w, sc, r: {"provider_id": w.institution(sc, r)},
    DET + "my_applications": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    DET + "application_review": lambda w, sc, r: {"application_id": _app(w, sc, r)},
}
