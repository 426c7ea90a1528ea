"""Matching service: products for an enterprise (or one of its needs), and enterprises for a product.

Both directions run the pure engine (:mod:`core.matching.engine`) over frames loaded with
``pandas.read_sql`` — never row by row. Enterprise facts carry the latest ``CreditScore`` grade
(absent = unrated). The approval model is learned from decided applications (approved or later
versus rejected) and cached in :mod:`core.cache` under a fingerprint of those decisions, so it is
retrained exactly when a decision changes; the encoded product side is cached per data version.

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

import hashlib
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Integer, func, select
from sqlmodel import Session

from core import cache
from core.auth import Actor, Permission
from core.auth.rules import assert_enterprise_access, assert_institution_access
from core.config import get_settings
from core.errors import InvalidError, NotFoundError
from core.matching.engine import (
    BIT,
    CRITERIA,
    GRADE_RANK,
    ApprovalModel,
    Prepared,
    match_chunk,
    prepare_products,
    top_k,
    years_between,
)
from core.models import Application, CreditScore, Enterprise, FinancingNeed, Organization, Product
from core.models.types import ApplicationStatus, NeedStatus, ProductStatus
from core.services.directory import today_local
from core.services.products import CRITERION_KEYS, MissingCriterion
from core.usecase import use_case

# Product types that lend money (a guarantee or insurance product enhances credit, it does not lend).
NON_LENDING_TYPES = ("insurance", "guarantee_service")
APPROVED_STATUSES = tuple(
    s.value
    for s in (
        ApplicationStatus.approved,
        ApplicationStatus.contract_signed,
        ApplicationStatus.disbursed,
        ApplicationStatus.repaying,
        ApplicationStatus.settled,
        ApplicationStatus.overdue,
        ApplicationStatus.defaulted,
        ApplicationStatus.written_off,
    )
)
MISSING_KEYS = {
    **CRITERION_KEYS,
    "grade": "matching.missing.grade",
    "amount": "matching.missing.amount",
    "term": "matching.missing.term",
    "collateral": "matching.missing.collateral",
    "rate": "matching.missing.rate",
}
PRODUCT_COLUMNS = [
    "product_id", "product_name", "product_name_en", "product_type", "institution_id", "institution_name",
    "institution_name_en", "rate_min", "rate_max", "amount_min", "amount_max", "term_min_months",
    "term_max_months", "first_loan_friendly", "collateral_required", "min_credit_grade",
]
LEAD_CANDIDATE_COLUMNS = [
    "kind", "enterprise_id", "enterprise_name", "credit_code", "district_code", "industry_section", "scale",
    "grade", "has_had_loan", "need_id", "need_amount", "need_term_months", "fit_score", "p_approval",
]
MAX_K = 50
MODEL_TTL_SECONDS = 24 * 3600


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


# ----------------------------------------------------------------------------------------- loading


def load_products(session: Session, *, institution_ids: set[int] | None = None) -> pd.DataFrame:
    """Published products of active institutions, index = product id (engine columns + display ones).

    Args:
        session: the caller's session.
        institution_ids: only these institutions' products (default: every institution).
    """
    p, o = Product.__table__, Organization.__table__
    stmt = (
        select(
            p.c.id, p.c.name, p.c.name_en, p.c.product_type, p.c.institution_id, o.c.name.label("institution_name"),
            o.c.name_en.label("institution_name_en"), p.c.amount_min, p.c.amount_max, p.c.term_min_months,
            p.c.term_max_months, p.c.rate_min, p.c.rate_max, p.c.eligible_districts, p.c.eligible_industries,
            p.c.eligible_scales, p.c.min_years_in_business, p.c.min_credit_grade, p.c.collateral_required,
            p.c.first_loan_friendly,
        )
        .join(o, o.c.id == p.c.institution_id)
        .where(p.c.status == ProductStatus.published.value, o.c.is_active.is_(True))
        .order_by(p.c.id)
    )
    if institution_ids is not None:
        stmt = stmt.where(p.c.institution_id.in_(sorted(institution_ids)))
    frame = pd.read_sql(stmt, session.connection()).set_index("id")
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    for name in ("eligible_districts", "eligible_industries", "eligible_scales"):
        frame[name] = frame[name].map(lambda v: [str(x) for x in v] if isinstance(v, list) else [])
    frame["product_type"] = frame["product_type"].astype(str)
    frame["min_credit_grade"] = frame["min_credit_grade"].map(lambda g: None if g is None or pd.isna(g) else str(g))
    frame["first_loan_friendly"] = frame["first_loan_friendly"].astype(bool)
    frame["collateral_required"] = frame["collateral_required"].astype(bool)
    return frame


def _latest_grades(enterprise_ids: list[int] | None = None):
    """A subquery: each enterprise's latest rating (by as_of, then id), optionally for some enterprises only."""
    cs = CreditScore.__table__
    rn = func.row_number().over(partition_by=cs.c.enterprise_id, order_by=(cs.c.as_of.desc(), cs.c.id.desc()))
    ranked = select(cs.c.enterprise_id, cs.c.grade, rn.label("rn"))
    if enterprise_ids is not None:
        ranked = ranked.where(cs.c.enterprise_id.in_(enterprise_ids))
    ranked = ranked.subquery()
    return select(ranked.c.enterprise_id, ranked.c.grade).where(ranked.c.rn == 1).subquery()


