"""Early-warning signals: persisting a run's hits, aging, the handling steps, the queues, feedback statistics.

* **Persisting** (:func:`persist_hits`, called by the runs in ``core.services.risk``): one signal per
  fact and lending institution — the engine's fingerprint of the fact combined with the institution
  is the row's unique ``fingerprint``, so every institution with a live loan (active, overdue or
  defaulted) to the enterprise gets the signal in its post-loan queue, propagated related-party
  signals included; an enterprise without lenders gets one signal without institution (the regulator
  and the enterprise still see it). A fact seen again updates ``last_seen_at`` and pushes
  ``expires_at`` out by the rule's ``ttl_days``; a closed signal stays closed. New signals at the run's
  ``notify_level`` or above notify every regulator organization once per fact. :func:`age_out` closes
  signals past ``expires_at`` that were not seen again (step ``aged_out``).
* **Handling** — staff of the signal's institution family move it ``open → acknowledged →
  investigating``, give feedback (true or false alarm, the action taken, a note) once acknowledged, and
  close it once feedback is given. Every step is a ``RiskSignalEvent``; a step that is not allowed from
  the current status is refused and nothing is written; each step carries the row version the form
  showed (optimistic locking).
* **Queues** — the institution's post-loan queue, the regulator's view (filters by level, district,
  industry), aggregates by level, district and industry, and an enterprise's own warnings: what
  concerns it (message key and parameters) and what would clear it — never a rule's parameters.
* **Feedback statistics** — :func:`rule_performance`: per rule, signals, feedback, precision (true
  over true plus false alarms) and the median lead time to a later default.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.auth.rules import (
    assert_acts_for_institution,
    assert_enterprise_access,
    assert_institution_access,
    institution_family,
    is_institution_staff,
)
from core.enums import SignalStatus
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from core.models import Enterprise, Loan, Organization, RiskRule, RiskSignal, RiskSignalEvent
from core.models.types import OrgKind, utcnow
from core.services.notifications import existing_keys, notify
from core.services.risk_rules import performance_frame, rule_set_of
from core.usecase import expect_version, use_case

NOTIFY_LEVEL = 7


def _frame(session: Session, stmt, ids: Sequence[Any] | None, column) -> pd.DataFrame:
    """``stmt`` restricted to ``column IN ids`` in bounded chunks (all rows when ``ids`` is None)."""
    conn = session.connection()
    if ids is None:
        return pd.read_sql(stmt, conn)
    ids = list(ids)
    parts = [pd.read_sql(stmt.where(column.in_(ids[k:k + 5000])), conn) for k in range(0, len(ids), 5000)]
    return pd.concat(parts, ignore_index=True) if parts else pd.read_sql(stmt.where(column.in_([])), conn)


def _text(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


# ---------------------------------------------------------------------------------------------
# Persisting
# ---------------------------------------------------------------------------------------------

LENDING = ("active", "overdue", "defaulted")
DEFAULT_TTL_DAYS = 90


def signal_fingerprint(fact: str, institution_id: Any) -> str:
    """The stored fingerprint: the engine's fact fingerprint for one institution (0: none)."""
    inst = 0 if institution_id is None or pd.isna(institution_id) else int(institution_id)
    return hashlib.sha256(f"{fact}|{inst}".encode()).hexdigest()


def lenders_of(session: Session, enterprise_ids: Sequence[int]) -> pd.DataFrame:
    """``enterprise_id``, ``institution_id``: every institution with a live loan to each enterprise.

    Args:
        session: the caller's session.
        enterprise_ids: the enterprises.
    """
    ln = Loan.__table__
    frame = _frame(session, select(ln.c.enterprise_id, ln.c.institution_id).where(ln.c.status.in_(LENDING)),
                   sorted({int(i) for i in enterprise_ids}), ln.c.enterprise_id)
    return frame.drop_duplicates().astype({"enterprise_id": "int64", "institution_id": "int64"})


def _existing(session: Session, fingerprints: Sequence[str]) -> pd.DataFrame:
    s = RiskSignal.__table__
    frame = _frame(session, select(s.c.id, s.c.fingerprint, s.c.status), list(fingerprints), s.c.fingerprint)
    frame["status"] = frame["status"].map(_text)
    return frame


def _jsonable(value: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(value or {}), default=str, ensure_ascii=False))


