"""The financial supermarket (金融超市): search, filter, sort and page through published products; one product's detail.

The catalogue — every published product of an active institution with its institution and its
numbers (applications in the last 90 days, decided and approved applications) — is one shared,
non-private frame, built once per data version through :mod:`core.cache`: every committed write
(a product published, edited or withdrawn, an application decided) bumps the version, so the next
search rebuilds it. Filtering, sorting and paging then run on that frame in memory.

Guarantee mode (担保方式) is derived from the product: ``guarantee`` for a guaranteed loan,
``collateral`` for mortgages, pledges and any product that requires collateral, ``credit`` otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select

from core import cache
from core.auth import Actor, Permission
from core.auth.rules import assert_institution_access, reads_everything
from core.errors import InvalidError, NotFoundError
from core.models import Application, Organization, Product, ProductPublic
from core.models.types import ApplicationStatus, OrgKind, ProductStatus, ProductType, utcnow
from core.services.directory import today_local
from core.services.matching import APPROVED_STATUSES
from core.usecase import use_case

SORTS = ("rate", "amount", "popularity", "approval")
GUARANTEE_MODES = ("credit", "guarantee", "collateral")
INSTITUTION_KINDS = tuple(k.value for k in (OrgKind.bank, OrgKind.guarantee, OrgKind.insurer, OrgKind.leasing))
POPULARITY_DAYS = 90
MAX_PAGE_SIZE = 100
CATALOGUE_COLUMNS = [
    "product_id", "code", "name", "name_en", "product_type", "guarantee_mode", "institution_id",
    "institution_name", "institution_name_en", "institution_kind", "amount_min", "amount_max",
    "term_min_months", "term_max_months", "rate_min", "rate_max", "first_loan_friendly", "collateral_required",
    "eligible_districts", "min_credit_grade", "tags", "version", "published_at", "applications_90d",
    "decided", "approved", "approval_rate",
]  # fmt: skip


@dataclass(frozen=True)
class SearchPage:
    """One page of search results: ``items`` has :data:`CATALOGUE_COLUMNS`; ``total`` counts every match."""

    items: pd.DataFrame
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


@dataclass(frozen=True)
class ProductDetail:
    """One product as its detail page shows it: the product, its institution and its numbers."""

    product: ProductPublic
    institution_name: str
    institution_name_en: str | None
    institution_kind: str
    guarantee_mode: str
    published_at: datetime | None
    applications_90d: int
    decided: int
    approved: int

    @property
    def approval_rate(self) -> float | None:
        return self.approved / self.decided if self.decided else None


def guarantee_mode(product_type: str, collateral_required: bool) -> str:
    """``guarantee``, ``collateral`` or ``credit`` (see the module docstring).

    Args:
        product_type: the product's type.
        collateral_required: whether the product requires collateral.
    """
    if str(product_type) == ProductType.guaranteed:
        return "guarantee"
    if collateral_required or str(product_type) in (ProductType.mortgage, ProductType.pledge):
        return "collateral"
    return "credit"


def _stats_query(since: datetime, product_ids: list[int] | None = None):
    a = Application.__table__
    decided = [*APPROVED_STATUSES, ApplicationStatus.rejected.value]
    stmt = select(
        a.c.product_id,
        func.sum(case((a.c.submitted_at >= since, 1), else_=0)).label("applications_90d"),
        func.sum(case((a.c.status.in_(decided), 1), else_=0)).label("decided"),
        func.sum(case((a.c.status.in_(list(APPROVED_STATUSES)), 1), else_=0)).label("approved"),
    ).group_by(a.c.product_id)
    if product_ids is not None:
        stmt = stmt.where(a.c.product_id.in_(product_ids))
    return stmt


def _build_catalogue(session, as_of: date) -> pd.DataFrame:
    p, o = Product.__table__, Organization.__table__
    stmt = (
        select(
            p.c.id.label("product_id"), p.c.code, p.c.name, p.c.name_en, p.c.product_type, p.c.institution_id,
            func.coalesce(o.c.short_name, o.c.name).label("institution_name"),
            o.c.name_en.label("institution_name_en"), o.c.kind.label("institution_kind"), p.c.amount_min,
            p.c.amount_max, p.c.term_min_months, p.c.term_max_months, p.c.rate_min, p.c.rate_max,
            p.c.first_loan_friendly, p.c.collateral_required, p.c.eligible_districts, p.c.min_credit_grade,
            p.c.tags, p.c.version, p.c.published_at,
        )
        .join(o, o.c.id == p.c.institution_id)
        .where(and_(p.c.status == ProductStatus.published.value, o.c.is_active.is_(True)))
        .order_by(p.c.id)
    )
    frame = pd.read_sql(stmt, session.connection())
    since = datetime.combine(as_of - timedelta(days=POPULARITY_DAYS), datetime.min.time(), tzinfo=utcnow().tzinfo)
    stats = pd.read_sql(_stats_query(since), session.connection())
    frame = frame.merge(stats, on="product_id", how="left")
    for name in ("applications_90d", "decided", "approved"):
        frame[name] = pd.to_numeric(frame[name]).fillna(0).astype(int)
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    for name in ("product_type", "institution_kind"):
        frame[name] = frame[name].astype(str)
    frame["min_credit_grade"] = frame["min_credit_grade"].map(lambda g: None if g is None or pd.isna(g) else str(g))
    for name in ("eligible_districts", "tags"):
        frame[name] = frame[name].map(lambda v: [str(x) for x in v] if isinstance(v, list) else [])
    frame["first_loan_friendly"] = frame["first_loan_friendly"].astype(bool)
    frame["collateral_required"] = frame["collateral_required"].astype(bool)
    frame["guarantee_mode"] = [
        guarantee_mode(t, c) for t, c in zip(frame["product_type"], frame["collateral_required"], strict=True)
    ]
    frame["approval_rate"] = np.where(frame["decided"] > 0, frame["approved"] / frame["decided"].clip(lower=1), np.nan)
    frame["_haystack"] = (
        frame["name"].fillna("") + "|" + frame["name_en"].fillna("") + "|" + frame["tags"].map("|".join)
        + "|" + frame["institution_name"].fillna("") + "|" + frame["institution_name_en"].fillna("")
    ).str.casefold()
    return frame[[*CATALOGUE_COLUMNS, "_haystack"]]


def catalogue(session, *, as_of: date) -> pd.DataFrame:
    """The published catalogue with its numbers, cached at the current data version.

    Args:
        session: the caller's session (used only on a cache miss).
        as_of: the day the 90-day popularity window ends.
    """
    return cache.get_or_compute("market.catalogue", (as_of.isoformat(),), lambda: _build_catalogue(session, as_of))


def _number(value, field: str, *, low: float, high: float | None = None) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or number < low or (high is not None and number > high):
        raise InvalidError(f"market.error.filter_{field}", field=field)
    return float(number)


def _choice_list(values, allowed: Collection[str], field: str) -> list[str]:
    items = [str(v) for v in (values or [])]
    if any(v not in allowed for v in items):
        raise InvalidError("market.error.filter_choice", field=field)
    return items


@use_case(permission=Permission.products_browse)
def search_products(
    uow,
    *,
    actor: Actor,
    text: str | None = None,
    institution_kinds: Collection[str] = (),
    product_types: Collection[str] = (),
    guarantee_modes: Collection[str] = (),
    amount: float | Decimal | None = None,
    term_months: int | None = None,
    max_rate: float | Decimal | None = None,
    district: str | None = None,
    first_loan_only: bool = False,
    product_ids: Collection[int] | None = None,
    sort: str = "rate",
    first_loan_first: bool = False,
    page: int = 1,
    page_size: int = 12,
    as_of: date | None = None,
) -> SearchPage:
    """Published products matching every filter given, sorted, one page of them.

    Args:
        text: searched case-insensitively in names (Chinese substrings too), tags and institution names.
        institution_kinds: bank, guarantee, insurer, leasing (any of them).
        product_types: product types (any of them).
        guarantee_modes: credit, guarantee, collateral (any of them).
        amount: yuan the enterprise wants; the product's range must hold it.
        term_months: months the enterprise wants; the product's range must hold it.
        max_rate: the highest acceptable annual rate (percent); the product's lowest rate must not exceed it.
        district: a district code; products open to every district or naming it.
        first_loan_only: only first-loan-friendly products.
        product_ids: only these products (e.g. the ones an enterprise qualifies for).
        sort: ``rate`` (lowest first), ``amount`` (highest maximum first), ``popularity`` (most
            applications in the last 90 days first) or ``approval`` (highest approval rate first; none yet last).
        first_loan_first: first-loan-friendly products ahead of the others, then ``sort``.
        page: 1-based; a page past the end gives the last page.
        page_size: 1–100.
        as_of: the day the popularity window ends (default: today in Asia/Shanghai).

    Raises:
        InvalidError: an unknown sort or choice, a negative or absurd number, a bad page (field named).
    """
    if sort not in SORTS:
        raise InvalidError("market.error.sort", field="sort")
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidError("market.error.page", field="page")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidError("market.error.page", field="page_size")
    amount_f = _number(amount, "amount", low=0.01, high=1e10)
    term_f = _number(term_months, "term", low=1, high=360)
    rate_f = _number(max_rate, "rate", low=0, high=100)
    kinds = _choice_list(institution_kinds, INSTITUTION_KINDS, "institution_kinds")
    types = _choice_list(product_types, [t.value for t in ProductType], "product_types")
    modes = _choice_list(guarantee_modes, GUARANTEE_MODES, "guarantee_modes")

    frame = catalogue(uow.session, as_of=as_of or today_local())
    keep = np.ones(len(frame), dtype=bool)
    needle = (text or "").strip().casefold()
    if needle:
        keep &= frame["_haystack"].str.contains(needle, regex=False).to_numpy()
    if kinds:
        keep &= frame["institution_kind"].isin(kinds).to_numpy()
    if types:
        keep &= frame["product_type"].isin(types).to_numpy()
    if modes:
        keep &= frame["guarantee_mode"].isin(modes).to_numpy()
    if amount_f is not None:
        keep &= ((frame["amount_min"] <= amount_f) & (frame["amount_max"] >= amount_f)).to_numpy()
    if term_f is not None:
        keep &= ((frame["term_min_months"] <= term_f) & (frame["term_max_months"] >= term_f)).to_numpy()
    if rate_f is not None:
        keep &= (frame["rate_min"] <= rate_f + 1e-9).to_numpy()
    if district:
        keep &= frame["eligible_districts"].map(lambda ds: not ds or str(district) in ds).to_numpy(bool)
    if first_loan_only:
        keep &= frame["first_loan_friendly"].to_numpy()
    if product_ids is not None:
        keep &= frame["product_id"].isin([int(i) for i in product_ids]).to_numpy()
    found = frame[keep]
    by, ascending = {
        "rate": (["rate_min", "rate_max"], [True, True]),
        "amount": (["amount_max", "amount_min"], [False, False]),
        "popularity": (["applications_90d"], [False]),
        "approval": (["approval_rate", "decided"], [False, False]),
    }[sort]
    if first_loan_first:
        by, ascending = ["first_loan_friendly", *by], [False, *ascending]
    found = found.sort_values([*by, "product_id"], ascending=[*ascending, True], kind="stable", na_position="last")
    total = len(found)
    pages = max(1, math.ceil(total / page_size))
    page = min(page, pages)
    items = found.iloc[(page - 1) * page_size : page * page_size][CATALOGUE_COLUMNS].reset_index(drop=True)
    return SearchPage(items=items, total=total, page=page, page_size=page_size)


@use_case(permission=Permission.products_browse)
def product_detail(uow, *, actor: Actor, product_id: int, as_of: date | None = None) -> ProductDetail:
    """One product with its institution, version, terms and numbers.

    Published products are open to every holder of ``products.browse``; a draft or withdrawn one only
    to staff of its institution family and to oversight. Institution staff see only their own family's
    products here (as in ``list_products``).

    Args:
        product_id: the product.
        as_of: the day the 90-day popularity window ends (default: today in Asia/Shanghai).

    Raises:
        NotFoundError: no such product, or one the caller may not see.
        ForbiddenError: institution staff asking about another family's product.
    """
    session = uow.session
    product = session.get(Product, product_id)
    if product is None:
        raise NotFoundError("market.error.product_not_found")
    own_family = reads_everything(actor)
    if not own_family and actor.can(Permission.products_manage):
        assert_institution_access(session, actor, product.institution_id)
        own_family = True
    if not own_family and ProductStatus(product.status) != ProductStatus.published:
        raise NotFoundError("market.error.product_not_found")
    org = session.get(Organization, product.institution_id)
    since = datetime.combine((as_of or today_local()) - timedelta(days=POPULARITY_DAYS), datetime.min.time(),
                             tzinfo=utcnow().tzinfo)
    row = session.execute(_stats_query(since, [int(product.id)])).first()
    return ProductDetail(
        product=ProductPublic.model_validate(product, from_attributes=True),
        institution_name=(org.short_name or org.name) if org else "",
        institution_name_en=org.name_en if org else None,
        institution_kind=str(org.kind) if org else "",
        guarantee_mode=guarantee_mode(str(product.product_type), bool(product.collateral_required)),
        published_at=product.published_at,
        applications_90d=int(row[1] or 0) if row else 0,
        decided=int(row[2] or 0) if row else 0,
        approved=int(row[3] or 0) if row else 0,
    )
