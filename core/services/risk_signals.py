"""Early-warning signal handling: the steps staff take on a signal, and one signal with its history.

* **Handling** — staff of the signal's institution family move it ``open → acknowledged →
  investigating``, give feedback (true or false alarm, the action taken, a note) once acknowledged, and
  close it once feedback is given. Every step is a ``RiskSignalEvent``; a step that is not allowed from
  the current status is refused and nothing is written; each step carries the row version the form
  showed (optimistic locking).
* **Detail** — :func:`signal_detail`: one signal with its steps, for staff of its institution family
  or oversight; its message and clearing keys come from the rule set that raised it.

Signals are written by the runs (``core.services.risk_signal_store``); the queues that list them are
in ``core.services.risk_queues``, the feedback statistics in ``core.services.risk_performance``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_institution, assert_institution_access
from core.enums import SignalStatus
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from core.models import RiskSignal, RiskSignalEvent
from core.models.types import utcnow
from core.services.risk_inputs import text_of
from core.services.risk_rules import rule_set_of
from core.usecase import expect_version, use_case

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
        colour=row.colour, status=text_of(row.status), detail=dict(row.detail or {}), message_key=message_key,
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
    status = text_of(row.status)
    if status not in allowed:
        raise SignalStepError(field="status", step=step, status=status)
    return row


def _record(uow, actor: Actor, row: RiskSignal, step: str, note: str | None) -> SignalPublic:
    session = uow.session
    before = text_of(row.status)
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
