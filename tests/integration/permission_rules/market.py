"""Matrix rules for products (reads and writes with versions), the financial supermarket and the white-list."""

from __future__ import annotations

from core.auth import Permission, Role
from core.db import session_scope
from core.models.types import ProductStatus
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

P = "core.services.products."
PE = "core.services.product_eligibility."
S = "core.services.supermarket."
W = "core.services.whitelist."
FAMILY = "own_institution_family"

RULES: dict[str, Rule] = {
    P + "list_products": Rule(Permission.products_browse, "institution_family_or_published"),
    PE + "eligible_products_for": Rule(Permission.products_browse, "own_enterprise"),
    P + "create_product": Rule(Permission.products_manage, FAMILY, note="oversight holds no products.manage"),
    P + "update_product": Rule(Permission.products_manage, FAMILY),
    P + "publish_product": Rule(Permission.products_manage, FAMILY),
    P + "withdraw_product": Rule(Permission.products_manage, FAMILY),
    P + "product_history": Rule(Permission.products_manage, FAMILY),
    S + "search_products": Rule(Permission.products_browse, "any", note="the public catalogue"),
    S + "product_detail": Rule(Permission.products_browse, "institution_family_or_published"),
    W + "eligibility_preview": Rule(Permission.products_manage, FAMILY),
    W + "product_whitelist": Rule(Permission.products_manage, FAMILY),
    W + "push_offers": Rule(Permission.products_manage, FAMILY),
}


def _product(w: World, sc: str, r: Role, status: ProductStatus = ProductStatus.published) -> int:
    """A fresh product of the institution the case targets, open to every enterprise."""
    with session_scope() as s:
        return factories.product(s, w.institution(sc, r), status=status, first_loan_friendly=True).id


def _form(w: World) -> dict:
    return {
        "name": w.unique("矩阵产品"),
        "product_type": "credit_loan",
        "amount_min": "10000",
        "amount_max": "500000",
        "term_min_months": 3,
        "term_max_months": 24,
        "rate_min": "3.5",
        "rate_max": "6.5",
    }


ARGUMENTS: dict[str, Builder] = {
    P + "list_products": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    PE + "eligible_products_for": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    P + "create_product": lambda w, sc, r: {"data": _form(w), "institution_id": w.institution(sc, r)},
    P + "update_product": lambda w, sc, r: {
        "product_id": _product(w, sc, r),
        "changes": {"name": w.unique("改名产品")},
        "expected_version": 1,
    },
    P + "publish_product": lambda w, sc, r: {"product_id": _product(w, sc, r, ProductStatus.draft)},
    P + "withdraw_product": lambda w, sc, r: {"product_id": _product(w, sc, r)},
    P + "product_history": lambda w, sc, r: {"product_id": _product(w, sc, r)},
    S + "search_products": lambda w, sc, r: {"text": "测试", "page_size": 5},
    S + "product_detail": lambda w, sc, r: {"product_id": _product(w, sc, r)},
    W + "eligibility_preview": lambda w, sc, r: {"product": _product(w, sc, r, ProductStatus.draft)},
    W + "product_whitelist": lambda w, sc, r: {"product_id": _product(w, sc, r), "k": 5},
    W + "push_offers": lambda w, sc, r: {
        "product_id": _product(w, sc, r),
        "enterprise_ids": [w.side(sc).enterprise_id],
        "message": "矩阵测试推荐",
    },
}
