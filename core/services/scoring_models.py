"""The rating-model registry: train a scorecard on the platform's own loan outcomes, compare, approve, retire.

Training set (``train_model``). One row per disbursed loan whose 12-month outcome is known:

* **label** — bad when the loan defaulted (``Loan.defaulted_at``) or one of its installments reached 90
  days past due within 12 months of disbursement; good when 12 months have passed without either.
  Younger loans without a bad outcome are left out (their outcome is not known yet);
* **observation date** — the last day of the month before disbursement: the month-end snapshot a
  monthly rating run would have seen when the application was decided. Features use only records
  received by then (``received_at``), so nothing from after the decision leaks in;
* several loans of one enterprise in one month count once (bad if any was bad).

The held-out split is by enterprise (an enterprise's loans never sit on both sides); AUC, KS and
Gini are measured on it. ``fit_segmented`` fits one card per industry section × scale segment with
enough rows and bads and the whole-population card for the thin ones (recorded as fallbacks).

Registry rules: a new model starts as ``draft``; approval is maker-checker (the approver must not be
the user who trained it) with optimistic locking on the version column; approving retires the model
previously approved for the same segment. One training run stores one model row for segment ``all``
holding every segment's card. Only an approved model rates; without one, rating is refused
(``NoApprovedModelError``) — the platform never publishes an indicator-only score as if it were a
validated rating. The one exception to maker-checker is ``bootstrap_demo_rating`` (demo seeding),
where the system actor trains and approves the first model so a fresh demo shows ratings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session, col
from sqlmodel import select as model_select

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import ScoringModel, User
from core.models.financing import Loan, RepaymentInstallment
from core.models.types import ModelStatus, utcnow
from core.scoring.features import FEATURE_NAMES
from core.scoring.rating import RatingConfig
from core.scoring.scorecard import (
    ScorecardConfig,
    ScorecardError,
    SegmentedScorecard,
    classification_metrics,
    fit_segmented,
    psi_band,
    segment_keys,
)
from core.services.scoring import (
    INDICATOR_VERSION,
    LOCAL_TZ,
    MODEL_NAME,
    card_from_parameters,
    features_for,
    load_frames,
    today_local,
)
from core.usecase import expect_version, use_case

MIN_BADS = 8  # fewer bad outcomes than this cannot be trained on honestly
MIN_GOODS = 8
HOLDOUT_SHARE = 0.3
HIST_EDGES = list(range(0, 1001, 50))  # score histogram bins (0–1000 rating scale) for comparisons
BANDS = {"stable": "ok", "monitor": "watch", "alert": "alert"}  # engine band → console band


class TrainingDataError(InvalidError):
    """Too few known outcomes to train and validate a model."""

    key = "models.error.too_few_outcomes"


class SelfApprovalError(ConflictError):
    """Maker-checker: the user who trained a model cannot approve it."""

    key = "models.error.self_approval"


class ModelStateError(ConflictError):
    """The model's status does not allow the action (e.g. approving a retired model)."""

    key = "models.error.state"


def band_of(value: float | None) -> str | None:
    """``ok`` below 0.10, ``watch`` from 0.10, ``alert`` from 0.25 (None without a value).

    Args:
        value: a population stability index.
    """
    return None if value is None or np.isnan(value) else BANDS[psi_band(float(value))]


