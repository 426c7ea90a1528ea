"""The lead SLA sweep: expire leads past their first-response deadline, escalate, re-dispatch.

Run periodically by ``scripts/sla_sweep.py`` (as the ``system`` actor). A pending lead past its
first-response deadline becomes ``expired``, is escalated to its institution's managers and the need
— if still open — goes to the next eligible family (channel ``redispatch``, through
:func:`core.services.need_dispatch.dispatch_need`). A responded lead past its decision deadline is
escalated once. Notifications carry a ``dedupe_key``, so a second run at the same time changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import institution_family
from core.config import get_settings
from core.i18n import translate
from core.models import FinancingNeed, Lead, Notification, User
from core.models.types import NeedStatus, utcnow
from core.services.need_dispatch import dispatch_need
from core.services.needs import OPEN_NEED_STATUSES
from core.usecase import use_case


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did (all lists of lead ids)."""

    expired: list[int]
    escalated: list[int]
    redispatched: list[int]
    decision_escalated: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"expired": len(self.expired), "escalated": len(self.escalated),
                "redispatched": len(self.redispatched), "decision_escalated": len(self.decision_escalated),
                "lead_ids": {"expired": self.expired, "redispatched": self.redispatched}}


def _managers(session: Session, institution_id: int) -> list[int]:
    family = institution_family(session, institution_id)
    users = session.exec(select(User).where(col(User.organization_id).in_(family), col(User.is_active).is_(True)))
    return [u.id for u in users if {"bank_manager", "bank_admin"} & set(u.roles or [])]


def _escalate(uow, lead: Lead, *, now: datetime, kind: str) -> None:
    session = uow.session
    lead.escalated_at = now
    locale = get_settings().default_locale
    recipients = _managers(session, lead.institution_id) or [None]
    for user_id in recipients:
        session.add(Notification(
            user_id=user_id, organization_id=lead.institution_id, kind=kind,
            title=translate(f"matching.notify.{kind.split('.')[-1]}.title", locale, need=lead.need_id, lead=lead.id),
            payload={"need_id": lead.need_id, "lead_id": lead.id},
            dedupe_key=f"lead:{lead.id}:{kind}:{user_id or 'org'}",
        ))
    uow.audit("lead.escalate", entity_type="lead", entity_id=lead.id,
              after={"kind": kind, "institution_id": lead.institution_id, "need_id": lead.need_id,
                     "recipients": [r for r in recipients if r is not None]})


@use_case(permission=Permission.rating_run, write=True)
def sweep_leads(uow, *, actor: Actor, now: datetime | None = None) -> SweepResult:
    """The periodic SLA sweep: expire, escalate and re-dispatch; escalate late decisions once.

    A pending lead past its first-response deadline becomes ``expired`` (closed now), is escalated to
    its institution's managers and the need — if still open — goes to the next eligible family
    (channel ``redispatch``). A responded lead past its decision deadline is escalated once. A second
    run at the same time changes nothing.

    Args:
        now: the sweep time (default: now; tests pass a fixed time).
    """
    session = uow.session
    now = now or utcnow()
    expired, escalated, redispatched, late = [], [], [], []
    due = list(session.exec(select(Lead).where(Lead.status == "pending", col(Lead.first_response_due) < now)
                            .order_by(col(Lead.id))))
    for lead in due:
        lead.status = "expired"
        lead.closed_at = now
        session.add(lead)
        uow.audit("lead.expire", entity_type="lead", entity_id=lead.id,
                  after={"need_id": lead.need_id, "institution_id": lead.institution_id,
                         "first_response_due": lead.first_response_due.isoformat()})
        _escalate(uow, lead, now=now, kind="lead.escalated")
        expired.append(lead.id)
        escalated.append(lead.id)
    session.flush()
    for need_id in sorted({lead.need_id for lead in due}):
        need = session.get(FinancingNeed, need_id)
        if need is None or NeedStatus(need.status) not in OPEN_NEED_STATUSES:
            continue
        n_expired = sum(1 for lead in due if lead.need_id == need_id)
        for new in dispatch_need(uow, need, now=now, channel="redispatch", limit=n_expired):
            redispatched.append(new.id)
    slow = session.exec(select(Lead).where(Lead.status == "responded", col(Lead.decision_due) < now,
                                           col(Lead.escalated_at).is_(None)).order_by(col(Lead.id)))
    for lead in slow:
        _escalate(uow, lead, now=now, kind="lead.decision_late")
        session.add(lead)
        late.append(lead.id)
    return SweepResult(expired, escalated, redispatched, late)
