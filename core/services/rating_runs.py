"""Batch and incremental rating: every enterprise rated by the approved model, in chunks, vectorized.

``run_batch_rating`` walks the enterprise ids in chunks (``CHUNK_SIZE`` at a time, so 100,000
enterprises never sit in memory at once), bulk-loads each chunk with ``pandas.read_sql``, computes the
features, rates them with :func:`core.scoring.rating.rate` and writes one ``CreditScore`` per rated
enterprise per as-of date per model. A re-run for the same date replaces that date's rows (delete,
then insert, in the same transaction): never a duplicate. An enterprise with too little data gets
**no** score row (never a silent zero); it is counted in the run report with its reason
(``no_data``: no record at all; ``low_coverage``: too few indicators with data).

``rerate_changed`` re-rates only the enterprises whose government records or financial statements
arrived (``received_at``) after their latest score was written (and unrated enterprises with records
newer than the last run). Shareholding rows carry no arrival time, so a new shareholding alone does not
trigger a re-rating; the next batch run picks it up. ``rerate_enterprises`` re-rates a given list
(a dispute correction calls it). The full batch also measures the population stability (PSI) of each
rating model against its training distribution and stores it in the model's metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, delete, func, insert, or_, select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.errors import InvalidError
from core.models import CreditScore, Enterprise, FinancialStatement, GovRecord, ScoringModel
from core.models.types import ModelStatus, utcnow
from core.scoring.rating import rate
from core.scoring.scorecard import segment_keys
from core.services.scoring import (
    NoApprovedModelError,
    breakdown_of,
    card_from_parameters,
    card_segments,
    features_for,
    has_any_data,
    indicator_system,
    load_frames,
    rating_config_of,
    today_local,
)
from core.services.scoring_models import approve_row, fit_model_row
from core.services.scoring_monitor import PsiAccumulator
from core.usecase import use_case

CHUNK_SIZE = 10_000
Progress = Callable[[float, str], None] | None


@dataclass
class RatingRunReport:
    """What a rating run did: how many enterprises it rated, how many lacked data and why, how long."""

    as_of: date
    enterprises: int = 0
    rated: int = 0
    insufficient: int = 0
    insufficient_reasons: dict[str, int] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    model_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    mode: str = "batch"  # batch | incremental | explicit | bootstrap
    skipped: bool = False

    @property
    def per_second(self) -> float:
        return self.enterprises / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "enterprises": self.enterprises, "rated": self.rated,
                "insufficient": self.insufficient, "insufficient_reasons": dict(self.insufficient_reasons),
                "grades": dict(self.grades), "model_ids": list(self.model_ids), "seconds": round(self.seconds, 3),
                "enterprises_per_second": round(self.per_second, 1), "mode": self.mode, "skipped": self.skipped}


def id_chunks(session: Session, size: int = CHUNK_SIZE) -> Iterator[tuple[int, int]]:
    """Inclusive id ranges of about ``size`` enterprises each, in id order.

    Args:
        session: the caller's session.
        size: enterprises per chunk.
    """
    ids = np.asarray(session.execute(select(Enterprise.__table__.c.id).order_by(Enterprise.__table__.c.id))
                     .scalars().all(), dtype=np.int64)
    for start in range(0, len(ids), max(1, int(size))):
        part = ids[start:start + size]
        yield int(part[0]), int(part[-1])


def approved_models(session: Session) -> dict[str, ScoringModel]:
    """The approved model of each segment (``"all"`` is the platform-wide one).

    Args:
        session: the caller's session.

    Raises:
        NoApprovedModelError: no model is approved.
    """
    rows = session.execute(select(ScoringModel).where(ScoringModel.status == ModelStatus.approved)).scalars().all()
    if not rows:
        raise NoApprovedModelError()
    return {m.segment: m for m in rows}


class _Rater:
    """Rates chunks with the approved models and writes their score rows (the caller owns the transaction)."""

    def __init__(self, session: Session, *, as_of: date, monitor: bool) -> None:
        self.session = session
        self.as_of = as_of
        self.models = approved_models(session)
        self.cards = {seg: card_from_parameters(m.parameters) for seg, m in self.models.items()}
        self.system = indicator_system()
        self.codes = [g.code for g in self.system.first_level]
        self.psi = {seg: PsiAccumulator(m) for seg, m in self.models.items()} if monitor else {}
        self.report = RatingRunReport(as_of=as_of, model_ids=sorted(int(m.id) for m in self.models.values()))
        self.now = utcnow()

    def _assign(self, feats: pd.DataFrame) -> np.ndarray:
        keys = segment_keys(feats, ("industry_section", "scale")).to_numpy().astype(object)
        own = np.isin(keys, [s for s in self.models if s != "all"])
        return np.where(own, keys, "all")

    def chunk(self, *, id_range: tuple[int, int] | None = None, ids: Sequence[int] | None = None) -> None:
        frames = load_frames(self.session.connection(), as_of=self.as_of, enterprise_ids=ids, id_range=id_range)
        feats = features_for(frames, self.as_of)
        table = CreditScore.__table__
        target = table.c.enterprise_id.between(*id_range) if id_range else table.c.enterprise_id.in_(list(ids or []))
        self.session.execute(delete(table).where(table.c.as_of == self.as_of, target,
                                                 table.c.model_id.in_(self.report.model_ids)))
        if feats.empty:
            return
        self.report.enterprises += len(feats)
        with_data = has_any_data(frames)
        assigned = self._assign(feats)
        records: list[dict[str, Any]] = []
        for seg in pd.unique(assigned):
            rows = feats[assigned == seg]
            if seg not in self.models:
                self._insufficient("no_model", len(rows))
                continue
            model, card = self.models[seg], self.cards[seg]
            config = rating_config_of(model.parameters)
            out = rate(rows, system=self.system, card=card, config=config)
            if seg in self.psi:
                self.psi[seg].add(rows)
            ok = (out["status"] == "ok").to_numpy()
            lacking = out.index[~ok]
            no_data = int(sum(1 for e in lacking if int(e) not in with_data))
            self._insufficient("no_data", no_data)
            self._insufficient("low_coverage", len(lacking) - no_data)
            rated = out[ok]
            segments = card_segments(card, rows[ok]) if seg == "all" else np.full(len(rated), seg, dtype=object)
            for (eid, row), used in zip(rated.to_dict("index").items(), segments, strict=True):
                grade = str(row["grade"])
                records.append({
                    "enterprise_id": int(eid), "model_id": int(model.id),
                    "score": int(np.clip(round(float(row["score"])), 0, 1000)), "grade": grade,
                    "pd": float(np.clip(row["pd"], 0.0, 1.0)),
                    "breakdown": breakdown_of(row, model=model, segment=str(used), sub_codes=self.codes,
                                              card_weight=config.card_weight),
                    "reason_codes": list(row["reason_codes"]), "as_of": self.as_of, "created_at": self.now})
                self.report.grades[grade] = self.report.grades.get(grade, 0) + 1
        if records:
            self.session.execute(insert(table), records)
        self.report.rated += len(records)

    def _insufficient(self, reason: str, count: int) -> None:
        if count:
            self.report.insufficient += count
            self.report.insufficient_reasons[reason] = self.report.insufficient_reasons.get(reason, 0) + count

    def finish(self, started: float) -> RatingRunReport:
        for seg, acc in self.psi.items():
            model = self.models[seg]
            model.metrics = {**(model.metrics or {}), "monitoring": {**acc.result(), "as_of": self.as_of.isoformat()}}
        self.session.flush()
        self.report.seconds = time.perf_counter() - started
        return self.report


def _check_as_of(as_of: date | None) -> date:
    if as_of is None:
        return today_local()
    if not isinstance(as_of, date) or as_of > today_local():
        raise InvalidError("models.error.as_of", field="as_of")
    return as_of


def rate_all(session: Session, *, as_of: date, progress: Progress = None, chunk_size: int = CHUNK_SIZE,
             mode: str = "batch") -> RatingRunReport:
    """Rate every enterprise in id chunks (the caller owns the transaction).

    Args:
        session: the caller's session.
        as_of: the rating date.
        progress: optional ``callback(fraction, stage)``.
        chunk_size: enterprises per chunk.
        mode: recorded in the report.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, stage: None)
    rater = _Rater(session, as_of=as_of, monitor=True)
    chunks = list(id_chunks(session, chunk_size))
    report(0.0, "load")
    for k, (lo, hi) in enumerate(chunks, start=1):
        rater.chunk(id_range=(lo, hi))
        report(k / max(len(chunks), 1) * 0.98, "rate")
    out = rater.finish(started)
    out.mode = mode
    report(1.0, "done")
    return out


