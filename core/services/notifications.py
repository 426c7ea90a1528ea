"""Notifications: the inbox of an enterprise, an institution or a person — list, unread count, mark read.

Who sees which rows (``channel = 'inbox'`` only; e-mail and SMS outbox rows are not an inbox):

* an enterprise user — the rows addressed to the enterprise, and to the user personally;
* institution staff — the rows addressed to their organization or a branch below it, and to them;
* anyone else (regulators, the operator) — the rows addressed to them personally.

Writers elsewhere add rows with :func:`notify` inside their own unit of work: the title is stored in
the platform's default language, and the message key with its parameters goes into the payload so
the inbox shows it in the reader's language. A ``dedupe_key`` makes a notification at most once
(repayment reminders re-sent by a re-run sweep are skipped, see :func:`existing_keys`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from core.auth import Actor
from core.auth.rules import institution_descendants, is_enterprise_actor, is_institution_staff
from core.config import get_settings
from core.errors import InvalidError, NotFoundError
from core.i18n import translate
from core.models import Notification
from core.models.types import utcnow
from core.usecase import use_case

INBOX_COLUMNS = ["id", "kind", "title", "body", "created_at", "read_at", "unread"]
MAX_LIMIT = 1000
KEY_CHUNK = 500


def notify(
    session: Session,
    *,
    kind: str,
    title_key: str,
    params: dict[str, Any] | None = None,
    body_key: str | None = None,
    enterprise_id: int | None = None,
    organization_id: int | None = None,
    user_id: int | None = None,
    dedupe_key: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Notification:
    """Add one inbox notification to the caller's session (the caller owns the transaction).

    Args:
        session: the caller's open session.
        kind: what happened, dotted (``loan.due_in_3``, ``appointment.booked`` …).
        title_key: the message key of the title; ``params`` fill its placeholders.
        params: JSON-safe placeholder values (strings and numbers).
        body_key: optional message key of a longer text, with the same ``params``.
        enterprise_id: the enterprise addressed (its users see it).
        organization_id: the institution addressed (its staff and its head office's staff see it).
        user_id: one person addressed.
        dedupe_key: unique per notification; the caller skips keys :func:`existing_keys` reports.
        payload: extra JSON data (ids for links).
    """
    params = dict(params or {})
    locale = get_settings().default_locale
    row = Notification(
        enterprise_id=enterprise_id,
        organization_id=organization_id,
        user_id=user_id,
        kind=kind[:40],
        title=translate(title_key, locale, **params)[:200],
        body=translate(body_key, locale, **params)[:2000] if body_key else None,
        payload={**(payload or {}), "title_key": title_key, "body_key": body_key, "params": params},
        dedupe_key=dedupe_key,
        created_at=utcnow(),
    )
    session.add(row)
    return row


def existing_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already the ``dedupe_key`` of a notification."""
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), KEY_CHUNK):
        chunk = wanted[start : start + KEY_CHUNK]
        found |= set(session.exec(select(Notification.dedupe_key).where(col(Notification.dedupe_key).in_(chunk))))
    return found


def _mine(session: Session, actor: Actor):
    """The WHERE clause of the actor's inbox."""
    clauses = []
    if actor.user_id is not None:
        clauses.append(Notification.user_id == actor.user_id)
    if is_enterprise_actor(actor):
        clauses.append(Notification.enterprise_id == actor.enterprise_id)
    elif is_institution_staff(actor):
        clauses.append(col(Notification.organization_id).in_(institution_descendants(session, actor.organization_id)))
    elif actor.organization_id is not None:  # regulators and the operator: notices addressed to their office
        clauses.append(Notification.organization_id == actor.organization_id)
    if not clauses:
        return None
    return (Notification.channel == "inbox") & or_(*clauses)


def _localized(row: Notification, field: str, locale: str | None) -> str | None:
    payload = row.payload or {}
    key = payload.get("title_key" if field == "title" else "body_key")
    stored = row.title if field == "title" else row.body
    if not key or locale is None:
        return stored
    return translate(key, locale, **(payload.get("params") or {}))


@use_case(permission=None)
def my_notifications(
    uow, *, actor: Actor, unread_only: bool = False, limit: int = 200, locale: str | None = None
) -> pd.DataFrame:
    """The actor's inbox: unread first, newest first within each.

    Args:
        unread_only: only the rows not yet read.
        limit: at most this many rows (1–1000).
        locale: show titles written with a message key in this language (default: as stored).

    Returns:
        DataFrame ``id``, ``kind``, ``title``, ``body``, ``created_at``, ``read_at``, ``unread``.
    """
    if not 1 <= int(limit) <= MAX_LIMIT:
        raise InvalidError("loans.error.limit", field="limit", max=MAX_LIMIT)
    where = _mine(uow.session, actor)
    if where is None:
        return pd.DataFrame(columns=INBOX_COLUMNS)
    query = select(Notification).where(where)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    query = query.order_by(
        col(Notification.read_at).is_not(None), col(Notification.created_at).desc(), col(Notification.id).desc()
    ).limit(int(limit))
    rows = uow.session.exec(query).all()
    return pd.DataFrame(
        [
            {
                "id": int(r.id),
                "kind": r.kind,
                "title": _localized(r, "title", locale),
                "body": _localized(r, "body", locale),
                "created_at": r.created_at,
                "read_at": r.read_at,
                "unread": r.read_at is None,
            }
            for r in rows
        ],
        columns=INBOX_COLUMNS,
    )


@use_case(permission=None)
def unread_count(uow, *, actor: Actor) -> int:
    """How many notifications in the actor's inbox are unread."""
    where = _mine(uow.session, actor)
    if where is None:
        return 0
    query = select(func.count(Notification.id)).where(where, col(Notification.read_at).is_(None))
    return int(uow.session.exec(query).one())


@use_case(permission=None, write=True)
def mark_read(uow, *, actor: Actor, notification_ids: list[int] | None = None) -> int:
    """Mark notifications of the actor's inbox read; returns how many changed.

    Args:
        notification_ids: the rows to mark (None: every unread row of the inbox).

    Raises:
        NotFoundError: an id is not in the actor's inbox (another's row is never revealed).
    """
    where = _mine(uow.session, actor)
    if where is None:
        return 0
    query = select(Notification).where(where, col(Notification.read_at).is_(None))
    if notification_ids is not None:
        try:
            ids = {int(i) for i in notification_ids}
        except (TypeError, ValueError):
            raise NotFoundError("loans.error.notification_not_found") from None
        visible = set(uow.session.exec(select(Notification.id).where(where, col(Notification.id).in_(ids))))
        if visible != ids:
            raise NotFoundError("loans.error.notification_not_found")
        query = query.where(col(Notification.id).in_(ids))
    rows = uow.session.exec(query).all()
    now = utcnow()
    for row in rows:
        row.read_at = now
        uow.session.add(row)
    uow.audit("notification.read", entity_type="notification", after={"count": len(rows)})
    return len(rows)