def persist_hits(session: Session, hits: pd.DataFrame, *, rule_set, rule_ids: dict[str, int], set_version: int,
                 stamp: datetime, notify_level: int = NOTIFY_LEVEL) -> dict[str, int]:
    """Upsert the signals of ``hits`` (one per fact and lending institution); return the counts.

    Args:
        session: the caller's session (the caller commits).
        hits: the engine's ``RiskResult.hits``.
        rule_set: the engine rule set that produced them (ttl of each rule).
        rule_ids: ``RiskRule`` id of each rule code.
        set_version: the published set's version.
        stamp: the run's time.
        notify_level: new signals at this level or above notify the regulator.
    """
    counts = {"hits": 0, "raised": 0, "seen_again": 0, "kept_closed": 0, "notified": 0}
    if hits is None or hits.empty:
        return counts
    hits = hits.drop_duplicates("fingerprint")
    counts["hits"] = len(hits)
    lenders = lenders_of(session, hits["enterprise_id"].astype(int).unique().tolist())
    rows = hits.assign(enterprise_id=hits["enterprise_id"].astype("int64")).merge(lenders, on="enterprise_id",
                                                                                    how="left")
    rows["db_fingerprint"] = [signal_fingerprint(f, i) for f, i in zip(rows["fingerprint"], rows["institution_id"],
                                                                       strict=True)]
    ttl = {code: int(getattr(spec, "ttl_days", DEFAULT_TTL_DAYS) or DEFAULT_TTL_DAYS)
           for code, spec in rule_set.by_code.items()}
    rows["ttl_days"] = rows["rule_code"].map(ttl).fillna(DEFAULT_TTL_DAYS).astype(int)
    found = _existing(session, rows["db_fingerprint"].tolist()).set_index("fingerprint")
    status = rows["db_fingerprint"].map(found["status"]) if len(found) else pd.Series(None, index=rows.index)
    seen = rows[status.notna() & (status != "closed")]
    counts["kept_closed"] = int((status == "closed").sum())
    s = RiskSignal.__table__
    for days, group in seen.groupby("ttl_days"):
        ids = [int(i) for i in group["db_fingerprint"].map(found["id"])]
        for k in range(0, len(ids), 5000):
            session.execute(s.update().where(s.c.id.in_(ids[k:k + 5000]), or_(s.c.last_seen_at.is_(None),
                                                                                s.c.last_seen_at < stamp))
                            .values(last_seen_at=stamp, expires_at=stamp + timedelta(days=int(days))))
    counts["seen_again"] = len(seen)
    new = rows[status.isna()]
    source_ids = {fp: int(i) for fp, i in zip(rows["fingerprint"], rows["db_fingerprint"].map(found["id"]),
                                              strict=True) if pd.notna(i)} if len(found) else {}
    propagated = new["propagated_from"].notna() if "propagated_from" in new else pd.Series(False, index=new.index)
    raised: list[dict[str, Any]] = []
    for part in (new[~propagated], new[propagated]):
        if part.empty:
            continue
        records = [{
            "enterprise_id": int(r["enterprise_id"]),
            "loan_id": None if pd.isna(r["loan_id"]) else int(r["loan_id"]),
            "institution_id": None if pd.isna(r["institution_id"]) else int(r["institution_id"]),
            "rule_id": rule_ids.get(str(r["rule_code"])), "rule_code": str(r["rule_code"]),
            "rule_version": int(r["rule_version"]), "level": int(r["level"]), "colour": str(r["colour"]),
            "detail": _jsonable(r["detail"]), "fingerprint": r["db_fingerprint"], "set_version": int(set_version),
            "source_signal_id": source_ids.get(r.get("propagated_from")) if pd.notna(r.get("propagated_from"))
            else None,
            "last_seen_at": stamp, "expires_at": stamp + timedelta(days=int(r["ttl_days"])), "status": "open",
            "raised_at": stamp, "version": 1, "updated_at": stamp,
        } for r in part.to_dict("records")]
        for k in range(0, len(records), 2000):
            session.execute(s.insert(), records[k:k + 2000])
        stored = _existing(session, part["db_fingerprint"].tolist()).set_index("fingerprint")["id"]
        ids = part["db_fingerprint"].map(stored)
        for fact, i in zip(part["fingerprint"], ids, strict=True):
            source_ids.setdefault(fact, int(i))
        raised.extend({"signal_id": int(i), "fact": fact, "level": int(level), "enterprise_id": int(e),
                       "rule_code": str(code)}
                      for i, fact, level, e, code in zip(ids, part["fingerprint"], part["level"],
                                                         part["enterprise_id"], part["rule_code"], strict=True))
    if raised:
        ev = RiskSignalEvent.__table__
        events = [{"signal_id": r["signal_id"], "step": "raised", "from_status": None, "to_status": "open",
                   "actor_user_id": None, "note": None, "occurred_at": stamp} for r in raised]
        for k in range(0, len(events), 5000):
            session.execute(ev.insert(), events[k:k + 5000])
    counts["raised"] = len(raised)
    counts["notified"] = _notify_regulators(session, [r for r in raised if r["level"] >= notify_level])
    return counts