def rate_ids(session: Session, *, as_of: date, ids: Sequence[int], mode: str, progress: Progress = None
             ) -> RatingRunReport:
    """Rate the enterprises ``ids`` (the caller owns the transaction).

    Args:
        session: the caller's session.
        as_of: the rating date.
        ids: enterprise ids.
        mode: recorded in the report.
        progress: optional ``callback(fraction, stage)``.
    """
    started = time.perf_counter()
    report = progress or (lambda fraction, stage: None)
    rater = _Rater(session, as_of=as_of, monitor=False)
    ids = sorted({int(i) for i in ids})
    for start in range(0, len(ids), 5000):
        rater.chunk(ids=ids[start:start + 5000])
        report(min(1.0, (start + 5000) / max(len(ids), 1)), "rate")
    out = rater.finish(started)
    out.mode = mode
    return out


@use_case(permission=Permission.rating_run, write=True)
def run_batch_rating(uow, *, actor: Actor, as_of: date | None = None, progress: Progress = None) -> RatingRunReport:
    """Rate every enterprise with the approved model as of ``as_of`` (idempotent per date).

    Args:
        as_of: the rating date (default: today in Asia/Shanghai; never in the future).
        progress: optional ``callback(fraction, stage)`` for progress bars.

    Raises:
        NoApprovedModelError: no model is approved.
        InvalidError: ``as_of`` in the future.
    """
    out = rate_all(uow.session, as_of=_check_as_of(as_of), progress=progress)
    uow.audit("rating.batch", entity_type="credit_score", after=out.as_dict())
    return out