def enterprise_facts(session: Session, *, enterprise_ids: list[int] | None = None) -> pd.DataFrame:
    """Enterprises as the engine reads them, index = enterprise id, with name, code and latest grade.

    Args:
        session: the caller's session.
        enterprise_ids: only these (default: all).
    """
    e = Enterprise.__table__
    ids = None if enterprise_ids is None else [int(i) for i in enterprise_ids]
    grades = _latest_grades(ids)
    stmt = (
        select(
            e.c.id, e.c.name, e.c.credit_code, e.c.district_code, e.c.industry_section, e.c.scale, e.c.founded_on,
            e.c.has_had_loan, grades.c.grade,
        )
        .select_from(e.outerjoin(grades, grades.c.enterprise_id == e.c.id))
        .order_by(e.c.id)
    )
    if ids is not None:
        stmt = stmt.where(e.c.id.in_(ids))
    return _facts(pd.read_sql(stmt, session.connection()).set_index("id"))


def one_enterprise_facts(session: Session, enterprise_id: int) -> pd.DataFrame:
    """:func:`enterprise_facts` for one enterprise, without the window query (the interactive path)."""
    e, cs = Enterprise.__table__, CreditScore.__table__
    row = session.execute(
        select(e.c.id, e.c.name, e.c.credit_code, e.c.district_code, e.c.industry_section, e.c.scale,
               e.c.founded_on, e.c.has_had_loan).where(e.c.id == int(enterprise_id))
    ).mappings().first()
    if row is None:
        return pd.DataFrame(columns=["name", "credit_code", "district_code", "industry_section", "scale",
                                     "founded_on", "has_had_loan", "grade"])
    grade = session.execute(
        select(cs.c.grade).where(cs.c.enterprise_id == int(enterprise_id))
        .order_by(cs.c.as_of.desc(), cs.c.id.desc()).limit(1)
    ).scalar()
    data = {k: [v] for k, v in row.items() if k != "id"}
    data["grade"] = [None if grade is None else str(grade)]
    return _facts(pd.DataFrame(data, index=pd.Index([int(row["id"])], name="id")))


def _facts(frame: pd.DataFrame) -> pd.DataFrame:
    frame["scale"] = frame["scale"].astype(str)
    frame["grade"] = frame["grade"].map(lambda g: None if g is None or pd.isna(g) else str(g)).astype(object)
    frame["has_had_loan"] = frame["has_had_loan"].fillna(False).astype(bool)
    frame["founded_on"] = pd.to_datetime(frame["founded_on"])
    return frame


def decided_applications(session: Session) -> pd.DataFrame:
    """Every decided application (approved or later = 1, rejected = 0) with what the model learns from.

    Columns: ``application_id``, ``enterprise_id``, ``product_id``, ``institution_id`` (the product's),
    the enterprise columns, ``amount_ratio`` (requested / product maximum), ``approved`` and ``submitted_at``.
    """
    a, p, e = Application.__table__, Product.__table__, Enterprise.__table__
    grades = _latest_grades()
    stmt = (
        select(
            a.c.id.label("application_id"), a.c.enterprise_id, a.c.product_id, p.c.institution_id,
            a.c.amount_requested, p.c.amount_max, a.c.status, a.c.submitted_at, e.c.district_code,
            e.c.industry_section, e.c.scale, e.c.founded_on, e.c.has_had_loan, grades.c.grade,
        )
        .select_from(
            a.join(p, p.c.id == a.c.product_id)
            .join(e, e.c.id == a.c.enterprise_id)
            .outerjoin(grades, grades.c.enterprise_id == a.c.enterprise_id)
        )
        .where(a.c.status.in_([*APPROVED_STATUSES, ApplicationStatus.rejected.value]))
        .order_by(a.c.id)
    )
    frame = _facts(pd.read_sql(stmt, session.connection()))
    frame["status"] = frame["status"].astype(str)
    frame["approved"] = frame["status"].isin(APPROVED_STATUSES)
    requested = pd.to_numeric(frame["amount_requested"]).astype(float)
    frame["amount_ratio"] = requested / pd.to_numeric(frame["amount_max"]).astype(float).replace(0, np.nan)
    frame["amount_ratio"] = frame["amount_ratio"].fillna(1.0)
    return frame