def _notify_regulators(session: Session, raised: list[dict[str, Any]]) -> int:
    """One inbox notification per high-level fact and regulator organization (never twice)."""
    if not raised:
        return 0
    regulators = [int(i) for i in session.execute(select(Organization.id).where(
        Organization.kind == OrgKind.regulator)).scalars()]
    first = {}
    for r in raised:
        first.setdefault(r["fact"], r)
    wanted = {f"risk:{fact[:48]}:{org}": (r, org) for fact, r in first.items() for org in regulators}
    done = existing_keys(session, wanted)
    names = dict(session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_(sorted({r["enterprise_id"] for r in first.values()})))).all()) if wanted else {}
    sent = 0
    for key, (r, org) in wanted.items():
        if key in done:
            continue
        notify(session, kind="risk.signal", title_key="risk.svc.notify.signal.title",
               params={"enterprise": str(names.get(r["enterprise_id"], r["enterprise_id"])), "level": r["level"],
                       "rule": r["rule_code"]},
               organization_id=org, dedupe_key=key,
               payload={"signal_id": r["signal_id"], "enterprise_id": r["enterprise_id"]})
        sent += 1
    return sent


def age_out(session: Session, *, stamp: datetime) -> int:
    """Close every signal past ``expires_at`` that was not seen again; record step ``aged_out``.

    Args:
        session: the caller's session (the caller commits).
        stamp: the run's time.
    """
    s, ev = RiskSignal.__table__, RiskSignalEvent.__table__
    rows = session.execute(select(s.c.id, s.c.status).where(s.c.status != "closed", s.c.expires_at.is_not(None),
                                                             s.c.expires_at < stamp)).all()
    if not rows:
        return 0
    ids = [int(r.id) for r in rows]
    for k in range(0, len(ids), 5000):
        session.execute(s.update().where(s.c.id.in_(ids[k:k + 5000]))
                        .values(status="closed", closed_at=stamp, version=s.c.version + 1))
    events = [{"signal_id": int(r.id), "step": "aged_out", "from_status": str(getattr(r.status, "value", r.status)),
               "to_status": "closed", "actor_user_id": None, "note": None, "occurred_at": stamp} for r in rows]
    for k in range(0, len(events), 5000):
        session.execute(ev.insert(), events[k:k + 5000])
    return len(ids)




# ---------------------------------------------------------------------------------------------
# Handling
# ---------------------------------------------------------------------------------------------

OUTCOMES = ("true_alarm", "false_alarm")
ACTIONS = ("none", "watch", "visit", "reduce_limit", "freeze_limit", "restructure", "add_collateral", "recall",
           "legal")
NOTE_MAX = 1000
# step -> (statuses it may start from, the status it leaves; None keeps the status)
STEPS: dict[str, tuple[frozenset[str], str | None]] = {
    "acknowledged": (frozenset({"open"}), "acknowledged"),
    "investigating": (frozenset({"acknowledged"}), "investigating"),
    "feedback": (frozenset({"acknowledged", "investigating"}), None),
    "closed": (frozenset({"acknowledged", "investigating"}), "closed"),
}


class SignalNotFoundError(NotFoundError):
    key = "risk.svc.error.signal_not_found"


class SignalStepError(ConflictError):
    """The step is not allowed from the signal's current status (e.g. feedback before acknowledging)."""

    key = "risk.svc.error.illegal_step"


class SignalFeedbackRequiredError(ConflictError):
    """A signal is closed only after feedback (true or false alarm) was given."""

    key = "risk.svc.error.feedback_required"


class SignalPublic(BaseModel):
    """One signal as services return it (``detail`` holds message parameters, never rule parameters)."""

    id: int
    enterprise_id: int
    loan_id: int | None
    institution_id: int | None
    rule_code: str
    rule_version: int
    set_version: int
    level: int
    colour: str
    status: str
    detail: dict[str, Any]
    message_key: str
    clear_key: str
    feedback: str | None
    feedback_action: str | None
    feedback_note: str | None
    handler_id: int | None
    raised_at: datetime
    last_seen_at: datetime | None
    expires_at: datetime | None
    closed_at: datetime | None
    version: int