def changed_enterprises(session: Session) -> list[int]:
    """Enterprises with records received after their latest score (or after the last run, if unrated).

    Args:
        session: the caller's session.
    """
    cs = CreditScore.__table__
    latest = select(cs.c.enterprise_id, func.max(cs.c.created_at).label("at")).group_by(cs.c.enterprise_id).subquery()
    last_run = session.execute(select(func.max(cs.c.created_at))).scalar()
    found: set[int] = set()
    for table in (GovRecord.__table__, FinancialStatement.__table__):
        newer = and_(latest.c.at.is_not(None), table.c.received_at > latest.c.at)
        unrated = latest.c.at.is_(None) if last_run is None else and_(latest.c.at.is_(None),
                                                                      table.c.received_at > last_run)
        stmt = (select(table.c.enterprise_id).distinct().select_from(table)
                .outerjoin(latest, latest.c.enterprise_id == table.c.enterprise_id).where(or_(newer, unrated)))
        found |= {int(i) for i in session.execute(stmt).scalars()}
    return sorted(found)


@use_case(permission=Permission.rating_run, write=True)
def rerate_changed(uow, *, actor: Actor, as_of: date | None = None, progress: Progress = None) -> RatingRunReport:
    """Re-rate only the enterprises whose records arrived after their latest score.

    Args:
        as_of: the rating date (default: today).
        progress: optional ``callback(fraction, stage)``.
    """
    ids = changed_enterprises(uow.session)
    out = rate_ids(uow.session, as_of=_check_as_of(as_of), ids=ids, mode="incremental", progress=progress)
    uow.audit("rating.incremental", entity_type="credit_score", after={**out.as_dict(), "enterprise_ids": ids[:200]})
    return out


