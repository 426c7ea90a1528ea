"""Matching service, loading side: products, enterprise facts, decided applications, the approval model
and the encoded product side, with their caches.

Frames come from ``pandas.read_sql`` (never row by row); the interactive path reads one enterprise with
one query (:func:`enterprise_row`). The approval model is learned from decided applications and cached
in :mod:`core.cache` under a fingerprint of those decisions, so it is retrained exactly when a decision
changes; the encoded product side (engine arrays, rows for explanations, the display table) is cached
per data version, across processes, and memoized in this process too. :mod:`core.services.matching`
re-exports every public name here.
"""

from __future__ import annotations

import hashlib
import pickle
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Integer, bindparam, func, select
from sqlmodel import Session

from core import cache
from core.config import get_settings
from core.matching.engine import ApprovalModel, Prepared, prepare_products
from core.models import Application, CreditScore, Enterprise, FinancingNeed, Organization, Product
from core.models.types import ApplicationStatus, NeedStatus, ProductStatus
from core.services.matching_explain import ProductTable, product_table

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
MODEL_TTL_SECONDS = 24 * 3600
FACT_COLUMNS = ["name", "credit_code", "district_code", "industry_section", "scale", "founded_on", "has_had_loan",
                "grade"]


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
    # optional text stays None when absent (pandas would infer a str column and turn None into NaN,
    # which a reason would then print as "nan")
    for name in ("name_en", "institution_name_en", "min_credit_grade"):
        frame[name] = _optional_text(frame[name])
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


@lru_cache(maxsize=1)
def _enterprise_row_statement():
    """The one-enterprise query, built once (its compiled form is cached by SQLAlchemy too)."""
    e, cs = Enterprise.__table__, CreditScore.__table__
    latest = (
        select(cs.c.grade).where(cs.c.enterprise_id == e.c.id)
        .order_by(cs.c.as_of.desc(), cs.c.id.desc()).limit(1).scalar_subquery()
    )
    return select(e.c.id, e.c.name, e.c.credit_code, e.c.district_code, e.c.industry_section, e.c.scale,
                  e.c.founded_on, e.c.has_had_loan, latest.label("grade")).where(e.c.id == bindparam("enterprise_id"))


def enterprise_row(session: Session, enterprise_id: int) -> dict[str, Any] | None:
    """One enterprise's facts as plain values, with its latest grade, in one query (the interactive path).

    Keys: ``id`` and :data:`FACT_COLUMNS`; ``scale`` a string, ``grade`` a string or None (unrated),
    ``founded_on`` a date. None when there is no such enterprise.

    Args:
        session: the caller's session.
        enterprise_id: the enterprise.
    """
    row = session.execute(_enterprise_row_statement(), {"enterprise_id": int(enterprise_id)}).mappings().first()
    if row is None:
        return None
    facts = dict(row)
    facts["id"] = int(facts["id"])
    facts["scale"] = None if facts["scale"] is None else str(facts["scale"])
    facts["grade"] = None if facts["grade"] is None else str(facts["grade"])
    facts["has_had_loan"] = bool(facts["has_had_loan"]) if facts["has_had_loan"] is not None else False
    return facts


def one_enterprise_facts(session: Session, enterprise_id: int) -> pd.DataFrame:
    """:func:`enterprise_facts` for one enterprise, without the window query (one row, or empty)."""
    row = enterprise_row(session, enterprise_id)
    if row is None:
        return pd.DataFrame(columns=FACT_COLUMNS)
    data = {k: [row[k]] for k in FACT_COLUMNS}
    return _facts(pd.DataFrame(data, index=pd.Index([row["id"]], name="id")))


def _optional_text(values: pd.Series) -> pd.Series:
    """Strings, with None (never NaN) where a value is absent: an ``object`` column."""
    return pd.Series([None if v is None or pd.isna(v) else str(v) for v in values], index=values.index, dtype=object)


def _facts(frame: pd.DataFrame) -> pd.DataFrame:
    frame["scale"] = frame["scale"].astype(str)
    frame["grade"] = _optional_text(frame["grade"])
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


_MODELS: dict[tuple, ApprovalModel] = {}


def approval_model(session: Session, *, as_of: date) -> ApprovalModel:
    """The approval model for ``as_of``, retrained only when the decided applications change.

    Args:
        session: the caller's session.
        as_of: the day years in business are counted to.
    """
    fingerprint = _decisions_fingerprint(session)
    key = _raw_key("approval", as_of.isoformat(), *fingerprint)
    memo_key = (key, get_settings().cache_url)
    model = _MODELS.get(memo_key)
    if model is not None:  # same decisions, same model: no need to read the shared cache again
        return model
    raw = cache.get_bytes(key)
    if raw is not None:
        model = pickle.loads(raw)  # noqa: S301 - our own cache, written below
    else:
        model = ApprovalModel.fit(decided_applications(session), as_of)
        cache.set_bytes(key, pickle.dumps(model), MODEL_TTL_SECONDS)
    if len(_MODELS) >= 8:
        _MODELS.clear()
    _MODELS[memo_key] = model
    return model


@dataclass(frozen=True)
class ProductSide:
    """The encoded products, their rows as dicts (for explanations), the display table and the model."""

    prep: Prepared
    records: list[dict[str, Any]]
    model: ApprovalModel
    table: ProductTable  # the rows of ``records`` in the recommendations' columns, for fast slicing


_MEMO: dict[tuple, ProductSide] = {}
_CHECKED: dict[tuple, tuple[float, ProductSide]] = {}
# How long a product side, once its approval model was checked against the decided applications, is
# reused at the same data version without checking again. Every service that writes bumps the data
# version, so a decision made through the services is seen by the very next call; this bounds how
# long a decision written behind their back (a script, SQL) can go unseen.
RECHECK_SECONDS = 60.0


def product_side(session: Session, *, as_of: date) -> ProductSide:
    """The encoded product side with its approval model, cached at the current data version.

    Kept in this process too (a few entries), so a repeated recommendation neither unpickles it nor
    re-counts the decided applications (see :data:`RECHECK_SECONDS`): at a steady data version a call
    costs one read of the data version.

    Args:
        session: the caller's session.
        as_of: the day years in business are counted to.
    """
    settings = get_settings()
    version = cache.data_version()
    checked_key = (settings.database_url, settings.cache_url, version, as_of)
    checked = _CHECKED.get(checked_key)
    now = time.monotonic()
    if checked is not None and now - checked[0] < RECHECK_SECONDS:
        return checked[1]

    model = approval_model(session, as_of=as_of)
    memo_key = (settings.database_url, settings.cache_url, version, as_of, model.trained_on, model.intercept)
    side = _MEMO.get(memo_key)
    if side is None:

        def build() -> ProductSide:
            prep = prepare_products(load_products(session), model)
            records = prep.products.reset_index().to_dict("records")
            return ProductSide(prep=prep, records=records, model=model, table=product_table(records))

        # ".v3": the pickled shape changed (lookup tables, display table); never read an older entry
        side = cache.get_or_compute("matching.product_side.v3", memo_key[3:], build)
        if len(_MEMO) >= 8:
            _MEMO.clear()
        _MEMO[memo_key] = side
    if len(_CHECKED) >= 8:
        _CHECKED.clear()
    _CHECKED[checked_key] = (now, side)
    return side


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
