"""Disputes of the records the platform holds about an enterprise (征信业管理条例 §25): raise, withdraw, read.

Rules (each one is tested in ``tests/integration/disputes/``):

* **Raise** — an enterprise user (``enterprise.self``) disputes one record of its *own* enterprise:
  a government record, a financial statement, a shareholding or the registration facts
  (``record_type`` gov_record / financial_statement / shareholding / enterprise). The reason is
  required (5–1000 characters); a proposed value is optional. A record has at most one open dispute.
  The create is idempotent by key: the same key and request return the first dispute; the same key
  with another request is refused. Another enterprise's record is reported as not found.
* **Clock** — the operator must answer within 20 *calendar* days of receiving the dispute (§25 of the
  Regulation on the Administration of Credit Investigation Industry says "20 days", without working
  days), so ``due_at = raised_at + 20 days``. Services read the clock once, through a ``now``
  parameter that defaults to the current time, so days left and overdue flags are deterministic in tests.
* **Withdraw** — the enterprise may withdraw its own open dispute.
* **Answer** — the operator's side (``answer_dispute``: correct the record or reject the dispute, then
  re-rate) is in :mod:`core.services.dispute_answers`; it shares this module's errors and helpers.
* **Read** — ``list_disputes`` (an enterprise its own; oversight any or all: the operator's desk, open
  first by due date), ``dispute_detail`` (the record as it stands and the reason) and
  ``disputed_records`` (a helper for other services: which records of an enterprise are in dispute;
  defined in ``core.services.my_data`` with the other record helpers and re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_enterprise, reads_everything
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError, ValidationErrors
from core.models import Enterprise, RecordDispute
from core.models.types import utcnow
from core.services.my_data import (
    CORRECTABLE,
    RECORD_MODELS,
    RECORD_TYPES,
    DisputePublic,
    default_field,
    dispute_frame,
    dispute_public,
    disputed_records,
    due_date,
    record_snapshot,
    record_summary,
)
from core.usecase import expect_version, use_case

__all__ = ["disputed_records"]  # re-exported for other services; the use cases register themselves

REASON_MIN, REASON_MAX = 5, 1000
PROPOSED_MAX = 200
KEY_MIN, KEY_MAX = 8, 80


class DisputeRecordNotFoundError(NotFoundError):
    """No such record of the actor's enterprise (another enterprise's record is not revealed)."""

    key = "portrait.dispute.error.record"


class DisputeAlreadyOpenError(ConflictError):
    """The record already has an open dispute."""

    key = "portrait.dispute.error.already_open"


class DisputeKeyReusedError(ConflictError):
    """An idempotency key already used for a different dispute."""

    key = "portrait.dispute.error.key_reused"


class DisputeNotOpenError(ConflictError):
    """The dispute was already answered or withdrawn."""

    key = "portrait.dispute.error.not_open"


class DisputeNotFoundError(NotFoundError):
    key = "portrait.dispute.error.not_found"


@dataclass
class DisputeDetail:
    """One dispute with the record as it stands now: what the operator's answer form shows."""

    dispute: DisputePublic
    enterprise_name: str
    credit_code: str
    record: dict[str, Any]  # the record's fields and current values
    correctable: dict[str, str]  # field -> kind of value (number, text, money, percent, count)
    default_field: str
    summary: dict[str, Any] = field(default_factory=dict)  # source, kind, period / year / holder


# ---------------------------------------------------------------------------------------------
# Validation and loading
# ---------------------------------------------------------------------------------------------


def clean_text(value: Any, *, low: int, high: int, key: str, field_name: str) -> str:
    """``value`` with whitespace collapsed, if ``low``–``high`` characters and free of markup (else InvalidError)."""
    text = " ".join(str(value or "").split())
    if not low <= len(text) <= high or "<" in text or ">" in text:
        raise InvalidError(key, field=field_name, min=low, max=high)
    return text


def _record_owner(record: Any, record_type: str) -> int:
    return int(record.id) if record_type == "enterprise" else int(record.enterprise_id)


