"""The tamper-evident audit trail: every write appends an event SHA-256 chained to the one before."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from core.auth import Actor
from core.models import AuditEvent
from core.models.types import utcnow

GENESIS_HASH = "0" * 64
_PG_AUDIT_LOCK = 0x6A696E6675  # "jinfu": serializes chain appends across PostgreSQL sessions


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False)) if value is not None else None


def event_digest(
    *,
    prev_hash: str,
    occurred_at: datetime,
    actor_user_id: int | None,
    actor_org_id: int | None,
    actor_label: str,
    action: str,
    entity_type: str | None,
    entity_id: str | None,
    before: Any,
    after: Any,
) -> str:
    """The SHA-256 of an event's canonical JSON together with the previous event's hash."""
    payload = {
        "prev": prev_hash,
        "at": occurred_at.isoformat(timespec="microseconds"),
        "user": actor_user_id,
        "org": actor_org_id,
        "label": actor_label,
        "action": action,
        "type": entity_type,
        "id": entity_id,
        "before": before,
        "after": after,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity_type: str | None = None,
    entity_id: Any = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one chained event inside the caller's transaction (the caller commits)."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_AUDIT_LOCK))
    last = session.exec(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev_hash = last or GENESIS_HASH
    occurred_at = utcnow()
    fields = {
        "occurred_at": occurred_at,
        "actor_user_id": actor.user_id,
        "actor_org_id": actor.organization_id,
        "actor_label": actor.label,
        "action": action,
        "entity_type": entity_type,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": _jsonable(before),
        "after": _jsonable(after),
    }
    event = AuditEvent(prev_hash=prev_hash, hash=event_digest(prev_hash=prev_hash, **fields), **fields)
    session.add(event)
    session.flush()
    return event


def verify_chain(events, prev: str = GENESIS_HASH) -> int | None:
    """The id of the first event whose hash or link does not verify, or None if the chain is intact.

    Args:
        events: the events in id order (any iterable, so a large table can be streamed).
        prev: the hash the first event must link to (the genesis hash for a whole chain).
    """
    for event in events:
        expected = event_digest(
            prev_hash=event.prev_hash,
            occurred_at=event.occurred_at,
            actor_user_id=event.actor_user_id,
            actor_org_id=event.actor_org_id,
            actor_label=event.actor_label,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            before=event.before,
            after=event.after,
        )
        if event.prev_hash != prev or event.hash != expected:
            return event.id
        prev = event.hash
    return None


def verify_stored_chain(session: Session, batch: int = 5000) -> tuple[int, int | None]:
    """Stream the whole audit table in id order; return (events checked, first broken id or None)."""
    prev, checked, last_id = GENESIS_HASH, 0, 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        broken = verify_chain(rows, prev)
        if broken is not None:
            return checked + next(i for i, r in enumerate(rows) if r.id == broken), broken
        checked += len(rows)
        prev, last_id = rows[-1].hash, rows[-1].id
