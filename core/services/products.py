"""Product reads: an institution's products, and the published products an enterprise could apply for.

Writes (create, edit, publish) arrive with the product-management issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_enterprise_access,
    assert_institution_access,
    institution_ancestors,
    institution_descendants,
    reads_everything,
)
from core.errors import NotFoundError
from core.matching import EnterpriseFacts, evaluate_eligibility
from core.models import Enterprise, Organization, Product, ProductPublic
from core.models.types import ProductStatus, ProductType
from core.services.directory import load_institution, today_local
from core.usecase import use_case

# Message key of each failed eligibility criterion (catalog: common.po), with its parameters.
CRITERION_KEYS = {
    "district": "common.elig.district",
    "industry": "common.elig.industry",
    "scale": "common.elig.scale",
    "years_in_business": "common.elig.years",
    "first_loan": "common.elig.first_loan",
}


@dataclass(frozen=True)
class MissingCriterion:
    """One reason an enterprise cannot apply: a criterion name, its message key and parameters."""

    criterion: str
    key: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class ProductMatch:
    """A published product seen by one enterprise: the product, its institution, and eligibility."""

    product: ProductPublic
    institution_name: str
    institution_name_en: str | None
    eligible: bool
    missing: tuple[MissingCriterion, ...] = ()


@use_case(permission=Permission.products_browse)
def list_products(
    uow, *, actor: Actor, institution_id: int, status: ProductStatus | str | None = None
) -> list[ProductPublic]:
    """Products offered by an institution: its own, its head office's and its branches'.

    Institution staff see every status of their own family's products; other callers (enterprises)
    see published products only; regulators see everything.

    Args:
        institution_id: the institution whose products to list.
        status: only this status (default: all the caller may see).

    Raises:
        NotFoundError: no such institution.
    """
    session = uow.session
    load_institution(session, institution_id)
    own_family = reads_everything(actor)
    if not own_family and actor.can(Permission.products_manage):
        assert_institution_access(session, actor, institution_id)
        own_family = True
    scope = institution_ancestors(session, institution_id) | institution_descendants(session, institution_id)
    query = select(Product).where(col(Product.institution_id).in_(scope))
    if not own_family:
        query = query.where(Product.status == ProductStatus.published)
    if status is not None:
        query = query.where(Product.status == ProductStatus(status))
    query = query.order_by(col(Product.status), col(Product.name))
    return [ProductPublic.model_validate(p, from_attributes=True) for p in session.exec(query)]


def products_frame(products: list[ProductPublic]) -> pd.DataFrame:
    """Products as a flat DataFrame (amounts as float yuan) for tables and exports."""
    rows = [
        {
            "id": p.id,
            "code": p.code,
            "name": p.name,
            "name_en": p.name_en,
            "product_type": ProductType(p.product_type).value,
            "status": ProductStatus(p.status).value,
            "amount_min": float(p.amount_min),
            "amount_max": float(p.amount_max),
            "term_min_months": p.term_min_months,
            "term_max_months": p.term_max_months,
            "rate_min": float(p.rate_min),
            "rate_max": float(p.rate_max),
            "first_loan_friendly": p.first_loan_friendly,
            "collateral_required": p.collateral_required,
            "institution_id": p.institution_id,
        }
        for p in products
    ]
    return pd.DataFrame(rows)


@use_case(permission=Permission.products_browse)
def eligible_products_for(
    uow, *, actor: Actor, enterprise_id: int, as_of: date | None = None
) -> list[ProductMatch]:
    """Every published product with whether ``enterprise_id`` meets its hard criteria, and what it misses.

    Eligible products come first (first-loan friendly, then lowest rate); ineligible ones follow
    with the fewest missing criteria first.

    Args:
        enterprise_id: the enterprise; an enterprise user may ask only about its own.
        as_of: the date years in business count to (default: today in the display time zone).

    Raises:
        ForbiddenError: the actor may not read this enterprise.
        NotFoundError: no such enterprise.
    """
    assert_enterprise_access(actor, enterprise_id)
    session = uow.session
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise NotFoundError("error.not_found")
    facts = EnterpriseFacts(
        district_code=ent.district_code,
        industry_section=ent.industry_section,
        scale=str(ent.scale),
        founded_on=ent.founded_on,
        has_had_loan=bool(ent.has_had_loan),
    )
    rows = session.exec(
        select(Product, Organization)
        .join(Organization, col(Organization.id) == col(Product.institution_id))
        .where(Product.status == ProductStatus.published, col(Organization.is_active).is_(True))
    ).all()
    if not rows:
        return []
    products = [ProductPublic.model_validate(p, from_attributes=True) for p, _ in rows]
    frame = pd.DataFrame(
        {
            "eligible_districts": [list(p.eligible_districts or []) for p in products],
            "eligible_industries": [list(p.eligible_industries or []) for p in products],
            "eligible_scales": [[str(s) for s in (p.eligible_scales or [])] for p in products],
            "min_years_in_business": [p.min_years_in_business for p in products],
            "first_loan_friendly": [p.first_loan_friendly for p in products],
        }
    )
    verdict = evaluate_eligibility(facts, frame, as_of=as_of or today_local())
    matches = []
    for i, (product, (_, org)) in enumerate(zip(products, rows, strict=True)):
        missing = tuple(
            _explain(criterion, product, int(verdict.at[i, "years_in_business"]))
            for criterion in verdict.at[i, "failed"]
        )
        matches.append(
            ProductMatch(
                product=product,
                institution_name=org.short_name or org.name,
                institution_name_en=org.name_en,
                eligible=bool(verdict.at[i, "eligible"]),
                missing=missing,
            )
        )
    matches.sort(
        key=lambda m: (
            not m.eligible,
            len(m.missing),
            not m.product.first_loan_friendly,
            Decimal(m.product.rate_min),
            m.product.name,
        )
    )
    return matches


def _explain(criterion: str, product: ProductPublic, years: int) -> MissingCriterion:
    """The message key and parameters that say, in plain words, what the enterprise lacks."""
    params: dict[str, object] = {}
    if criterion == "district":
        params["districts"] = list(product.eligible_districts)
    elif criterion == "industry":
        params["sections"] = list(product.eligible_industries)
    elif criterion == "scale":
        params["scales"] = [str(s) for s in product.eligible_scales]
    elif criterion == "years_in_business":
        params.update(required=product.min_years_in_business, actual=years)
    return MissingCriterion(criterion=criterion, key=CRITERION_KEYS[criterion], params=params)
