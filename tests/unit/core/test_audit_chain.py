"""The audit chain's digest and verification, on plain event objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.models import AuditEvent
from core.services.audit import GENESIS_HASH, event_digest, verify_chain


def _chain(n: int) -> list[AuditEvent]:
    events, prev = [], GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        fields = {
            "occurred_at": start + timedelta(minutes=i),
            "actor_user_id": i,
            "actor_org_id": None,
            "actor_label": f"user{i}",
            "action": "demo.write",
            "entity_type": "product",
            "entity_id": str(i),
            "before": None,
            "after": {"rate": "4.35", "n": i},
        }
        digest = event_digest(prev_hash=prev, **fields)
        events.append(AuditEvent(id=i + 1, prev_hash=prev, hash=digest, **fields))
        prev = digest
    return events


def test_an_intact_chain_verifies():
    assert verify_chain(_chain(5)) is None


def test_editing_a_payload_breaks_the_chain_at_that_event():
    events = _chain(5)
    events[2].after = {"rate": "0.01", "n": 2}
    assert verify_chain(events) == 3


def test_deleting_an_event_breaks_the_chain_at_the_next():
    events = _chain(5)
    del events[1]
    assert verify_chain(events) == 3


def test_recomputing_one_hash_still_breaks_the_link_after_it():
    events = _chain(4)
    e = events[1]
    e.after = {"forged": True}
    e.hash = event_digest(
        prev_hash=e.prev_hash,
        occurred_at=e.occurred_at,
        actor_user_id=e.actor_user_id,
        actor_org_id=e.actor_org_id,
        actor_label=e.actor_label,
        action=e.action,
        entity_type=e.entity_type,
        entity_id=e.entity_id,
        before=e.before,
        after=e.after,
    )
    assert verify_chain(events) == 3
