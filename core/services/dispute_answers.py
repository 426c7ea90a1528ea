"""The operator's answer to a record dispute: correct the record or reject the dispute, then re-rate.

* **Answer** — the operator (``disputes.answer``) answers an open dispute ``corrected`` (the record
  is changed in the same transaction, the value validated for its field by :func:`parse_correction`)
  or ``rejected`` (the record stands; the answer says why). The form carries the version it showed: a
  concurrent answer is refused with ``StaleVersionError``. The enterprise gets an inbox
  ``Notification`` (kind ``dispute_answered``). After a correction commits, the enterprise is re-rated
  through the scoring service (``rerate_after_correction``; it runs in its own unit of work right
  after the commit).

Raising, withdrawing and reading disputes, and the errors shared with this module, are in
:mod:`core.services.disputes` (tested together in ``tests/integration/disputes/``).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from core.auth import SYSTEM_ACTOR, Actor, Permission
from core.errors import InvalidError, ValidationErrors
from core.i18n import translate
from core.models import Notification, RecordDispute, User
from core.models.types import to_money, utcnow
from core.services.disputes import DisputeNotFoundError, DisputeNotOpenError, clean_text, load_record
from core.services.my_data import CORRECTABLE, DisputePublic, default_field, dispute_public, plain_value
from core.usecase import expect_version, use_case

log = logging.getLogger("jinfu.disputes")

OUTCOMES = ("corrected", "rejected")
ANSWER_MIN, ANSWER_MAX = 2, 1000
_MAY_BE_NEGATIVE = {"net_profit", "total_equity", "operating_cash_flow"}
_TEXT_LIMITS = {"name": (2, 120), "holder_name": (1, 120), "legal_rep_name": (1, 40)}


# ---------------------------------------------------------------------------------------------
# Correction values
# ---------------------------------------------------------------------------------------------


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
        return clean_text(
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
        clean_answer = clean_text(
            answer, low=ANSWER_MIN, high=ANSWER_MAX, key="portrait.dispute.error.answer", field_name="answer"
        )
    except InvalidError as exc:
        errors.append(exc)
    record = None
    change: tuple[str, Any] | None = None
    if outcome == "corrected":
        record = load_record(session, dispute.record_type, dispute.record_id, lock=True)
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