# ----------------------------------------------------------------------------------- training set
def training_set(session: Session, *, as_of: date) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict[str, Any]]:
    """Features, labels (1 = bad) and enterprise ids of every loan with a known 12-month outcome.

    Args:
        session: the caller's session.
        as_of: outcomes are read as of this day.
    """
    conn = session.connection()
    loans = pd.read_sql(select(Loan.__table__.c.id, Loan.__table__.c.enterprise_id, Loan.__table__.c.disbursed_at,
                               Loan.__table__.c.defaulted_at), conn)
    inst = RepaymentInstallment.__table__
    late = pd.read_sql(select(inst.c.loan_id, inst.c.due_date).where(inst.c.days_past_due >= 90), conn)
    empty = (pd.DataFrame(), np.zeros(0, dtype=int), np.zeros(0, dtype=int), {"loans": 0})
    if loans.empty:
        return empty
    disbursed = pd.to_datetime(loans["disbursed_at"], utc=True, format="mixed")
    defaulted = pd.to_datetime(loans["defaulted_at"], utc=True, format="mixed")
    horizon = disbursed + pd.DateOffset(months=12)
    late["reached_90"] = pd.to_datetime(late["due_date"]).dt.tz_localize("UTC") + pd.Timedelta(days=90)
    first_90 = late.groupby("loan_id")["reached_90"].min()
    reached = pd.to_datetime(loans["id"].map(first_90.astype(object)), utc=True) if len(first_90) else \
        pd.Series(pd.NaT, index=loans.index, dtype="datetime64[ns, UTC]")
    cutoff = pd.Timestamp(as_of, tz="UTC")
    bad = ((defaulted.notna() & (defaulted <= horizon)) | (reached.notna() & (reached <= horizon))) & (
        disbursed <= cutoff)
    bad &= defaulted.fillna(reached).fillna(cutoff) <= cutoff
    good = ~bad & (horizon <= cutoff)
    keep = bad | good
    snapshot = (disbursed.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None).dt.to_period("M") - 1).dt.end_time.dt.date
    rows = pd.DataFrame({"enterprise_id": loans["enterprise_id"].astype(int), "snapshot": snapshot,
                         "bad": bad.astype(int)})[keep.to_numpy()]
    rows = rows.groupby(["enterprise_id", "snapshot"], as_index=False)["bad"].max()
    if rows.empty:
        return empty
    parts = []
    for snap, group in rows.groupby("snapshot"):
        frames = load_frames(conn, as_of=snap, enterprise_ids=group["enterprise_id"].unique().tolist())
        feats = features_for(frames, snap)
        parts.append(feats.loc[group["enterprise_id"].to_numpy()].reset_index(drop=True))
    X = pd.concat(parts, ignore_index=True)
    ordered = pd.concat([g for _, g in rows.groupby("snapshot")], ignore_index=True)
    meta = {"loans": int(keep.sum()), "window": {"from": str(ordered["snapshot"].min()),
                                                 "to": str(ordered["snapshot"].max())}}
    return X, ordered["bad"].to_numpy(int), ordered["enterprise_id"].to_numpy(int), meta


