"""Products: an institution's products, their writes and their version history.

* **Reads** — ``list_products`` (an institution's), ``product_history`` (every saved version of one
  product).
* **Writes** — ``create_product``, ``update_product`` (with the version the form showed),
  ``publish_product``, ``withdraw_product``: staff of the product's institution family only
  (``products.manage``; oversight does not act). Each change bumps ``Product.version`` and writes one
  ``ProductVersion`` snapshot (``created``, ``edited``, ``published``, ``withdrawn``) in the same
  transaction; fields are checked by :func:`core.services.product_validation.clean_product` (every
  problem named by its field). Lifecycle: draft → published ⇄ withdrawn; a withdrawn product may be
  edited and published again.

The published products one enterprise could apply for (``eligible_products_for``) are in
``core.services.product_eligibility`` (it and ``core.services.matching`` share ``MissingCriterion``
and ``CRITERION_KEYS`` from here); the financial supermarket's search lives in
``core.services.supermarket``; the eligibility preview and the pre-approval white-list in
``core.services.whitelist``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_acts_for_institution,
    assert_institution_access,
    institution_ancestors,
    institution_descendants,
    reads_everything,
)
from core.errors import ConflictError, NotFoundError
from core.models import IdempotencyKey, Product, ProductPublic, ProductVersion, User
from core.models.product import ProductCreate
from core.models.types import ProductStatus, ProductType, utcnow
from core.services.directory import load_institution
from core.services.product_validation import FIELDS, clean_product, product_fields, snapshot
from core.usecase import expect_version, use_case

FORM_FIELDS = FIELDS  # the fields a product form edits (pages build their forms from it)

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
            "version": p.version,
        }
        for p in products
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ writes


class ProductKeyReusedError(ConflictError):
    """An idempotency key already used for a different product."""

    key = "market.error.key_reused"


class ProductStateError(ConflictError):
    """The product is not in a state that allows this step (publish a published one …)."""

    key = "market.error.state"


def _public(product: Product) -> ProductPublic:
    return ProductPublic.model_validate(product, from_attributes=True)


def _raw(data: ProductCreate | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(data, ProductCreate):
        return data.model_dump(mode="json")
    return dict(data)


def _record(uow, product: Product, change: str) -> None:
    """Flush (bumping the version) and write the product's snapshot at its new version, and the audit."""
    uow.session.flush()
    uow.session.add(
        ProductVersion(
            product_id=int(product.id),
            product_version=int(product.version),
            change=change,
            snapshot=snapshot(product),
            changed_by_id=uow.actor.user_id,
            changed_at=utcnow(),
        )
    )
    uow.audit(f"product.{change}", entity_type="product", entity_id=product.id,
              after={"version": product.version, "status": str(product.status)})


def _own_product(uow, product_id: object) -> Product:
    """The product, if the actor is staff of its institution family (refused otherwise)."""
    try:
        product = uow.session.get(Product, int(product_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        product = None
    if product is None:
        raise NotFoundError("market.error.product_not_found")
    assert_acts_for_institution(uow.session, uow.actor, product.institution_id)
    return product


@use_case(permission=Permission.products_manage, write=True)
def create_product(
    uow,
    *,
    actor: Actor,
    data: ProductCreate | Mapping[str, Any],
    institution_id: int | None = None,
    idempotency_key: str | None = None,
) -> ProductPublic:
    """A new draft product of the actor's institution (or a branch or head office of its family).

    Args:
        data: the product's fields (see ``core.services.product_validation``).
        institution_id: the offering institution (default: the actor's own).
        idempotency_key: optional, from the form; a repeated create with it returns the first product.

    Raises:
        ForbiddenError: the actor is not staff of that institution's family.
        InvalidError / ValidationErrors: bad fields, each named.
        ProductKeyReusedError: the key was used for a different product.
    """
    session = uow.session
    target = int(institution_id if institution_id is not None else actor.organization_id or 0)
    assert_acts_for_institution(session, actor, target)
    load_institution(session, target)
    values = clean_product(_raw(data))
    request_hash = hashlib.sha256(
        json.dumps({**values, "institution_id": target}, default=str, sort_keys=True).encode()
    ).hexdigest()
    key = (idempotency_key or "").strip() or None
    if key is not None:
        seen = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == key)).first()
        if seen is not None:
            if seen.operation != "product.create" or seen.request_hash != request_hash:
                raise ProductKeyReusedError()
            existing = session.get(Product, int((seen.response or {}).get("product_id", 0)))
            if existing is not None:
                return _public(existing)
    product = Product(
        **values,
        code=f"P{target}-{secrets.token_hex(4).upper()}",
        institution_id=target,
        status=ProductStatus.draft,
    )
    session.add(product)
    _record(uow, product, "created")
    if key is not None:
        session.add(IdempotencyKey(key=key, operation="product.create", actor_user_id=actor.user_id,
                                   request_hash=request_hash, response={"product_id": product.id}))
    return _public(product)