def load_record(session: Session, record_type: str, record_id: Any, *, lock: bool = False) -> Any:
    """The disputed record (``lock``: FOR UPDATE); a bad id or a missing record: DisputeRecordNotFoundError."""
    model = RECORD_MODELS.get(record_type)
    try:
        rid = int(record_id)
    except (TypeError, ValueError):
        raise DisputeRecordNotFoundError(field="record_id") from None
    if model is None:
        raise InvalidError("portrait.dispute.error.record_type", field="record_type")
    query = select(model).where(model.id == rid)
    if lock:
        query = query.with_for_update()  # PostgreSQL: two raises on one record queue here
    record = session.exec(query).first()
    if record is None:
        raise DisputeRecordNotFoundError(field="record_id")
    return record


# ---------------------------------------------------------------------------------------------
# The enterprise's side
# ---------------------------------------------------------------------------------------------


def _own_enterprise(actor: Actor) -> int:
    if actor.enterprise_id is None:
        raise ForbiddenError("error.forbidden")
    assert_acts_for_enterprise(actor, actor.enterprise_id)
    return actor.enterprise_id


@use_case(permission=Permission.enterprise_self, write=True)
def raise_dispute(
    uow,
    *,
    actor: Actor,
    record_type: str,
    record_id: int,
    reason: str,
    idempotency_key: str,
    proposed_value: str | None = None,
    now: datetime | None = None,
) -> DisputePublic:
    """Dispute one record the platform holds about the actor's own enterprise.

    Args:
        record_type: gov_record, financial_statement, shareholding or enterprise.
        record_id: the record's id (for ``enterprise``: the enterprise's id).
        reason: why the record is wrong (5–1000 characters).
        idempotency_key: a key the form generated once; a retry with it returns the first dispute.
        proposed_value: optional, what the enterprise says the value should be (up to 200 characters).
        now: the time of receipt (default: now); the answer is due 20 calendar days later.

    Raises:
        ForbiddenError: the actor acts for no enterprise.
        ValidationErrors / InvalidError: bad reason, proposed value, record type or key (naming the field).
        DisputeRecordNotFoundError: no such record of the actor's enterprise.
        DisputeAlreadyOpenError: the record already has an open dispute.
        DisputeKeyReusedError: the key was used for another dispute.
    """
    session = uow.session
    own = _own_enterprise(actor)
    now = now or utcnow()
    errors: list[InvalidError] = []
    if record_type not in RECORD_TYPES:
        errors.append(InvalidError("portrait.dispute.error.record_type", field="record_type"))
    try:
        clean_reason = clean_text(
            reason, low=REASON_MIN, high=REASON_MAX, key="portrait.dispute.error.reason", field_name="reason"
        )
    except InvalidError as exc:
        errors.append(exc)
    proposed = " ".join(str(proposed_value or "").split()) or None
    if proposed is not None and (len(proposed) > PROPOSED_MAX or "<" in proposed or ">" in proposed):
        errors.append(
            InvalidError("portrait.dispute.error.proposed", field="proposed_value", max=PROPOSED_MAX)
        )
    key = str(idempotency_key or "").strip()
    if not KEY_MIN <= len(key) <= KEY_MAX:
        errors.append(InvalidError("error.invalid", field="idempotency_key"))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)

    existing = session.exec(select(RecordDispute).where(RecordDispute.idempotency_key == key)).first()
    if existing is not None:
        same = (
            existing.enterprise_id == own
            and existing.record_type == record_type
            and str(existing.record_id) == str(record_id).strip()
            and existing.reason == clean_reason
        )
        if not same:
            raise DisputeKeyReusedError()
        uow.audit("dispute.raise.replayed", entity_type="record_dispute", entity_id=existing.id)
        return dispute_public(existing, now)

    record = load_record(session, record_type, record_id, lock=True)
    if _record_owner(record, record_type) != own:
        raise DisputeRecordNotFoundError(field="record_id")
    already = session.exec(
        select(RecordDispute.id).where(
            RecordDispute.record_type == record_type,
            RecordDispute.record_id == int(record.id),
            RecordDispute.status == "open",
        )
    ).first()
    if already is not None:
        raise DisputeAlreadyOpenError(field="record_id")
    dispute = RecordDispute(
        enterprise_id=own,
        record_type=record_type,
        record_id=int(record.id),
        reason=clean_reason,
        proposed_value=proposed,
        status="open",
        raised_by_id=actor.user_id,
        raised_at=now,
        due_at=due_date(now),
        idempotency_key=key,
    )
    session.add(dispute)
    session.flush()
    uow.audit(
        "dispute.raise",
        entity_type="record_dispute",
        entity_id=dispute.id,
        after={
            "record_type": record_type,
            "record_id": dispute.record_id,
            "due_at": dispute.due_at.isoformat(),
        },
    )
    return dispute_public(dispute, now)


