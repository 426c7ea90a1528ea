"""The consent ledger: an enterprise lets an institution read its credit file, by scope, for a time.

Rules (each one is tested in ``tests/integration/core/test_consent.py``; reading in
``tests/integration/credit_report/``):

* **Grant** — an enterprise user (``consent.manage``) grants one institution one or more scopes
  (``basic``, ``gov_records``, ``financials``, ``credit``) for 1–365 days, with a purpose; only for
  its own enterprise. The create is idempotent by key: the same key with the same request returns the
  first grant; the same key with a different request is refused.
* **Revoke** — only the enterprise that granted may revoke; revoking twice is harmless.
* **Applications** — submitting an application implies a grant of every scope to the product's
  institution for the application's duration: ``ensure_application_consent`` (called by the
  application services inside their unit of work at every transition) creates or extends it, and
  ends it (expiry set to now) when the application closes. A grant the enterprise has revoked stays
  revoked: the ledger never overrides the enterprise's own decision.
* **Who a grant covers** — a grant to an institution covers that institution and every branch below
  it: a grant to a head office lets any of its branches read; a grant to a branch does *not* let its
  head office or a sibling branch read (least privilege: the enterprise chose that branch).
* **Reading** — the credit report (``core.services.credit_report``; institution staff,
  ``credit_file.read``) shows a scope only under an active (unrevoked, unexpired) grant covering it
  (``active_grants``). Every scope shown writes one ``DataAccessLog`` row (who, institution, scope,
  purpose, consent) in the read's own transaction, so a file is never disclosed without its log row.
  A refused read discloses nothing, so it writes no ``DataAccessLog`` row (that table is the ledger
  of disclosures the enterprise sees); it is written to the ``jinfu.consent`` application log at
  WARNING for security monitoring instead. Reads write no ``AuditEvent``: the access log is their
  record, and a read must not invalidate the read caches.
* **Oversight** — regulators and the operator may list any enterprise's grants and access log; they
  cannot read the file itself through this path (they lack ``credit_file.read``).

"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError, ValidationErrors
from core.i18n import translate
from core.models import (
    Application,
    ConsentGrant,
    DataAccessLog,
    Enterprise,
    Organization,
    User,
)
from core.models.types import ApplicationStatus, utcnow
from core.services.directory import (
    institution_ancestors,
    load_institution,
    reads_everything,
)
from core.usecase import use_case

log = logging.getLogger("jinfu.consent")

SCOPES = ("basic", "gov_records", "financials", "credit")
MAX_DAYS = 365
PURPOSE_MIN, PURPOSE_MAX = 2, 200
APPLICATION_CONSENT_DAYS = 365  # an open application's grant always reaches this far past its last transition
CLOSED_APPLICATION = frozenset(
    {
        ApplicationStatus.rejected,
        ApplicationStatus.withdrawn,
        ApplicationStatus.settled,
        ApplicationStatus.written_off,
    }
)


class ConsentRequiredError(ForbiddenError):
    """No active grant of the enterprise covers the caller's institution and the scope: the read is refused."""

    key = "bank.file.error.consent_required"

    def message(self, locale: str | None = None) -> str:
        scope = self.params.get("scope")
        label = translate(f"bank.file.scope.{scope}", locale) if scope in SCOPES else str(scope)
        return translate(self.key, locale, scope=label)


class ConsentKeyReusedError(ConflictError):
    """An idempotency key already used for a different grant."""

    key = "ent.consent.error.key_reused"


class ConsentPublic(BaseModel):
    """A consent grant as services return it, with the institution's names and its current state."""

    id: int
    enterprise_id: int
    enterprise_name: str
    institution_id: int
    institution_name: str
    institution_name_en: str | None
    scopes: list[str]
    purpose: str
    application_id: int | None
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    status: str  # active, expired, revoked


