"""Product eligibility: every published product with whether one enterprise meets its hard criteria.

``eligible_products_for`` evaluates the enterprise's facts (district, industry, scale, years in
business, first loan) against each published product's criteria with the pure engine
:func:`core.matching.evaluate_eligibility`, and says in plain words (``MissingCriterion``: a message
key and parameters) what the enterprise lacks for each product it cannot apply for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_enterprise_access
from core.errors import NotFoundError
from core.matching import EnterpriseFacts, evaluate_eligibility
from core.models import Enterprise, Organization, Product, ProductPublic
from core.models.types import ProductStatus
from core.services.directory import today_local
from core.services.products import CRITERION_KEYS, MissingCriterion
from core.usecase import use_case


@dataclass(frozen=True)
class ProductMatch:
    """A published product seen by one enterprise: the product, its institution, and eligibility."""

    product: ProductPublic
    institution_name: str
    institution_name_en: str | None
    eligible: bool
    missing: tuple[MissingCriterion, ...] = ()


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