def _holdout(groups: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """A boolean held-out mask by enterprise, holding both classes (several seeds are tried)."""
    unique = np.unique(groups)
    for attempt in range(20):
        rng = np.random.default_rng(seed + attempt)
        chosen = unique[rng.random(len(unique)) < HOLDOUT_SHARE]
        test = np.isin(groups, chosen)
        if 0 < y[test].sum() < test.sum() and 0 < y[~test].sum() < (~test).sum() and y[~test].sum() >= 2:
            return test
    raise TrainingDataError(bads=int(y.sum()), rows=int(len(y)), min=MIN_BADS)


def _histogram(scores: np.ndarray) -> list[int]:
    return np.histogram(np.clip(scores, 0, 1000), bins=HIST_EDGES)[0].astype(int).tolist()


def _next_version(session: Session) -> str:
    versions = session.exec(model_select(ScoringModel.model_version).where(ScoringModel.name == MODEL_NAME)).all()
    numbers = [int(m.group(1)) for v in versions if (m := re.fullmatch(r"v(\d+)", str(v)))]
    return f"v{max(numbers, default=0) + 1}"


def fit_model_row(session: Session, *, actor: Actor, as_of: date, card_weight: float, min_segment_rows: int,
                  min_segment_bads: int, seed: int, progress=None) -> ScoringModel:
    """Build the training set, fit, validate and add a draft model row (the caller owns the transaction).

    Args:
        session: the caller's session.
        actor: who trains (recorded; the approver must be someone else).
        as_of: outcomes known by this day.
        card_weight: the scorecard's share in the blended rating.
        min_segment_rows: segments with fewer training rows use the population card.
        min_segment_bads: segments with fewer bads use the population card.
        seed: seed of the held-out split.
        progress: optional ``callback(fraction, stage)``.
    """
    report = progress or (lambda fraction, stage: None)
    report(0.05, "load")
    X, y, groups, meta = training_set(session, as_of=as_of)
    if int(y.sum()) < MIN_BADS or int(len(y) - y.sum()) < MIN_GOODS:
        raise TrainingDataError(bads=int(y.sum()), rows=int(len(y)), min=MIN_BADS)
    test = _holdout(groups, y, seed)
    report(0.4, "fit")
    sc_config = ScorecardConfig(c_grid=(0.03, 0.1, 0.3, 1.0), inner_folds=3)
    try:
        card = fit_segmented(X[~test], y[~test], sc_config, min_rows=min_segment_rows, min_bads=min_segment_bads)
    except ScorecardError as exc:
        raise TrainingDataError(bads=int(y.sum()), rows=int(len(y)), min=MIN_BADS) from exc
    report(0.85, "validate")
    rating = RatingConfig(card_weight=card_weight)
    held = classification_metrics(y[test], card.predict_pd(X[test]))
    train_pd = card.predict_pd(X[~test])
    trained = classification_metrics(y[~test], train_pd)
    y_train = y[~test]
    keys = segment_keys(X[~test], card.by).to_numpy()
    segments = {str(key): {"rows": int((keys == key).sum()), "bads": int(y_train[keys == key].sum()),
                           "own_card": str(key) in card.segments} for key in np.unique(keys)}
    model = ScoringModel(
        name=MODEL_NAME, model_version=_next_version(session), segment="all", method="segmented_scorecard",
        status=ModelStatus.draft, trained_at=utcnow(),
        parameters={"card": card.to_dict(), "rating_config": {"card_weight": card_weight,
                                                               "pd_at_0": rating.pd_at_0,
                                                               "pd_at_1000": rating.pd_at_1000},
                    "scorecard_config": sc_config.to_dict(), "indicator_version": INDICATOR_VERSION,
                    "trained_by_id": actor.user_id, "trained_by": actor.label,
                    "segment_rule": {"by": list(card.by), "min_rows": min_segment_rows, "min_bads": min_segment_bads}},
        metrics={"auc": held["auc"], "ks": held["ks"], "gini": held["gini"],
                 "train_auc": trained["auc"], "train_ks": trained["ks"], "train_gini": trained["gini"],
                 "rows": int(len(y)), "bads": int(y.sum()), "holdout_rows": int(test.sum()),
                 "holdout_bads": int(y[test].sum()), "loans": meta["loans"], "window": meta["window"],
                 "as_of": as_of.isoformat(), "observation": "month_end_before_disbursement",
                 "label": "default_or_90dpd_within_12_months",
                 "features": sorted({fb.name for c in [card.population, *card.segments.values()] for fb in c.features}),
                 "candidate_features": list(FEATURE_NAMES),
                 "segments": segments, "segment_cards": sorted(card.segments),
                 "fallback": sorted(k for k, v in segments.items() if not v["own_card"]),
                 "config": {"base_score": sc_config.base_score, "base_odds": sc_config.base_odds,
                            "pdo": sc_config.pdo, "card_weight": card_weight},
                 "score_hist": _histogram(rating.score_of_pd(train_pd)), "hist_edges": HIST_EDGES},
    )
    session.add(model)
    session.flush()
    report(1.0, "done")
    return model


@use_case(permission=Permission.models_manage, write=True)
def train_model(uow, *, actor: Actor, as_of: date | None = None, card_weight: float = 0.5,
                min_segment_rows: int = 500, min_segment_bads: int = 50, seed: int = 7,
                progress=None) -> ModelSummary:
    """Train a new draft version of ``jinfu-scorecard`` on the platform's loan outcomes.

    Args:
        as_of: outcomes known by this day (default: today in Asia/Shanghai).
        card_weight: the scorecard's share in the blended rating (0–1).
        min_segment_rows: a segment needs this many training rows for its own card.
        min_segment_bads: a segment needs this many bads for its own card.
        seed: seed of the held-out split (same data and seed, same model).
        progress: optional ``callback(fraction, stage)``.

    Raises:
        InvalidError: a bad argument (naming the field).
        TrainingDataError: too few known outcomes.
    """
    if not isinstance(card_weight, int | float) or not 0.0 <= float(card_weight) <= 1.0:
        raise InvalidError("models.error.card_weight", field="card_weight")
    if int(min_segment_rows) < 20 or int(min_segment_bads) < 5:
        raise InvalidError("models.error.segment_minimum", field="min_segment_rows")
    model = fit_model_row(uow.session, actor=actor, as_of=as_of or today_local(), card_weight=float(card_weight),
                          min_segment_rows=int(min_segment_rows), min_segment_bads=int(min_segment_bads),
                          seed=int(seed), progress=progress)
    uow.audit("models.train", entity_type="scoring_model", entity_id=model.id,
              after={"model_version": model.model_version, "rows": model.metrics["rows"],
                     "bads": model.metrics["bads"], "auc": round(model.metrics["auc"], 4)})
    return _summary(uow.session, model)


# ----------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class ModelSummary:
    """One model version as the console lists it."""

    id: int
    name: str
    model_version: str
    segment: str
    status: str
    auc: float | None
    ks: float | None
    gini: float | None
    rows: int | None
    bads: int | None
    psi: float | None
    psi_band: str | None
    trained_at: Any
    trained_by: str | None
    approved_by: str | None
    approved_at: Any
    version: int


def _summary(session: Session, m: ScoringModel) -> ModelSummary:
    metrics, params = m.metrics or {}, m.parameters or {}
    approver = session.get(User, m.approved_by_id) if m.approved_by_id else None
    trainer = session.get(User, params["trained_by_id"]) if params.get("trained_by_id") else None
    monitoring = metrics.get("monitoring") or {}
    return ModelSummary(
        id=int(m.id), name=m.name, model_version=m.model_version, segment=m.segment,
        status=str(getattr(m.status, "value", m.status)), auc=metrics.get("auc"), ks=metrics.get("ks"),
        gini=metrics.get("gini"), rows=metrics.get("rows"), bads=metrics.get("bads"),
        psi=monitoring.get("score_psi"), psi_band=monitoring.get("score_band"), trained_at=m.trained_at,
        trained_by=trainer.display_name if trainer else params.get("trained_by"),
        approved_by=approver.display_name if approver else (None if m.approved_at is None else "system"),
        approved_at=m.approved_at, version=int(m.version))


@use_case(permission=Permission.oversight)
def list_models(uow, *, actor: Actor) -> pd.DataFrame:
    """Every model version, newest first, with its metrics, PSI band and who trained and approved it."""
    models = uow.session.exec(model_select(ScoringModel).order_by(col(ScoringModel.id).desc())).all()
    columns = list(ModelSummary.__dataclass_fields__)
    return pd.DataFrame([_summary(uow.session, m).__dict__ for m in models], columns=columns)


def _load(session: Session, model_id: int) -> ScoringModel:
    model = session.get(ScoringModel, int(model_id))
    if model is None:
        raise NotFoundError("models.error.not_found")
    return model


def approve_row(session: Session, model: ScoringModel, *, approver_id: int | None) -> list[int]:
    """Approve ``model`` and retire the one approved before for its segment; returns the retired ids.

    Args:
        session: the caller's session.
        model: the model to approve.
        approver_id: the approving user (None: the system, bootstrap only).
    """
    retired = []
    for other in session.exec(model_select(ScoringModel).where(
            ScoringModel.segment == model.segment, ScoringModel.status == ModelStatus.approved,
            ScoringModel.id != model.id)).all():
        other.status = ModelStatus.retired
        retired.append(int(other.id))
    model.status = ModelStatus.approved
    model.approved_by_id = approver_id
    model.approved_at = utcnow()
    session.flush()
    return retired


@use_case(permission=Permission.models_approve, write=True)
def approve_model(uow, *, actor: Actor, model_id: int, version: int) -> ModelSummary:
    """Approve a draft model (maker-checker); the model approved before for its segment is retired.

    Args:
        model_id: the model.
        version: the model's version as the approver saw it (optimistic locking).

    Raises:
        NotFoundError: no such model.
        SelfApprovalError: the approver trained it.
        ModelStateError: the model is not a draft.
        StaleVersionError: someone changed the model since it was read.
    """
    session = uow.session
    model = _load(session, model_id)
    expect_version(model, version)
    if str(getattr(model.status, "value", model.status)) != ModelStatus.draft.value:
        raise ModelStateError(status=str(getattr(model.status, "value", model.status)))
    if (model.parameters or {}).get("trained_by_id") == actor.user_id:
        raise SelfApprovalError()
    retired = approve_row(session, model, approver_id=actor.user_id)
    uow.audit("models.approve", entity_type="scoring_model", entity_id=model.id,
              before={"status": "draft"}, after={"status": "approved", "retired": retired})
    return _summary(session, model)


@use_case(permission=Permission.models_approve, write=True)
def retire_model(uow, *, actor: Actor, model_id: int, version: int) -> ModelSummary:
    """Retire a draft or approved model (a retired model never rates again).

    Args:
        model_id: the model.
        version: the model's version as the caller saw it (optimistic locking).

    Raises:
        NotFoundError: no such model.
        ModelStateError: the model is already retired.
        StaleVersionError: someone changed the model since it was read.
    """
    session = uow.session
    model = _load(session, model_id)
    expect_version(model, version)
    before = str(getattr(model.status, "value", model.status))
    if before == ModelStatus.retired.value:
        raise ModelStateError(status=before)
    model.status = ModelStatus.retired
    session.flush()
    uow.audit("models.retire", entity_type="scoring_model", entity_id=model.id, before={"status": before},
              after={"status": "retired"})
    return _summary(session, model)


def population_card(model: ScoringModel):
    card = card_from_parameters(model.parameters)
    return card.population if isinstance(card, SegmentedScorecard) else card