class SignalDetail(SignalPublic):
    """A signal with its handling steps, oldest first (``step``, ``from_status``, ``to_status``,
    ``actor_user_id``, ``note``, ``occurred_at``)."""

    events: list[dict[str, Any]]


def _keys(session: Session, row: RiskSignal) -> tuple[str, str]:
    try:
        spec = rule_set_of(session, row.set_version).by_code.get(row.rule_code)
    except NotFoundError:
        spec = None
    if spec is None:
        return f"risk.rule.{row.rule_code}.message", f"risk.rule.{row.rule_code}.clear"
    return spec.message_key, spec.clear_key


def _public(session: Session, row: RiskSignal) -> SignalPublic:
    message_key, clear_key = _keys(session, row)
    action, _, note = (row.feedback_note or "").partition("|") if row.feedback else ("", "", row.feedback_note)
    return SignalPublic(
        id=int(row.id), enterprise_id=row.enterprise_id, loan_id=row.loan_id, institution_id=row.institution_id,
        rule_code=row.rule_code, rule_version=row.rule_version, set_version=row.set_version, level=row.level,
        colour=row.colour, status=_text(row.status), detail=dict(row.detail or {}), message_key=message_key,
        clear_key=clear_key, feedback=row.feedback, feedback_action=action or None, feedback_note=note or None,
        handler_id=row.handler_id, raised_at=row.raised_at, last_seen_at=row.last_seen_at,
        expires_at=row.expires_at, closed_at=row.closed_at, version=row.version)


def _clean_note(note: str | None, *, required: bool = False) -> str | None:
    text = " ".join(str(note or "").split())
    if len(text) > NOTE_MAX - 40 or "<" in text or ">" in text or (required and len(text) < 2):
        raise InvalidError("risk.svc.error.note", field="note", max=NOTE_MAX - 40)
    return text or None


def _act(uow, actor: Actor, signal_id: int, expected_version: int, step: str) -> RiskSignal:
    """The signal, once the actor may act on it and ``step`` is allowed from its status."""
    session = uow.session
    row = session.get(RiskSignal, int(signal_id))
    if row is None:
        raise SignalNotFoundError(signal_id=signal_id)
    if row.institution_id is None:
        raise ForbiddenError("error.forbidden")
    assert_acts_for_institution(session, actor, row.institution_id)
    expect_version(row, expected_version)
    allowed, _ = STEPS[step]
    status = _text(row.status)
    if status not in allowed:
        raise SignalStepError(field="status", step=step, status=status)
    return row


def _record(uow, actor: Actor, row: RiskSignal, step: str, note: str | None) -> SignalPublic:
    session = uow.session
    before = _text(row.status)
    target = STEPS[step][1] or before
    row.status = SignalStatus(target)
    row.handler_id = actor.user_id
    if target == "closed":
        row.closed_at = utcnow()
    session.add(row)
    session.add(RiskSignalEvent(signal_id=row.id, step=step, from_status=before, to_status=target,
                                actor_user_id=actor.user_id, note=note, occurred_at=utcnow()))
    session.flush()
    uow.audit(f"risk.signal.{step}", entity_type="risk_signal", entity_id=row.id,
              before={"status": before}, after={"status": target, "feedback": row.feedback, "note": note})
    return _public(session, row)


@use_case(permission=Permission.applications_institution, write=True)
def acknowledge_signal(uow, *, actor: Actor, signal_id: int, expected_version: int, note: str | None = None
                       ) -> SignalPublic:
    """Acknowledge an open signal of the actor's institution family.

    Args:
        signal_id: the signal.
        expected_version: the row version the queue showed (optimistic locking).
        note: optional note (at most 960 characters).

    Raises:
        SignalNotFoundError, ForbiddenError (another institution's signal), StaleVersionError,
        SignalStepError (not open).
    """
    clean = _clean_note(note)
    return _record(uow, actor, _act(uow, actor, signal_id, expected_version, "acknowledged"), "acknowledged", clean)