def _decisions_fingerprint(session: Session) -> tuple[int, int, int]:
    """(approved, rejected, highest id) of decided applications: changes when a decision does."""
    a = Application.__table__
    approved = func.sum(func.cast(a.c.status.in_(APPROVED_STATUSES), Integer()))
    row = session.execute(
        select(approved, func.count(a.c.id), func.coalesce(func.max(a.c.id), 0)).where(
            a.c.status.in_([*APPROVED_STATUSES, ApplicationStatus.rejected.value])
        )
    ).one()
    n_approved = int(row[0] or 0)
    return n_approved, int(row[1]) - n_approved, int(row[2])


def _raw_key(*parts: Any) -> str:
    scope = hashlib.sha1(get_settings().database_url.encode()).hexdigest()[:12]
    return "matching:" + scope + ":" + ":".join(str(p) for p in parts)


def approval_model(session: Session, *, as_of: date) -> ApprovalModel:
    """The approval model for ``as_of``, retrained only when the decided applications change.

    Args:
        session: the caller's session.
        as_of: the day years in business are counted to.
    """
    fingerprint = _decisions_fingerprint(session)
    key = _raw_key("approval", as_of.isoformat(), *fingerprint)
    raw = cache.get_bytes(key)
    if raw is not None:
        return pickle.loads(raw)  # noqa: S301 - our own cache, written below
    model = ApprovalModel.fit(decided_applications(session), as_of)
    cache.set_bytes(key, pickle.dumps(model), MODEL_TTL_SECONDS)
    return model


@dataclass(frozen=True)
class ProductSide:
    """The encoded products, their rows as dicts (for explanations) and the approval model."""

    prep: Prepared
    records: list[dict[str, Any]]
    model: ApprovalModel


_MEMO: dict[tuple, ProductSide] = {}


def product_side(session: Session, *, as_of: date) -> ProductSide:
    """The encoded product side with its approval model, cached at the current data version.

    Kept in this process too (a few entries), so a repeated recommendation does not even unpickle it.

    Args:
        session: the caller's session.
        as_of: the day years in business are counted to.
    """
    model = approval_model(session, as_of=as_of)
    settings = get_settings()
    memo_key = (settings.database_url, settings.cache_url, cache.data_version(), as_of, model.trained_on,
                model.intercept)
    side = _MEMO.get(memo_key)
    if side is not None:
        return side

    def build() -> ProductSide:
        prep = prepare_products(load_products(session), model)
        records = prep.products.reset_index().to_dict("records")
        return ProductSide(prep=prep, records=records, model=model)

    side = cache.get_or_compute("matching.product_side", memo_key[3:], build)
    if len(_MEMO) >= 8:
        _MEMO.clear()
    _MEMO[memo_key] = side
    return side


# ------------------------------------------------------------------------------------ explanation


def _wan(yuan: float) -> str:
    return f"{yuan / 10_000:,.0f}" if yuan >= 10_000 else f"{yuan / 10_000:,.2f}"


