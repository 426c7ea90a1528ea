"""All-pairs matching: every enterprise (or need) against every product, vectorized, in both directions.

Hard criteria (a failed one is explained to the enterprise in words; codes as in :data:`CRITERIA`):
district, industry, scale, years in business, first loan (a product not marked first-loan friendly
expects a borrowing history), credit grade (the product's minimum), amount and term (a need's
amount and term inside the product's ranges), collateral (a product that requires it, an enterprise
that cannot offer it). Failures are a bit mask per pair (``uint16``), so 100,000 × 1,000 pairs take
two bytes each, and work goes in chunks of enterprises to bound memory.

Ranking of eligible pairs by a fit score in [0, 1]::

    fit = w_approval · P(approved) + w_rate · (1 − rate rank) + w_amount · amount fit + w_grade · grade room

``P(approved)`` comes from :class:`ApprovalModel` — a logistic regression learned from institutions'
past decisions, linear in enterprise terms + product/institution terms + the amount ratio, so its
logit over all pairs is an outer sum (no per-pair Python). Pure: frames in, arrays out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from core.enums import GRADE_ORDER

CRITERIA: tuple[str, ...] = (
    "district", "industry", "scale", "years_in_business", "first_loan", "grade", "amount", "term", "collateral",
)
BIT = {name: np.uint16(1 << i) for i, name in enumerate(CRITERIA)}
SCALES = ("micro", "small", "medium", "large")
GRADE_RANK = {g: i for i, g in enumerate(reversed(GRADE_ORDER))}  # C = 0 … AAA = 8


@dataclass(frozen=True)
class FitWeights:
    """How the fit score weighs its parts (configuration, not code)."""

    approval: float = 0.45
    rate: float = 0.25
    amount: float = 0.15
    grade: float = 0.15


def _codes(values: pd.Series, vocabulary: list[str]) -> np.ndarray:
    lookup = {v: i for i, v in enumerate(vocabulary)}
    return values.astype("string").map(lambda v: lookup.get(v, -1) if v is not pd.NA else -1).to_numpy(np.int64)


def _allow_table(lists: pd.Series, vocabulary: list[str]) -> np.ndarray:
    """(n_products, len(vocabulary) + 1) booleans: product allows the value; the last column is "unknown"."""
    table = np.zeros((len(lists), len(vocabulary) + 1), dtype=bool)
    lookup = {v: i for i, v in enumerate(vocabulary)}
    for row, allowed in enumerate(lists.tolist()):  # one pass over products (≈1,000), not over pairs
        items = list(allowed) if isinstance(allowed, list | tuple | set | np.ndarray) else []
        if not items:
            table[row, :] = True
        else:
            for v in items:
                j = lookup.get(str(v))
                if j is not None:
                    table[row, j] = True
    return table


def years_between(founded: pd.Series, as_of: date) -> np.ndarray:
    f = pd.to_datetime(founded)
    years = as_of.year - f.dt.year - ((f.dt.month > as_of.month) | ((f.dt.month == as_of.month) & (f.dt.day > as_of.day)))
    return years.clip(lower=0).to_numpy(np.int64)


def grade_rank(grades: pd.Series) -> np.ndarray:
    """AAA = 8 … C = 0; unrated = −1 (fails any product with a minimum grade)."""
    return grades.map(GRADE_RANK).fillna(-1).to_numpy(np.int64)


@dataclass
class ApprovalModel:
    """P(approved | enterprise, product) learned from decided applications; logit = e + p + a·ratio."""

    coef_enterprise: dict[str, float] = field(default_factory=dict)
    coef_institution: dict[int, float] = field(default_factory=dict)
    coef_ratio: float = 0.0
    intercept: float = 0.0
    trained_on: int = 0

    @staticmethod
    def enterprise_terms(ent: pd.DataFrame, as_of: date) -> pd.DataFrame:
        g = grade_rank(ent["grade"]) if "grade" in ent else np.full(len(ent), -1)
        terms = {
            "grade": np.where(g >= 0, g / 8.0, 0.0),
            "unrated": (g < 0).astype(float),
            "first_loan": (~ent["has_had_loan"].fillna(False).astype(bool)).astype(float).to_numpy(),
            "years": np.minimum(years_between(ent["founded_on"], as_of), 20) / 20.0,
        }
        for s in SCALES[:-1]:
            terms[f"scale_{s}"] = (ent["scale"].astype(str) == s).astype(float).to_numpy()
        return pd.DataFrame(terms, index=ent.index)

    @classmethod
    def fit(cls, decided: pd.DataFrame, as_of: date, *, c: float = 1.0) -> ApprovalModel:
        """``decided``: one row per decided application with the enterprise columns, ``institution_id``,
        ``amount_ratio`` (requested / product maximum) and ``approved`` (bool)."""
        y = decided["approved"].astype(int).to_numpy()
        if len(decided) < 20 or y.min() == y.max():
            rate = float(y.mean()) if len(y) else 0.5
            rate = min(max(rate, 0.02), 0.98)
            return cls(intercept=float(np.log(rate / (1 - rate))), trained_on=len(decided))
        e = cls.enterprise_terms(decided, as_of)
        inst = pd.get_dummies(decided["institution_id"].astype(int), prefix="i", dtype=float)
        ratio = np.log1p(decided["amount_ratio"].clip(0, 5).to_numpy())
        X = np.column_stack([e.to_numpy(), inst.to_numpy(), ratio])
        model = LogisticRegression(C=c, max_iter=1000).fit(X, y)
        w = model.coef_[0]
        ne = e.shape[1]
        return cls(
            coef_enterprise=dict(zip(e.columns, w[:ne].tolist(), strict=True)),
            coef_institution={int(col[2:]): float(v) for col, v in zip(inst.columns, w[ne:-1], strict=True)},
            coef_ratio=float(w[-1]),
            intercept=float(model.intercept_[0]),
            trained_on=len(decided),
        )

    def enterprise_logit(self, ent: pd.DataFrame, as_of: date) -> np.ndarray:
        terms = self.enterprise_terms(ent, as_of)
        out = np.full(len(ent), self.intercept)
        for name, w in self.coef_enterprise.items():
            out += w * terms[name].to_numpy()
        return out

    def enterprise_logit_one(self, *, grade: int, has_had_loan: bool, years: int, scale: str) -> float:
        """:meth:`enterprise_logit` for one enterprise from plain values, bit for bit the same float64.

        ``grade`` is the rank (−1 unrated), ``years`` full years in business. The terms and the order
        they are summed in mirror :meth:`enterprise_terms`, so the one-enterprise path ranks exactly
        like the all-pairs one.
        """
        terms = {
            "grade": grade / 8.0 if grade >= 0 else 0.0,
            "unrated": float(grade < 0),
            "first_loan": float(not has_had_loan),
            "years": min(years, 20) / 20.0,
        }
        for s in SCALES[:-1]:
            terms[f"scale_{s}"] = float(scale == s)
        out = self.intercept
        for name, w in self.coef_enterprise.items():
            out = out + w * terms[name]
        return float(out)

    def product_logit(self, products: pd.DataFrame) -> np.ndarray:
        return products["institution_id"].map(self.coef_institution).fillna(0.0).to_numpy(float)


@dataclass
class Prepared:
    """Products encoded once for many enterprise chunks."""

    products: pd.DataFrame
    districts: list[str]
    sections: list[str]
    allow_district: np.ndarray
    allow_industry: np.ndarray
    allow_scale: np.ndarray
    deny_district: np.ndarray  # (len(vocabulary) + 1, n_products), row-gathered per enterprise
    deny_industry: np.ndarray
    deny_scale: np.ndarray
    min_years: np.ndarray
    friendly: np.ndarray
    min_grade: np.ndarray
    collateral: np.ndarray
    amount_min: np.ndarray
    amount_max: np.ndarray
    term_min: np.ndarray
    term_max: np.ndarray
    rate_score: np.ndarray  # 1 = the cheapest product, 0 = the dearest
    product_logit: np.ndarray
    district_index: dict[str, int] = field(default_factory=dict)  # value → code (row of the deny tables)
    section_index: dict[str, int] = field(default_factory=dict)
    rate_min: np.ndarray = field(default_factory=lambda: np.zeros(0))  # float, NaN when unknown


def prepare_products(products: pd.DataFrame, model: ApprovalModel | None = None) -> Prepared:
    """Encode the product side once (index = product id)."""
    districts = sorted({str(v) for lst in products["eligible_districts"] for v in (lst or [])})
    sections = sorted({str(v) for lst in products["eligible_industries"] for v in (lst or [])})
    allow_district = _allow_table(products["eligible_districts"], districts)
    allow_industry = _allow_table(products["eligible_industries"], sections)
    allow_scale = _allow_table(products["eligible_scales"], list(SCALES))
    rate = pd.to_numeric(products["rate_min"], errors="coerce").astype(float)
    rate_score = 1.0 - rate.rank(pct=True, method="average").fillna(1.0).to_numpy() + 1.0 / max(len(rate), 1)
    mg = products["min_credit_grade"].map(GRADE_RANK) if "min_credit_grade" in products else None
    return Prepared(
        products=products,
        districts=districts,
        sections=sections,
        allow_district=allow_district,
        allow_industry=allow_industry,
        allow_scale=allow_scale,
        deny_district=np.ascontiguousarray(~allow_district.T),
        deny_industry=np.ascontiguousarray(~allow_industry.T),
        deny_scale=np.ascontiguousarray(~allow_scale.T),
        min_years=pd.to_numeric(products["min_years_in_business"]).fillna(0).to_numpy(np.int64),
        friendly=products["first_loan_friendly"].fillna(False).astype(bool).to_numpy(),
        min_grade=(mg.fillna(-1).to_numpy(np.int64) if mg is not None else np.full(len(products), -1)),
        collateral=products.get("collateral_required", pd.Series(False, index=products.index))
        .fillna(False).astype(bool).to_numpy(),
        amount_min=pd.to_numeric(products["amount_min"]).astype(float).to_numpy(),
        amount_max=pd.to_numeric(products["amount_max"]).astype(float).to_numpy(),
        term_min=pd.to_numeric(products["term_min_months"]).to_numpy(np.int64),
        term_max=pd.to_numeric(products["term_max_months"]).to_numpy(np.int64),
        rate_score=np.clip(rate_score, 0.0, 1.0),
        product_logit=(model.product_logit(products) if model else np.zeros(len(products))),
        district_index={v: i for i, v in enumerate(districts)},
        section_index={v: i for i, v in enumerate(sections)},
        rate_min=rate.to_numpy(float),
    )


@dataclass
class ChunkResult:
    """Failure masks and fit scores for one chunk of enterprises × all products."""

    enterprise_ids: np.ndarray
    failed: np.ndarray  # (n_ent, n_prod) uint16 bit mask; 0 = eligible
    fit: np.ndarray  # (n_ent, n_prod) float; NaN where not eligible
    p_approval: np.ndarray


@dataclass(frozen=True)
class EnterpriseArrays:
    """Enterprises (or needs) encoded for the engine: plain arrays, one entry per row.

    Built from a frame by :func:`encode_enterprises` (many rows) or from one row's plain values by
    :func:`core.matching.single.encode_one`; :func:`match_encoded` scores either the same way.
    """

    ids: np.ndarray
    district: np.ndarray  # int64 code into ``Prepared.districts``; −1 = listed by no product
    industry: np.ndarray  # int64 code into ``Prepared.sections``; −1 likewise
    scale: np.ndarray  # int64 code into SCALES; −1 unknown
    years: np.ndarray  # int64 full years in business at ``as_of``
    had_loan: np.ndarray  # bool
    grade: np.ndarray  # int64 rank (AAA = 8 … C = 0), −1 unrated
    amount: np.ndarray  # float64 yuan asked for; NaN = no need (amount not checked)
    term: np.ndarray  # float64 months asked for; NaN = not checked
    accepts_collateral: np.ndarray | None  # bool; None = collateral not checked (no need)
    logit: np.ndarray | None  # float64 enterprise part of the approval logit; None without a model


def encode_enterprises(ent: pd.DataFrame, prep: Prepared, *, as_of: date,
                       model: ApprovalModel | None = None) -> EnterpriseArrays:
    """Encode a frame of enterprises (the columns :func:`match_chunk` reads) against ``prep``."""
    n = len(ent)
    amount = pd.to_numeric(ent["amount"], errors="coerce").to_numpy(float) if "amount" in ent else np.full(n, np.nan)
    term = pd.to_numeric(ent["term_months"], errors="coerce").to_numpy(float) if "term_months" in ent else np.full(n, np.nan)
    return EnterpriseArrays(
        ids=ent.index.to_numpy(),
        district=_codes(ent["district_code"], prep.districts),
        industry=_codes(ent["industry_section"], prep.sections),
        scale=_codes(ent["scale"].astype(str), list(SCALES)),
        years=years_between(ent["founded_on"], as_of),
        had_loan=ent["has_had_loan"].fillna(False).astype(bool).to_numpy(),
        grade=grade_rank(ent["grade"]) if "grade" in ent else np.full(n, -1),
        amount=amount,
        term=term,
        accepts_collateral=(ent["accepts_collateral"].fillna(False).astype(bool).to_numpy()
                            if "accepts_collateral" in ent else None),
        logit=model.enterprise_logit(ent, as_of) if model is not None else None,
    )


def match_chunk(ent: pd.DataFrame, prep: Prepared, *, as_of: date, model: ApprovalModel | None = None,
                weights: FitWeights | None = None) -> ChunkResult:
    """Evaluate ``ent`` (index = enterprise or need id) against every prepared product.

    ``ent`` columns: district_code, industry_section, scale, founded_on, has_had_loan, grade (may be
    None), and optionally amount and term_months (a need) and accepts_collateral.
    """
    return match_encoded(encode_enterprises(ent, prep, as_of=as_of, model=model), prep, model=model,
                         weights=weights)


def match_encoded(enc: EnterpriseArrays, prep: Prepared, *, model: ApprovalModel | None = None,
                  weights: FitWeights | None = None) -> ChunkResult:
    """Failure masks and fit scores of encoded enterprises against every prepared product.

    ``model`` must be the one ``enc`` was encoded with (its enterprise logit is in ``enc.logit``).
    """
    weights = weights or FitWeights()
    n = len(enc.ids)
    m = len(prep.min_years)
    failed = np.zeros((n, m), dtype=np.uint16)

    def fail(name: str, bad: np.ndarray) -> None:
        # bit-or of a whole boolean plane: no boolean-mask indexing (which would build index arrays)
        np.bitwise_or(failed, bad.astype(np.uint16) << np.uint16(CRITERIA.index(name)), out=failed)

    fail("district", prep.deny_district[enc.district])
    fail("industry", prep.deny_industry[enc.industry])
    fail("scale", prep.deny_scale[enc.scale])
    years = enc.years
    fail("years_in_business", years[:, None] < prep.min_years[None, :])
    had = enc.had_loan
    fail("first_loan", ~had[:, None] & ~prep.friendly[None, :])
    g = enc.grade
    fail("grade", (prep.min_grade[None, :] >= 0) & (g[:, None] < prep.min_grade[None, :]))
    amount = enc.amount
    has_amount = ~np.isnan(amount)
    if has_amount.any():
        fail("amount", has_amount[:, None] & ((amount[:, None] < prep.amount_min) | (amount[:, None] > prep.amount_max)))
    term = enc.term
    has_term = ~np.isnan(term)
    if has_term.any():
        fail("term", has_term[:, None] & ((term[:, None] < prep.term_min) | (term[:, None] > prep.term_max)))
    if enc.accepts_collateral is not None:
        can = enc.accepts_collateral
        fail("collateral", ~can[:, None] & prep.collateral[None, :])

    # fit score, in float32 (ample for a ranking; half the memory traffic of float64)
    f32 = np.float32
    if has_amount.any():
        ratio = np.where(has_amount[:, None], amount[:, None] / prep.amount_max[None, :], 0.5).astype(f32)
    else:
        ratio = np.full((1, m), 0.5, dtype=f32)  # broadcast: no need to build an n × m plane
    if model is not None:
        if enc.logit is None:
            raise ValueError("enterprises were encoded without the approval model")
        logit = (enc.logit.astype(f32)[:, None] + prep.product_logit.astype(f32)[None, :]
                 + f32(model.coef_ratio) * np.log1p(np.clip(ratio, 0, 5)))
        p = 1.0 / (1.0 + np.exp(-logit))
    else:
        p = np.full((n, m), 0.5, dtype=f32)
    # a row without an amount scores 0.5 whether or not other rows of the chunk have one
    amount_fit = (np.where(has_amount[:, None], 1.0 - np.abs(ratio - 0.5), 0.5).astype(f32)
                  if has_amount.any() else f32(0.5))
    room = np.where(prep.min_grade[None, :] >= 0,
                    np.clip((g[:, None] - prep.min_grade[None, :]) / 8.0, 0, 1), 0.5).astype(f32)
    fit = (f32(weights.approval) * p + f32(weights.rate) * prep.rate_score.astype(f32)[None, :]
           + f32(weights.amount) * amount_fit + f32(weights.grade) * room)
    fit[failed != 0] = np.nan
    return ChunkResult(enc.ids, failed, fit, p)


def top_k(fit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and scores of the ``k`` best per row (NaN = ineligible, never chosen; −1 padding)."""
    k = min(k, fit.shape[1])
    filled = np.where(np.isnan(fit), -np.inf, fit)
    part = np.argpartition(-filled, kth=k - 1, axis=1)[:, :k]
    scores = np.take_along_axis(filled, part, axis=1)
    order = np.argsort(-scores, axis=1, kind="stable")
    pos = np.take_along_axis(part, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1)
    pos = np.where(np.isfinite(scores), pos, -1)
    return pos, np.where(np.isfinite(scores), scores, np.nan)


def match_all(enterprises: pd.DataFrame, products: pd.DataFrame, *, as_of: date, k: int = 10,
              model: ApprovalModel | None = None, chunk: int = 5000,
              weights: FitWeights | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (enterprise ids, product ids of their top ``k`` (−1 padded), fit scores) chunk by chunk."""
    prep = prepare_products(products, model)
    product_ids = products.index.to_numpy()
    for start in range(0, len(enterprises), chunk):
        part = enterprises.iloc[start:start + chunk]
        res = match_chunk(part, prep, as_of=as_of, model=model, weights=weights)
        pos, score = top_k(res.fit, k)
        ids = np.where(pos >= 0, product_ids[np.clip(pos, 0, None)], -1)
        yield res.enterprise_ids, ids, score


def explain(mask: int) -> list[str]:
    """The failed criteria of one pair's bit mask, in :data:`CRITERIA` order."""
    return [name for name in CRITERIA if int(mask) & int(BIT[name])]