def _status(grant: ConsentGrant, now: datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    return "active" if grant.expires_at > now else "expired"


def _public(session: Session, grant: ConsentGrant, now: datetime) -> ConsentPublic:
    inst = session.get(Organization, grant.institution_id)
    ent = session.get(Enterprise, grant.enterprise_id)
    return ConsentPublic(
        id=int(grant.id),
        enterprise_id=grant.enterprise_id,
        enterprise_name=ent.name if ent else "",
        institution_id=grant.institution_id,
        institution_name=inst.name if inst else "",
        institution_name_en=inst.name_en if inst else None,
        scopes=list(grant.scopes or []),
        purpose=grant.purpose,
        application_id=grant.application_id,
        granted_at=grant.granted_at,
        expires_at=grant.expires_at,
        revoked_at=grant.revoked_at,
        status=_status(grant, now),
    )


def _own_enterprise(actor: Actor, enterprise_id: int | None = None) -> int:
    """The enterprise an enterprise user acts for; refuse acting for another one."""
    if actor.enterprise_id is None or (enterprise_id is not None and enterprise_id != actor.enterprise_id):
        raise ForbiddenError("error.forbidden")
    return actor.enterprise_id


def _clean_purpose(purpose: Any, key: str) -> str:
    text = " ".join(str(purpose or "").split())
    if not PURPOSE_MIN <= len(text) <= PURPOSE_MAX or "<" in text or ">" in text:
        raise InvalidError(key, field="purpose", min=PURPOSE_MIN, max=PURPOSE_MAX)
    return text


def _clean_scopes(scopes: Iterable[str] | str | None) -> list[str]:
    chosen = [scopes] if isinstance(scopes, str) else list(scopes or [])
    if not chosen or any(s not in SCOPES for s in chosen):
        raise InvalidError("ent.consent.error.scopes", field="scopes")
    return [s for s in SCOPES if s in chosen]  # canonical order, no duplicates


# ---------------------------------------------------------------------------------------------
# Helpers for callers inside a unit of work
# ---------------------------------------------------------------------------------------------


def active_grants(
    session: Session, *, enterprise_id: int, organization_id: int, now: datetime | None = None
) -> list[ConsentGrant]:
    """The enterprise's unrevoked, unexpired grants that cover staff of ``organization_id``.

    A grant covers its institution and every branch below it, so the grants that count are those to
    the organization itself or to any head office above it.
    """
    now = now or utcnow()
    covering = institution_ancestors(session, organization_id)
    query = (
        select(ConsentGrant)
        .where(
            ConsentGrant.enterprise_id == enterprise_id,
            col(ConsentGrant.institution_id).in_(covering),
            col(ConsentGrant.revoked_at).is_(None),
            ConsentGrant.expires_at > now,
        )
        .order_by(col(ConsentGrant.expires_at).desc())
    )
    return list(session.exec(query))


def ensure_application_consent(
    session: Session,
    application: Application,
    *,
    now: datetime | None = None,
    granted_by_id: int | None = None,
) -> ConsentGrant | None:
    """Keep the grant an application implies in step with it; the caller owns the transaction (and its audit).

    Open application: create its grant (every scope, to the product's institution) or extend it to
    ``APPLICATION_CONSENT_DAYS`` from now. Closed application (rejected, withdrawn, settled, written
    off): end its grant now. A grant the enterprise revoked is returned unchanged.

    Args:
        session: the caller's open session.
        application: the application (flushed, so it has an id).
        now: the transition time (default: now).
        granted_by_id: the user who submitted the application, recorded on a new grant.

    Returns:
        The application's grant, or None for a closed application that never had one.
    """
    now = now or utcnow()
    if application.id is None:
        session.flush()
    grant = session.exec(
        select(ConsentGrant)
        .where(ConsentGrant.application_id == application.id)
        .order_by(col(ConsentGrant.id).desc())
        .limit(1)
    ).first()
    closed = ApplicationStatus(application.status) in CLOSED_APPLICATION
    if grant is None:
        if closed:
            return None
        grant = ConsentGrant(
            enterprise_id=application.enterprise_id,
            institution_id=application.institution_id,
            scopes=list(SCOPES),
            purpose=f"application #{application.id}",
            application_id=application.id,
            granted_by_id=granted_by_id,
            granted_at=now,
            expires_at=now + timedelta(days=APPLICATION_CONSENT_DAYS),
        )
        session.add(grant)
    elif grant.revoked_at is None:
        if closed:
            if grant.expires_at > now:
                grant.expires_at = max(now, grant.granted_at + timedelta(microseconds=1))
        else:
            grant.expires_at = max(grant.expires_at, now + timedelta(days=APPLICATION_CONSENT_DAYS))
    session.flush()
    return grant


# ---------------------------------------------------------------------------------------------
# The enterprise's side
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.consent_manage, write=True)
def grant_consent(
    uow,
    *,
    actor: Actor,
    institution_id: int,
    scopes: Iterable[str],
    purpose: str,
    days: int,
    idempotency_key: str,
    enterprise_id: int | None = None,
) -> ConsentPublic:
    """Let an institution read the actor's enterprise's credit file, by scope, for ``days`` days.

    Args:
        institution_id: the institution (its branches are covered too).
        scopes: one or more of ``basic``, ``gov_records``, ``financials``, ``credit``.
        purpose: why (2–200 characters, shown to the institution and in the ledger).
        days: how long, 1–365.
        idempotency_key: a key the form generated once; a retry with it returns the first grant.
        enterprise_id: optional; if given it must be the actor's own enterprise.

    Raises:
        ForbiddenError: the actor acts for no enterprise or for another one.
        ValidationErrors: bad scopes, purpose, days or institution (each names its field).
        ConsentKeyReusedError: the key was used for a different grant.
        ConflictError: two first uses of one key raced; the unique key lets only one grant exist.
    """
    session = uow.session
    own = _own_enterprise(actor, enterprise_id)
    errors = []
    try:
        chosen = _clean_scopes(scopes)
    except InvalidError as exc:
        errors.append(exc)
    try:
        clean_purpose = _clean_purpose(purpose, "ent.consent.error.purpose")
    except InvalidError as exc:
        errors.append(exc)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors.append(InvalidError("ent.consent.error.days", field="days", max=MAX_DAYS))
    try:
        institution = load_institution(session, int(institution_id))
        if not institution.is_active:
            raise NotFoundError()
    except (NotFoundError, TypeError, ValueError):
        errors.append(InvalidError("ent.consent.error.institution", field="institution_id"))
    key = str(idempotency_key or "").strip()
    if not 8 <= len(key) <= 80:
        errors.append(InvalidError("error.invalid", field="idempotency_key"))
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)

    now = utcnow()
    existing = session.exec(select(ConsentGrant).where(ConsentGrant.idempotency_key == key)).first()
    if existing is not None:
        same = (
            existing.enterprise_id == own
            and existing.institution_id == institution.id
            and list(existing.scopes or []) == chosen
            and existing.purpose == clean_purpose
        )
        if not same:
            raise ConsentKeyReusedError()
        uow.audit("consent.grant.replayed", entity_type="consent_grant", entity_id=existing.id)
        return _public(session, existing, now)
    grant = ConsentGrant(
        enterprise_id=own,
        institution_id=int(institution.id),
        scopes=chosen,
        purpose=clean_purpose,
        granted_by_id=actor.user_id,
        granted_at=now,
        expires_at=now + timedelta(days=days),
        idempotency_key=key,
    )
    session.add(grant)
    session.flush()
    uow.audit(
        "consent.grant",
        entity_type="consent_grant",
        entity_id=grant.id,
        after={
            "enterprise_id": own,
            "institution_id": grant.institution_id,
            "scopes": chosen,
            "purpose": clean_purpose,
            "expires_at": grant.expires_at.isoformat(),
        },
    )
    return _public(session, grant, now)


