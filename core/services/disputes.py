"""Disputes of the records the platform holds about an enterprise (征信业管理条例 §25).

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
* **Answer** — the operator (``disputes.answer``) answers an open dispute ``corrected`` (the record
  is changed in the same transaction, the value validated for its field) or ``rejected`` (the record
  stands; the answer says why). The form carries the version it showed: a concurrent answer is
  refused with ``StaleVersionError``. The enterprise gets an inbox ``Notification`` (kind
  ``dispute_answered``). After a correction commits, the enterprise is re-rated through the scoring
  service (``rerate_after_correction``; it runs in its own unit of work right after the commit).
* **Read** — ``list_disputes`` (an enterprise its own; oversight any or all: the operator's desk, open
  first by due date), ``dispute_detail`` (the record as it stands and the reason) and
  ``disputed_records`` (a helper for other services: which records of an enterprise are in dispute;
  defined in ``core.services.my_data`` with the other record helpers and re-exported here).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import event
from sqlmodel import Session, select

from core.auth import SYSTEM_ACTOR, Actor, Permission
from core.auth.rules import assert_acts_for_enterprise, reads_everything
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError, ValidationErrors
from core.i18n import translate
from core.models import Enterprise, Notification, RecordDispute, User
from core.models.types import to_money, utcnow
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
    plain_value,
    record_snapshot,
    record_summary,
)
from core.usecase import expect_version, use_case

log = logging.getLogger("jinfu.disputes")

__all__ = ["disputed_records"]  # re-exported for other services; the use cases register themselves

OUTCOMES = ("corrected", "rejected")
REASON_MIN, REASON_MAX = 5, 1000
ANSWER_MIN, ANSWER_MAX = 2, 1000
PROPOSED_MAX = 200
KEY_MIN, KEY_MAX = 8, 80
_MAY_BE_NEGATIVE = {"net_profit", "total_equity", "operating_cash_flow"}
_TEXT_LIMITS = {"name": (2, 120), "holder_name": (1, 120), "legal_rep_name": (1, 40)}


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


def _clean_text(value: Any, *, low: int, high: int, key: str, field_name: str) -> str:
    text = " ".join(str(value or "").split())
    if not low <= len(text) <= high or "<" in text or ">" in text:
        raise InvalidError(key, field=field_name, min=low, max=high)
    return text


def _record_owner(record: Any, record_type: str) -> int:
    return int(record.id) if record_type == "enterprise" else int(record.enterprise_id)


def _load_record(session: Session, record_type: str, record_id: Any, *, lock: bool = False) -> Any:
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


def parse_correction(record_type: str, field_name: str, raw: Any) -> Any:
    """The typed, validated value of a correction to ``field_name`` of a ``record_type`` record.

    Args:
        record_type: gov_record, financial_statement, shareholding or enterprise.
        field_name: a field of ``CORRECTABLE[record_type]``.
        raw: the value as typed (thousands separators allowed in numbers).

    Raises:
        InvalidError: the value does not fit the field (naming ``corrected_value``).
    """
    kind = CORRECTABLE[record_type][field_name]
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    bad = InvalidError(f"portrait.dispute.error.value.{kind}", field="corrected_value")
    if kind == "text":
        low, high = _TEXT_LIMITS.get(field_name, (1, 200))
        return _clean_text(
            raw, low=low, high=high, key="portrait.dispute.error.value.text", field_name="corrected_value"
        )
    try:
        if kind == "number":
            number = float(text)
            if not math.isfinite(number) or abs(number) >= 1e15:
                raise bad
            return number
        if kind == "count":
            count = int(text)
            if not 0 <= count <= 10_000_000:
                raise bad
            return count
        amount = Decimal(text)
    except (ValueError, InvalidOperation):
        raise bad from None
    if not amount.is_finite():
        raise bad
    if kind == "percent":
        if not Decimal(0) < amount <= Decimal(100):
            raise bad
        return amount.quantize(Decimal("0.0001"))
    if abs(amount) >= Decimal(10) ** 15 or (amount < 0 and field_name not in _MAY_BE_NEGATIVE):
        raise bad
    return to_money(amount)


# ---------------------------------------------------------------------------------------------
# Re-rating after a correction
# ---------------------------------------------------------------------------------------------


def rerate_after_correction(*, actor: Actor, enterprise_id: int, dispute_id: int) -> None:
    """Re-rate an enterprise whose record a dispute corrected (runs after the answer has committed).

    The scoring service owns its own unit of work, so this runs once the correction is durable. A
    failure is logged, never shown as a failed answer: the correction stands and the next scheduled
    rating run picks the enterprise up.

    Args:
        actor: the operator who answered; the re-rating runs as them when they may run ratings,
            else as the system.
        enterprise_id: the enterprise to re-rate.
        dispute_id: the dispute whose correction triggered it (recorded as the reason).
    """
    try:
        from core.services.rating_runs import rerate_enterprises
    except ImportError:
        log.warning(
            "scoring service missing: enterprise %s not re-rated after dispute %s", enterprise_id, dispute_id
        )
        return
    runner = actor if actor.can(Permission.rating_run) else SYSTEM_ACTOR
    rerate_enterprises(
        actor=runner, enterprise_ids=[enterprise_id], reason=f"dispute #{dispute_id} corrected"
    )


def _after_commit(actor: Actor, enterprise_id: int, dispute_id: int):
    def run(_session) -> None:
        try:
            rerate_after_correction(actor=actor, enterprise_id=enterprise_id, dispute_id=dispute_id)
        except Exception:  # noqa: BLE001 - the answer is committed; the batch rating catches up
            log.exception("re-rating enterprise %s after dispute %s failed", enterprise_id, dispute_id)

    return run


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
        clean_reason = _clean_text(
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

    record = _load_record(session, record_type, record_id, lock=True)
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
# The operator's side
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.disputes_answer, write=True)
def answer_dispute(
    uow,
    *,
    actor: Actor,
    dispute_id: int,
    outcome: str,
    answer: str,
    expected_version: int,
    corrected_value: Any = None,
    corrected_field: str | None = None,
    now: datetime | None = None,
) -> DisputePublic:
    """Answer an open dispute: correct the record, or reject the dispute with the reason.

    ``corrected`` changes the record in this transaction and, once committed, re-rates the enterprise.

    Args:
        dispute_id: the dispute.
        outcome: ``corrected`` or ``rejected``.
        answer: the explanation sent to the enterprise (2–1000 characters).
        expected_version: the dispute's version the form showed (optimistic locking).
        corrected_value: the correct value (required for ``corrected``), parsed for the field.
        corrected_field: which field of the record to correct (default: the record's main field;
            a financial statement's money field, a shareholding's share_pct or holder_name …).
        now: the time of the answer (default: now).

    Raises:
        DisputeNotFoundError: no such dispute.
        StaleVersionError: someone else answered or changed it since the form was shown.
        DisputeNotOpenError: it was already answered or withdrawn.
        ValidationErrors / InvalidError: bad outcome, answer, field or value (each naming its field).
    """
    session = uow.session
    now = now or utcnow()
    dispute = session.get(RecordDispute, dispute_id)
    if dispute is None:
        raise DisputeNotFoundError()
    expect_version(dispute, expected_version)
    if dispute.status != "open":
        raise DisputeNotOpenError()
    errors: list[InvalidError] = []
    if outcome not in OUTCOMES:
        errors.append(InvalidError("portrait.dispute.error.outcome", field="outcome"))
    try:
        clean_answer = _clean_text(
            answer, low=ANSWER_MIN, high=ANSWER_MAX, key="portrait.dispute.error.answer", field_name="answer"
        )
    except InvalidError as exc:
        errors.append(exc)
    record = None
    change: tuple[str, Any] | None = None
    if outcome == "corrected":
        record = _load_record(session, dispute.record_type, dispute.record_id, lock=True)
        name = corrected_field or default_field(record, dispute.record_type)
        if name not in CORRECTABLE[dispute.record_type]:
            errors.append(InvalidError("portrait.dispute.error.field", field="corrected_field"))
        else:
            try:
                change = (name, parse_correction(dispute.record_type, name, corrected_value))
            except InvalidError as exc:
                errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)

    if change is not None:
        name, value = change
        before = getattr(record, name)
        setattr(record, name, value)
        session.flush()
        uow.audit(
            "record.correct",
            entity_type=dispute.record_type,
            entity_id=dispute.record_id,
            before={name: plain_value(before), "dispute_id": dispute.id},
            after={name: plain_value(value), "dispute_id": dispute.id},
        )
    dispute.status = outcome
    dispute.answer = clean_answer
    dispute.answered_by_id = actor.user_id
    dispute.answered_at = now
    session.flush()  # the version check: a concurrent answer fails here
    _notify(session, dispute)
    uow.audit(
        "dispute.answer",
        entity_type="record_dispute",
        entity_id=dispute.id,
        before={"status": "open"},
        after={"status": outcome, "field": change[0] if change else None},
    )
    if outcome == "corrected":
        event.listen(
            session, "after_commit", _after_commit(actor, dispute.enterprise_id, int(dispute.id)), once=True
        )
    return dispute_public(dispute, now)


def _notify(session: Session, dispute: RecordDispute) -> None:
    """Tell the enterprise (and the user who raised the dispute) that it was answered."""
    user = session.get(User, dispute.raised_by_id) if dispute.raised_by_id else None
    locale = user.locale if user is not None else None
    params = {"id": dispute.id}
    session.add(
        Notification(
            user_id=dispute.raised_by_id,
            enterprise_id=dispute.enterprise_id,
            kind="dispute_answered",
            title=translate(f"portrait.notify.{dispute.status}.title", locale, **params)[:200],
            body=(dispute.answer or "")[:2000],
            payload={
                "dispute_id": dispute.id,
                "outcome": dispute.status,
                "key": f"portrait.notify.{dispute.status}.title",
            },
            dedupe_key=f"dispute_answered:{dispute.id}",
        )
    )


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
