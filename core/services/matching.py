"""Matching service: products for an enterprise (or one of its needs), and enterprises for a product.

Both directions run the pure engine (:mod:`core.matching`). Enterprise facts carry the latest
``CreditScore`` grade (absent = unrated). Loading and caches (products, facts, the approval model
learned from decided applications, the encoded product side) live in
:mod:`core.services.matching_load`; explanations and frames in :mod:`core.services.matching_explain`;
this module re-exports their public names.

``recommend_products`` is the interactive path: one query for the enterprise's facts, the product side
from the cache, then :func:`core.matching.single.match_one` — NumPy over the product arrays, no frame
per call — and explanations only for the products shown. It returns exactly what the all-pairs engine
(``match_chunk`` over a frame of enterprises) ranks for that enterprise (tests compare them).

Return columns (documented for the pages and the engineers who build on them):

``recommend_products`` → :class:`Recommendations` with two frames sharing :data:`PRODUCT_COLUMNS`;
``eligible`` adds ``fit_score``, ``p_approval``, ``amount_fit``, ``grade_room`` and ``reasons``
(list of :class:`~core.services.products.MissingCriterion`: message key + parameters) ranked best
first; ``ineligible`` adds ``missing`` (same shape, "what you are missing") and ``n_missing``.

``leads_for_product`` → :data:`LEAD_CANDIDATE_COLUMNS`: ``kind`` ("need" rows are open needs whose
amount and term fit the product; "enterprise" rows are enterprises that meet its criteria),
``enterprise_id``, ``enterprise_name``, ``credit_code``, ``district_code``, ``industry_section``,
``scale``, ``grade`` (None = unrated), ``has_had_loan``, ``need_id`` (<NA> for enterprise rows),
``need_amount`` (float yuan), ``need_term_months``, ``fit_score`` and ``p_approval`` in [0, 1];
best first, at most ``k`` rows of each kind. This is the pre-approval white-list's source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session

from core.auth import Actor, Permission
from core.auth.rules import assert_enterprise_access, assert_institution_access
from core.errors import InvalidError, NotFoundError
from core.matching.engine import ApprovalModel, Prepared, match_chunk, prepare_products, top_k
from core.matching.single import match_one
from core.models import FinancingNeed, Organization, Product
from core.services.directory import today_local
from core.services.matching_explain import (
    MISSING_KEYS,
    PRODUCT_COLUMNS,
    explain_missing,
    fit_reasons,
    grade_room,
    grade_room_one,
    need_facts,
    need_frame,
    popcount,
    product_frame,
    rate_mask,
)
from core.services.matching_load import (
    APPROVED_STATUSES,
    MODEL_TTL_SECONDS,
    ProductSide,
    approval_model,
    decided_applications,
    enterprise_facts,
    enterprise_row,
    load_products,
    one_enterprise_facts,
    open_needs,
    product_side,
)
from core.usecase import use_case

__all__ = [
    "APPROVED_STATUSES", "LEAD_CANDIDATE_COLUMNS", "MAX_K", "MISSING_KEYS", "MODEL_TTL_SECONDS",
    "NON_LENDING_TYPES", "PRODUCT_COLUMNS", "ProductSide", "Recommendations", "approval_model",
    "decided_applications", "enterprise_facts", "enterprise_row", "explain_missing", "fit_reasons", "grade_room",
    "leads_for_product", "load_products", "need_facts", "need_frame", "one_enterprise_facts", "open_needs",
    "product_side", "rank_products", "rate_mask", "recommend_products",
]

# Product types that lend money (a guarantee or insurance product enhances credit, it does not lend).
NON_LENDING_TYPES = ("insurance", "guarantee_service")
LEAD_CANDIDATE_COLUMNS = [
    "kind", "enterprise_id", "enterprise_name", "credit_code", "district_code", "industry_section", "scale",
    "grade", "has_had_loan", "need_id", "need_amount", "need_term_months", "fit_score", "p_approval",
]
MAX_K = 50


@dataclass(frozen=True)
class Recommendations:
    """Products for one enterprise (or need): the eligible ranked, the ineligible with what they miss."""

    enterprise_id: int
    need_id: int | None
    grade: str | None
    eligible: pd.DataFrame
    ineligible: pd.DataFrame
    model_trained_on: int  # decided applications the approval model learned from
    ineligible_total: int = 0  # all ineligible products (``ineligible`` holds the nearest misses)


# --------------------------------------------------------------------------------- recommendations


def rank_products(facts: Mapping[str, Any], side: ProductSide, *, as_of: date, k: int = 10,
                  missing_limit: int = 30) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """One enterprise's (or need's) products: the top ``k`` eligible with reasons, the nearest misses.

    Args:
        facts: the enterprise's plain facts (:func:`enterprise_row`), for a need with
            :func:`need_facts` added (``amount``, ``term_months``, ``accepts_collateral``, ``max_rate``).
        side: the product side (:func:`product_side`).
        as_of: the day years in business count to.
        k: how many eligible products to rank.
        missing_limit: how many ineligible products to explain, fewest missing criteria first.

    Returns:
        ``(eligible, ineligible, ineligible_total)`` as in :class:`Recommendations`.
    """
    prep, model, records = side.prep, side.model, side.records
    res = match_one(facts, prep, as_of=as_of, model=model)
    too_dear = rate_mask(prep, facts.get("max_rate"))
    fit = np.where(too_dear, np.nan, res.fit)
    failed = res.failed

    pos, _ = top_k(fit[None, :], k)
    chosen = [int(i) for i in pos[0] if i >= 0]
    if "amount" in facts:
        amount_fit: Any = 1.0 - np.abs(float(facts["amount"]) / prep.amount_max[chosen] - 0.5)
    else:
        amount_fit = 0.5
    eligible = product_frame(side.table, records, chosen, {
        "fit_score": fit[chosen],
        "p_approval": res.p_approval[chosen],
        "amount_fit": amount_fit,
        "grade_room": grade_room_one(prep, facts.get("grade"))[chosen],
        "reasons": [fit_reasons(records[i], facts, p_approval=float(res.p_approval[i])) for i in chosen],
    })

    bad = np.flatnonzero(np.isnan(fit))
    n_missing = popcount(failed[bad]) + too_dear[bad]
    order = np.lexsort((prep.rate_min[bad], n_missing))[:missing_limit]
    near = bad[order]
    ineligible = product_frame(side.table, records, near, {
        "missing": [explain_missing(int(failed[i]), records[i], facts, as_of=as_of, rate_failed=bool(too_dear[i]))
                    for i in near],
        "n_missing": n_missing[order].astype(int),
    })
    return eligible, ineligible, len(bad)


@use_case(permission=Permission.products_browse)
def recommend_products(
    uow,
    *,
    actor: Actor,
    enterprise_id: int,
    need_id: int | None = None,
    k: int = 10,
    missing_limit: int = 30,
    as_of: date | None = None,
) -> Recommendations:
    """Products for one enterprise (or one of its needs): the eligible ranked by fit with why they fit,
    the nearest misses with what the enterprise is missing.

    Args:
        enterprise_id: the enterprise; an enterprise user may ask only about its own (oversight: any).
        need_id: optional; one of this enterprise's needs, whose amount, term, collateral and maximum
            rate are then checked too.
        k: how many eligible products to rank (1–50).
        missing_limit: how many ineligible products to explain, fewest missing criteria first (0–1000);
            ``Recommendations.ineligible_total`` counts them all.
        as_of: the day years in business count to (default: today in Asia/Shanghai).

    Raises:
        ForbiddenError: the actor may not read this enterprise.
        NotFoundError: no such enterprise, or no such need of this enterprise.
        InvalidError: ``k`` outside 1–50 or ``missing_limit`` outside 0–1000 (field named).
    """
    assert_enterprise_access(actor, enterprise_id)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidError("matching.error.k", field="k", max=MAX_K)
    if isinstance(missing_limit, bool) or not isinstance(missing_limit, int) or not 0 <= missing_limit <= 1000:
        raise InvalidError("matching.error.k", field="missing_limit", max=1000)
    session = uow.session
    as_of = as_of or today_local()
    facts = enterprise_row(session, enterprise_id)
    if facts is None:
        raise NotFoundError("error.not_found")
    if need_id is not None:
        need = session.get(FinancingNeed, need_id)
        if need is None or need.enterprise_id != enterprise_id:
            raise NotFoundError("matching.error.need_not_found")
        facts = need_facts(facts, need)
    side = product_side(session, as_of=as_of)
    grade = facts["grade"]
    if len(side.records) == 0:
        empty = pd.DataFrame(columns=PRODUCT_COLUMNS)
        return Recommendations(enterprise_id, need_id, grade, empty, empty, side.model.trained_on, 0)
    eligible, ineligible, total = rank_products(facts, side, as_of=as_of, k=k, missing_limit=missing_limit)
    return Recommendations(enterprise_id, need_id, grade, eligible, ineligible, side.model.trained_on, total)


# ------------------------------------------------------------------------------ reverse direction


@use_case(permission=Permission.products_manage)
def leads_for_product(uow, *, actor: Actor, product_id: int, k: int = 100, as_of: date | None = None) -> pd.DataFrame:
    """Enterprises and open needs that meet a product's criteria, best fit first (the white-list source).

    Args:
        product_id: a product of the actor's institution family (published or not: a draft can be previewed).
        k: at most this many rows of each kind (1–100,000).
        as_of: the day years in business count to (default: today in Asia/Shanghai).

    Returns:
        DataFrame with :data:`LEAD_CANDIDATE_COLUMNS` (see the module docstring).

    Raises:
        NotFoundError: no such product.
        ForbiddenError: the product belongs to another institution family.
        InvalidError: ``k`` out of range (field ``k``).
    """
    session = uow.session
    product = session.get(Product, product_id)
    if product is None:
        raise NotFoundError("error.not_found")
    assert_institution_access(session, actor, product.institution_id)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100_000:
        raise InvalidError("matching.error.k", field="k", max=100_000)
    as_of = as_of or today_local()
    model = approval_model(session, as_of=as_of)
    one = _single_product_frame(session, product)
    prep = prepare_products(one, model)
    parts = []
    ents = enterprise_facts(session)
    if not ents.empty:
        parts.append(_candidates(ents, prep, model, as_of, k, kind="enterprise"))
    needs = open_needs(session)
    if not needs.empty:
        frame = _candidates(needs, prep, model, as_of, k, kind="need")
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=LEAD_CANDIDATE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["kind", "fit_score"], ascending=[False, False], kind="stable").reset_index(drop=True)


def _single_product_frame(session: Session, product: Product) -> pd.DataFrame:
    """One product (any status) in :func:`load_products`' shape."""
    org = session.get(Organization, product.institution_id)
    row = {
        "name": product.name, "name_en": product.name_en, "product_type": str(product.product_type),
        "institution_id": product.institution_id, "institution_name": org.name if org else "",
        "institution_name_en": org.name_en if org else None, "amount_min": float(product.amount_min),
        "amount_max": float(product.amount_max), "term_min_months": product.term_min_months,
        "term_max_months": product.term_max_months, "rate_min": float(product.rate_min),
        "rate_max": float(product.rate_max), "eligible_districts": list(product.eligible_districts or []),
        "eligible_industries": list(product.eligible_industries or []),
        "eligible_scales": [str(s) for s in product.eligible_scales or []],
        "min_years_in_business": product.min_years_in_business,
        "min_credit_grade": str(product.min_credit_grade) if product.min_credit_grade else None,
        "collateral_required": bool(product.collateral_required),
        "first_loan_friendly": bool(product.first_loan_friendly),
    }
    return pd.DataFrame([row], index=pd.Index([product.id], name="id"))


