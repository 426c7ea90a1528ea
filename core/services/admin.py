"""Operator user administration: organizations, users and roles, lock-out, and the audit log with its chain.

Every service needs ``Permission.admin_users`` (the operator and regulator admins) and works
platform-wide. The rules, in one place:

* a role is granted only if it fits the user's organization (``core.auth.rules.ROLE_ORG_KINDS``);
  a misfit is refused with a message naming the roles and the organization kind;
* only an operator grants or removes the ``operator`` role or administers an operator's account;
* nobody deactivates or locks their own account, and the last active operator can neither lose the
  role nor be deactivated;
* a role edit carries the roles the form showed (``expected_roles``): if they changed since, the edit
  is refused with ``StaleVersionError`` — ``User`` has no version column, so the roles themselves are
  the version. The write is a compare-and-set on the stored roles (and on PostgreSQL the row is read
  ``FOR UPDATE``), so two admins editing at once cannot both win;
* deactivating or locking an account revokes its live access tokens;
* every write appends an audit event with ``before`` and ``after`` in the same transaction.

Unlocking is ``core.services.identity.unlock_account`` (reused, not repeated here).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import String, cast, func, or_, update
from sqlmodel import Session, col, select

from core.auth import Actor, Permission, Role
from core.auth.rules import misfit_roles, roles_for_kind
from core.config import get_settings
from core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    JinfuError,
    NotFoundError,
    StaleVersionError,
    ValidationErrors,
)
from core.i18n import SUPPORTED_LOCALES, translate
from core.models import AuditEvent, Credential, OAuthToken, Organization, User, UserPublic
from core.models.types import OrgKind, utcnow
from core.services.audit import verify_stored_chain
from core.services.identity import (
    FieldInvalidError,
    check_password_policy,
    hash_password,
    normalize_email,
    normalize_phone,
)
from core.usecase import UnitOfWork, use_case

# A password hash no password matches: the credential of a user locked before they ever had one.
UNUSABLE_PASSWORD_HASH = "!"
LOCK_MINUTES_MAX = 366 * 24 * 60
SUBJECT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@\-]{2,63}$")
RESERVED_SUBJECT_PREFIXES = ("demo-", "ent-")  # seeded demo users; enterprise self sign-up
DISPLAY_NAME_MAX = 80
_MARKUP = re.compile(r"[<>]|&#|javascript:", re.IGNORECASE)

ORGANIZATION_COLUMNS = (
    "id code name name_en kind parent_id parent_name parent_name_en branches is_active users active_users "
    "locked_users"
).split()
USER_COLUMNS = (
    "id subject display_name email organization_id organization_name organization_kind roles "
    "is_active has_password totp_enrolled failed_attempts locked locked_until last_sign_in_at "
    "created_at"
).split()
AUDIT_COLUMNS = (
    "id occurred_at actor_label actor_user_id actor_org_id action entity_type entity_id before after hash"
).split()


# ----------------------------------------------------------------------------------------- errors


class RolesRequiredError(InvalidError):
    """A user needs at least one role."""

    key = "reg.admin.error.roles_required"

    def __init__(self) -> None:
        super().__init__(field="roles")


class RoleUnknownError(InvalidError):
    """A role that does not exist or is never assigned (``system``)."""

    key = "reg.admin.error.role_unknown"

    def __init__(self, roles: list[str]) -> None:
        super().__init__(field="roles", roles=", ".join(roles))


class RoleMisfitError(InvalidError):
    """Roles that do not fit the organization's kind; the message names them and the allowed ones."""

    key = "reg.admin.error.role_misfit"

    def __init__(self, roles: list[str], kind: OrgKind | str) -> None:
        super().__init__(field="roles", roles=list(roles), kind=str(kind))

    def message(self, locale: str | None = None) -> str:
        sep = translate("common.list_sep", locale)
        kind = self.params["kind"]
        return translate(
            self.key,
            locale,
            roles=sep.join(translate(f"role.{r}", locale) for r in self.params["roles"]),
            kind=translate(f"org_kind.{kind}", locale),
            allowed=sep.join(translate(f"role.{r}", locale) for r in roles_for_kind(kind)),
        )


