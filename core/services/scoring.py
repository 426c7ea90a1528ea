"""Credit rating: the shared rating pipeline (bulk load → features → rate → score rows) and the portrait.

The pipeline pieces here are used by the model registry (``core.services.scoring_models``) and the
batch runs (``core.services.rating_runs``):

* ``load_frames`` reads enterprises and their records with ``pandas.read_sql`` (never row by row
  through the ORM), for an id range or an id list, plus the enterprises related through
  shareholdings (the related-party feature needs their distress flags);
* ``card_from_parameters`` re-loads a stored scorecard; ``breakdown_of`` turns one row of
  :func:`core.scoring.rating.rate` into the ``CreditScore.breakdown`` contract that other screens read.

``credit_portrait`` is the read service behind the enterprise's credit page and the bank report:
the latest score with its sub-indices, reasons and what would raise it, the trend, and peers. Who
may read it: the enterprise's own users, regulators and the operator, and institution staff whose
institution holds an active grant of the ``credit`` scope (each such read is written to the
enterprise's data-access log, like ``read_credit_report``). Without a score row the portrait computes
a live indicator assessment, so an enterprise learns which data are missing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import String, func, or_, select, type_coerce
from sqlalchemy.engine import Connection
from sqlmodel import col
from sqlmodel import select as model_select

from core.auth import Actor
from core.auth.rules import is_institution_staff, reads_everything
from core.errors import ForbiddenError, NotFoundError
from core.models import CreditScore, DataAccessLog, Enterprise, FinancialStatement, GovRecord, ScoringModel
from core.models.enterprise import Shareholding
from core.scoring.features import EVENT_MONTHS, compute_features
from core.scoring.indicators import STATUS_OK, IndicatorSystem, load_indicator_system
from core.scoring.rating import RatingConfig
from core.scoring.scorecard import Scorecard, SegmentedScorecard, segment_keys
from core.usecase import use_case

INDICATOR_VERSION = "v1"
MODEL_NAME = "jinfu-scorecard"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
PORTRAIT_PURPOSE = "信用画像查询"  # recorded in the enterprise's data-access log for institution reads
LOOKBACK_MONTHS = EVENT_MONTHS + 13  # records older than this never change a feature (tax grades included)

ENTERPRISE_COLUMNS = ["id", "industry_section", "scale", "founded_on", "registered_capital", "employees"]
RECORD_COLUMNS = ["enterprise_id", "kind", "period", "value", "text", "received_at"]
STATEMENT_COLUMNS = ["enterprise_id", "year", "revenue", "net_profit", "total_assets", "total_liabilities",
                     "current_assets", "current_liabilities", "operating_cash_flow", "received_at"]


class NoApprovedModelError(NotFoundError):
    """Rating needs an approved scorecard; none is approved yet."""

    key = "models.error.no_approved_model"


@lru_cache(maxsize=4)
def indicator_system(version: str = INDICATOR_VERSION) -> IndicatorSystem:
    """The indicator system of ``version`` (loaded once per process).

    Args:
        version: the file stem under ``data/reference/indicators``.
    """
    return load_indicator_system(version)


def today_local() -> date:
    """Today in Asia/Shanghai (the platform's business day)."""
    return datetime.now(LOCAL_TZ).date()


# ----------------------------------------------------------------------------------- bulk loading
def _months_before(as_of: date, months: int) -> date:
    total = as_of.year * 12 + as_of.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def _read(conn: Connection, stmt) -> pd.DataFrame:
    """Run ``stmt`` on the connection's DBAPI cursor and build the frame from its tuples in one go.

    Bulk reads of hundreds of thousands of rows skip SQLAlchemy's per-row Result objects (the costliest
    part of ``pandas.read_sql`` here); the statement is still built and compiled by SQLAlchemy.
    """
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        columns = [d[0] for d in cursor.description]
        return pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    finally:
        cursor.close()


def _raw(table, names: Sequence[str]):
    """Columns as the driver returns them: dates and times skip the per-row ORM conversion (bulk parsing
    in pandas is far faster); SQLite gives ISO text, PostgreSQL date and datetime objects."""
    raw = {"period", "received_at", "founded_on"}
    return [type_coerce(table.c[n], String()).label(n) if n in raw else table.c[n] for n in names]


def _where_ids(column, ids: Sequence[int] | None, id_range: tuple[int, int] | None):
    if id_range is not None:
        return column.between(int(id_range[0]), int(id_range[1]))
    return column.in_([int(i) for i in ids or []])


def load_frames(
    conn: Connection,
    *,
    as_of: date,
    enterprise_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
) -> dict[str, pd.DataFrame]:
    """Enterprises (an id list or an inclusive id range) and their records as DataFrames, in bulk.

    Enterprises related through shareholdings are loaded too (marked ``_target`` False), because the
    related-party feature counts their distress. Records older than ``LOOKBACK_MONTHS`` are skipped.

    Args:
        conn: the caller's connection (inside its transaction).
        as_of: the rating date.
        enterprise_ids: the enterprises to rate, or None with ``id_range``.
        id_range: inclusive (first id, last id) of a chunk.
    """
    e, g, s, sh = (Enterprise.__table__, GovRecord.__table__, FinancialStatement.__table__,
                   Shareholding.__table__)
    links = _read(conn, select(sh.c.enterprise_id, sh.c.holder_type, sh.c.holder_enterprise_id).where(
        sh.c.holder_type == "enterprise",
        or_(_where_ids(sh.c.enterprise_id, enterprise_ids, id_range),
            _where_ids(sh.c.holder_enterprise_id, enterprise_ids, id_range))))
    targets = _read(conn, select(*_raw(e, ENTERPRISE_COLUMNS))
                    .where(_where_ids(e.c.id, enterprise_ids, id_range)).order_by(e.c.id))
    related = set(pd.to_numeric(links["enterprise_id"]).tolist()) | set(
        pd.to_numeric(links["holder_enterprise_id"], errors="coerce").dropna().astype(int).tolist())
    related -= set(targets["id"].tolist())
    frames = [targets.assign(_target=True)]
    if related:
        extra = _read(conn, select(*_raw(e, ENTERPRISE_COLUMNS)).where(e.c.id.in_(sorted(related))))
        frames.append(extra.assign(_target=False))
    enterprises = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    ids = [int(i) for i in enterprises["id"]]
    since = _months_before(as_of, LOOKBACK_MONTHS)
    records, statements = [], []
    for start in range(0, max(len(ids), 1), 5000):  # bounded IN lists on both databases
        part = ids[start:start + 5000]
        if not part:
            break
        records.append(_read(conn, select(*_raw(g, RECORD_COLUMNS)).where(
            g.c.enterprise_id.in_(part), g.c.period >= since, g.c.period <= as_of)))
        statements.append(_read(conn, select(*_raw(s, STATEMENT_COLUMNS)).where(
            s.c.enterprise_id.in_(part), s.c.year < as_of.year)))
    gov = pd.concat(records, ignore_index=True) if records else pd.DataFrame(columns=RECORD_COLUMNS)
    st = pd.concat(statements, ignore_index=True) if statements else pd.DataFrame(columns=STATEMENT_COLUMNS)
    enterprises["registered_capital"] = pd.to_numeric(enterprises["registered_capital"], errors="coerce")
    gov["value"] = pd.to_numeric(gov["value"], errors="coerce")
    gov["period"] = pd.to_datetime(gov["period"], format="ISO8601")
    gov["received_at"] = pd.to_datetime(gov["received_at"], utc=True, format="ISO8601")
    st["received_at"] = pd.to_datetime(st["received_at"], utc=True, format="ISO8601")
    enterprises["founded_on"] = pd.to_datetime(enterprises["founded_on"], format="ISO8601")
    return {"enterprises": enterprises, "gov_records": gov, "statements": st, "shareholdings": links}


def features_for(frames: dict[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """Feature rows of the target enterprises of ``frames`` (related ones are computed, then dropped).

    Args:
        frames: the output of :func:`load_frames`.
        as_of: the rating date (only records received by then count).
    """
    ent = frames["enterprises"]
    if ent.empty:
        return compute_features(enterprises=ent, gov_records=frames["gov_records"], as_of=as_of)
    feats = compute_features(enterprises=ent, gov_records=frames["gov_records"], statements=frames["statements"],
                             shareholdings=frames["shareholdings"], as_of=as_of)
    targets = ent.loc[ent["_target"].astype(bool), "id"].to_numpy()
    return feats.loc[targets]


def has_any_data(frames: dict[str, pd.DataFrame]) -> set[int]:
    """Enterprises of ``frames`` with at least one government record or statement."""
    return set(frames["gov_records"]["enterprise_id"].astype(int)) | set(
        frames["statements"]["enterprise_id"].astype(int))


# ----------------------------------------------------------------------------------- cards and rows
def card_from_parameters(parameters: dict[str, Any]) -> Scorecard | SegmentedScorecard:
    """The scorecard stored in ``ScoringModel.parameters["card"]``.

    Args:
        parameters: a model row's parameters.
    """
    data = parameters["card"]
    if str(data.get("format", "")).endswith("+segments"):
        return SegmentedScorecard.from_dict(data)
    return Scorecard.from_dict(data)


def rating_config_of(parameters: dict[str, Any]) -> RatingConfig:
    """The blend settings a model was approved with.

    Args:
        parameters: a model row's parameters.
    """
    return RatingConfig(**parameters.get("rating_config", {}))


def card_segments(card: Scorecard | SegmentedScorecard, features: pd.DataFrame) -> np.ndarray:
    """Per row, the segment whose card scores it (``"all"`` for the population card)."""
    if not isinstance(card, SegmentedScorecard) or not card.segments:
        return np.full(len(features), "all", dtype=object)
    keys = segment_keys(features, card.by).to_numpy().astype(object)
    return np.where(np.isin(keys, list(card.segments)), keys, "all")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) or math.isinf(out) else out


def breakdown_of(row: dict[str, Any], *, model: ScoringModel, segment: str, sub_codes: Sequence[str],
                 card_weight: float) -> dict[str, Any]:
    """The ``CreditScore.breakdown`` contract for one rated row of :func:`core.scoring.rating.rate`.

    Args:
        row: one row of the rating frame, as a dict.
        model: the model that rated it.
        segment: the card segment used (``"all"`` or e.g. ``"C:small"``).
        sub_codes: the first-level indicator codes.
        card_weight: the scorecard's share in the blend.
    """
    raise_feature = row.get("raise_feature")
    raised = None
    if isinstance(raise_feature, str) and raise_feature:
        raised = {"feature": raise_feature, "from": _num(row.get("raise_from")), "to": _num(row.get("raise_to")),
                  "score": _num(row.get("raise_score")), "grade": row.get("raise_grade")}
    return {
        "status": "ok",
        "composite": _num(row.get("composite")),
        "card_score": _num(row.get("card_score")),
        "card_pd": _num(row.get("card_pd")),
        "coverage": _num(row.get("coverage")),
        "sub": {code: _num(row.get(f"sub.{code}")) for code in sub_codes},
        "reasons": [{"code": r["code"], "feature": r["feature"], "value": r["value"] if isinstance(r["value"], str)
                     else _num(r["value"]), "points_lost": _num(r["points_lost"])} for r in row.get("reasons") or []],
        "raise": raised,
        "model": {"id": int(model.id), "name": model.name, "model_version": model.model_version, "segment": segment},
        "indicator_version": INDICATOR_VERSION,
        "card_weight": float(card_weight),
    }


# ----------------------------------------------------------------------------------------- portrait
@dataclass(frozen=True)
class CreditPortrait:
    """One enterprise's credit portrait, as the enterprise page and the bank report show it."""

    enterprise_id: int
    status: str  # rated | insufficient_data | not_rated
    as_of: date | None
    score: int | None
    grade: str | None
    pd: float | None
    model_label: str | None
    sub_indices: dict[str, float | None]
    sub_names: dict[str, dict[str, str]]
    reasons: list[dict]
    raise_hint: dict | None
    trend: pd.DataFrame  # as_of, score, grade
    missing: list[str]
    peers: dict = field(default_factory=dict)


def sub_names(system: IndicatorSystem | None = None) -> dict[str, dict[str, str]]:
    """First-level indicator code → names in both languages.

    Args:
        system: the indicator system (default: the current version).
    """
    system = system or indicator_system()
    return {g.code: {"zh_CN": g.name, "en": g.name_en} for g in system.first_level}


def _assert_portrait_access(session, actor: Actor, enterprise_id: int) -> bool:
    """Refuse unless the actor may read the portrait; True when the read must be logged (institution)."""
    if reads_everything(actor):
        return False
    if actor.enterprise_id is not None:
        if actor.enterprise_id == enterprise_id:
            return False
        raise ForbiddenError("error.forbidden")
    if not is_institution_staff(actor):
        raise ForbiddenError("error.forbidden")
    from core.services.consent import ConsentRequiredError, active_grants

    grants = active_grants(session, enterprise_id=enterprise_id, organization_id=int(actor.organization_id))
    if not any("credit" in (g.scopes or []) for g in grants):
        raise ConsentRequiredError(scope="credit")
    return True


def _peers(session, ent: Enterprise, as_of: date, score: int | None) -> dict[str, Any]:
    rows = session.exec(
        model_select(CreditScore.enterprise_id, CreditScore.score, CreditScore.created_at)
        .join(Enterprise, col(Enterprise.id) == col(CreditScore.enterprise_id))
        .where(CreditScore.as_of == as_of, Enterprise.industry_section == ent.industry_section,
               Enterprise.scale == ent.scale)
    ).all()
    frame = pd.DataFrame(rows, columns=["enterprise_id", "score", "created_at"])
    frame = frame.sort_values("created_at").drop_duplicates("enterprise_id", keep="last")
    out: dict[str, Any] = {"industry_section": ent.industry_section, "scale": str(getattr(ent.scale, "value", ent.scale)),
                           "count": int(len(frame)), "median_score": None, "percentile": None}
    if len(frame):
        out["median_score"] = float(frame["score"].median())
        if score is not None:
            out["percentile"] = float((frame["score"] <= score).mean())
    return out


@use_case(permission=None)
def credit_portrait(uow, *, actor: Actor, enterprise_id: int) -> CreditPortrait:
    """The credit portrait of one enterprise: its latest rating, explanation, trend and peers.

    Args:
        enterprise_id: the enterprise.

    Raises:
        ForbiddenError: another enterprise's user, or staff of an institution outside the enterprise's
            consent (``ConsentRequiredError`` for the ``credit`` scope).
        NotFoundError: no such enterprise.
    """
    session = uow.session
    must_log = _assert_portrait_access(session, actor, int(enterprise_id))
    ent = session.get(Enterprise, int(enterprise_id))
    if ent is None:
        raise NotFoundError("error.not_found")
    if must_log:
        session.add(DataAccessLog(actor_user_id=actor.user_id, institution_id=actor.organization_id,
                                  enterprise_id=int(enterprise_id), scope="credit", purpose=PORTRAIT_PURPOSE))
        session.flush()
    system = indicator_system()
    names = sub_names(system)
    scores = session.exec(
        model_select(CreditScore, ScoringModel.name, ScoringModel.model_version)
        .join(ScoringModel, col(ScoringModel.id) == col(CreditScore.model_id))
        .where(CreditScore.enterprise_id == int(enterprise_id))
        .order_by(col(CreditScore.as_of), col(CreditScore.created_at), col(CreditScore.id))
    ).all()
    trend = pd.DataFrame([{"as_of": s.as_of, "score": int(s.score), "grade": str(getattr(s.grade, "value", s.grade))}
                          for s, _, _ in scores], columns=["as_of", "score", "grade"])
    trend = trend.drop_duplicates("as_of", keep="last").reset_index(drop=True)
    if scores:
        latest, name, version = scores[-1]
        b = latest.breakdown or {}
        grade = str(getattr(latest.grade, "value", latest.grade))
        return CreditPortrait(
            enterprise_id=int(enterprise_id), status="rated", as_of=latest.as_of, score=int(latest.score),
            grade=grade, pd=float(latest.pd), model_label=f"{name} {version}",
            sub_indices={code: _num((b.get("sub") or {}).get(code)) for code in names}, sub_names=names,
            reasons=list(b.get("reasons") or []), raise_hint=b.get("raise"), trend=trend, missing=[],
            peers=_peers(session, ent, latest.as_of, int(latest.score)))
    # No score row: a live indicator assessment says whether data are missing or the run is pending.
    as_of = today_local()
    frames = load_frames(session.connection(), as_of=as_of, enterprise_ids=[int(enterprise_id)])
    feats = features_for(frames, as_of)
    result = system.score(feats)
    status = "not_rated" if result.status.iloc[0] == STATUS_OK else "insufficient_data"
    row = feats.iloc[0]
    missing = sorted({i.feature for i in system.indicators if pd.isna(row[i.feature])})
    subs = {code: _num(result.sub_indices[code].iloc[0]) for code in names}
    peer_day = session.exec(model_select(func.max(CreditScore.as_of))).first() or as_of
    return CreditPortrait(
        enterprise_id=int(enterprise_id), status=status, as_of=None, score=None, grade=None, pd=None,
        model_label=None, sub_indices=subs, sub_names=names, reasons=[], raise_hint=None, trend=trend,
        missing=missing if status == "insufficient_data" else [], peers=_peers(session, ent, peer_day, None))


__all__ = [
    "INDICATOR_VERSION", "MODEL_NAME", "CreditPortrait", "NoApprovedModelError", "breakdown_of",
    "card_from_parameters", "card_segments", "credit_portrait", "features_for", "has_any_data",
    "indicator_system", "load_frames", "rating_config_of", "sub_names", "today_local",
]
