"""Matching benchmarks (issue 6): all pairs, one enterprise's latency, and ranking quality.

    .venv/bin/python scripts/bench_matching.py [--json] [--enterprises 100000] [--products 1000]
        [--naive-sample 200] [--latency-calls 200] [--holdout 0.2]

Runs against the database in ``DATABASE_URL`` (a seeded demo: ``scripts/seed_demo.py``).

(a) All pairs: every enterprise × every published product, top 10 each, through the engine's chunked
    ``match_all``. When ``--enterprises``/``--products`` ask for more rows than the database holds, the
    loaded rows are resampled (with new ids) up to that size, and the report says so. The same work is
    done by a straightforward per-pair Python loop on ``--naive-sample`` enterprises in the same run;
    ``speedup`` = (loop seconds per pair × all pairs) / engine seconds. The loop's top-10 on the sample
    is asserted equal to the engine's.
(b) One enterprise: ``recommend_products`` through the service (actor check, queries, cache) for
    ``--latency-calls`` random enterprises after one warm-up call; median and p95 in milliseconds
    (``one_p50_ms``, ``one_p95_ms``), against the products in the database. The same ranking step
    (``matching.rank_products``: match, top 10, reasons, the 30 nearest misses explained) is also timed
    against the ``--products`` resample, without the queries (``one_rank_<n>_p50_ms``/``_p95_ms``), so the
    cost at 1,000 products is shown even when the database holds fewer.
(c) Ranking quality: decided applications are split by submission time; the approval model learns
    from the earlier ``1 − holdout`` share. For each later application that was approved, the product
    it was approved on is looked for in the top 5 of (i) the fit ranking and (ii) the same eligible
    products sorted by rate alone. Hit rate at 5 of each.

Progress goes to stderr; ``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.auth import SYSTEM_ACTOR  # noqa: E402
from core.db import session_scope  # noqa: E402
from core.matching.engine import (  # noqa: E402
    GRADE_RANK,
    ApprovalModel,
    FitWeights,
    match_all,
    match_chunk,
    prepare_products,
    top_k,
)
from core.services import matching  # noqa: E402
from core.services.directory import today_local  # noqa: E402
from core.services.matching_explain import product_table  # noqa: E402
from core.services.matching_load import ProductSide  # noqa: E402


def log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def resample(frame: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` grown (or cut) to ``n`` rows by sampling with replacement; new ids 1..n."""
    if n <= len(frame):
        out = frame.iloc[:n].copy()
    else:
        out = frame.iloc[rng.integers(0, len(frame), n)].copy()
    out.index = pd.RangeIndex(1, len(out) + 1, name=frame.index.name)
    return out


# ----------------------------------------------------------------------------------- the naive loop


def _years(founded: date, as_of: date) -> int:
    return max(0, as_of.year - founded.year - ((as_of.month, as_of.day) < (founded.month, founded.day)))


