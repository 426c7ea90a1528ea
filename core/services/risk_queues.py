"""Early-warning queues: who sees which signals, aggregates for maps and charts, an enterprise's warnings.

* **Queues** — the institution's post-loan queue (its institution family's signals), the regulator's
  view (filters by level, district, industry), highest level first; one row per lending
  institution's copy of a fact.
* **Aggregates** — counts by level, district and industry section.
* **Enterprise warnings** — what concerns an enterprise (message key and parameters) and what would
  clear it — never a rule's parameters; copies of one fact sent to several lenders appear once.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.auth.rules import assert_enterprise_access, institution_family, is_institution_staff
from core.enums import SignalStatus
from core.errors import ForbiddenError, InvalidError, NotFoundError
from core.models import Enterprise, Organization, RiskRule, RiskSignal
from core.services.risk_inputs import text_of
from core.services.risk_rules import rule_set_of
from core.usecase import use_case

QUEUE_COLUMNS = ["id", "enterprise_id", "enterprise_name", "credit_code", "district_code", "industry_section",
                 "loan_id", "institution_id", "institution_name", "rule_code", "rule_name", "rule_name_en",
                 "level", "colour", "status", "feedback", "detail", "message_key", "raised_at", "last_seen_at",
                 "expires_at", "version"]
MAX_ROWS = 5000


def _status_filter(status: str | None):
    s = RiskSignal.__table__
    if status in (None, "active"):
        return s.c.status != SignalStatus.closed.value
    if status == "all":
        return None
    if status not in {m.value for m in SignalStatus}:
        raise InvalidError("risk.svc.error.status", field="status")
    return s.c.status == status


def _check_level(level_min: int) -> int:
    if isinstance(level_min, bool) or not isinstance(level_min, int) or not 1 <= level_min <= 8:
        raise InvalidError("risk.svc.error.level", field="level_min")
    return level_min


def _queue(session: Session, where: list, limit: int) -> pd.DataFrame:
    if not 1 <= int(limit) <= MAX_ROWS:
        raise InvalidError("risk.svc.error.limit", field="limit", max=MAX_ROWS)
    s, e, r, o = RiskSignal.__table__, Enterprise.__table__, RiskRule.__table__, Organization.__table__
    stmt = (select(s.c.id, s.c.enterprise_id, e.c.name.label("enterprise_name"), e.c.credit_code, e.c.district_code,
                   e.c.industry_section, s.c.loan_id, s.c.institution_id, o.c.name.label("institution_name"),
                   s.c.rule_code, r.c.name.label("rule_name"), r.c.name_en.label("rule_name_en"), s.c.level,
                   s.c.colour, s.c.status, s.c.feedback, s.c.detail, s.c.raised_at, s.c.last_seen_at, s.c.expires_at,
                   s.c.version)
            .join(e, e.c.id == s.c.enterprise_id).outerjoin(r, r.c.id == s.c.rule_id)
            .outerjoin(o, o.c.id == s.c.institution_id)
            .where(*[w for w in where if w is not None])
            .order_by(s.c.level.desc(), s.c.raised_at.desc(), s.c.id.desc()).limit(int(limit)))
    frame = pd.read_sql(stmt, session.connection())
    frame["status"] = frame["status"].map(text_of)
    frame["message_key"] = "risk.rule." + frame["rule_code"].astype(str) + ".message"
    return frame.reindex(columns=QUEUE_COLUMNS)


@use_case(permission=Permission.applications_institution)
def institution_signal_queue(uow, *, actor: Actor, status: str | None = None, level_min: int = 1,
                             limit: int = 1000) -> pd.DataFrame:
    """The post-loan queue of the actor's institution family: its signals, highest level first.

    Args:
        status: ``None``/``active`` (not closed), ``all``, or one status (open, acknowledged …).
        level_min: only signals at this level (1–8) or above.
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame ``QUEUE_COLUMNS``.
    """
    if not is_institution_staff(actor):
        raise ForbiddenError("error.forbidden")
    family = sorted(institution_family(uow.session, int(actor.organization_id)))
    s = RiskSignal.__table__
    return _queue(uow.session, [s.c.institution_id.in_(family), s.c.level >= _check_level(level_min),
                                _status_filter(status)], limit)


@use_case(permission=Permission.oversight)
def regulator_signals(uow, *, actor: Actor, level_min: int = 7, district: str | None = None,
                      industry: str | None = None, status: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """Signals platform-wide for the regulator, filtered by level, district and industry section.

    Args:
        level_min: only signals at this level (1–8) or above (default 7: red).
        district: a district code, or None for all.
        industry: an industry section letter, or None for all.
        status: as for :func:`institution_signal_queue`.
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame ``QUEUE_COLUMNS`` (one row per lending institution's copy of a fact).
    """
    s, e = RiskSignal.__table__, Enterprise.__table__
    where = [s.c.level >= _check_level(level_min), _status_filter(status)]
    if district:
        where.append(e.c.district_code == str(district))
    if industry:
        where.append(e.c.industry_section == str(industry))
    return _queue(uow.session, where, limit)


@use_case(permission=Permission.oversight)
def signals_by_level_district_industry(uow, *, actor: Actor, status: str | None = None) -> pd.DataFrame:
    """Counts of signals for maps and charts: one row per level, district and industry section.

    Args:
        status: as for :func:`institution_signal_queue` (default: not closed).

    Returns:
        DataFrame ``level``, ``colour``, ``district_code``, ``industry_section``, ``signals``,
        ``enterprises`` (distinct enterprises).
    """
    s, e = RiskSignal.__table__, Enterprise.__table__
    stmt = select(s.c.level, s.c.colour, e.c.district_code, e.c.industry_section, s.c.enterprise_id) \
        .join(e, e.c.id == s.c.enterprise_id)
    where = _status_filter(status)
    frame = pd.read_sql(stmt if where is None else stmt.where(where), uow.session.connection())
    keys = ["level", "colour", "district_code", "industry_section"]
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "signals", "enterprises"])
    return frame.groupby(keys).agg(signals=("enterprise_id", "size"), enterprises=("enterprise_id", "nunique")) \
        .reset_index().sort_values(keys, ascending=[False, True, True, True], ignore_index=True)


WARNING_COLUMNS = ["rule_code", "rule_name", "rule_name_en", "category", "level", "colour", "message_key",
                   "clear_key", "detail", "raised_at", "last_seen_at", "expires_at"]


@use_case(permission=None)
def enterprise_warnings(uow, *, actor: Actor, enterprise_id: int) -> pd.DataFrame:
    """What concerns an enterprise now and what would clear it — never the rules' parameters.

    Copies of one fact sent to several lenders appear once.

    Args:
        enterprise_id: the enterprise (its own users, or oversight).

    Returns:
        DataFrame ``WARNING_COLUMNS``: ``message_key`` with ``detail`` as its parameters, ``clear_key``
        the text of what would clear it; highest level first.
    """
    assert_enterprise_access(actor, int(enterprise_id))
    session = uow.session
    s, r = RiskSignal.__table__, RiskRule.__table__
    frame = pd.read_sql(select(s.c.rule_code, s.c.set_version, s.c.loan_id, s.c.level, s.c.colour, s.c.detail,
                               s.c.raised_at, s.c.last_seen_at, s.c.expires_at, r.c.name.label("rule_name"),
                               r.c.name_en.label("rule_name_en"), r.c.category)
                        .outerjoin(r, r.c.id == s.c.rule_id)
                        .where(s.c.enterprise_id == int(enterprise_id), s.c.status != SignalStatus.closed.value),
                        session.connection())
    if frame.empty:
        return pd.DataFrame(columns=WARNING_COLUMNS)
    specs: dict[tuple[int, str], Any] = {}
    for version in frame["set_version"].unique():
        try:
            for code, spec in rule_set_of(session, int(version)).by_code.items():
                specs[(int(version), code)] = spec
        except NotFoundError:
            continue
    spec = [specs.get((int(v), c)) for v, c in zip(frame["set_version"], frame["rule_code"], strict=True)]
    frame["message_key"] = [p.message_key if p else f"risk.rule.{c}.message" for p, c in zip(spec, frame["rule_code"],
                                                                                            strict=True)]
    frame["clear_key"] = [p.clear_key if p else f"risk.rule.{c}.clear" for p, c in zip(spec, frame["rule_code"],
                                                                                      strict=True)]
    frame["detail"] = [_without_params(d, p) for d, p in zip(frame["detail"], spec, strict=True)]
    frame["_fact"] = [json.dumps([c, None if pd.isna(loan) else int(loan), d], sort_keys=True, default=str)
                      for c, loan, d in zip(frame["rule_code"], frame["loan_id"], frame["detail"], strict=True)]
    frame = frame.sort_values(["level", "raised_at"], ascending=[False, True]).drop_duplicates("_fact")
    return frame.reindex(columns=WARNING_COLUMNS).reset_index(drop=True)


def _without_params(detail: Any, spec: Any) -> dict[str, Any]:
    """``detail`` minus any numeric value that is one of the rule's parameters (belt and braces)."""
    detail = dict(detail or {})
    if spec is None:
        return detail
    params = dict(spec.params)
    return {k: v for k, v in detail.items()
            if not (k in params and isinstance(v, int | float) and not isinstance(v, bool) and v == params[k])}