@use_case(permission=Permission.consent_manage, write=True)
def revoke_consent(uow, *, actor: Actor, consent_id: int) -> ConsentPublic:
    """End one of the actor's enterprise's grants now (revoking a revoked grant changes nothing).

    Raises:
        NotFoundError: no such grant, or it belongs to another enterprise (not revealed).
    """
    session = uow.session
    own = _own_enterprise(actor)
    grant = session.get(ConsentGrant, consent_id)
    if grant is None or grant.enterprise_id != own:
        raise NotFoundError("error.not_found")
    now = utcnow()
    if grant.revoked_at is None:
        grant.revoked_at = now
        session.flush()
        uow.audit(
            "consent.revoke",
            entity_type="consent_grant",
            entity_id=grant.id,
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat()},
        )
    else:
        uow.audit("consent.revoke.repeated", entity_type="consent_grant", entity_id=grant.id)
    return _public(session, grant, now)


def _target_enterprise(actor: Actor, enterprise_id: int | None) -> int | None:
    """Own enterprise for enterprise users; any (or all, when None) for oversight; refuse others."""
    if reads_everything(actor):
        return enterprise_id
    if actor.can(Permission.consent_manage):
        return _own_enterprise(actor, enterprise_id)
    raise ForbiddenError("error.forbidden")