def explain_missing(mask: int, product: Mapping[str, Any], facts: Mapping[str, Any], *, as_of: date,
                    rate_failed: bool = False) -> list[MissingCriterion]:
    """The failed criteria of one pair as message keys with parameters (what the enterprise is missing).

    Args:
        mask: the engine's failure bit mask for the pair.
        product: the product's row of :func:`load_products`.
        facts: the enterprise's row (plus ``amount``, ``term_months``, ``max_rate`` for a need).
        as_of: the day years in business are counted to.
        rate_failed: the product's lowest rate is above the need's acceptable maximum.
    """
    out: list[MissingCriterion] = []
    for name in CRITERIA:
        if not int(mask) & int(BIT[name]):
            continue
        params: dict[str, object] = {}
        key = MISSING_KEYS[name]
        if name == "district":
            params["districts"] = list(product["eligible_districts"])
        elif name == "industry":
            params["sections"] = list(product["eligible_industries"])
        elif name == "scale":
            params["scales"] = list(product["eligible_scales"])
        elif name == "years_in_business":
            years = int(years_between(pd.Series([pd.Timestamp(facts["founded_on"])]), as_of)[0])
            params.update(required=int(product["min_years_in_business"]), actual=years)
        elif name == "grade":
            params.update(required=product["min_credit_grade"], actual=facts.get("grade") or "—")
            if not facts.get("grade"):
                key = "matching.missing.grade_unrated"
        elif name == "amount":
            params.update(min=_wan(product["amount_min"]), max=_wan(product["amount_max"]),
                          amount=_wan(float(facts["amount"])))
        elif name == "term":
            params.update(min=int(product["term_min_months"]), max=int(product["term_max_months"]),
                          term=int(facts["term_months"]))
        out.append(MissingCriterion(criterion=name, key=key, params=params))
    if rate_failed:
        out.append(MissingCriterion(criterion="rate", key=MISSING_KEYS["rate"],
                                    params={"rate": f"{product['rate_min']:.2f}",
                                            "max_rate": f"{float(facts['max_rate']):.2f}"}))
    return out


def fit_reasons(product: Mapping[str, Any], facts: Mapping[str, Any], *, p_approval: float | None) -> list[MissingCriterion]:
    """Why an eligible product fits: rate, approval chance, amount and term, grade room, first loan.

    Args:
        product: the product's row of :func:`load_products`.
        facts: the enterprise's row (plus ``amount`` and ``term_months`` for a need).
        p_approval: the model's approval probability for the pair, if known.
    """
    reasons = [MissingCriterion("rate", "matching.reason.rate", {"rate": f"{product['rate_min']:.2f}"})]
    if p_approval is not None and not np.isnan(p_approval):
        reasons.append(MissingCriterion("approval", "matching.reason.approval", {"pct": f"{100 * p_approval:.0f}"}))
    amount = facts.get("amount")
    if amount is not None and not pd.isna(amount):
        reasons.append(MissingCriterion("amount", "matching.reason.amount", {
            "min": _wan(product["amount_min"]), "max": _wan(product["amount_max"]), "amount": _wan(float(amount))}))
        reasons.append(MissingCriterion("term", "matching.reason.term", {
            "min": int(product["term_min_months"]), "max": int(product["term_max_months"]),
            "term": int(facts["term_months"])}))
    else:
        reasons.append(MissingCriterion("amount", "matching.reason.amount_range", {
            "min": _wan(product["amount_min"]), "max": _wan(product["amount_max"])}))
    grade, required = facts.get("grade"), product.get("min_credit_grade")
    if required and grade:
        reasons.append(MissingCriterion("grade", "matching.reason.grade", {"grade": grade, "required": required}))
    elif not required:
        reasons.append(MissingCriterion("grade", "matching.reason.no_grade_needed", {}))
    if product["first_loan_friendly"] and not bool(facts.get("has_had_loan")):
        reasons.append(MissingCriterion("first_loan", "matching.reason.first_loan", {}))
    return reasons


def grade_room(prep: Prepared, grades: pd.Series) -> np.ndarray:
    """(n, n_products) how far each grade is above each product's minimum, in [0, 1] (0.5: no minimum)."""
    g = grades.map(GRADE_RANK).fillna(-1).to_numpy(np.int64)
    return np.where(prep.min_grade[None, :] >= 0, np.clip((g[:, None] - prep.min_grade[None, :]) / 8.0, 0, 1), 0.5)


def rate_mask(prep: Prepared, max_rate: float | None) -> np.ndarray:
    """Per product: its lowest rate is above ``max_rate`` (all False without a maximum)."""
    if max_rate is None or pd.isna(max_rate):
        return np.zeros(len(prep.products), dtype=bool)
    return prep.products["rate_min"].to_numpy(float) > float(max_rate) + 1e-9


def need_frame(facts: pd.DataFrame, need: FinancingNeed | pd.Series) -> pd.DataFrame:
    """One enterprise's facts with a need's amount, term, collateral and maximum rate added."""
    out = facts.copy()
    out["amount"] = float(need.amount if isinstance(need, FinancingNeed) else need["amount"])
    out["term_months"] = int(need.term_months if isinstance(need, FinancingNeed) else need["term_months"])
    out["accepts_collateral"] = bool(
        need.accepts_collateral if isinstance(need, FinancingNeed) else need["accepts_collateral"]
    )
    max_rate = need.max_rate if isinstance(need, FinancingNeed) else need["max_rate"]
    out["max_rate"] = None if max_rate is None or pd.isna(max_rate) else float(max_rate)
    return out