@use_case(permission=Permission.enterprise_self, write=True)
def withdraw_dispute(
    uow, *, actor: Actor, dispute_id: int, expected_version: int | None = None, now: datetime | None = None
) -> DisputePublic:
    """Withdraw one of the actor's enterprise's open disputes.

    Args:
        dispute_id: the dispute.
        expected_version: the version the page showed (a concurrent answer is then refused).
        now: the time of withdrawal (default: now).

    Raises:
        DisputeNotFoundError: no such dispute of the actor's enterprise.
        DisputeNotOpenError: it was already answered or withdrawn.
        StaleVersionError: it changed since the page read it.
    """
    session = uow.session
    own = _own_enterprise(actor)
    now = now or utcnow()
    dispute = session.get(RecordDispute, dispute_id)
    if dispute is None or dispute.enterprise_id != own:
        raise DisputeNotFoundError()
    expect_version(dispute, expected_version)
    if dispute.status != "open":
        raise DisputeNotOpenError()
    dispute.status = "withdrawn"
    dispute.answered_at = now
    session.flush()
    uow.audit(
        "dispute.withdraw",
        entity_type="record_dispute",
        entity_id=dispute.id,
        before={"status": "open"},
        after={"status": "withdrawn"},
    )
    return dispute_public(dispute, now)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


def _target_enterprise(actor: Actor, enterprise_id: int | None) -> int | None:
    """Own enterprise for enterprise users; any (or all, when None) for oversight; refuse others."""
    if reads_everything(actor):
        return enterprise_id
    if actor.enterprise_id is not None and actor.can(Permission.enterprise_self):
        if enterprise_id is not None and enterprise_id != actor.enterprise_id:
            raise ForbiddenError("error.forbidden")
        return actor.enterprise_id
    raise ForbiddenError("error.forbidden")


@use_case(permission=None)
def list_disputes(
    uow,
    *,
    actor: Actor,
    enterprise_id: int | None = None,
    open_only: bool = False,
    now: datetime | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """Disputes, open ones first by due date (the operator's queue), then answered ones newest first.

    Enterprise users see their own enterprise's; regulators and the operator any enterprise's (or
    everyone's, when ``enterprise_id`` is None).

    Args:
        enterprise_id: for oversight, one enterprise (None: all).
        open_only: only open disputes.
        now: the time days left are measured from (default: now).
        limit: at most this many rows (1–20,000).

    Returns:
        DataFrame with ``DISPUTE_COLUMNS``; ``days_left`` is empty for closed disputes.

    Raises:
        ForbiddenError: the actor is neither the enterprise's user nor oversight.
    """
    target = _target_enterprise(actor, enterprise_id)
    return dispute_frame(
        uow.session, enterprise_id=target, now=now or utcnow(), open_only=open_only, limit=limit
    )


@use_case(permission=None)
def dispute_detail(uow, *, actor: Actor, dispute_id: int, now: datetime | None = None) -> DisputeDetail:
    """One dispute with its record as it stands (the enterprise its own; oversight any).

    Args:
        dispute_id: the dispute.
        now: the time days left are measured from (default: now).

    Raises:
        DisputeNotFoundError: no such dispute.
        ForbiddenError: the actor may not read this enterprise's disputes.
    """
    session = uow.session
    dispute = session.get(RecordDispute, dispute_id)
    if dispute is None:
        raise DisputeNotFoundError()
    _target_enterprise(actor, dispute.enterprise_id)
    now = now or utcnow()
    ent = session.get(Enterprise, dispute.enterprise_id)
    record = session.get(RECORD_MODELS[dispute.record_type], dispute.record_id)
    if record is None:
        raise DisputeRecordNotFoundError()
    return DisputeDetail(
        dispute=dispute_public(dispute, now),
        enterprise_name=ent.name if ent else "",
        credit_code=ent.credit_code if ent else "",
        record=record_snapshot(record, dispute.record_type),
        correctable=dict(CORRECTABLE[dispute.record_type]),
        default_field=default_field(record, dispute.record_type),
        summary=record_summary(record, dispute.record_type),
    )