@use_case(permission=None)
def list_consents(
    uow, *, actor: Actor, enterprise_id: int | None = None, include_inactive: bool = True
) -> list[ConsentPublic]:
    """An enterprise's grants, newest first (its own users; regulators any enterprise, or all).

    Args:
        enterprise_id: for regulators, the enterprise (None: every enterprise, newest 1,000).
        include_inactive: also return expired and revoked grants.
    """
    session = uow.session
    target = _target_enterprise(actor, enterprise_id)
    now = utcnow()
    query = select(ConsentGrant).order_by(col(ConsentGrant.granted_at).desc(), col(ConsentGrant.id).desc())
    if target is not None:
        query = query.where(ConsentGrant.enterprise_id == target)
    if not include_inactive:
        query = query.where(col(ConsentGrant.revoked_at).is_(None), ConsentGrant.expires_at > now)
    return [_public(session, g, now) for g in session.exec(query.limit(1000))]


ACCESS_LOG_COLUMNS = [
    "accessed_at",
    "enterprise_id",
    "enterprise_name",
    "credit_code",
    "institution_id",
    "institution_name",
    "institution_name_en",
    "reader",
    "scope",
    "purpose",
    "consent_id",
]


@use_case(permission=None)
def data_access_log(
    uow, *, actor: Actor, enterprise_id: int | None = None, limit: int = 2000
) -> pd.DataFrame:
    """Who read the enterprise's file, what, when and why — newest first.

    Enterprise users see their own enterprise's log; regulators and the operator any enterprise's
    (or everyone's, when ``enterprise_id`` is None).

    Returns:
        DataFrame with ``ACCESS_LOG_COLUMNS`` (``accessed_at`` timezone-aware UTC).
    """
    session = uow.session
    target = _target_enterprise(actor, enterprise_id)
    limit = max(1, min(int(limit), 20_000))
    query = (
        select(DataAccessLog, Enterprise.name, Enterprise.credit_code, Organization, User.display_name)
        .join(Enterprise, col(Enterprise.id) == col(DataAccessLog.enterprise_id))
        .outerjoin(Organization, col(Organization.id) == col(DataAccessLog.institution_id))
        .outerjoin(User, col(User.id) == col(DataAccessLog.actor_user_id))
        .order_by(col(DataAccessLog.accessed_at).desc(), col(DataAccessLog.id).desc())
        .limit(limit)
    )
    if target is not None:
        query = query.where(DataAccessLog.enterprise_id == target)
    rows = [
        {
            "accessed_at": entry.accessed_at,
            "enterprise_id": entry.enterprise_id,
            "enterprise_name": ent_name,
            "credit_code": code,
            "institution_id": entry.institution_id,
            "institution_name": org.name if org else None,
            "institution_name_en": org.name_en if org else None,
            "reader": reader,
            "scope": entry.scope,
            "purpose": entry.purpose,
            "consent_id": entry.consent_id,
        }
        for entry, ent_name, code, org, reader in session.exec(query)
    ]
    frame = pd.DataFrame(rows, columns=ACCESS_LOG_COLUMNS)
    frame["accessed_at"] = pd.to_datetime(frame["accessed_at"], utc=True)
    return frame