def _candidates(frame: pd.DataFrame, prep: Prepared, model: ApprovalModel, as_of: date, k: int,
                *, kind: str) -> pd.DataFrame:
    res = match_chunk(frame, prep, as_of=as_of, model=model)
    fit = res.fit[:, 0]
    if kind == "need":
        too_dear = frame["max_rate"].to_numpy(float) < float(prep.products["rate_min"].iloc[0]) - 1e-9
        fit = np.where(too_dear, np.nan, fit)
    ok = np.flatnonzero(~np.isnan(fit))
    ok = ok[np.argsort(-fit[ok], kind="stable")][:k]
    part = frame.iloc[ok]
    is_need = kind == "need"
    return pd.DataFrame({
        "kind": kind,
        "enterprise_id": (part["enterprise_id"] if is_need else part.index.to_series()).astype(int).to_numpy(),
        "enterprise_name": part["name"].to_numpy(),
        "credit_code": part["credit_code"].to_numpy(),
        "district_code": part["district_code"].to_numpy(),
        "industry_section": part["industry_section"].to_numpy(),
        "scale": part["scale"].to_numpy(),
        "grade": part["grade"].to_numpy(),
        "has_had_loan": part["has_had_loan"].to_numpy(),
        "need_id": pd.array(part.index.to_numpy() if is_need else [None] * len(part), dtype="Int64"),
        "need_amount": part["amount"].to_numpy(float) if is_need else np.full(len(part), np.nan),
        "need_term_months": pd.array(part["term_months"].to_numpy() if is_need else [None] * len(part),
                                     dtype="Int64"),
        "fit_score": fit[ok],
        "p_approval": res.p_approval[ok, 0],
    }, columns=LEAD_CANDIDATE_COLUMNS)