@use_case(permission=Permission.applications_institution, write=True)
def start_investigation(uow, *, actor: Actor, signal_id: int, expected_version: int, note: str | None = None
                        ) -> SignalPublic:
    """Start investigating an acknowledged signal.

    Args:
        signal_id: the signal.
        expected_version: the row version the form showed.
        note: optional note.

    Raises:
        SignalNotFoundError, ForbiddenError, StaleVersionError, SignalStepError (not acknowledged).
    """
    clean = _clean_note(note)
    return _record(uow, actor, _act(uow, actor, signal_id, expected_version, "investigating"), "investigating",
                   clean)


@use_case(permission=Permission.applications_institution, write=True)
def give_feedback(uow, *, actor: Actor, signal_id: int, expected_version: int, outcome: str, action_taken: str,
                  note: str | None = None) -> SignalPublic:
    """Say whether an acknowledged signal was a true or a false alarm, and what was done.

    Feedback may be corrected until the signal is closed; each one is a step of its own.

    Args:
        signal_id: the signal.
        expected_version: the row version the form showed.
        outcome: ``true_alarm`` or ``false_alarm``.
        action_taken: one of ``ACTIONS`` (``none``, ``watch``, ``visit``, ``reduce_limit`` …).
        note: optional note.

    Raises:
        InvalidError (outcome or action unknown), SignalNotFoundError, ForbiddenError, StaleVersionError,
        SignalStepError (not acknowledged or investigating).
    """
    if outcome not in OUTCOMES:
        raise InvalidError("risk.svc.error.outcome", field="outcome", allowed=", ".join(OUTCOMES))
    if action_taken not in ACTIONS:
        raise InvalidError("risk.svc.error.action", field="action_taken", allowed=", ".join(ACTIONS))
    clean = _clean_note(note)
    row = _act(uow, actor, signal_id, expected_version, "feedback")
    row.feedback = outcome
    row.feedback_note = f"{action_taken}|{clean or ''}"
    return _record(uow, actor, row, "feedback", f"{outcome}: {action_taken}" + (f" — {clean}" if clean else ""))


@use_case(permission=Permission.applications_institution, write=True)
def close_signal(uow, *, actor: Actor, signal_id: int, expected_version: int, note: str | None = None
                 ) -> SignalPublic:
    """Close a handled signal (feedback must have been given).

    Args:
        signal_id: the signal.
        expected_version: the row version the form showed.
        note: optional closing note.

    Raises:
        SignalNotFoundError, ForbiddenError, StaleVersionError, SignalStepError (open or closed),
        SignalFeedbackRequiredError.
    """
    clean = _clean_note(note)
    row = _act(uow, actor, signal_id, expected_version, "closed")
    if row.feedback not in OUTCOMES:
        raise SignalFeedbackRequiredError(field="feedback")
    return _record(uow, actor, row, "closed", clean)


@use_case(permission=None)
def signal_detail(uow, *, actor: Actor, signal_id: int) -> SignalDetail:
    """One signal with its handling steps (staff of its institution family, or oversight).

    Args:
        signal_id: the signal.

    Raises:
        SignalNotFoundError, ForbiddenError.
    """
    session = uow.session
    row = session.get(RiskSignal, int(signal_id))
    if row is None:
        raise SignalNotFoundError(signal_id=signal_id)
    if row.institution_id is None:
        if not actor.can(Permission.oversight):
            raise ForbiddenError("error.forbidden")
    else:
        assert_institution_access(session, actor, row.institution_id)
    ev = RiskSignalEvent.__table__
    events = [dict(r._mapping) for r in session.execute(
        select(ev.c.step, ev.c.from_status, ev.c.to_status, ev.c.actor_user_id, ev.c.note, ev.c.occurred_at)
        .where(ev.c.signal_id == row.id).order_by(ev.c.id))]
    return SignalDetail(**_public(session, row).model_dump(), events=events)


# ---------------------------------------------------------------------------------------------
# Queues and aggregates
# ---------------------------------------------------------------------------------------------

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
    frame["status"] = frame["status"].map(_text)
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


@use_case(permission=Permission.oversight)
def rule_performance(uow, *, actor: Actor) -> pd.DataFrame:
    """Per rule: signals, feedback count, precision (true / (true + false)) and median lead time in days.

    Returns:
        DataFrame ``rule_code``, ``signals``, ``feedback``, ``true_alarms``, ``false_alarms``,
        ``precision`` (NaN without feedback), ``defaults_after``, ``lead_time_days`` (median days from
        raising to a later default of the loan concerned; NaN when none defaulted).
    """
    return performance_frame(uow.session)