@use_case(permission=Permission.products_manage, write=True)
def update_product(
    uow, *, actor: Actor, product_id: int, changes: Mapping[str, Any], expected_version: int
) -> ProductPublic:
    """Edit a product: the changed fields over the stored ones, checked as a whole; a new version.

    Args:
        product_id: a product of the actor's institution family.
        changes: field name → new value (only the fields that change are needed).
        expected_version: the version the form showed; a product changed since is refused.

    Raises:
        NotFoundError: no such product.
        ForbiddenError: another institution's product.
        StaleVersionError: someone else saved a newer version meanwhile.
        InvalidError / ValidationErrors: bad fields, each named.
    """
    product = _own_product(uow, product_id)
    expect_version(product, expected_version)
    current = product_fields(product)
    values = clean_product({**current, **dict(changes)})
    if all(values[k] == current[k] for k in values):
        return _public(product)
    for name, value in values.items():
        setattr(product, name, value)
    product.updated_at = utcnow()
    _record(uow, product, "edited")
    return _public(product)


def _move(uow, product_id: int, expected_version: int | None, *, allowed: tuple[ProductStatus, ...],
          to: ProductStatus, change: str) -> ProductPublic:
    product = _own_product(uow, product_id)
    expect_version(product, expected_version)
    if ProductStatus(product.status) not in allowed:
        raise ProductStateError(status=str(product.status))
    product.status = to
    now = utcnow()
    product.updated_at = now
    if to == ProductStatus.published:
        clean_product(product_fields(product))  # a product published under older rules is checked again
        product.published_at = now
    _record(uow, product, change)
    return _public(product)


@use_case(permission=Permission.products_manage, write=True)
def publish_product(uow, *, actor: Actor, product_id: int, expected_version: int | None = None) -> ProductPublic:
    """Put a draft (or withdrawn) product into the financial supermarket; a new version.

    Args:
        product_id: a product of the actor's institution family.
        expected_version: the version the page showed (optional; refused when stale).

    Raises:
        ProductStateError: the product is already published.
        StaleVersionError, NotFoundError, ForbiddenError: as for ``update_product``.
    """
    return _move(uow, product_id, expected_version, allowed=(ProductStatus.draft, ProductStatus.withdrawn),
                 to=ProductStatus.published, change="published")


@use_case(permission=Permission.products_manage, write=True)
def withdraw_product(uow, *, actor: Actor, product_id: int, expected_version: int | None = None) -> ProductPublic:
    """Take a published product off the supermarket (open applications continue); a new version.

    Args:
        product_id: a product of the actor's institution family.
        expected_version: the version the page showed (optional; refused when stale).

    Raises:
        ProductStateError: the product is not published.
        StaleVersionError, NotFoundError, ForbiddenError: as for ``update_product``.
    """
    return _move(uow, product_id, expected_version, allowed=(ProductStatus.published,),
                 to=ProductStatus.withdrawn, change="withdrawn")


@use_case(permission=Permission.products_manage)
def product_history(uow, *, actor: Actor, product_id: int) -> pd.DataFrame:
    """Every saved version of a product, newest first.

    Args:
        product_id: a product of the actor's institution family.

    Returns:
        DataFrame: ``product_version``, ``change``, ``changed_at`` (UTC), ``changed_by`` (display name or
        None), ``status``, ``snapshot`` (dict of the fields at that version).

    Raises:
        NotFoundError: no such product.
        ForbiddenError: another institution family's product.
    """
    session = uow.session
    product = session.get(Product, product_id)
    if product is None:
        raise NotFoundError("market.error.product_not_found")
    assert_institution_access(session, actor, product.institution_id)
    rows = session.exec(
        select(ProductVersion, User.display_name)
        .join(User, col(User.id) == col(ProductVersion.changed_by_id), isouter=True)
        .where(ProductVersion.product_id == product_id)
        .order_by(col(ProductVersion.product_version).desc())
    ).all()
    return pd.DataFrame(
        [
            {
                "product_version": v.product_version,
                "change": v.change,
                "changed_at": v.changed_at,
                "changed_by": name,
                "status": (v.snapshot or {}).get("status"),
                "snapshot": dict(v.snapshot or {}),
            }
            for v, name in rows
        ],
        columns=["product_version", "change", "changed_at", "changed_by", "status", "snapshot"],
    )