def naive_top_k(ent: pd.DataFrame, products: pd.DataFrame, model: ApprovalModel, as_of: date, k: int
                ) -> dict[int, list[float]]:
    """The same hard criteria and fit score, one pair at a time in plain Python: each top-k's scores."""
    w = FitWeights()
    rate = products["rate_min"].astype(float)
    rate_score = (1.0 - rate.rank(pct=True, method="average") + 1.0 / len(rate)).clip(0, 1).to_dict()
    prods = products.reset_index().to_dict("records")
    out = {}
    for eid, e in zip(ent.index, ent.to_dict("records"), strict=True):
        terms = ApprovalModel.enterprise_terms(pd.DataFrame([e]), as_of).iloc[0].to_dict()
        e_logit = model.intercept + sum(model.coef_enterprise.get(n, 0.0) * v for n, v in terms.items())
        g = GRADE_RANK.get(e["grade"], -1) if e["grade"] else -1
        years = _years(pd.Timestamp(e["founded_on"]).date(), as_of)
        scored = []
        for p in prods:
            if p["eligible_districts"] and e["district_code"] not in p["eligible_districts"]:
                continue
            if p["eligible_industries"] and e["industry_section"] not in p["eligible_industries"]:
                continue
            if p["eligible_scales"] and e["scale"] not in p["eligible_scales"]:
                continue
            if years < int(p["min_years_in_business"] or 0):
                continue
            if not e["has_had_loan"] and not p["first_loan_friendly"]:
                continue
            mg = GRADE_RANK.get(p["min_credit_grade"], -1) if p["min_credit_grade"] else -1
            if mg >= 0 and g < mg:
                continue
            logit = e_logit + model.coef_institution.get(int(p["institution_id"]), 0.0) + model.coef_ratio * np.log1p(0.5)
            prob = 1.0 / (1.0 + np.exp(-logit))
            room = min(max((g - mg) / 8.0, 0.0), 1.0) if mg >= 0 else 0.5
            fit = w.approval * prob + w.rate * rate_score[p["id"]] + w.amount * 0.5 + w.grade * room
            scored.append((fit, p["id"]))
        scored.sort(key=lambda x: -x[0])
        out[int(eid)] = [fit for fit, _ in scored[:k]]
    return out


# ------------------------------------------------------------------------------------------- parts


def bench_all_pairs(ents, products, model, as_of, args, rng) -> dict:
    n_ent, n_prod = len(ents), len(products)
    log(f"(a) all pairs: {n_ent:,} enterprises × {n_prod:,} products, top 10")
    started = time.perf_counter()
    engine_top: dict[int, list[int]] = {}
    for ids, top, _ in match_all(ents, products, as_of=as_of, k=10, model=model, chunk=5000):
        if not engine_top:
            engine_top.update({int(i): [int(p) for p in row if p >= 0] for i, row in zip(ids, top, strict=True)})
    all_pairs_s = time.perf_counter() - started
    sample = ents.iloc[: args.naive_sample]
    started = time.perf_counter()
    naive = naive_top_k(sample, products, model, as_of, 10)
    naive_s = time.perf_counter() - started
    prep = prepare_products(products, model)
    res = match_chunk(sample, prep, as_of=as_of, model=model)
    _, scores = top_k(res.fit, 10)
    # resampled products tie, so the top-10 scores (not ids) are compared
    agree = sum(
        np.allclose(naive[int(e)], row[~np.isnan(row)]) for e, row in zip(sample.index, scores, strict=True)
    )
    per_pair = naive_s / (len(sample) * n_prod)
    speedup = per_pair * n_ent * n_prod / all_pairs_s
    log(f"    engine {all_pairs_s:.2f} s; loop {naive_s:.2f} s on {len(sample)} enterprises "
        f"({per_pair * 1e6:.2f} µs/pair); speedup {speedup:,.0f}×; top-10 scores equal on {agree}/{len(sample)}")
    return {"all_pairs_s": round(all_pairs_s, 3), "naive_sample": len(sample), "naive_s": round(naive_s, 3),
            "speedup": round(speedup, 1), "naive_agree": agree, "pairs": n_ent * n_prod}