class OperatorOnlyError(ForbiddenError):
    """Granting or removing the operator role, or administering an operator, is for operators only."""

    key = "reg.admin.error.operator_only"


class SelfAdministrationError(ForbiddenError):
    """An administrator may not deactivate or lock their own account."""

    key = "reg.admin.error.self"


class LastOperatorError(ConflictError):
    """The platform must keep at least one active operator."""

    key = "reg.admin.error.last_operator"


class SubjectTakenError(ConflictError):
    key = "reg.admin.error.subject_taken"

    def __init__(self) -> None:
        super().__init__(field="subject")


class ContactInUseError(ConflictError):
    """The e-mail address or mobile number already belongs to another user (sign-in would be ambiguous)."""

    key = "reg.admin.error.contact_taken"

    def __init__(self, field: str) -> None:
        super().__init__(field=field)


class OrganizationInactiveError(InvalidError):
    key = "reg.admin.error.organization_inactive"

    def __init__(self) -> None:
        super().__init__(field="organization_id")


# ------------------------------------------------------------------------------- shared helpers


def _load_user(session: Session, user_id: int, *, for_update: bool = False) -> User:
    user = session.get(User, user_id, with_for_update=for_update or None)
    if user is None:
        raise NotFoundError("error.not_found")
    return user


def _credential(session: Session, user_id: int) -> Credential | None:
    return session.exec(select(Credential).where(Credential.user_id == user_id)).first()


def _is_locked(cred: Credential | None, now: datetime) -> bool:
    return bool(cred is not None and cred.locked_until is not None and cred.locked_until > now)


def _public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


def _snapshot(user: User, cred: Credential | None = None) -> dict[str, Any]:
    """What the audit trail records of a user before and after a change (no secrets)."""
    state: dict[str, Any] = {
        "subject": user.subject,
        "organization_id": user.organization_id,
        "roles": sorted(user.roles or []),
        "is_active": user.is_active,
    }
    if cred is not None:
        state["locked_until"] = cred.locked_until.isoformat() if cred.locked_until else None
        state["failed_attempts"] = cred.failed_attempts
    return state


def _role_holders(session: Session, role: Role, *, for_update: bool = False) -> list[User]:
    """Active users holding ``role`` (a JSON list; matched as text on both databases)."""
    query = select(User).where(
        col(User.is_active).is_(True), cast(User.roles, String).like(f'%"{Role(role).value}"%')
    )
    if for_update:
        query = query.with_for_update()
    return [u for u in session.exec(query).all() if role.value in (u.roles or [])]


def _assert_may_administer(actor: Actor, target: User) -> None:
    """Only an operator administers an operator's account."""
    if Role.operator.value in (target.roles or []) and not actor.has_role(Role.operator):
        raise OperatorOnlyError()


def _assert_not_last_operator(session: Session, target: User) -> None:
    """Refuse when ``target`` is the only active operator (rows locked on PostgreSQL while counted)."""
    if Role.operator.value not in (target.roles or []) or not target.is_active:
        return
    others = [u for u in _role_holders(session, Role.operator, for_update=True) if u.id != target.id]
    if not others:
        raise LastOperatorError()


def _clean_roles(roles: Any, kind: OrgKind | str) -> list[str]:
    """Known, assignable, fitting roles, de-duplicated in ``Role`` order; else a field error."""
    if isinstance(roles, str):
        roles = [roles]
    wanted = {str(r).strip() for r in (roles or []) if str(r).strip()}
    if not wanted:
        raise RolesRequiredError()
    known = {r.value for r in Role} - {Role.system.value}
    unknown = sorted(wanted - known)
    if unknown:
        raise RoleUnknownError(unknown)
    misfits = misfit_roles(sorted(wanted), kind)
    if misfits:
        raise RoleMisfitError(misfits, kind)
    return [r.value for r in Role if r.value in wanted]