# --------------------------------------------------------------------------------- recommendations


def _product_rows(records: list[dict[str, Any]], positions: list[int] | np.ndarray) -> pd.DataFrame:
    rows = [records[int(i)] for i in positions]
    frame = pd.DataFrame(rows, columns=["id", "name", "name_en", *PRODUCT_COLUMNS[3:]])
    return frame.rename(columns={"id": "product_id", "name": "product_name", "name_en": "product_name_en"})[
        PRODUCT_COLUMNS
    ]


def _popcount(masks: np.ndarray) -> np.ndarray:
    return np.unpackbits(masks.astype(">u2").view(np.uint8).reshape(-1, 2), axis=1).sum(axis=1)


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
    facts = one_enterprise_facts(session, enterprise_id)
    if facts.empty:
        raise NotFoundError("error.not_found")
    max_rate = None
    if need_id is not None:
        need = session.get(FinancingNeed, need_id)
        if need is None or need.enterprise_id != enterprise_id:
            raise NotFoundError("matching.error.need_not_found")
        facts = need_frame(facts, need)
        max_rate = facts["max_rate"].iloc[0]
    side = product_side(session, as_of=as_of)
    prep, model, records = side.prep, side.model, side.records
    grade = facts["grade"].iloc[0]
    if prep.products.empty:
        empty = pd.DataFrame(columns=PRODUCT_COLUMNS)
        return Recommendations(enterprise_id, need_id, grade, empty, empty, model.trained_on, 0)
    res = match_chunk(facts, prep, as_of=as_of, model=model)
    too_dear = rate_mask(prep, max_rate)
    fit = np.where(too_dear, np.nan, res.fit[0])
    failed = res.failed[0]
    row = facts.reset_index().iloc[0].to_dict()

    pos, _ = top_k(fit[None, :], k)
    chosen = [int(i) for i in pos[0] if i >= 0]
    eligible = _product_rows(records, chosen)
    eligible["fit_score"] = fit[chosen]
    eligible["p_approval"] = res.p_approval[0, chosen]
    if need_id is not None:
        ratio = float(row["amount"]) / prep.amount_max[chosen]
        eligible["amount_fit"] = 1.0 - np.abs(ratio - 0.5)
    else:
        eligible["amount_fit"] = 0.5
    eligible["grade_room"] = grade_room(prep, facts["grade"])[0, chosen]
    eligible["reasons"] = [
        fit_reasons(records[i], row, p_approval=float(res.p_approval[0, i])) for i in chosen
    ]

    bad = np.flatnonzero(np.isnan(fit))
    n_missing = _popcount(failed[bad]) + too_dear[bad]
    order = np.lexsort((prep.products["rate_min"].to_numpy(float)[bad], n_missing))[:missing_limit]
    near = bad[order]
    ineligible = _product_rows(records, near)
    ineligible["missing"] = [
        explain_missing(int(failed[i]), records[i], row, as_of=as_of, rate_failed=bool(too_dear[i])) for i in near
    ]
    ineligible["n_missing"] = n_missing[order].astype(int)
    return Recommendations(enterprise_id, need_id, grade, eligible, ineligible, model.trained_on, len(bad))


# ------------------------------------------------------------------------------ reverse direction


def open_needs(session: Session, *, need_ids: list[int] | None = None) -> pd.DataFrame:
    """Published needs (index = need id) with their enterprise's facts, amount, term, collateral, rate cap.

    Args:
        session: the caller's session.
        need_ids: only these needs (default: every published need).
    """
    n = FinancingNeed.__table__
    stmt = select(n.c.id, n.c.enterprise_id, n.c.amount, n.c.term_months, n.c.accepts_collateral, n.c.max_rate,
                  n.c.purpose, n.c.dispatch_limit, n.c.published_at).where(n.c.status == NeedStatus.published.value)
    if need_ids is not None:
        stmt = stmt.where(n.c.id.in_([int(i) for i in need_ids]))
    needs = pd.read_sql(stmt.order_by(n.c.id), session.connection())
    if needs.empty:
        return needs.set_index("id")
    facts = enterprise_facts(session, enterprise_ids=needs["enterprise_id"].unique().tolist())
    frame = needs.join(facts, on="enterprise_id").set_index("id")
    frame["amount"] = pd.to_numeric(frame["amount"]).astype(float)
    frame["max_rate"] = pd.to_numeric(frame["max_rate"]).astype(float)
    frame["accepts_collateral"] = frame["accepts_collateral"].fillna(False).astype(bool)
    return frame


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
