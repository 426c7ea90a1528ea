"""Large-default cases: opened by the risk run for the regulator, worked through their own workflow.

A defaulted loan whose outstanding principal reaches ``large_default_threshold_yuan`` opens one case
(:func:`open_large_default_cases`, called by every risk run; the unique loan id makes it once). The
regulator (``risk.manage``) assigns departments and an assignee, adds notes, moves the case
``open → assigned → in_progress → closed`` (closing needs a resolution); a step not allowed from the
current status is refused and nothing is written; every write carries the row version the form
showed (optimistic locking) and is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.config import get_settings
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import Enterprise, LargeDefaultCase, Loan, Organization, User
from core.models.types import LoanStatus, OrgKind, utcnow
from core.services.notifications import existing_keys, notify
from core.usecase import expect_version, use_case

STATUSES = ("open", "assigned", "in_progress", "closed")
# status -> the statuses a case may move to with set_case_status (assigning is its own step)
TRANSITIONS = {"assigned": {"in_progress"}, "in_progress": {"closed"}}
DEPARTMENTS = ("financial_regulation", "pboc_branch", "nfra_branch", "court", "public_security",
               "market_regulation", "tax", "local_government", "guarantee_fund")
TEXT_MAX = 1000
CASE_COLUMNS = ["id", "loan_id", "enterprise_id", "enterprise_name", "credit_code", "district_code",
                "institution_id", "institution_name", "amount", "status", "departments", "assignee_id",
                "assignee_name", "notes", "resolution", "opened_at", "closed_at", "version"]


class CaseNotFoundError(NotFoundError):
    key = "risk.svc.error.case_not_found"


class CaseStepError(ConflictError):
    """The case cannot move from its status to the one asked for (e.g. closing an unassigned case)."""

    key = "risk.svc.error.case_step"


class CasePublic(BaseModel):
    """One large-default case as services return it."""

    id: int
    loan_id: int
    enterprise_id: int
    institution_id: int
    amount: Decimal
    status: str
    departments: list[str]
    assignee_id: int | None
    notes: list[dict[str, Any]]
    resolution: str | None
    opened_at: datetime
    closed_at: datetime | None
    version: int


def _public(row: LargeDefaultCase) -> CasePublic:
    return CasePublic(id=int(row.id), loan_id=row.loan_id, enterprise_id=row.enterprise_id,
                      institution_id=row.institution_id, amount=row.amount, status=row.status,
                      departments=list(row.departments or []), assignee_id=row.assignee_id,
                      notes=list(row.notes or []), resolution=row.resolution, opened_at=row.opened_at,
                      closed_at=row.closed_at, version=row.version)


def open_large_default_cases(session: Session, *, threshold: float | None = None) -> int:
    """Open a case for every defaulted loan at or above the threshold that has none; notify regulators.

    Args:
        session: the caller's session (the caller commits).
        threshold: yuan (default: ``large_default_threshold_yuan`` from the settings).
    """
    limit = Decimal(str(get_settings().large_default_threshold_yuan if threshold is None else threshold))
    ln, c = Loan.__table__, LargeDefaultCase.__table__
    rows = session.execute(select(ln.c.id, ln.c.enterprise_id, ln.c.institution_id, ln.c.outstanding_principal)
                           .where(ln.c.status == LoanStatus.defaulted.value, ln.c.outstanding_principal >= limit,
                                  ln.c.id.not_in(select(c.c.loan_id)))).all()
    if not rows:
        return 0
    now = utcnow()
    session.execute(c.insert(), [{"loan_id": int(r.id), "enterprise_id": int(r.enterprise_id),
                                  "institution_id": int(r.institution_id), "amount": r.outstanding_principal,
                                  "status": "open", "departments": [], "notes": [], "opened_at": now, "version": 1}
                                 for r in rows])
    regulators = [int(i) for i in session.execute(select(Organization.id).where(
        Organization.kind == OrgKind.regulator)).scalars()]
    wanted = {f"risk-case:{int(r.id)}:{org}": (r, org) for r in rows for org in regulators}
    done = existing_keys(session, wanted)
    for key, (r, org) in wanted.items():
        if key not in done:
            notify(session, kind="risk.large_default", title_key="risk.svc.notify.case.title",
                   params={"amount": f"{float(r.outstanding_principal) / 10_000:,.0f}", "loan": int(r.id)},
                   organization_id=org, dedupe_key=key, payload={"loan_id": int(r.id)})
    return len(rows)


def _case(session: Session, case_id: int, expected_version: int | None) -> LargeDefaultCase:
    row = session.get(LargeDefaultCase, int(case_id))
    if row is None:
        raise CaseNotFoundError(case_id=case_id)
    expect_version(row, expected_version)
    return row


def _clean(text: str | None, *, field: str, minimum: int) -> str | None:
    value = " ".join(str(text or "").split())
    if not minimum <= len(value) <= TEXT_MAX or "<" in value or ">" in value:
        if minimum == 0 and not value:
            return None
        raise InvalidError("risk.svc.error.case_text", field=field, min=max(minimum, 1), max=TEXT_MAX)
    return value or None


@use_case(permission=Permission.oversight)
def list_cases(uow, *, actor: Actor, status: str | None = None, limit: int = 500) -> pd.DataFrame:
    """Large-default cases, open ones first, newest first.

    Args:
        status: one of ``STATUSES``; None for every case.
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame ``CASE_COLUMNS`` (``amount`` in yuan as float).
    """
    if status is not None and status not in STATUSES:
        raise InvalidError("risk.svc.error.status", field="status")
    if not 1 <= int(limit) <= 5000:
        raise InvalidError("risk.svc.error.limit", field="limit", max=5000)
    c, e, o, u = LargeDefaultCase.__table__, Enterprise.__table__, Organization.__table__, User.__table__
    stmt = (select(c.c.id, c.c.loan_id, c.c.enterprise_id, e.c.name.label("enterprise_name"), e.c.credit_code,
                   e.c.district_code, c.c.institution_id, o.c.name.label("institution_name"), c.c.amount, c.c.status,
                   c.c.departments, c.c.assignee_id, u.c.display_name.label("assignee_name"), c.c.notes,
                   c.c.resolution, c.c.opened_at, c.c.closed_at, c.c.version)
            .join(e, e.c.id == c.c.enterprise_id).join(o, o.c.id == c.c.institution_id)
            .outerjoin(u, u.c.id == c.c.assignee_id)
            .order_by((c.c.status == "closed"), c.c.opened_at.desc(), c.c.id.desc()).limit(int(limit)))
    if status is not None:
        stmt = stmt.where(c.c.status == status)
    frame = pd.read_sql(stmt, uow.session.connection())
    frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    return frame.reindex(columns=CASE_COLUMNS)


@use_case(permission=Permission.oversight)
def case_detail(uow, *, actor: Actor, case_id: int) -> CasePublic:
    """One case with its notes.

    Raises:
        CaseNotFoundError.
    """
    return _public(_case(uow.session, case_id, None))


@use_case(permission=Permission.risk_manage, write=True)
def assign_case(uow, *, actor: Actor, case_id: int, expected_version: int, departments: Sequence[str],
                assignee_id: int | None = None) -> CasePublic:
    """Assign departments (and optionally a regulator user) to an open or assigned case.

    Args:
        case_id: the case.
        expected_version: the row version the form showed.
        departments: 1–5 of ``DEPARTMENTS``.
        assignee_id: an active user of a regulator or the operator, or None.

    Raises:
        CaseNotFoundError, StaleVersionError, CaseStepError (in progress or closed), InvalidError.
    """
    session = uow.session
    chosen = list(dict.fromkeys(str(d) for d in (departments or [])))
    if not 1 <= len(chosen) <= 5 or any(d not in DEPARTMENTS for d in chosen):
        raise InvalidError("risk.svc.error.departments", field="departments", allowed=", ".join(DEPARTMENTS))
    if assignee_id is not None:
        user = session.get(User, int(assignee_id))
        org = session.get(Organization, user.organization_id) if user and user.organization_id else None
        if user is None or not user.is_active or org is None or org.kind not in (OrgKind.regulator, OrgKind.operator):
            raise InvalidError("risk.svc.error.assignee", field="assignee_id")
    row = _case(session, case_id, expected_version)
    if row.status not in ("open", "assigned"):
        raise CaseStepError(field="status", status=row.status, target="assigned")
    before = {"status": row.status, "departments": list(row.departments or []), "assignee_id": row.assignee_id}
    row.departments, row.assignee_id, row.status = chosen, assignee_id, "assigned"
    session.add(row)
    session.flush()
    uow.audit("risk.case.assign", entity_type="large_default_case", entity_id=row.id, before=before,
              after={"status": row.status, "departments": chosen, "assignee_id": assignee_id})
    return _public(row)


@use_case(permission=Permission.risk_manage, write=True)
def add_case_note(uow, *, actor: Actor, case_id: int, expected_version: int, text: str) -> CasePublic:
    """Add a note to a case that is not closed.

    Args:
        case_id: the case.
        expected_version: the row version the form showed.
        text: 2–1000 characters.

    Raises:
        CaseNotFoundError, StaleVersionError, CaseStepError (closed), InvalidError.
    """
    session = uow.session
    clean = _clean(text, field="text", minimum=2)
    row = _case(session, case_id, expected_version)
    if row.status == "closed":
        raise CaseStepError(field="status", status=row.status, target="note")
    note = {"at": utcnow().isoformat(), "by": actor.user_id, "by_label": actor.label, "text": clean}
    row.notes = [*list(row.notes or []), note]  # a new list, so the JSON column is written
    session.add(row)
    session.flush()
    uow.audit("risk.case.note", entity_type="large_default_case", entity_id=row.id, after={"text": clean})
    return _public(row)


@use_case(permission=Permission.risk_manage, write=True)
def set_case_status(uow, *, actor: Actor, case_id: int, expected_version: int, status: str,
                    resolution: str | None = None) -> CasePublic:
    """Move a case ``assigned → in_progress`` or ``in_progress → closed`` (closing needs a resolution).

    Args:
        case_id: the case.
        expected_version: the row version the form showed.
        status: ``in_progress`` or ``closed``.
        resolution: how it was resolved (5–1000 characters; required to close).

    Raises:
        CaseNotFoundError, StaleVersionError, CaseStepError (not allowed from the current status),
        InvalidError (no resolution).
    """
    session = uow.session
    if status not in STATUSES:
        raise InvalidError("risk.svc.error.status", field="status")
    text = _clean(resolution, field="resolution", minimum=5 if status == "closed" else 0)
    row = _case(session, case_id, expected_version)
    if status not in TRANSITIONS.get(row.status, set()):
        raise CaseStepError(field="status", status=row.status, target=status)
    before = row.status
    row.status = status
    if status == "closed":
        row.resolution, row.closed_at = text, utcnow()
    session.add(row)
    session.flush()
    uow.audit(f"risk.case.{status}", entity_type="large_default_case", entity_id=row.id,
              before={"status": before}, after={"status": status, "resolution": row.resolution})
    return _public(row)