def _text(value: Any, field: str, *, max_len: int) -> str:
    """A required, trimmed, NFC-normalized one-line text; refuse overlong input, control characters, markup."""
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if not text:
        raise FieldInvalidError("sso.error.required", field=field)
    if len(text) > max_len:
        raise FieldInvalidError("sso.error.too_long", field=field, max=max_len)
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in text):
        raise FieldInvalidError("sso.error.control_chars", field=field)
    if _MARKUP.search(text):
        raise FieldInvalidError("sso.error.markup", field=field)
    return text


def _clean_subject(value: Any) -> str:
    subject = str(value or "").strip().lower()
    if not subject:
        raise FieldInvalidError("sso.error.required", field="subject")
    if not SUBJECT_PATTERN.match(subject):
        raise FieldInvalidError("reg.admin.error.subject_format", field="subject")
    if subject.startswith(RESERVED_SUBJECT_PREFIXES):
        raise FieldInvalidError("reg.admin.error.subject_reserved", field="subject")
    return subject


def _revoke_tokens(session: Session, user_id: int) -> int:
    result = session.exec(
        update(OAuthToken)
        .where(OAuthToken.user_id == user_id, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)


# -------------------------------------------------------------------------------- organizations


@use_case(permission=Permission.admin_users)
def list_organizations(
    uow: UnitOfWork,
    *,
    actor: Actor,
    kinds: list[OrgKind | str] | None = None,
    search: str | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """Organizations with their head office, branch count and user counts (active, locked).

    Args:
        kinds: only these kinds (default: every kind but enterprises — institutions, regulators,
            the operator).
        search: text matched against the name, English name or code.
        limit: at most this many rows (1–10000); head offices come before branches.

    Returns:
        DataFrame with ``ORGANIZATION_COLUMNS``.
    """
    s = uow.session
    wanted = [OrgKind(k) for k in kinds] if kinds else [k for k in OrgKind if k != OrgKind.enterprise]
    limit = max(1, min(int(limit), 10_000))
    query = (
        select(Organization)
        .where(col(Organization.kind).in_(wanted))
        .order_by(col(Organization.kind), col(Organization.parent_id).is_not(None), col(Organization.name))
        .limit(limit)
    )
    if search and search.strip():
        text = search.strip()
        query = query.where(
            or_(
                col(Organization.name).contains(text, autoescape=True),
                col(Organization.name_en).contains(text, autoescape=True),
                col(Organization.code).contains(text, autoescape=True),
            )
        )
    orgs = s.exec(query).all()
    ids = [o.id for o in orgs]
    if not ids:
        return pd.DataFrame(columns=ORGANIZATION_COLUMNS)
    parent_ids = {o.parent_id for o in orgs if o.parent_id is not None}
    names = {
        pid: (name, name_en)
        for pid, name, name_en in s.exec(
            select(Organization.id, Organization.name, Organization.name_en).where(
                col(Organization.id).in_(parent_ids)
            )
        ).all()
    }
    branches = dict(
        s.exec(
            select(Organization.parent_id, func.count(Organization.id))
            .where(col(Organization.parent_id).in_(ids))
            .group_by(Organization.parent_id)
        ).all()
    )
    now = utcnow()
    counts: dict[int, list[int]] = {i: [0, 0, 0] for i in ids}
    rows = s.exec(
        select(User.organization_id, User.is_active, Credential.locked_until)
        .join(Credential, col(Credential.user_id) == col(User.id), isouter=True)
        .where(col(User.organization_id).in_(ids))
    ).all()
    for org_id, active, locked_until in rows:
        c = counts[org_id]
        c[0] += 1
        c[1] += bool(active)
        c[2] += bool(locked_until is not None and _aware(locked_until) > now)
    return pd.DataFrame(
        [
            {
                "id": o.id,
                "code": o.code,
                "name": o.name,
                "name_en": o.name_en,
                "kind": OrgKind(o.kind).value,
                "parent_id": o.parent_id,
                "parent_name": names.get(o.parent_id, (None, None))[0],
                "parent_name_en": names.get(o.parent_id, (None, None))[1],
                "branches": int(branches.get(o.id, 0)),
                "is_active": bool(o.is_active),
                "users": counts[o.id][0],
                "active_users": counts[o.id][1],
                "locked_users": counts[o.id][2],
            }
            for o in orgs
        ],
        columns=ORGANIZATION_COLUMNS,
    ).astype({"parent_id": "Int64"})


def _aware(value: datetime) -> datetime:
    """A stored time is UTC; a naive one (never expected: the column type adds the zone) is read as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------- users


@use_case(permission=Permission.admin_users)
def list_users(
    uow: UnitOfWork,
    *,
    actor: Actor,
    organization_id: int | None = None,
    role: Role | str | None = None,
    locked: bool | None = None,
    active: bool | None = None,
    search: str | None = None,
    limit: int = 2000,
) -> pd.DataFrame:
    """Users with their organization, roles and sign-in state (lock-out from their credential).

    Args:
        organization_id: only users of this organization.
        role: only users holding this role.
        locked: True only locked-out users, False only users not locked out.
        active: True only active users, False only deactivated ones.
        search: text matched against the subject (sign-in name), display name or e-mail address.
        limit: at most this many rows (1–10000), newest users first.

    Returns:
        DataFrame with ``USER_COLUMNS``; ``roles`` holds lists; times are UTC.
    """
    s = uow.session
    limit = max(1, min(int(limit), 10_000))
    query = (
        select(User, Organization, Credential)
        .join(Organization, col(Organization.id) == col(User.organization_id))
        .join(Credential, col(Credential.user_id) == col(User.id), isouter=True)
        .order_by(col(User.id).desc())
    )
    if organization_id is not None:
        query = query.where(User.organization_id == int(organization_id))
    if role:
        query = query.where(cast(User.roles, String).like(f'%"{Role(role).value}"%'))
    if active is not None:
        query = query.where(col(User.is_active).is_(bool(active)))
    if search and search.strip():
        text = search.strip()
        query = query.where(
            or_(
                col(User.subject).contains(text.lower(), autoescape=True),
                col(User.display_name).contains(text, autoescape=True),
                col(User.email).contains(text, autoescape=True),
            )
        )
    now = utcnow()
    if locked is True:
        query = query.where(col(Credential.locked_until) > now)
    elif locked is False:
        query = query.where(or_(col(Credential.locked_until).is_(None), col(Credential.locked_until) <= now))
    records = []
    for user, org, cred in s.exec(query.limit(limit)).all():
        records.append(
            {
                "id": user.id,
                "subject": user.subject,
                "display_name": user.display_name,
                "email": user.email,
                "organization_id": user.organization_id,
                "organization_name": org.name,
                "organization_kind": OrgKind(org.kind).value,
                "roles": list(user.roles or []),
                "is_active": bool(user.is_active),
                "has_password": bool(cred and cred.password_hash != UNUSABLE_PASSWORD_HASH),
                "totp_enrolled": bool(cred and cred.totp_enrolled_at),
                "failed_attempts": int(cred.failed_attempts) if cred else 0,
                "locked": _is_locked(cred, now),
                "locked_until": cred.locked_until if _is_locked(cred, now) else None,
                "last_sign_in_at": cred.last_sign_in_at if cred else None,
                "created_at": user.created_at,
            }
        )
    frame = pd.DataFrame(records, columns=USER_COLUMNS)
    for column in ("locked_until", "last_sign_in_at", "created_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


@use_case(permission=Permission.admin_users, write=True)
def create_user(
    uow: UnitOfWork,
    *,
    actor: Actor,
    organization_id: int,
    subject: str,
    display_name: str,
    roles: list[str],
    email: str | None = None,
    phone: str | None = None,
    locale: str = "zh_CN",
    password: str | None = None,
) -> UserPublic:
    """Create a user of an organization, with roles that fit its kind and an optional first password.

    Without a password the user sets one through password reset (which needs the e-mail address).

    Args:
        organization_id: the user's organization (active).
        subject: the sign-in name (lower case letters, digits, ``. _ @ -``; 3–64 characters).
        display_name: the person's name as shown (1–80 characters, no markup).
        roles: role values fitting the organization's kind (``core.auth.rules.ROLE_ORG_KINDS``).
        email, phone: optional contacts, unique among users.
        locale: ``zh_CN`` or ``en``.
        password: optional first password (the password policy applies).

    Raises:
        ValidationErrors: every bad field at once (format, role fit, taken subject or contact).
        OperatorOnlyError: a non-operator tried to grant the operator role.
        NotFoundError: no such organization.
    """
    s = uow.session
    org = s.get(Organization, organization_id)
    if org is None:
        raise NotFoundError("error.not_found")
    errors: list[JinfuError] = []
    cleaned: dict[str, Any] = {}
    checks = {
        "subject": lambda: _clean_subject(subject),
        "display_name": lambda: _text(display_name, "display_name", max_len=DISPLAY_NAME_MAX),
        "roles": lambda: _clean_roles(roles, org.kind),
        "email": lambda: normalize_email(email) if email and str(email).strip() else None,
        "phone": lambda: normalize_phone(phone),
        "locale": lambda: _clean_locale(locale),
    }
    for name, check in checks.items():
        try:
            cleaned[name] = check()
        except JinfuError as exc:
            errors.append(exc)
    if password:
        try:
            check_password_policy(password, avoid=(str(subject or ""),))
        except JinfuError as exc:
            errors.append(exc)
    if not org.is_active:
        errors.append(OrganizationInactiveError())
    if "subject" in cleaned and s.exec(select(User.id).where(User.subject == cleaned["subject"])).first():
        errors.append(SubjectTakenError())
    if (
        cleaned.get("email")
        and s.exec(select(User.id).where(func.lower(User.email) == cleaned["email"].lower())).first()
    ):
        errors.append(ContactInUseError("email"))
    if cleaned.get("phone") and s.exec(select(User.id).where(User.phone == cleaned["phone"])).first():
        errors.append(ContactInUseError("phone"))
    if errors:
        raise ValidationErrors(errors)
    if Role.operator.value in cleaned["roles"] and not actor.has_role(Role.operator):
        raise OperatorOnlyError()
    user = User(organization_id=org.id, **cleaned)
    s.add(user)
    s.flush()
    if password:
        s.add(Credential(user_id=user.id, password_hash=hash_password(password)))
    uow.audit(
        "admin.user_created",
        entity_type="user",
        entity_id=user.id,
        after={**_snapshot(user), "display_name": user.display_name, "password_set": bool(password)},
    )
    return _public(user)


def _clean_locale(locale: Any) -> str:
    if str(locale or "zh_CN") not in SUPPORTED_LOCALES:
        raise FieldInvalidError("reg.admin.error.locale", field="locale")
    return str(locale or "zh_CN")


@use_case(permission=Permission.admin_users, write=True)
def change_user_roles(
    uow: UnitOfWork, *, actor: Actor, user_id: int, roles: list[str], expected_roles: list[str]
) -> UserPublic:
    """Replace a user's roles, provided they are still the roles the form showed.

    Args:
        user_id: the user.
        roles: the new roles (at least one; fitting the organization's kind).
        expected_roles: the roles the administrator saw; any difference means someone else edited.

    Raises:
        StaleVersionError: the user's roles changed since the form was shown.
        RolesRequiredError, RoleUnknownError, RoleMisfitError: unacceptable roles (field ``roles``).
        OperatorOnlyError: a non-operator touched the operator role or an operator's account.
        LastOperatorError: the change would leave the platform without an active operator.
        NotFoundError: no such user.
    """
    s = uow.session
    # Take the row's write lock before reading it: on PostgreSQL the row lock, on SQLite the database's
    # write lock (a no-op UPDATE as the transaction's first statement). A concurrent edit then waits
    # for this one to commit and reads the roles it left, so the expected-roles check refuses it.
    s.exec(
        update(User).where(User.id == user_id).values(roles=User.roles).execution_options(synchronize_session=False)
    )
    user = _load_user(s, user_id, for_update=True)
    stored = s.exec(select(cast(User.roles, String)).where(User.id == user.id)).one()
    if sorted(set(user.roles or [])) != sorted({str(r) for r in expected_roles or []}):
        raise StaleVersionError()
    _assert_may_administer(actor, user)
    org = s.get(Organization, user.organization_id)
    new_roles = _clean_roles(roles, org.kind)
    before = _snapshot(user)
    old = set(user.roles or [])
    if old == set(new_roles):
        return _public(user)
    if Role.operator.value in set(new_roles) ^ old and not actor.has_role(Role.operator):
        raise OperatorOnlyError()
    if Role.operator.value in old and Role.operator.value not in new_roles:
        _assert_not_last_operator(s, user)
    # Compare-and-set on the stored roles: a concurrent edit that committed since the read above
    # (SQLite takes no row lock) leaves no row to update, and the edit is refused, not overwritten.
    changed = s.exec(
        update(User)
        .where(User.id == user.id, cast(User.roles, String) == stored)
        .values(roles=list(new_roles))
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        raise StaleVersionError()
    s.expire(user, ["roles"])
    uow.audit(
        "admin.user_roles_changed",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=_snapshot(user),
    )
    return _public(user)


@use_case(permission=Permission.admin_users, write=True)
def deactivate_user(uow: UnitOfWork, *, actor: Actor, user_id: int) -> UserPublic:
    """Deactivate a user: sign-in refused from now on, live access tokens revoked. Idempotent.

    Raises:
        SelfAdministrationError: the administrator's own account.
        OperatorOnlyError: an operator's account and the actor is not an operator.
        LastOperatorError: the last active operator.
        NotFoundError: no such user.
    """
    s = uow.session
    user = _load_user(s, user_id, for_update=True)
    if actor.user_id is not None and user.id == actor.user_id:
        raise SelfAdministrationError()
    _assert_may_administer(actor, user)
    if not user.is_active:
        return _public(user)
    _assert_not_last_operator(s, user)
    before = _snapshot(user)
    user.is_active = False
    s.add(user)
    revoked = _revoke_tokens(s, user.id)
    s.flush()
    uow.audit(
        "admin.user_deactivated",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after={**_snapshot(user), "tokens_revoked": revoked},
    )
    return _public(user)


@use_case(permission=Permission.admin_users, write=True)
def reactivate_user(uow: UnitOfWork, *, actor: Actor, user_id: int) -> UserPublic:
    """Let a deactivated user sign in again. Idempotent.

    Raises:
        OperatorOnlyError: an operator's account and the actor is not an operator.
        NotFoundError: no such user.
    """
    s = uow.session
    user = _load_user(s, user_id, for_update=True)
    _assert_may_administer(actor, user)
    if user.is_active:
        return _public(user)
    before = _snapshot(user)
    user.is_active = True
    s.add(user)
    s.flush()
    uow.audit(
        "admin.user_reactivated", entity_type="user", entity_id=user.id, before=before, after=_snapshot(user)
    )
    return _public(user)


@use_case(permission=Permission.admin_users, write=True)
def lock_user(uow: UnitOfWork, *, actor: Actor, user_id: int, minutes: int = 24 * 60) -> datetime:
    """Lock a user out for ``minutes`` (the same lock a run of wrong passwords sets); returns the end.

    Live access tokens are revoked. ``core.services.identity.unlock_account`` lifts the lock early.
    A user without a credential gets one no password matches, so the lock shows and holds.

    Args:
        user_id: the user.
        minutes: how long, 1 minute to 366 days.

    Raises:
        SelfAdministrationError: the administrator's own account.
        OperatorOnlyError: an operator's account and the actor is not an operator.
        InvalidError: ``minutes`` out of range (field ``minutes``).
        NotFoundError: no such user.
    """
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= LOCK_MINUTES_MAX:
        raise InvalidError("reg.admin.error.lock_minutes", field="minutes", max=LOCK_MINUTES_MAX // 1440)
    s = uow.session
    user = _load_user(s, user_id, for_update=True)
    if actor.user_id is not None and user.id == actor.user_id:
        raise SelfAdministrationError()
    _assert_may_administer(actor, user)
    cred = _credential(s, user.id)
    before = _snapshot(user, cred)
    if cred is None:
        cred = Credential(user_id=user.id, password_hash=UNUSABLE_PASSWORD_HASH)
    until = utcnow() + timedelta(minutes=minutes)
    cred.locked_until = until
    s.add(cred)
    revoked = _revoke_tokens(s, user.id)
    s.flush()
    uow.audit(
        "admin.user_locked",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after={**_snapshot(user, cred), "minutes": minutes, "tokens_revoked": revoked},
    )
    return until


# ------------------------------------------------------------------------------------ audit log


@dataclass(frozen=True)
class AuditLogPage:
    """One page of audit events (newest first), with the total and the filter's choices."""

    events: pd.DataFrame  # AUDIT_COLUMNS; occurred_at UTC; before/after as compact JSON text
    total: int
    page: int
    page_size: int
    actions: tuple[str, ...]  # every action name in the trail (for the filter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class ChainStatus:
    """The audit chain's verification: intact, or the first event that does not verify."""

    total: int  # events in the table
    checked: int  # events verified intact (all of them, or those before the break)
    broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def _day_start(value: date | datetime, *, end: bool = False) -> datetime:
    """A date as the start of that day (or of the next one, for an inclusive end) in the display zone."""
    if isinstance(value, datetime):
        return value
    zone = ZoneInfo(get_settings().display_timezone)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=zone)


@use_case(permission=Permission.admin_users)
def audit_log(
    uow: UnitOfWork,
    *,
    actor: Actor,
    actions: list[str] | None = None,
    by: str | None = None,
    entity_type: str | None = None,
    entity_id: str | int | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> AuditLogPage:
    """Audit events, newest first, filtered and paginated.

    Args:
        actions: only these action names.
        by: the acting user's id, or text matched against the actor label.
        entity_type, entity_id: only events about this entity.
        since, until: only events on or after / on or before (dates are whole days in the display zone).
        page: 1-based page number (clamped to the last page).
        page_size: events per page (1–1000).
    """
    s = uow.session
    page_size = max(1, min(int(page_size), 1000))
    conditions = []
    if actions:
        conditions.append(col(AuditEvent.action).in_([str(a) for a in actions]))
    if by and str(by).strip():
        text = str(by).strip()
        match = col(AuditEvent.actor_label).contains(text, autoescape=True)
        conditions.append(or_(match, AuditEvent.actor_user_id == int(text)) if text.isdigit() else match)
    if entity_type:
        conditions.append(AuditEvent.entity_type == str(entity_type))
    if entity_id is not None and str(entity_id).strip():
        conditions.append(AuditEvent.entity_id == str(entity_id).strip())
    if since is not None:
        conditions.append(AuditEvent.occurred_at >= _day_start(since))
    if isinstance(until, datetime):
        conditions.append(AuditEvent.occurred_at <= until)
    elif until is not None:
        conditions.append(AuditEvent.occurred_at < _day_start(until, end=True))
    total = int(s.exec(select(func.count(AuditEvent.id)).where(*conditions)).one())
    pages = max(1, -(-total // page_size))
    page = max(1, min(int(page), pages))
    rows = s.exec(
        select(AuditEvent)
        .where(*conditions)
        .order_by(col(AuditEvent.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    frame = pd.DataFrame(
        [
            {
                "id": e.id,
                "occurred_at": e.occurred_at,
                "actor_label": e.actor_label,
                "actor_user_id": e.actor_user_id,
                "actor_org_id": e.actor_org_id,
                "action": e.action,
                "entity_type": e.entity_type,
                "entity_id": e.entity_id,
                "before": _json(e.before),
                "after": _json(e.after),
                "hash": e.hash[:12],
            }
            for e in rows
        ],
        columns=AUDIT_COLUMNS,
    ).astype({"actor_user_id": "Int64", "actor_org_id": "Int64"})
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    actions_all = tuple(s.exec(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all())
    return AuditLogPage(events=frame, total=total, page=page, page_size=page_size, actions=actions_all)


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


@use_case(permission=Permission.admin_users)
def audit_chain_status(uow: UnitOfWork, *, actor: Actor) -> ChainStatus:
    """Verify the whole audit chain now (the check ``scripts/verify_audit.py`` runs)."""
    total = int(uow.session.exec(select(func.count(AuditEvent.id))).one())
    checked, broken = verify_stored_chain(uow.session)
    return ChainStatus(total=total, checked=checked, broken_id=broken)
