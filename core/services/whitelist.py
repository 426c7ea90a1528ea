"""Who a product reaches: the eligibility preview before publishing, the pre-approval white-list, pushed offers.

* ``eligibility_preview`` — for a saved product or unsaved form data: how many platform enterprises
  meet its hard criteria, by grade (their latest rating; unrated apart) and by failed criterion
  (how many fail it, and how many fail *only* it — the criteria that cost the most reach). One
  vectorized pass of :func:`core.matching.engine.match_chunk` over every enterprise.
* ``product_whitelist`` — enterprises eligible for the product ranked by fit (the matching service's
  ``leads_for_product``), with names and credit codes masked (``core.auth.masking``) unless the
  enterprise's active consent covers the institution, and the offers already pushed.
* ``push_offers`` — one ``Notification`` per chosen enterprise (kind ``product.offer``) with the
  officer's message; a dedupe key per product and enterprise makes a second push a no-op.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.auth.masking import Disclosure, disclosure_for, mask_id_number, mask_name
from core.auth.rules import assert_acts_for_institution, assert_institution_access, institution_ancestors
from core.config import get_settings
from core.errors import InvalidError, NotFoundError
from core.i18n import translate
from core.matching.engine import BIT, CRITERIA, match_chunk, prepare_products
from core.models import ConsentGrant, Notification, Organization, Product
from core.models.product import ProductCreate
from core.models.types import GRADE_ORDER, ProductStatus, utcnow
from core.services import matching
from core.services.directory import today_local
from core.services.product_validation import clean_product, product_fields
from core.usecase import use_case

UNRATED = "unrated"
MAX_WHITELIST = 1000
MAX_OFFERS = 500
MESSAGE_RANGE = (2, 500)
WHITELIST_COLUMNS = [
    "rank", "enterprise_id", "enterprise_name", "credit_code", "consented", "district_code", "industry_section",
    "scale", "grade", "has_had_loan", "fit_score", "p_approval", "offered_at",
]  # fmt: skip


@dataclass(frozen=True)
class EligibilityPreview:
    """How many platform enterprises a product reaches, by grade and by failed criterion.

    ``by_grade``: ``grade`` (AAA … C, then ``unrated``), ``enterprises``, ``eligible``, ``share``.
    ``by_criterion``: ``criterion``, ``failing`` (enterprises failing it), ``only`` (failing nothing else).
    """

    enterprises: int
    eligible: int
    by_grade: pd.DataFrame
    by_criterion: pd.DataFrame


@dataclass(frozen=True)
class OfferResult:
    """What a push did: offers sent now, and enterprises that had this product's offer already."""

    sent: int
    already: int


def offer_key(product_id: int, enterprise_id: int) -> str:
    """The notification dedupe key of one product's offer to one enterprise.

    Args:
        product_id: the product.
        enterprise_id: the enterprise.
    """
    return f"market.offer:{int(product_id)}:{int(enterprise_id)}"


def _engine_frame(values: Mapping[str, Any], institution_id: int, product_id: int) -> pd.DataFrame:
    """One product's fields in the shape the engine's ``prepare_products`` reads."""
    row = {
        "institution_id": institution_id,
        "amount_min": float(values["amount_min"]),
        "amount_max": float(values["amount_max"]),
        "term_min_months": int(values["term_min_months"]),
        "term_max_months": int(values["term_max_months"]),
        "rate_min": float(values["rate_min"]),
        "rate_max": float(values["rate_max"]),
        "eligible_districts": [str(v) for v in values.get("eligible_districts") or []],
        "eligible_industries": [str(v) for v in values.get("eligible_industries") or []],
        "eligible_scales": [str(v) for v in values.get("eligible_scales") or []],
        "min_years_in_business": int(values.get("min_years_in_business") or 0),
        "min_credit_grade": values.get("min_credit_grade") or None,
        "collateral_required": bool(values.get("collateral_required")),
        "first_loan_friendly": bool(values.get("first_loan_friendly")),
    }
    return pd.DataFrame([row], index=pd.Index([product_id], name="id"))


def _failures(session, frame: pd.DataFrame, as_of: date, enterprise_ids: list[int] | None = None):
    """(enterprise facts, failure mask per enterprise) of one product against the platform's enterprises."""
    ents = matching.enterprise_facts(session, enterprise_ids=enterprise_ids)
    if ents.empty:
        return ents, np.zeros(0, dtype=np.uint16)
    res = match_chunk(ents, prepare_products(frame), as_of=as_of)
    return ents, res.failed[:, 0]