def bench_latency(enterprise_ids, args, rng) -> dict:
    log(f"(b) one enterprise through the service: {args.latency_calls} calls")
    chosen = rng.choice(enterprise_ids, size=args.latency_calls, replace=True)
    matching.recommend_products(actor=SYSTEM_ACTOR, enterprise_id=int(chosen[0]))  # warm the cache
    times = []
    for eid in chosen:
        started = time.perf_counter()
        matching.recommend_products(actor=SYSTEM_ACTOR, enterprise_id=int(eid))
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    log(f"    p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return {"one_p50_ms": round(float(p50), 2), "one_p95_ms": round(float(p95), 2)}


def bench_rank(ents, products, model, as_of, args, rng) -> dict:
    """The service's ranking step for one enterprise against ``products`` (no queries, no unit of work)."""
    n = len(products)
    log(f"(b') one enterprise's ranking against {n:,} products: {args.latency_calls} calls")
    prep = prepare_products(products, model)
    records = prep.products.reset_index().to_dict("records")
    side = ProductSide(prep=prep, records=records, model=model, table=product_table(records))
    rows = ents.reset_index().to_dict("records")
    chosen = rng.integers(0, len(rows), size=args.latency_calls)
    matching.rank_products(rows[int(chosen[0])], side, as_of=as_of)
    times = []
    for i in chosen:
        started = time.perf_counter()
        matching.rank_products(rows[int(i)], side, as_of=as_of)
        times.append((time.perf_counter() - started) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    log(f"    p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return {f"one_rank_{n}_p50_ms": round(float(p50), 2), f"one_rank_{n}_p95_ms": round(float(p95), 2)}


def bench_quality(decided, ents, products, as_of, holdout) -> dict:
    decided = decided.sort_values(["submitted_at", "application_id"]).reset_index(drop=True)
    cut = int(len(decided) * (1 - holdout))
    train, test = decided.iloc[:cut], decided.iloc[cut:]
    test = test[test["approved"] & test["product_id"].isin(products.index)]
    log(f"(c) ranking quality: trained on {len(train)} decisions, {len(test)} held-out approvals")
    model = ApprovalModel.fit(train, as_of)
    prep = prepare_products(products, model)
    lending = ~products["product_type"].isin(matching.NON_LENDING_TYPES).to_numpy()
    facts = ents.loc[test["enterprise_id"]].copy()
    facts.index = test.index
    facts["amount"] = pd.to_numeric(test["amount_requested"]).astype(float).to_numpy()
    res = match_chunk(facts, prep, as_of=as_of, model=model)
    fit = np.where(lending[None, :], res.fit, np.nan)
    ids = products.index.to_numpy()
    rate = products["rate_min"].to_numpy(float)
    hits = hits_rate = 0
    for row, target in enumerate(test["product_id"].astype(int)):
        ok = np.flatnonzero(~np.isnan(fit[row]))
        by_fit = ids[ok[np.argsort(-fit[row, ok], kind="stable")][:5]]
        by_rate = ids[ok[np.argsort(rate[ok], kind="stable")][:5]]
        hits += target in by_fit
        hits_rate += target in by_rate
    n = max(len(test), 1)
    log(f"    hit rate at 5: fit {hits / n:.3f}, rate alone {hits_rate / n:.3f}")
    return {"hit_rate_at_5": round(hits / n, 4), "hit_rate_at_5_rate_only": round(hits_rate / n, 4),
            "holdout_approvals": len(test), "train_decisions": len(train)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--enterprises", type=int, default=0, help="resample enterprises to this many (0: as loaded)")
    parser.add_argument("--products", type=int, default=0, help="resample products to this many (0: as loaded)")
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    as_of = today_local()
    with session_scope() as session:
        ents = matching.enterprise_facts(session)
        products = matching.load_products(session)
        decided = matching.decided_applications(session)
        model = matching.approval_model(session, as_of=as_of)
    log(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    log(f"loaded {len(ents):,} enterprises, {len(products):,} published products, {len(decided):,} decisions")
    loaded = {"enterprises_loaded": len(ents), "products_loaded": len(products)}
    big_ents = resample(ents, args.enterprises, rng) if args.enterprises else ents
    big_products = resample(products, args.products, rng) if args.products else products
    result = {**loaded}
    result.update(bench_all_pairs(big_ents, big_products, model, as_of, args, rng))
    result.update(bench_latency(ents.index.to_numpy(), args, rng))
    result.update(bench_rank(ents, big_products, model, as_of, args, rng))
    result.update(bench_quality(decided, ents, products, as_of, args.holdout))
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        for key, value in result.items():
            sys.stdout.write(f"{key}: {value}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
