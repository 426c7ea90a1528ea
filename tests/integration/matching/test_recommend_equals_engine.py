"""The one-enterprise fast path of ``recommend_products`` returns exactly what the all-pairs engine ranks:
for every enterprise (and every open need) of a varied world, the same products in the same order, the
same fit scores and approval probabilities to the bit, the same reasons and "what you are missing",
and the same frames (columns and dtypes) — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.matching.engine import match_chunk, prepare_products, top_k
from core.models import CreditScore, FinancingNeed, ScoringModel
from core.models.types import ApplicationStatus, NeedStatus, Scale, utcnow
from core.services import matching
from core.services.matching_explain import popcount, rows_frame
from tests import factories

AS_OF = date(2026, 9, 30)
DISTRICTS = ["131102", "131103", "131121", "131122"]
GRADES = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC"]


def _world(seed: int = 42) -> None:
    """30 enterprises, 24 products of 4 banks, ratings (some re-rated), 60 decisions, 12 open needs."""
    rng = np.random.default_rng(seed)
    pick = lambda seq: seq[int(rng.integers(len(seq)))]  # noqa: E731
    with session_scope() as s:
        model = ScoringModel(name="测试模型", model_version="1", status="approved")
        s.add(model)
        s.flush()
        banks = [factories.institution(s, name=f"等价银行{i}", name_en=(f"Bank {i}" if i % 2 else None)).id
                 for i in range(4)]
        products = []
        for i in range(24):
            lo = int(rng.integers(1, 20)) * 10_000
            products.append(factories.product(
                s, pick(banks), name=f"等价贷{i}", name_en=(f"Loan {i}" if i % 3 else None),
                eligible_districts=list(rng.choice(DISTRICTS, int(rng.integers(0, 3)), replace=False)),
                eligible_industries=list(rng.choice(list("CFGI"), int(rng.integers(0, 3)), replace=False)),
                eligible_scales=list(rng.choice(["micro", "small", "medium"], int(rng.integers(0, 3)), replace=False)),
                min_years_in_business=int(rng.integers(0, 8)), first_loan_friendly=bool(rng.random() < 0.6),
                min_credit_grade=(pick(GRADES) if rng.random() < 0.5 else None),
                collateral_required=bool(rng.random() < 0.2),
                amount_min=Decimal(lo), amount_max=Decimal(lo + int(rng.integers(5, 300)) * 10_000),
                term_min_months=int(rng.integers(1, 12)), term_max_months=int(rng.integers(12, 60)),
                rate_min=Decimal(f"{rng.uniform(3, 8):.2f}"), rate_max=Decimal("12.00"),
            ))
        ents = []
        for _ in range(30):
            ent = factories.enterprise(
                s, district_code=pick(DISTRICTS), industry_section=pick(list("CFGI")),
                scale=pick([Scale.micro, Scale.small, Scale.medium]), has_had_loan=bool(rng.random() < 0.5),
                founded_on=date(int(rng.integers(2008, 2026)), int(rng.integers(1, 13)), int(rng.integers(1, 29))),
            )
            ents.append(ent)
            for n in range(int(rng.integers(0, 3))):  # 0 = unrated; 2 = re-rated, the later one counts
                s.add(CreditScore(enterprise_id=ent.id, model_id=model.id, score=600, grade=pick(GRADES), pd=0.03,
                                  as_of=date(2026, 3 + 3 * n, 30)))
        for _ in range(60):
            status = ApplicationStatus.approved if rng.random() < 0.6 else ApplicationStatus.rejected
            factories.application(s, pick(ents), pick(products), status=status,
                                  amount_requested=Decimal(int(rng.integers(5, 200)) * 10_000))
        for i in range(12):
            s.add(FinancingNeed(
                enterprise_id=pick(ents).id, amount=Decimal(int(rng.integers(5, 300)) * 10_000),
                term_months=int(rng.integers(3, 48)), purpose="等价测试需求",
                max_rate=(Decimal(f"{rng.uniform(3, 8):.2f}") if rng.random() < 0.5 else None),
                accepts_collateral=bool(rng.random() < 0.5), status=NeedStatus.published,
                published_at=utcnow(), idempotency_key=f"equal-need-{seed}-{i}",
            ))


def _expected(frame: pd.DataFrame, k: int, missing_limit: int) -> dict[int, tuple[pd.DataFrame, pd.DataFrame, int]]:
    """The all-pairs engine over ``frame`` (enterprises or needs), reduced per row to what the page shows."""
    with session_scope() as s:
        model = matching.approval_model(s, as_of=AS_OF)
        products = matching.load_products(s)
    prep = prepare_products(products, model)
    records = products.reset_index().to_dict("records")
    res = match_chunk(frame, prep, as_of=AS_OF, model=model)
    rate = products["rate_min"].to_numpy(float)
    out = {}
    for i, row in enumerate(frame.reset_index().to_dict("records")):
        max_rate = row.get("max_rate")
        too_dear = (rate > max_rate + 1e-9) if max_rate is not None and not pd.isna(max_rate) else np.zeros(len(rate), bool)
        fit = np.where(too_dear, np.nan, res.fit[i])
        pos, _ = top_k(fit[None, :], k)
        chosen = [int(j) for j in pos[0] if j >= 0]
        eligible = rows_frame(records, chosen)
        eligible["fit_score"] = fit[chosen]
        eligible["p_approval"] = res.p_approval[i, chosen]
        eligible["amount_fit"] = (1.0 - np.abs(row["amount"] / prep.amount_max[chosen] - 0.5)) if "amount" in row else 0.5
        eligible["grade_room"] = matching.grade_room(prep, pd.Series([row["grade"]]))[0, chosen]
        eligible["reasons"] = [matching.fit_reasons(records[j], row, p_approval=float(res.p_approval[i, j]))
                               for j in chosen]
        bad = np.flatnonzero(np.isnan(fit))
        n_missing = popcount(res.failed[i, bad]) + too_dear[bad]
        order = np.lexsort((rate[bad], n_missing))[:missing_limit]
        ineligible = rows_frame(records, bad[order])
        ineligible["missing"] = [matching.explain_missing(int(res.failed[i, j]), records[j], row, as_of=AS_OF,
                                                          rate_failed=bool(too_dear[j])) for j in bad[order]]
        ineligible["n_missing"] = n_missing[order].astype(int)
        out[int(frame.index[i])] = (eligible, ineligible, len(bad))
    return out


def _assert_equal(rec: matching.Recommendations, expected: tuple[pd.DataFrame, pd.DataFrame, int]) -> None:
    eligible, ineligible, total = expected
    assert_frame_equal(rec.eligible, eligible, check_exact=True)
    assert_frame_equal(rec.ineligible, ineligible, check_exact=True)
    assert rec.ineligible_total == total


def test_recommendations_equal_the_all_pairs_engine_for_every_enterprise(db):
    _world()
    with session_scope() as s:
        ents = matching.enterprise_facts(s)
    assert ents["grade"].isna().any() and ents["grade"].notna().any()
    for k, missing_limit in ((10, 30), (50, 1000), (3, 0)):
        expected = _expected(ents, k, missing_limit)
        ranked, none_eligible = 0, 0
        for enterprise_id in ents.index:
            rec = matching.recommend_products(actor=SYSTEM_ACTOR, enterprise_id=int(enterprise_id), k=k,
                                              missing_limit=missing_limit, as_of=AS_OF)
            assert rec.grade == ents.loc[enterprise_id, "grade"]
            _assert_equal(rec, expected[int(enterprise_id)])
            ranked += len(rec.eligible)
            none_eligible += rec.eligible.empty
        assert 0 < ranked < len(ents) * 24  # both outcomes occur in this world
        assert 0 < none_eligible < len(ents)  # including enterprises with nothing eligible (empty frames)


def test_need_recommendations_equal_the_all_pairs_engine_for_every_open_need(db):
    _world(seed=7)
    with session_scope() as s:
        needs = matching.open_needs(s)
    assert len(needs) == 12
    expected = _expected(needs, 10, 30)
    shown = 0
    for need_id, need in needs.iterrows():
        rec = matching.recommend_products(actor=SYSTEM_ACTOR, enterprise_id=int(need["enterprise_id"]),
                                          need_id=int(need_id), as_of=AS_OF)
        _assert_equal(rec, expected[int(need_id)])
        shown += len(rec.eligible) + len(rec.ineligible)
    assert shown > 0


def test_reasons_never_print_a_missing_grade_as_nan(db):
    _world(seed=3)
    with session_scope() as s:
        ents = matching.enterprise_facts(s)
    for enterprise_id in ents.index[:10]:
        rec = matching.recommend_products(actor=SYSTEM_ACTOR, enterprise_id=int(enterprise_id), k=50,
                                          missing_limit=1000, as_of=AS_OF)
        for reasons in [*rec.eligible["reasons"], *rec.ineligible["missing"]]:
            for reason in reasons:
                assert "nan" not in {str(v).lower() for v in reason.params.values()}, reason