@use_case(permission=Permission.products_manage)
def eligibility_preview(
    uow, *, actor: Actor, product: int | ProductCreate | Mapping[str, Any], as_of: date | None = None
) -> EligibilityPreview:
    """How many platform enterprises meet a product's hard criteria, by grade and by failed criterion.

    Args:
        product: a saved product's id (any status) of the actor's institution family, or unsaved form
            data (checked like a new product; it is the actor's own institution's).
        as_of: the day years in business count to (default: today in Asia/Shanghai).

    Raises:
        NotFoundError: no such product.
        ForbiddenError: another institution family's product, or an actor outside any institution.
        InvalidError / ValidationErrors: unsaved data with bad fields.
    """
    session = uow.session
    if isinstance(product, int) and not isinstance(product, bool):
        row = session.get(Product, product)
        if row is None:
            raise NotFoundError("market.error.product_not_found")
        assert_institution_access(session, actor, row.institution_id)
        frame = _engine_frame(product_fields(row), row.institution_id, int(row.id))
    else:
        assert_acts_for_institution(session, actor, int(actor.organization_id or 0))
        raw = product.model_dump(mode="json") if isinstance(product, ProductCreate) else dict(product)
        frame = _engine_frame(clean_product(raw), int(actor.organization_id), 0)
    ents, failed = _failures(session, frame, as_of or today_local())
    grades = ents["grade"].fillna(UNRATED).astype(str) if not ents.empty else pd.Series(dtype=str)
    counted = pd.DataFrame({"grade": grades.to_numpy(), "eligible": failed == 0})
    by_grade = (
        counted.groupby("grade")["eligible"].agg(enterprises="size", eligible="sum")
        .reindex([*GRADE_ORDER, UNRATED], fill_value=0).rename_axis("grade").reset_index()
    )
    by_grade["eligible"] = by_grade["eligible"].astype(int)
    by_grade["share"] = np.where(by_grade["enterprises"] > 0, by_grade["eligible"] / by_grade["enterprises"].clip(lower=1), 0.0)
    by_criterion = pd.DataFrame(
        {
            "criterion": list(CRITERIA),
            "failing": [int(((failed & BIT[c]) != 0).sum()) for c in CRITERIA],
            "only": [int((failed == BIT[c]).sum()) for c in CRITERIA],
        }
    )
    by_criterion = by_criterion[by_criterion["failing"] > 0].sort_values("failing", ascending=False, kind="stable")
    return EligibilityPreview(
        enterprises=len(ents), eligible=int((failed == 0).sum()), by_grade=by_grade,
        by_criterion=by_criterion.reset_index(drop=True),
    )


def _consented(session, actor: Actor, enterprise_ids: list[int]) -> dict[int, set[str]]:
    """Scopes of the active grants covering the actor's institution, per enterprise."""
    if actor.organization_id is None or not enterprise_ids:
        return {}
    grants = session.exec(
        select(ConsentGrant).where(
            col(ConsentGrant.enterprise_id).in_(enterprise_ids),
            col(ConsentGrant.institution_id).in_(institution_ancestors(session, int(actor.organization_id))),
            col(ConsentGrant.revoked_at).is_(None),
            ConsentGrant.expires_at > utcnow(),
        )
    ).all()
    out: dict[int, set[str]] = {}
    for grant in grants:
        out.setdefault(int(grant.enterprise_id), set()).update(str(s) for s in grant.scopes or [])
    return out


@use_case(permission=Permission.products_manage)
def product_whitelist(uow, *, actor: Actor, product_id: int, k: int = 200, as_of: date | None = None) -> pd.DataFrame:
    """The pre-approval white-list: enterprises eligible for the product, best fit first.

    Args:
        product_id: a product of the actor's institution family (any status).
        k: at most this many enterprises (1–1,000).
        as_of: the day years in business count to (default: today in Asia/Shanghai).

    Returns:
        DataFrame with :data:`WHITELIST_COLUMNS`: ``enterprise_name`` and ``credit_code`` masked unless
        ``consented`` (an active grant with the ``basic`` scope covers the actor's institution);
        ``offered_at`` when this product's offer was pushed to the enterprise (else NaT).

    Raises:
        NotFoundError: no such product.
        ForbiddenError: another institution family's product.
        InvalidError: ``k`` out of range.
    """
    session = uow.session
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_WHITELIST:
        raise InvalidError("market.error.k", field="k", max=MAX_WHITELIST)
    product = session.get(Product, product_id)
    if product is None:
        raise NotFoundError("market.error.product_not_found")
    assert_institution_access(session, actor, product.institution_id)
    found = matching.leads_for_product(actor=actor, product_id=int(product_id), k=k, as_of=as_of)
    ents = found[found["kind"] == "enterprise"].head(k).reset_index(drop=True)
    if ents.empty:
        return pd.DataFrame(columns=WHITELIST_COLUMNS)
    ids = [int(i) for i in ents["enterprise_id"]]
    scopes = _consented(session, actor, ids)
    levels = [disclosure_for(actor, enterprise_id=e, consent_scopes=scopes.get(e, set())) for e in ids]
    shown = [lvl is not Disclosure.masked for lvl in levels]
    keys = {offer_key(product_id, e): e for e in ids}
    offered = dict(
        session.exec(
            select(Notification.dedupe_key, Notification.created_at).where(col(Notification.dedupe_key).in_(list(keys)))
        ).all()
    )
    out = pd.DataFrame(
        {
            "rank": np.arange(1, len(ents) + 1),
            "enterprise_id": ids,
            "enterprise_name": [n if ok else mask_name(n) for n, ok in zip(ents["enterprise_name"], shown, strict=True)],
            "credit_code": [c if ok else mask_id_number(c) for c, ok in zip(ents["credit_code"], shown, strict=True)],
            "consented": shown,
            "district_code": ents["district_code"].to_numpy(),
            "industry_section": ents["industry_section"].to_numpy(),
            "scale": ents["scale"].astype(str).to_numpy(),
            "grade": ents["grade"].to_numpy(),
            "has_had_loan": ents["has_had_loan"].astype(bool).to_numpy(),
            "fit_score": ents["fit_score"].astype(float).to_numpy(),
            "p_approval": ents["p_approval"].astype(float).to_numpy(),
            "offered_at": pd.to_datetime(
                [offered.get(offer_key(product_id, e)) for e in ids], utc=True
            ),
        },
        columns=WHITELIST_COLUMNS,
    )
    return out


