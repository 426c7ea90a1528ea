"""Matrix rules for record disputes and "my data" (issue 5): the enterprise raises and withdraws its own,
the operator answers, oversight reads."""

from __future__ import annotations

import itertools
from datetime import date

from core.auth import Permission
from core.db import session_scope
from core.errors import ForbiddenError, NotFoundError
from core.models import GovRecord, RecordDispute
from core.models.types import GovSource, utcnow
from core.services.my_data import due_date
from tests.integration.permission_world import Builder, Rule, World

DS = "core.services.disputes."
DA = "core.services.dispute_answers."
MD = "core.services.my_data."
_periods = itertools.count(1)

RULES: dict[str, Rule] = {
    DS + "raise_dispute": Rule(
        Permission.enterprise_self,
        "own_enterprise_act",
        refused=(ForbiddenError, NotFoundError),
        note="another enterprise's record is reported as not found (its existence is not revealed)",
    ),
    DS + "withdraw_dispute": Rule(
        Permission.enterprise_self,
        "own_enterprise_act",
        refused=(ForbiddenError, NotFoundError),
        note="another enterprise's dispute is reported as not found",
    ),
    DA + "answer_dispute": Rule(Permission.disputes_answer, "any", note="the operator's desk, any enterprise"),
    DS + "list_disputes": Rule(None, "own_enterprise"),
    DS + "dispute_detail": Rule(None, "own_enterprise"),
    MD + "my_data": Rule(None, "own_enterprise"),
}


def _fresh_record(w: World, scope: str) -> int:
    """A new tax record of the scope's enterprise (each case disputes its own record)."""
    n = next(_periods)
    with session_scope() as s:
        record = GovRecord(
            enterprise_id=w.side(scope).enterprise_id,
            source=GovSource.tax,
            kind="tax_paid",
            period=date(2000 + n // 12, n % 12 + 1, 1),
            ref=f"matrix-{n}",
            value=1000.0,
        )
        s.add(record)
        s.flush()
        return record.id


def _fresh_dispute(w: World, scope: str) -> int:
    """An open dispute of the scope's enterprise, on a new record."""
    record_id = _fresh_record(w, scope)
    now = utcnow()
    with session_scope() as s:
        dispute = RecordDispute(
            enterprise_id=w.side(scope).enterprise_id,
            record_type="gov_record",
            record_id=record_id,
            reason="矩阵测试异议理由",
            raised_at=now,
            due_at=due_date(now),
        )
        s.add(dispute)
        s.flush()
        return dispute.id


ARGUMENTS: dict[str, Builder] = {
    DS + "raise_dispute": lambda w, sc, r: {
        "record_type": "gov_record",
        "record_id": _fresh_record(w, sc),
        "reason": "矩阵测试异议理由",
        "idempotency_key": w.unique("matrix-dispute-"),
    },
    DS + "withdraw_dispute": lambda w, sc, r: {"dispute_id": _fresh_dispute(w, sc)},
    DA + "answer_dispute": lambda w, sc, r: {
        "dispute_id": _fresh_dispute(w, sc),
        "outcome": "rejected",
        "answer": "矩阵测试答复",
        "expected_version": 1,
    },
    DS + "list_disputes": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    DS + "dispute_detail": lambda w, sc, r: {"dispute_id": _fresh_dispute(w, sc)},
    MD + "my_data": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
}
