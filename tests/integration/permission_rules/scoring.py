"""Matrix rules for the rating services (issue 5), and the small rating worlds their tests share.

``outcome_world`` writes enterprises with loans whose 12-month outcome is known and whose records
explain it (bad borrowers fell into social-insurance arrears months before they borrowed), so a
scorecard can be trained on a few dozen rows on both databases. ``draft_model`` adds a model row
holding a tiny real scorecard, without training.

``credit_portrait`` is readable by the enterprise itself, oversight and consented institution staff
(row rule ``own_or_consented_enterprise``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import select

from core.auth import Permission
from core.db import session_scope
from core.models import GovRecord, ScoringModel
from core.models.types import GovSource, ModelStatus, Scale, utcnow
from core.scoring.scorecard import ScorecardConfig, fit_scorecard
from tests import factories
from tests.integration.permission_world import Builder, Rule

S = "core.services.scoring."
SM = "core.services.scoring_models."
MON = "core.services.scoring_monitor."
RR = "core.services.rating_runs."

RULES: dict[str, Rule] = {
    S + "credit_portrait": Rule(None, "own_or_consented_enterprise"),
    SM + "train_model": Rule(Permission.models_manage, "any"),
    SM + "list_models": Rule(Permission.oversight, "any"),
    SM + "approve_model": Rule(Permission.models_approve, "any"),
    SM + "retire_model": Rule(Permission.models_approve, "any"),
    MON + "compare_models": Rule(Permission.oversight, "any"),
    MON + "model_stability": Rule(Permission.oversight, "any"),
    MON + "indicator_table": Rule(None, "any", note="published reference configuration"),
    RR + "run_batch_rating": Rule(Permission.rating_run, "any"),
    RR + "rerate_changed": Rule(Permission.rating_run, "any"),
    RR + "rerate_enterprises": Rule(Permission.rating_run, "any"),
    RR + "bootstrap_demo_rating": Rule(Permission.seed, "any", note="skips when a model is approved"),
    RR + "rating_distribution": Rule(Permission.oversight, "any"),
}


# ------------------------------------------------------------------------------------ rating worlds
@lru_cache(maxsize=1)
def tiny_card() -> dict[str, Any]:
    """A real (tiny) scorecard as plain data: arrears and tax months on synthetic rows."""
    rng = np.random.default_rng(3)
    n = 400
    arrears = rng.poisson(0.4, n).astype(float)
    months = rng.integers(4, 13, n).astype(float)
    logit = -3 + 1.3 * arrears - 0.15 * (months - 8)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame({"si_arrears_24m": arrears, "tax_months_paid_12m": months})
    return fit_scorecard(X, y, ScorecardConfig(c_grid=(1.0,))).to_dict()


def draft_model(*, trained_by_id: int | None = None, status: ModelStatus = ModelStatus.draft,
                version: str | None = None) -> int:
    """A model row holding :func:`tiny_card` (no training); returns its id."""
    with session_scope() as s:
        n = s.exec(select(ScoringModel.id)).all()
        model = ScoringModel(
            name="jinfu-scorecard", model_version=version or f"v{900 + len(n)}", segment="all",
            status=status, trained_at=utcnow(), approved_at=utcnow() if status == ModelStatus.approved else None,
            parameters={"card": tiny_card(), "rating_config": {"card_weight": 0.5}, "trained_by_id": trained_by_id,
                        "trained_by": "fixture"},
            metrics={"auc": 0.8, "ks": 0.5, "gini": 0.6, "rows": 400, "bads": 40,
                     "score_hist": [1] * 20})
        s.add(model)
        s.flush()
        return int(model.id)


def _monthly(s, ent_id: int, kind: str, source: GovSource, start: date, months: int, value: float) -> None:
    for k in range(months):
        total = start.year * 12 + start.month - 1 + k
        period = date(total // 12, total % 12 + 1, 1)
        s.add(GovRecord(enterprise_id=ent_id, source=source, kind=kind, period=period, value=value,
                        received_at=datetime(period.year, period.month, 1, tzinfo=UTC) + timedelta(days=40)))


def outcome_world(*, as_of: date = date(2026, 10, 31), segments: dict[tuple[str, Scale], tuple[int, int]] | None = None,
                  bank_id: int | None = None) -> dict[str, list[int]]:
    """Borrowers with known 12-month outcomes; returns enterprise ids by ``bad`` / ``good``.

    Every borrower took a loan about 19 months before ``as_of`` and reports monthly tax, insured
    headcount and electricity from two years before the loan until ``as_of``; bad ones had social-insurance arrears in the months before and defaulted
    200 days after disbursement.

    Args:
        as_of: the training date.
        segments: (industry section, scale) → (bads, goods); default one segment of 12 bad, 24 good.
        bank_id: the lending bank (a new one when None).
    """
    segments = segments or {("C", Scale.small): (12, 24)}
    disbursed = datetime(as_of.year - 1, as_of.month, 1, 3, tzinfo=UTC) - timedelta(days=180)
    history_start = date(disbursed.year - 2, disbursed.month, 1)
    span = (as_of.year - history_start.year) * 12 + as_of.month - history_start.month  # months up to as_of's
    out: dict[str, list[int]] = {"bad": [], "good": []}
    with session_scope() as s:
        bank = bank_id or factories.institution(s).id
        prod = factories.product(s, bank)
        for (section, scale), (bads, goods) in segments.items():
            for k in range(bads + goods):
                bad = k < bads
                shows = bad and k % 4 != 3  # one bad borrower in four gave no warning (a surprise default)
                ent = factories.enterprise(s, industry_section=section, scale=scale, employees=20 + k % 7)
                app = factories.application(s, ent, prod, status="defaulted" if bad else "settled")
                factories.loan(s, app, disbursed_at=disbursed + timedelta(days=k % 20),
                               status="defaulted" if bad else "settled",
                               defaulted_at=disbursed + timedelta(days=200) if bad else None)
                _monthly(s, ent.id, "tax_paid", GovSource.tax, history_start, span, 3000.0 + 50 * (k % 5))
                _monthly(s, ent.id, "si_headcount", GovSource.social_insurance, history_start, span, 15.0 + k % 5)
                _monthly(s, ent.id, "electricity_kwh", GovSource.electricity, history_start, 18, 9000.0 + 30 * (k % 9))
                # From six months before the loan on: bad borrowers' electricity falls away.
                recent = date(history_start.year + (history_start.month + 17) // 12, (history_start.month + 17) % 12 + 1, 1)
                _monthly(s, ent.id, "electricity_kwh", GovSource.electricity, recent, span - 18,
                         (4000.0 + 400 * (k % 4)) if shows else (9000.0 + 30 * (k % 9)))
                events = (1 + k % 3) if shows else (1 if k % 6 == 5 else 0)
                for m in range(events):
                    period = (disbursed - timedelta(days=30 * (3 + 2 * m))).date().replace(day=1)
                    s.add(GovRecord(enterprise_id=ent.id, source=GovSource.social_insurance, kind="si_arrears",
                                    period=period, ref=f"arrears-{m}", value=1.0,
                                    received_at=datetime(period.year, period.month, 20, tzinfo=UTC)))
                out["bad" if bad else "good"].append(int(ent.id))
    return out


# --------------------------------------------------------------------------------------- arguments
def _world_state(w) -> None:
    """Make sure the matrix database holds outcomes to train on and one approved model to rate with."""
    from core.models import Loan

    with session_scope() as s:
        has_loans = len(s.exec(select(Loan.id).where(Loan.defaulted_at.is_not(None))).all()) >= 8
        approved = s.exec(select(ScoringModel.id).where(ScoringModel.status == ModelStatus.approved)).first()
    if not has_loans:
        outcome_world(bank_id=w.own.bank_id)
    if approved is None:
        draft_model(status=ModelStatus.approved)


def _train(w, sc, r) -> dict[str, Any]:
    _world_state(w)
    return {"as_of": date(2026, 10, 31), "min_segment_rows": 20, "min_segment_bads": 5}


def _fresh(w, sc, r) -> dict[str, Any]:
    _world_state(w)
    return {"model_id": draft_model(trained_by_id=None), "version": 1}


ARGUMENTS: dict[str, Builder] = {
    S + "credit_portrait": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    SM + "train_model": _train,
    SM + "list_models": lambda w, sc, r: {},
    SM + "approve_model": _fresh,
    SM + "retire_model": _fresh,
    MON + "compare_models": lambda w, sc, r: {"left_id": draft_model(), "right_id": draft_model()},
    MON + "model_stability": lambda w, sc, r: {"model_id": draft_model()},
    MON + "indicator_table": lambda w, sc, r: {},
    RR + "run_batch_rating": lambda w, sc, r: (_world_state(w), {"as_of": date(2026, 10, 31)})[1],
    RR + "rerate_changed": lambda w, sc, r: (_world_state(w), {"as_of": date(2026, 10, 31)})[1],
    RR + "rerate_enterprises": lambda w, sc, r: (_world_state(w), {
        "enterprise_ids": [w.side(sc).enterprise_id], "reason": "矩阵测试重评"})[1],
    RR + "bootstrap_demo_rating": lambda w, sc, r: (_world_state(w), {})[1],
    RR + "rating_distribution": lambda w, sc, r: {},
}