@use_case(permission=Permission.products_manage, write=True)
def push_offers(
    uow, *, actor: Actor, product_id: int, enterprise_ids: Collection[int], message: str, as_of: date | None = None
) -> OfferResult:
    """Offer a published product to chosen eligible enterprises: one inbox notification each, never twice.

    Args:
        product_id: a published product of the actor's institution family.
        enterprise_ids: 1–500 enterprises, each eligible for the product.
        message: the officer's words to the enterprises (2–500 characters).
        as_of: the day years in business count to (default: today in Asia/Shanghai).

    Raises:
        NotFoundError: no such product.
        ForbiddenError: another institution family's product.
        InvalidError: the product is not published; no, too many, unknown or ineligible enterprises; a
            message too short or too long (field named).
    """
    session = uow.session
    product = session.get(Product, product_id)
    if product is None:
        raise NotFoundError("market.error.product_not_found")
    assert_acts_for_institution(session, actor, product.institution_id)
    if ProductStatus(product.status) != ProductStatus.published:
        raise InvalidError("market.error.offer_unpublished", field="product_id")
    try:
        ids = sorted({int(i) for i in enterprise_ids})
    except (TypeError, ValueError):
        raise InvalidError("market.error.offer_targets", field="enterprise_ids", max=MAX_OFFERS) from None
    if not 1 <= len(ids) <= MAX_OFFERS:
        raise InvalidError("market.error.offer_targets", field="enterprise_ids", max=MAX_OFFERS)
    text = (message or "").strip()
    if not MESSAGE_RANGE[0] <= len(text) <= MESSAGE_RANGE[1]:
        raise InvalidError("market.error.offer_message", field="message", min=MESSAGE_RANGE[0],
                           max=MESSAGE_RANGE[1])
    frame = _engine_frame(product_fields(product), product.institution_id, int(product.id))
    ents, failed = _failures(session, frame, as_of or today_local(), enterprise_ids=ids)
    eligible = {int(e) for e, mask in zip(ents.index, failed, strict=True) if mask == 0}
    if len(eligible) != len(ids):
        raise InvalidError("market.error.offer_ineligible", field="enterprise_ids", count=len(ids) - len(eligible))
    keys = {offer_key(product.id, e): e for e in ids}
    existing = set(session.exec(select(Notification.dedupe_key).where(col(Notification.dedupe_key).in_(list(keys)))))
    org = session.get(Organization, product.institution_id)
    locale = get_settings().default_locale
    title = translate("market.notify.offer.title", locale, product=product.name,
                      institution=(org.short_name or org.name) if org else "")
    now = utcnow()
    for key, enterprise_id in keys.items():
        if key in existing:
            continue
        session.add(
            Notification(
                enterprise_id=enterprise_id, kind="product.offer", title=title[:200], body=text,
                payload={"product_id": int(product.id), "institution_id": product.institution_id,
                         "offered_by": actor.user_id},
                dedupe_key=key, created_at=now,
            )
        )
    sent = len(keys) - len(existing)
    uow.audit("product.offers_pushed", entity_type="product", entity_id=product.id,
              after={"sent": sent, "already": len(existing), "enterprises": len(ids)})
    return OfferResult(sent=sent, already=len(existing))