@use_case(permission=Permission.rating_run, write=True)
def rerate_enterprises(uow, *, actor: Actor, enterprise_ids: Sequence[int], reason: str,
                       as_of: date | None = None) -> RatingRunReport:
    """Re-rate the given enterprises now (e.g. after a dispute corrected one of their records).

    Args:
        enterprise_ids: the enterprises (1–10,000).
        reason: why (2–200 characters; audited).
        as_of: the rating date (default: today).
    """
    try:
        ids = sorted({int(i) for i in enterprise_ids})
    except (TypeError, ValueError) as exc:
        raise InvalidError("models.error.enterprise_ids", field="enterprise_ids") from exc
    if not 1 <= len(ids) <= 10_000:
        raise InvalidError("models.error.enterprise_ids", field="enterprise_ids")
    text = " ".join(str(reason or "").split())
    if not 2 <= len(text) <= 200:
        raise InvalidError("models.error.reason", field="reason")
    out = rate_ids(uow.session, as_of=_check_as_of(as_of), ids=ids, mode="explicit")
    uow.audit("rating.rerate", entity_type="credit_score", after={**out.as_dict(), "enterprise_ids": ids[:200],
                                                                  "reason": text})
    return out


@use_case(permission=Permission.seed, write=True)
def bootstrap_demo_rating(uow, *, actor: Actor, as_of: date | None = None, progress: Progress = None
                          ) -> RatingRunReport:
    """Demo seeding: without an approved model, train on the demo outcomes, approve as the system, rate all.

    The only exception to maker-checker: a freshly seeded demo has no second person to approve, so the
    system approves its own first model (audited as ``models.bootstrap``). A database that already has
    an approved model is left alone (the report says ``skipped``).

    Args:
        as_of: the training and rating date (default: today).
        progress: optional ``callback(fraction, stage)``.
    """
    session = uow.session
    as_of = _check_as_of(as_of)
    has_approved = session.execute(select(func.count()).select_from(ScoringModel.__table__).where(
        ScoringModel.__table__.c.status == ModelStatus.approved.value)).scalar()
    if has_approved:
        return RatingRunReport(as_of=as_of, mode="bootstrap", skipped=True)
    step = progress or (lambda fraction, stage: None)
    model = fit_model_row(session, actor=actor, as_of=as_of, card_weight=0.5, min_segment_rows=500,
                          min_segment_bads=50, seed=7, progress=lambda f, s: step(0.5 * f, "train"))
    approve_row(session, model, approver_id=None)
    uow.audit("models.bootstrap", entity_type="scoring_model", entity_id=model.id,
              after={"model_version": model.model_version, "auc": round(model.metrics["auc"], 4)})
    out = rate_all(session, as_of=as_of, progress=lambda f, s: step(0.5 + 0.5 * f, s), mode="bootstrap")
    uow.audit("rating.batch", entity_type="credit_score", after=out.as_dict())
    return out


@use_case(permission=Permission.oversight)
def rating_distribution(uow, *, actor: Actor, as_of: date | None = None) -> pd.DataFrame:
    """How many enterprises hold each grade at ``as_of`` (default: the latest rating date).

    Args:
        as_of: the rating date.

    Returns:
        DataFrame ``grade``, ``count``, ``share`` in grade order (best first); ``attrs["as_of"]``.
    """
    from core.models.types import GRADE_ORDER

    cs = CreditScore.__table__
    day = as_of or uow.session.execute(select(func.max(cs.c.as_of))).scalar()
    counts: dict[str, int] = {}
    if day is not None:
        latest = select(cs.c.enterprise_id, func.max(cs.c.id).label("id")).where(cs.c.as_of == day) \
            .group_by(cs.c.enterprise_id).subquery()
        rows = uow.session.execute(select(cs.c.grade, func.count()).join(latest, latest.c.id == cs.c.id)
                                   .group_by(cs.c.grade)).all()
        counts = {str(getattr(g, "value", g)): int(n) for g, n in rows}
    total = sum(counts.values())
    frame = pd.DataFrame({"grade": GRADE_ORDER, "count": [counts.get(g, 0) for g in GRADE_ORDER]})
    frame["share"] = frame["count"] / total if total else 0.0
    frame.attrs["as_of"] = day
    return frame
