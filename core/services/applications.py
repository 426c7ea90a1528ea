"""Application reads for an institution: counts by status and the filterable list.

Lifecycle writes (submit, accept, decide …) arrive with the application-workflow issue.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_institution_access, institution_descendants
from core.errors import ForbiddenError
from core.models import Application, Enterprise, Product
from core.models.types import ApplicationStatus
from core.services.directory import load_institution
from core.usecase import use_case

STATUS_ORDER = [s.value for s in ApplicationStatus]  # lifecycle order, for charts and filters

APPLICATION_COLUMNS = [
    "id",
    "enterprise_name",
    "credit_code",
    "product_name",
    "amount_requested",
    "term_months",
    "status",
    "submitted_at",
]


def _check(uow, actor: Actor, institution_id: int) -> set[int]:
    """Refuse the wrong caller; return the institution and its branches (the rows in scope)."""
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    load_institution(uow.session, institution_id)
    assert_institution_access(uow.session, actor, institution_id)
    return institution_descendants(uow.session, institution_id)


@use_case(permission=None)
def applications_by_status(uow, *, actor: Actor, institution_id: int) -> pd.DataFrame:
    """How many applications the institution (with its branches) holds in each status.

    Args:
        institution_id: the institution; staff may ask only about their own family.

    Returns:
        DataFrame ``status`` (lifecycle order, only statuses that occur), ``count``.

    Raises:
        ForbiddenError: the actor is not staff of this institution nor a regulator.
        NotFoundError: no such institution.
    """
    scope = _check(uow, actor, institution_id)
    rows = uow.session.exec(
        select(Application.status, func.count(Application.id))
        .where(col(Application.institution_id).in_(scope))
        .group_by(Application.status)
    ).all()
    counts = {ApplicationStatus(s).value: int(n) for s, n in rows}
    return pd.DataFrame(
        [{"status": s, "count": counts[s]} for s in STATUS_ORDER if s in counts], columns=["status", "count"]
    )


@use_case(permission=None)
def list_applications(
    uow,
    *,
    actor: Actor,
    institution_id: int,
    status: ApplicationStatus | str | list[ApplicationStatus | str] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """The institution's (and its branches') applications, newest first.

    Args:
        institution_id: the institution; staff may ask only about their own family.
        status: one status or several (default: all).
        limit: at most this many rows (1–5000).

    Returns:
        DataFrame with ``APPLICATION_COLUMNS``; ``amount_requested`` in float yuan, ``submitted_at`` UTC.

    Raises:
        ForbiddenError: the actor is not staff of this institution nor a regulator.
        NotFoundError: no such institution.
    """
    scope = _check(uow, actor, institution_id)
    limit = max(1, min(int(limit), 5000))
    query = (
        select(
            Application.id,
            Enterprise.name,
            Enterprise.credit_code,
            Product.name,
            Application.amount_requested,
            Application.term_months,
            Application.status,
            Application.submitted_at,
        )
        .join(Enterprise, col(Enterprise.id) == col(Application.enterprise_id))
        .join(Product, col(Product.id) == col(Application.product_id))
        .where(col(Application.institution_id).in_(scope))
        .order_by(col(Application.submitted_at).desc(), col(Application.id).desc())
        .limit(limit)
    )
    if status:
        wanted = [status] if isinstance(status, str | ApplicationStatus) else list(status)
        query = query.where(col(Application.status).in_([ApplicationStatus(s) for s in wanted]))
    rows = uow.session.exec(query).all()
    frame = pd.DataFrame(
        [(i, e, c, p, float(a), t, ApplicationStatus(s).value, at) for i, e, c, p, a, t, s, at in rows],
        columns=APPLICATION_COLUMNS,
    )
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True)
    return frame
