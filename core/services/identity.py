"""Identity use cases: sign-in with lock-out and rate limits, TOTP, enterprise sign-up, password reset,
verification codes, demo credentials, and the storage the bundled OpenID Connect provider needs.

Security rules, in one place:

* passwords are argon2id hashes (argon2-cffi), re-hashed on sign-in when the parameters change;
  an unknown account costs the same hash verification as a known one;
* at most ``SSO_MAX_FAILURES`` (≤ 5) consecutive wrong passwords or TOTP codes lock the account
  for ``SSO_LOCK_MINUTES``; independently, failures per typed account and per client address within
  ``SSO_RATE_WINDOW_MINUTES`` are capped (``SSO_RATE_LIMIT_PER_ACCOUNT``, ``SSO_RATE_LIMIT_PER_ADDRESS``);
* verification codes are six digits, stored as HMAC-SHA256 under ``SECRET_KEY`` bound to their
  target and purpose, single use, expire after ``SSO_CODE_TTL_MINUTES``, die after
  ``SSO_CODE_MAX_ATTEMPTS`` wrong tries, and are rate limited per target and per address;
* TOTP secrets are encrypted (Fernet, key derived from ``SECRET_KEY`` with HKDF) and a time step
  is accepted once; the roles in ``TOTP_REQUIRED_ROLES`` must pass TOTP at every sign-in;
* bad input stores nothing: every use case validates first and writes in one transaction; the only
  state a refused request leaves is the counter that makes guessing expensive (committed on purpose).

Demo TOTP secrets (``demo_totp_secret``) are derived from the subject and therefore public: they exist
only when ``JINFU_ENV`` is ``development`` or ``test``, so a browser test can compute the code.

The services run as the provider's actor (``anonymous_actor(address)``), with ``permission=None``:
before sign-in there is no user to check; what makes them safe is the rules above.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.auth import Actor, Permission, Role
from core.auth.notifier import Notifier, OutgoingMessage, notifier_from_environment
from core.config import PROJECT_ROOT, get_settings
from core.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    JinfuError,
    NotFoundError,
    ValidationErrors,
)
from core.i18n import translate
from core.models import (
    AuthorizationCode,
    AuthorizationCodePublic,
    Credential,
    Enterprise,
    IdentityPublic,
    LoginAttempt,
    OAuthClient,
    OAuthClientPublic,
    OAuthToken,
    Organization,
    TotpEnrolment,
    User,
    VerificationCode,
)
from core.models.types import OrgKind, utcnow
from core.services.audit import append_audit
from core.usecase import use_case
from core.validators import CreditCodeInvalidError, validate_credit_code

TOTP_REQUIRED_ROLES = frozenset(
    {
        Role.bank_officer,
        Role.bank_manager,
        Role.bank_admin,
        Role.guarantee_staff,
        Role.insurer_staff,
        Role.regulator_analyst,
        Role.regulator_admin,
        Role.operator,
    }
)
DEMO_SUBJECT_PREFIX = "demo-"
PURPOSES = ("signup", "reset")


class IdentityPolicy(BaseSettings):
    """The sign-in policy, from ``SSO_*`` environment variables (documented in the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix="SSO_", env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    max_failures: int = Field(default=5, ge=1, le=5)  # issue 4: at most 5 consecutive failures
    lock_minutes: int = Field(default=15, ge=1)
    rate_window_minutes: int = Field(default=15, ge=1)
    rate_limit_per_account: int = Field(default=10, ge=1)
    rate_limit_per_address: int = Field(default=30, ge=1)
    code_ttl_minutes: int = Field(default=10, ge=1, le=60)
    code_max_attempts: int = Field(default=5, ge=1, le=10)
    code_resend_seconds: int = Field(default=60, ge=0)
    codes_per_target_per_hour: int = Field(default=5, ge=1)
    codes_per_address_per_hour: int = Field(default=20, ge=1)
    authorization_code_seconds: int = Field(default=120, ge=10, le=600)
    totp_issuer: str = "Jinfu"
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)


def policy() -> IdentityPolicy:
    return IdentityPolicy()


# ----------------------------------------------------------------------------------------- errors


class AuthenticationFailedError(InvalidError):
    """Wrong account or password (one message for both: no account enumeration)."""

    key = "sso.error.bad_credentials"


class AccountLockedError(ForbiddenError):
    key = "sso.error.locked"


class AccountDisabledError(ForbiddenError):
    key = "sso.error.disabled"


class RateLimitedError(ForbiddenError):
    key = "sso.error.rate_limited"


class TotpInvalidError(InvalidError):
    key = "sso.error.totp_wrong"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        super().__init__(key, field="totp", **params)


class TotpNotEnrolledError(ConflictError):
    key = "sso.error.totp_not_enrolled"


class TotpAlreadyEnrolledError(ConflictError):
    key = "sso.error.totp_already_enrolled"


class VerificationCodeError(InvalidError):
    """Wrong, expired, reused or exhausted verification code; the key says which."""

    key = "sso.error.code_wrong"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        super().__init__(key, field="code", **params)


class FieldInvalidError(InvalidError):
    """One form field is refused (too long, markup, malformed); ``field`` names it."""


class EnterpriseAlreadyRegisteredError(ConflictError):
    key = "sso.error.enterprise_registered"

    def __init__(self) -> None:
        super().__init__(field="credit_code")


class EnterpriseNameMismatchError(InvalidError):
    key = "sso.error.enterprise_name_mismatch"

    def __init__(self) -> None:
        super().__init__(field="enterprise_name")


class ContactTakenError(ConflictError):
    key = "sso.error.contact_taken"


# ------------------------------------------------------------------------------ input validation

_MARKUP = re.compile(r"[<>]|&#|javascript:", re.IGNORECASE)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_CODE = re.compile(r"^\d{6}$")
LIMITS = {
    "enterprise_name": 120,
    "contact_name": 40,
    "email": 200,
    "phone": 30,
    "identifier": 255,
    "password": 128,
}
PASSWORD_MIN = 10


def _text(value: Any, field: str, *, required: bool = True, min_len: int = 1) -> str | None:
    """A trimmed, NFC-normalized text field; refuse overlong input, control characters and markup."""
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if not text:
        if required:
            raise FieldInvalidError("sso.error.required", field=field)
        return None
    if len(text) > LIMITS[field]:
        raise FieldInvalidError("sso.error.too_long", field=field, max=LIMITS[field])
    if any(unicodedata.category(c) in {"Cc", "Cf"} for c in text):
        raise FieldInvalidError("sso.error.control_chars", field=field)
    if _MARKUP.search(text):
        raise FieldInvalidError("sso.error.markup", field=field)
    if len(text) < min_len:
        raise FieldInvalidError("sso.error.too_short", field=field, min=min_len)
    return text


def normalize_email(value: Any) -> str:
    email = _text(value, "email")
    assert email is not None
    if not _EMAIL.match(email):
        raise FieldInvalidError("sso.error.email_invalid", field="email")
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: Any, *, required: bool = False) -> str | None:
    raw = _text(value, "phone", required=required)
    if raw is None:
        return None
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.match(digits):
        raise FieldInvalidError("sso.error.phone_invalid", field="phone")
    return digits


def check_password_policy(password: Any, *, field: str = "password", avoid: tuple[str, ...] = ()) -> str:
    """Refuse a weak new password: 10–128 characters with letters and digits, not the account name."""
    if not isinstance(password, str) or not password:
        raise FieldInvalidError("sso.error.required", field=field)
    if len(password) > LIMITS["password"]:
        raise FieldInvalidError("sso.error.too_long", field=field, max=LIMITS["password"])
    if (
        len(password) < PASSWORD_MIN
        or not any(c.isalpha() for c in password)
        or not any(c.isdigit() for c in password)
    ):
        raise FieldInvalidError("sso.error.password_weak", field=field, min=PASSWORD_MIN)
    lowered = password.lower()
    if any(a and a.lower() in lowered for a in avoid if len(a or "") >= 4):
        raise FieldInvalidError("sso.error.password_contains_name", field=field)
    return password


@dataclass(frozen=True)
class EnterpriseSignup:
    """What an enterprise types to register (validated by ``validate_signup``)."""

    credit_code: str
    enterprise_name: str
    contact_name: str
    email: str
    phone: str | None = None


def validate_signup(form: EnterpriseSignup) -> EnterpriseSignup:
    """The form cleaned, or ``ValidationErrors`` naming every bad field at once."""
    errors: list[JinfuError] = []
    cleaned: dict[str, Any] = {}
    raw_code = str(form.credit_code or "").strip()
    try:
        if len(raw_code) > 18:
            raise CreditCodeInvalidError("error.credit_code.length", length=len(raw_code))
        if _MARKUP.search(raw_code):
            raise FieldInvalidError("sso.error.markup", field="credit_code")
        cleaned["credit_code"] = validate_credit_code(raw_code)
    except JinfuError as exc:
        errors.append(exc)
    checks = {
        "enterprise_name": lambda: _text(form.enterprise_name, "enterprise_name", min_len=2),
        "contact_name": lambda: _text(form.contact_name, "contact_name"),
        "email": lambda: normalize_email(form.email),
        "phone": lambda: normalize_phone(form.phone),
    }
    for name, check in checks.items():
        try:
            cleaned[name] = check()
        except JinfuError as exc:
            errors.append(exc)
    if errors:
        raise ValidationErrors(errors)
    return EnterpriseSignup(**cleaned)


def _same_name(a: str, b: str) -> bool:
    """Enterprise names equal up to width (（） vs ()) and spaces."""

    def canon(s: str) -> str:
        return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))

    return canon(a) == canon(b)


# --------------------------------------------------------------------------------------- secrets


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int):
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher():
    p = policy()
    return _hasher_for(p.argon2_time_cost, p.argon2_memory_kib, p.argon2_parallelism)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_kib: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_kib, parallelism).hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash (random salt; parameters inside the string)."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; costs the same when there is no hash."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    if not password_hash:
        p = policy()
        password_hash = _dummy_hash(p.argon2_time_cost, p.argon2_memory_kib, p.argon2_parallelism)
        try:
            hasher.verify(password_hash, password or "")
        except (VerificationError, InvalidHashError):
            pass
        return False
    try:
        return hasher.verify(password_hash, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _code_digest(purpose: str, target: str, code: str) -> str:
    key = get_settings().secret_key.encode("utf-8")
    return hmac.new(key, f"verification|{purpose}|{target}|{code}".encode(), hashlib.sha256).hexdigest()


def _fernet():
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jinfu-totp-secret-v1").derive(
        get_settings().secret_key.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode("ascii")).decode("ascii")


def _decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode("ascii")).decode("ascii")


def demo_totp_secret(subject: str) -> str:
    """The TOTP secret of a demo user — public by construction, so development and test only.

    A browser test signs in as ``demo-bank_officer-1`` with
    ``pyotp.TOTP(demo_totp_secret("demo-bank_officer-1")).now()``.
    """
    if get_settings().jinfu_env not in {"development", "test"}:
        raise ForbiddenError("sso.error.demo_only")
    raw = hmac.new(b"jinfu-demo-totp-v1", subject.encode("utf-8"), hashlib.sha256).digest()[:20]
    return base64.b32encode(raw).decode("ascii")


def totp_required(roles: Any) -> bool:
    return any(str(r) in {x.value for x in TOTP_REQUIRED_ROLES} for r in roles or ())


def anonymous_actor(client_address: str | None) -> Actor:
    """The provider acting for a not-yet-identified browser at ``client_address``."""
    return Actor(
        user_id=None,
        label=f"sso@{(client_address or 'unknown')[:64]}",
        roles=frozenset({Role.identity_provider.value}),
    )


def _user_actor(user: User, org: Organization | None) -> Actor:
    return Actor(
        user_id=user.id,
        label=user.subject[:120],
        roles=frozenset(user.roles or ()),
        organization_id=user.organization_id,
        enterprise_id=org.enterprise_id if org else None,
    )


def _audit_as(uow, user: User | None, org: Organization | None, action: str, **fields: Any) -> None:
    actor = _user_actor(user, org) if user is not None else uow.actor
    append_audit(uow.session, actor=actor, action=action, **fields)
    uow.audited.append(action)


# --------------------------------------------------------------------------------- read helpers


def _identity(session: Session, user: User) -> IdentityPublic:
    org = session.get(Organization, user.organization_id)
    cred = session.exec(select(Credential).where(Credential.user_id == user.id)).first()
    return IdentityPublic(
        user_id=user.id,
        subject=user.subject,
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        locale=user.locale,
        roles=tuple(user.roles or ()),
        organization_id=user.organization_id,
        organization_name=org.name if org else "",
        organization_kind=str(org.kind) if org else "",
        enterprise_id=org.enterprise_id if org else None,
        totp_required=totp_required(user.roles),
        totp_enrolled=bool(cred and cred.totp_enrolled_at),
        password_changed_at=cred.password_changed_at if cred else None,
    )


def _find_user(session: Session, identifier: str) -> User | None:
    """The one user whose subject, e-mail or phone is ``identifier`` (None if none or ambiguous)."""
    user = session.exec(select(User).where(User.subject == identifier)).first()
    if user is not None:
        return user
    if "@" in identifier:
        rows = session.exec(select(User).where(func.lower(User.email) == identifier.lower()).limit(2)).all()
    else:
        digits = re.sub(r"[\s\-()]", "", identifier)
        digits = digits[3:] if digits.startswith("+86") else digits
        if not digits.isdigit():
            return None
        rows = session.exec(select(User).where(User.phone == digits).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def _failures_since(
    session: Session, since: datetime, *, account: str | None = None, address: str | None = None
) -> int:
    query = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.occurred_at >= since,
        col(LoginAttempt.succeeded).is_(False),
        col(LoginAttempt.kind).in_(("password", "totp")),
    )
    if account is not None:
        query = query.where(LoginAttempt.account == account)
    if address is not None:
        query = query.where(LoginAttempt.address == address)
    return int(session.exec(query).one())


def _check_rate(session: Session, p: IdentityPolicy, *, account: str, address: str) -> None:
    since = utcnow() - timedelta(minutes=p.rate_window_minutes)
    if _failures_since(session, since, address=address) >= p.rate_limit_per_address:
        raise RateLimitedError(minutes=p.rate_window_minutes)
    if _failures_since(session, since, account=account) >= p.rate_limit_per_account:
        raise RateLimitedError(minutes=p.rate_window_minutes)


def _record(
    session: Session, kind: str, account: str, address: str, ok: bool, reason: str | None = None
) -> None:
    session.add(
        LoginAttempt(kind=kind, account=account[:255], address=address[:64], succeeded=ok, reason=reason)
    )


def _register_failure(session: Session, cred: Credential, p: IdentityPolicy) -> bool:
    """Count one more consecutive failure atomically; lock the account at the limit. True if locked."""
    count = session.exec(
        update(Credential)
        .where(Credential.id == cred.id)
        .values(failed_attempts=Credential.failed_attempts + 1)
        .returning(Credential.failed_attempts)
    ).scalar_one()
    if count >= p.max_failures:
        session.exec(
            update(Credential)
            .where(Credential.id == cred.id)
            .values(failed_attempts=0, locked_until=utcnow() + timedelta(minutes=p.lock_minutes))
        )
        return True
    return False


def _minutes_left(until: datetime) -> int:
    return max(1, int((until - utcnow()).total_seconds() // 60) + 1)


@dataclass(frozen=True)
class _Refused:
    """A refusal whose bookkeeping (counters, attempt rows) must be committed before it is raised."""

    error: JinfuError


def _raise_refused(result: Any) -> Any:
    if isinstance(result, _Refused):
        raise result.error
    return result


# ---------------------------------------------------------------------------------- sign-in


@use_case(permission=Permission.identity_provider)
def _authenticate(uow, *, actor: Actor, identifier: str, password: str, client_address: str):
    p, s = policy(), uow.session
    account = (identifier or "").strip()[: LIMITS["identifier"]].lower()
    if not account or not password or len(password) > LIMITS["password"]:
        verify_password(None, "x")  # same cost as a real check
        return _Refused(AuthenticationFailedError())
    try:
        _check_rate(s, p, account=account, address=client_address)
    except RateLimitedError as exc:
        _record(s, "password", account, client_address, False, "rate_limited")
        return _Refused(exc)
    user = _find_user(s, account)
    cred = s.exec(select(Credential).where(Credential.user_id == user.id)).first() if user else None
    if cred is not None and cred.locked_until is not None and cred.locked_until > utcnow():
        _record(s, "password", account, client_address, False, "locked")
        return _Refused(AccountLockedError(minutes=_minutes_left(cred.locked_until)))
    ok = verify_password(cred.password_hash if cred else None, password)
    org = s.get(Organization, user.organization_id) if user else None
    if not ok:
        _record(s, "password", account, client_address, False, "bad_password")
        locked = _register_failure(s, cred, p) if cred else False
        _audit_as(
            uow,
            user,
            org,
            "sso.sign_in_failed",
            entity_type="user",
            entity_id=user.id if user else None,
            after={"reason": "bad_password", "locked": locked, "address": client_address},
        )
        if locked:
            return _Refused(AccountLockedError(minutes=p.lock_minutes))
        return _Refused(AuthenticationFailedError())
    if not user.is_active or (org is not None and not org.is_active):
        _record(s, "password", account, client_address, False, "disabled")
        return _Refused(AccountDisabledError())
    _record(s, "password", account, client_address, True)
    if _hasher().check_needs_rehash(cred.password_hash):
        cred.password_hash = hash_password(password)
    cred.failed_attempts = 0
    cred.locked_until = None
    identity = _identity(s, user)
    if not identity.totp_required:
        cred.last_sign_in_at = utcnow()
        _audit_as(
            uow,
            user,
            org,
            "sso.sign_in",
            entity_type="user",
            entity_id=user.id,
            after={"amr": ["pwd"], "address": client_address},
        )
    s.add(cred)
    return identity


def authenticate(*, actor: Actor, identifier: str, password: str, client_address: str) -> IdentityPublic:
    """Check a password sign-in; the identity if it passes (a TOTP step may still be due).

    Args:
        identifier: the user's subject, e-mail address or mobile number.
        password: the password as typed.
        client_address: the browser's address (rate limit per address).

    Raises:
        AuthenticationFailedError: unknown account or wrong password (one message for both).
        AccountLockedError: too many consecutive failures; says for how many minutes.
        RateLimitedError: too many failures for this account or from this address recently.
        AccountDisabledError: the user or their organization is deactivated.
    """
    return _raise_refused(
        _authenticate(actor=actor, identifier=identifier, password=password, client_address=client_address)
    )


def _totp(secret: str):
    import pyotp

    return pyotp.TOTP(secret)


@use_case(permission=Permission.identity_provider)
def _verify_totp(uow, *, actor: Actor, user_id: int, code: str, client_address: str):
    p, s = policy(), uow.session
    user = s.get(User, user_id)
    if user is None or not user.is_active:
        return _Refused(AccountDisabledError())
    org = s.get(Organization, user.organization_id)
    account = user.subject.lower()
    try:
        _check_rate(s, p, account=account, address=client_address)
    except RateLimitedError as exc:
        _record(s, "totp", account, client_address, False, "rate_limited")
        return _Refused(exc)
    cred = s.exec(select(Credential).where(Credential.user_id == user.id)).first()
    if cred is None or not cred.totp_secret_enc:
        return _Refused(TotpNotEnrolledError())
    if cred.locked_until is not None and cred.locked_until > utcnow():
        return _Refused(AccountLockedError(minutes=_minutes_left(cred.locked_until)))
    code = re.sub(r"\s", "", code or "")
    totp = _totp(_decrypt(cred.totp_secret_enc))
    now = utcnow()
    step = None
    if _CODE.match(code):
        for offset in (0, -1, 1):  # one step of clock drift either way
            candidate = int(now.timestamp()) // 30 + offset
            if hmac.compare_digest(totp.at(candidate * 30), code):
                step = candidate
                break
    if step is None or (cred.totp_last_step is not None and step <= cred.totp_last_step):
        reason = "totp_replayed" if step is not None else "totp_wrong"
        _record(s, "totp", account, client_address, False, reason)
        locked = _register_failure(s, cred, p)
        _audit_as(
            uow,
            user,
            org,
            "sso.sign_in_failed",
            entity_type="user",
            entity_id=user.id,
            after={"reason": reason, "locked": locked, "address": client_address},
        )
        return _Refused(AccountLockedError(minutes=p.lock_minutes) if locked else TotpInvalidError())
    _record(s, "totp", account, client_address, True)
    first = cred.totp_enrolled_at is None
    cred.totp_last_step = step
    cred.totp_enrolled_at = cred.totp_enrolled_at or now
    cred.failed_attempts = 0
    cred.last_sign_in_at = now
    s.add(cred)
    if first:
        _audit_as(uow, user, org, "sso.totp_enrolled", entity_type="user", entity_id=user.id)
    _audit_as(
        uow,
        user,
        org,
        "sso.sign_in",
        entity_type="user",
        entity_id=user.id,
        after={"amr": ["pwd", "otp"], "address": client_address},
    )
    s.flush()
    return _identity(s, user)


def verify_totp(*, actor: Actor, user_id: int, code: str, client_address: str) -> IdentityPublic:
    """Check the second factor of a user who passed the password step; confirms a pending enrolment.

    Raises:
        TotpInvalidError: wrong, stale or replayed code (counts toward the lock-out).
        TotpNotEnrolledError: the user has no TOTP secret yet (call ``enroll_totp``).
        AccountLockedError, RateLimitedError, AccountDisabledError: as for ``authenticate``.
    """
    return _raise_refused(
        _verify_totp(actor=actor, user_id=user_id, code=code, client_address=client_address)
    )


@use_case(permission=Permission.identity_provider)
def enroll_totp(uow, *, actor: Actor, user_id: int) -> TotpEnrolment:
    """Give a user who passed the password step a new TOTP secret, pending until ``verify_totp``.

    Raises:
        TotpAlreadyEnrolledError: a confirmed secret exists (an administrator must reset it).
    """
    s = uow.session
    user = s.get(User, user_id)
    cred = s.exec(select(Credential).where(Credential.user_id == user_id)).first() if user else None
    if user is None or cred is None:
        raise NotFoundError()
    if cred.totp_enrolled_at is not None:
        raise TotpAlreadyEnrolledError()
    import pyotp

    secret = pyotp.random_base32(32)
    cred.totp_secret_enc = _encrypt(secret)
    cred.totp_last_step = None
    s.add(cred)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.subject, issuer_name=policy().totp_issuer)
    return TotpEnrolment(secret=secret, uri=uri)


@use_case(permission=Permission.identity_provider)
def identity_for_user(uow, *, actor: Actor, user_id: int) -> IdentityPublic | None:
    """The identity of an active user of an active organization, or None (deleted, deactivated)."""
    user = uow.session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    org = uow.session.get(Organization, user.organization_id)
    if org is None or not org.is_active:
        return None
    return _identity(uow.session, user)


# ----------------------------------------------------------------------------- verification codes


def _message(purpose: str, code: str, locale: str, minutes: int) -> tuple[str, str]:
    title = translate(f"sso.mail.{purpose}_subject", locale)
    body = translate(f"sso.mail.{purpose}_body", locale, code=code, minutes=minutes)
    return title, body


def _check_code_rate(s: Session, p: IdentityPolicy, target: str, address: str) -> None:
    hour_ago = utcnow() - timedelta(hours=1)
    base = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.kind == "code", LoginAttempt.occurred_at >= hour_ago
    )
    if int(s.exec(base.where(LoginAttempt.address == address)).one()) >= p.codes_per_address_per_hour:
        raise RateLimitedError(minutes=60)
    if int(s.exec(base.where(LoginAttempt.account == target)).one()) >= p.codes_per_target_per_hour:
        raise RateLimitedError(minutes=60)
    recent = s.exec(
        select(func.max(LoginAttempt.occurred_at)).where(
            LoginAttempt.kind == "code", LoginAttempt.account == target
        )
    ).one()
    if recent is not None and (utcnow() - _aware(recent)).total_seconds() < p.code_resend_seconds:
        raise RateLimitedError("sso.error.code_resend_wait", seconds=p.code_resend_seconds)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _signup_conflicts(s: Session, form: EnterpriseSignup) -> None:
    """Refuse an enterprise already on the platform, a name that contradicts its record, a used e-mail."""
    org = s.exec(select(Organization).where(Organization.code == f"ENT-{form.credit_code}")).first()
    ent = s.exec(select(Enterprise).where(Enterprise.credit_code == form.credit_code)).first()
    if org is None and ent is not None:
        org = s.exec(select(Organization).where(Organization.enterprise_id == ent.id)).first()
    if org is not None:
        raise EnterpriseAlreadyRegisteredError()
    if ent is not None and not _same_name(ent.name, form.enterprise_name):
        raise EnterpriseNameMismatchError()
    taken = [User.email == form.email]
    if form.phone:
        taken.append(User.phone == form.phone)
    if s.exec(select(User.id).where(or_(*taken)).limit(1)).first() is not None:
        raise ContactTakenError(field="email")


@use_case(permission=Permission.identity_provider)
def _request_code(uow, *, actor, purpose, email, client_address, locale, signup, notifier):
    p, s = policy(), uow.session
    if purpose not in PURPOSES:
        raise InvalidError()
    if purpose == "signup":
        if signup is None:
            raise InvalidError()
        form = validate_signup(signup)
        _signup_conflicts(s, form)
        target, user = form.email, None
    else:
        target = normalize_email(email)
        user = s.exec(select(User).where(func.lower(User.email) == target.lower())).first()
    try:
        _check_code_rate(s, p, target, client_address)
    except RateLimitedError as exc:
        return _Refused(exc)
    _record(s, "code", target, client_address, True, purpose)
    if purpose == "reset" and (user is None or not user.is_active):
        return None  # same answer as when the account exists: no enumeration; nothing is sent
    code = f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    # A new code replaces older unused ones for the same target and purpose.
    s.exec(
        update(VerificationCode)
        .where(
            VerificationCode.target == target,
            VerificationCode.purpose == purpose,
            col(VerificationCode.used_at).is_(None),
        )
        .values(used_at=now)
    )
    s.add(
        VerificationCode(
            purpose=purpose,
            target=target,
            code_hash=_code_digest(purpose, target, code),
            client_address=client_address[:64],
            created_at=now,
            expires_at=now + timedelta(minutes=p.code_ttl_minutes),
        )
    )
    title, body = _message(purpose, code, locale, p.code_ttl_minutes)
    s.flush()
    (notifier or notifier_from_environment()).send(
        OutgoingMessage(
            channel="email",
            target=target,
            kind=f"verification_{purpose}",
            title=title,
            body=body,
            user_id=user.id if user else None,
            payload={"purpose": purpose},
        ),
        session=s,
    )
    uow.audit(
        "sso.code_sent",
        entity_type="verification_code",
        after={"purpose": purpose, "address": client_address},
    )
    return None


def request_verification_code(
    *,
    actor: Actor,
    purpose: str,
    client_address: str,
    locale: str = "zh_CN",
    email: str | None = None,
    signup: EnterpriseSignup | None = None,
    notifier: Notifier | None = None,
) -> None:
    """Send a six-digit code to an e-mail address, for ``signup`` (checks the whole form first) or ``reset``.

    For ``reset`` the answer is the same whether or not the address belongs to an account.

    Raises:
        ValidationErrors / FieldInvalidError: malformed form or address (nothing stored).
        EnterpriseAlreadyRegisteredError, EnterpriseNameMismatchError, ContactTakenError: sign-up refused.
        RateLimitedError: too many codes for this address or target, or asked again too soon.
    """
    _raise_refused(
        _request_code(
            actor=actor,
            purpose=purpose,
            email=email,
            client_address=client_address,
            locale=locale,
            signup=signup,
            notifier=notifier,
        )
    )


def _check_code(
    s: Session, p: IdentityPolicy, purpose: str, target: str, code: str
) -> _Refused | VerificationCode:
    """The matching live code (not yet marked used), or a refusal after counting the attempt."""
    latest = s.exec(
        select(VerificationCode)
        .where(VerificationCode.target == target, VerificationCode.purpose == purpose)
        .order_by(col(VerificationCode.id).desc())
        .limit(1)
    ).first()
    code = re.sub(r"\s", "", str(code or ""))
    if latest is None:
        return _Refused(VerificationCodeError())
    matches = bool(_CODE.match(code)) and hmac.compare_digest(
        latest.code_hash, _code_digest(purpose, target, code)
    )
    if latest.attempts >= p.code_max_attempts:
        return _Refused(VerificationCodeError("sso.error.code_exhausted"))
    if matches and latest.used_at is not None:
        return _Refused(VerificationCodeError("sso.error.code_used"))
    if matches and latest.expires_at <= utcnow():
        return _Refused(VerificationCodeError("sso.error.code_expired"))
    if not matches or latest.used_at is not None:
        s.exec(
            update(VerificationCode)
            .where(VerificationCode.id == latest.id)
            .values(attempts=VerificationCode.attempts + 1)
        )
        return _Refused(VerificationCodeError())
    return latest


def _consume(s: Session, row: VerificationCode) -> bool:
    """Mark a code used, atomically: False if a concurrent request used it first."""
    result = s.exec(
        update(VerificationCode)
        .where(VerificationCode.id == row.id, col(VerificationCode.used_at).is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1


@use_case(permission=Permission.identity_provider)
def _register_enterprise(uow, *, actor, signup, code, password, locale):
    p, s = policy(), uow.session
    errors: list[JinfuError] = []
    try:
        form = validate_signup(signup)
    except ValidationErrors as exc:
        errors.extend(exc.errors)
        form = None
    try:
        check_password_policy(password, avoid=(str(signup.email or "").partition("@")[0],))
    except JinfuError as exc:
        errors.append(exc)
    if not _CODE.match(re.sub(r"\s", "", str(code or ""))):
        errors.append(VerificationCodeError())
    if errors:
        raise ValidationErrors(errors)
    assert form is not None
    _signup_conflicts(s, form)
    checked = _check_code(s, p, "signup", form.email, code)
    if isinstance(checked, _Refused):
        return checked
    if not _consume(s, checked):
        return _Refused(VerificationCodeError("sso.error.code_used"))
    ent = s.exec(select(Enterprise).where(Enterprise.credit_code == form.credit_code)).first()
    org = Organization(
        code=f"ENT-{form.credit_code}",
        name=form.enterprise_name,
        kind=OrgKind.enterprise,
        district_code=form.credit_code[2:8],
        enterprise_id=ent.id if ent else None,
    )
    user = User(
        subject=f"ent-{secrets.token_hex(6)}",
        display_name=form.contact_name,
        email=form.email,
        phone=form.phone,
        locale=locale if locale in {"zh_CN", "en"} else "zh_CN",
        organization_id=0,
        roles=[Role.enterprise_admin.value],
    )
    try:
        s.add(org)
        s.flush()
        user.organization_id = org.id
        s.add(user)
        s.flush()
        s.add(Credential(user_id=user.id, password_hash=hash_password(password)))
        s.flush()
    except IntegrityError as exc:  # a concurrent sign-up of the same enterprise or contact won the race
        raise EnterpriseAlreadyRegisteredError() from exc
    _audit_as(
        uow,
        user,
        org,
        "sso.enterprise_registered",
        entity_type="organization",
        entity_id=org.id,
        after={"credit_code": form.credit_code, "user": user.subject, "linked_enterprise": org.enterprise_id},
    )
    return _identity(s, user)


def register_enterprise(
    *, actor: Actor, signup: EnterpriseSignup, code: str, password: str, locale: str = "zh_CN"
) -> IdentityPublic:
    """Register an enterprise: its organization (linked to its record when the platform has one), an
    ``enterprise_admin`` user and a credential — all or nothing, after the e-mailed code checks out.

    Raises:
        ValidationErrors: every malformed field (credit code, name, contact, e-mail, phone, password, code).
        EnterpriseAlreadyRegisteredError, EnterpriseNameMismatchError, ContactTakenError.
        VerificationCodeError: wrong, expired, reused or exhausted code (nothing but the counter stored).
    """
    return _raise_refused(
        _register_enterprise(actor=actor, signup=signup, code=code, password=password, locale=locale)
    )


@use_case(permission=Permission.identity_provider)
def _reset_password(uow, *, actor, email, code, new_password):
    p, s = policy(), uow.session
    target = normalize_email(email)
    check_password_policy(new_password, field="new_password", avoid=(target.partition("@")[0],))
    checked = _check_code(s, p, "reset", target, code)
    if isinstance(checked, _Refused):
        return checked
    user = s.exec(select(User).where(func.lower(User.email) == target.lower())).first()
    if user is None or not _consume(s, checked):
        return _Refused(VerificationCodeError("sso.error.code_used"))
    cred = s.exec(select(Credential).where(Credential.user_id == user.id)).first()
    now = utcnow()
    if cred is None:
        cred = Credential(user_id=user.id, password_hash=hash_password(new_password))
    else:
        cred.password_hash = hash_password(new_password)
    cred.password_changed_at, cred.failed_attempts, cred.locked_until = now, 0, None
    s.add(cred)
    s.exec(
        update(OAuthToken)
        .where(OAuthToken.user_id == user.id, col(OAuthToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    _audit_as(
        uow,
        user,
        s.get(Organization, user.organization_id),
        "sso.password_reset",
        entity_type="user",
        entity_id=user.id,
    )
    return None


def reset_password(*, actor: Actor, email: str, code: str, new_password: str) -> None:
    """Set a new password with a code e-mailed by ``request_verification_code(purpose="reset")``.

    Also lifts a lock-out and revokes the user's access tokens (sessions signed in before the reset end).

    Raises:
        FieldInvalidError: malformed address or weak password. VerificationCodeError: bad code.
    """
    _raise_refused(_reset_password(actor=actor, email=email, code=code, new_password=new_password))


# ------------------------------------------------------------------------------ administration


@use_case(permission=Permission.admin_users)
def set_password(uow, *, actor: Actor, user_id: int, password: str, check_policy: bool = True) -> None:
    """Set a user's password (administrators, and the demo seed); lifts a lock-out."""
    if check_policy:
        check_password_policy(password)
    s = uow.session
    if s.get(User, user_id) is None:
        raise NotFoundError()
    cred = s.exec(select(Credential).where(Credential.user_id == user_id)).first()
    if cred is None:
        cred = Credential(user_id=user_id, password_hash=hash_password(password))
    else:
        cred.password_hash = hash_password(password)
    cred.password_changed_at, cred.failed_attempts, cred.locked_until = utcnow(), 0, None
    s.add(cred)
    uow.audit("sso.password_set", entity_type="user", entity_id=user_id)


@use_case(permission=Permission.admin_users)
def unlock_account(uow, *, actor: Actor, user_id: int) -> None:
    """Lift a lock-out before it expires (operator user administration)."""
    uow.session.exec(
        update(Credential).where(Credential.user_id == user_id).values(failed_attempts=0, locked_until=None)
    )
    uow.audit("sso.account_unlocked", entity_type="user", entity_id=user_id)


@use_case(permission=Permission.seed)
def ensure_demo_credentials(uow, *, actor: Actor, password: str) -> int:
    """Give every demo user (subject ``demo-…``) the password ``password`` — and, in development and
    test only, the deterministic TOTP secret ``demo_totp_secret(subject)`` for roles that need TOTP.

    Idempotent: existing demo credentials are reset to the same state. Returns how many users.

    Raises:
        FieldInvalidError: ``password`` fails the password policy.
    """
    check_password_policy(password)
    s = uow.session
    demo_env = get_settings().jinfu_env in {"development", "test"}
    users = s.exec(select(User).where(col(User.subject).startswith(DEMO_SUBJECT_PREFIX))).all()
    password_hash = hash_password(password)  # one hash (its own salt) shared by the demo accounts
    existing = {
        c.user_id: c
        for c in s.exec(select(Credential).where(col(Credential.user_id).in_([u.id for u in users])))
    }
    now = utcnow()
    for user in users:
        cred = existing.get(user.id) or Credential(user_id=user.id, password_hash=password_hash)
        cred.password_hash, cred.failed_attempts, cred.locked_until = password_hash, 0, None
        if demo_env and totp_required(user.roles):
            cred.totp_secret_enc = _encrypt(demo_totp_secret(user.subject))
            cred.totp_enrolled_at, cred.totp_last_step = cred.totp_enrolled_at or now, None
        s.add(cred)
    uow.audit("sso.demo_credentials", after={"users": len(users), "totp": demo_env})
    return len(users)


# ------------------------------------------------------------------- the provider's own storage


def _client_public(row: OAuthClient) -> OAuthClientPublic:
    return OAuthClientPublic(
        client_id=row.client_id,
        client_secret_hash=row.client_secret_hash,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris or ()),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
        scope=row.scope,
        token_endpoint_auth_method=row.token_endpoint_auth_method,
    )


@use_case(permission=Permission.identity_provider)
def sync_oauth_clients(uow, *, actor: Actor, registrations: list[Any]) -> int:
    """Make the ``oauth_client`` table match the configured registrations (idempotent); others deactivated."""
    s = uow.session
    rows = {r.client_id: r for r in s.exec(select(OAuthClient)).all()}
    changed = []
    for reg in registrations:
        row = rows.pop(reg.client_id, None) or OAuthClient(
            client_id=reg.client_id, name=reg.name or reg.client_id
        )
        wanted = {
            "client_secret_hash": _digest(reg.client_secret) if reg.client_secret else None,
            "name": (reg.name or reg.client_id)[:120],
            "redirect_uris": list(reg.redirect_uris),
            "post_logout_redirect_uris": list(reg.post_logout_redirect_uris),
            "scope": reg.scope,
            "token_endpoint_auth_method": "none" if not reg.client_secret else "client_secret_basic",
            "is_active": True,
        }
        if row.id is None or any(getattr(row, k) != v for k, v in wanted.items()):
            for k, v in wanted.items():
                setattr(row, k, v)
            s.add(row)
            changed.append(reg.client_id)
    for row in rows.values():
        if row.is_active:
            row.is_active = False
            s.add(row)
            changed.append(row.client_id)
    if changed:
        uow.audit("sso.clients_synced", entity_type="oauth_client", after={"changed": changed})
    return len(changed)


@use_case(permission=Permission.identity_provider)
def get_oauth_client(uow, *, actor: Actor, client_id: str) -> OAuthClientPublic | None:
    if not client_id or len(client_id) > 80:
        return None
    row = uow.session.exec(
        select(OAuthClient).where(OAuthClient.client_id == client_id, col(OAuthClient.is_active).is_(True))
    ).first()
    return _client_public(row) if row else None


def client_secret_matches(client: OAuthClientPublic, secret: str) -> bool:
    """Constant-time check of a presented client secret against the stored digest."""
    if not client.client_secret_hash or not secret:
        return False
    return hmac.compare_digest(client.client_secret_hash, _digest(secret))


@use_case(permission=Permission.identity_provider)
def save_authorization_code(
    uow,
    *,
    actor: Actor,
    code: str,
    client_id: str,
    user_id: int,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    auth_time: int,
    amr: list[str],
) -> None:
    """Store a new authorization code (its digest), valid ``SSO_AUTHORIZATION_CODE_SECONDS``."""
    now = utcnow()
    uow.session.add(
        AuthorizationCode(
            code_hash=_digest(code),
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri[:500],
            scope=scope[:200],
            nonce=(nonce or None) and nonce[:255],
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            auth_time=auth_time,
            amr=list(amr),
            created_at=now,
            expires_at=now + timedelta(seconds=policy().authorization_code_seconds),
        )
    )
    uow.audit("sso.authorized", entity_type="oauth_client", entity_id=client_id, after={"user_id": user_id})


@use_case(permission=Permission.identity_provider)
def consume_authorization_code(
    uow, *, actor: Actor, code: str, client_id: str
) -> AuthorizationCodePublic | None:
    """Use a code once: the code's data if it is live and belongs to ``client_id``, else None.

    The code is spent by this call whatever happens next (wrong PKCE verifier, wrong redirect URI).
    """
    s, now = uow.session, utcnow()
    if not code or len(code) > 200:
        return None
    spent = s.exec(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.code_hash == _digest(code),
            AuthorizationCode.client_id == client_id,
            col(AuthorizationCode.used_at).is_(None),
            AuthorizationCode.expires_at > now,
        )
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        return None
    row = s.exec(select(AuthorizationCode).where(AuthorizationCode.code_hash == _digest(code))).one()
    return AuthorizationCodePublic(
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        scope=row.scope,
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        auth_time=row.auth_time,
        amr=tuple(row.amr or ()),
    )


@use_case(permission=Permission.identity_provider)
def nonce_used(uow, *, actor: Actor, client_id: str, nonce: str) -> bool:
    """Whether a code was already issued to ``client_id`` with this ``nonce`` (replay)."""
    return (
        uow.session.exec(
            select(AuthorizationCode.id).where(
                AuthorizationCode.client_id == client_id, AuthorizationCode.nonce == nonce
            )
        ).first()
        is not None
    )


@use_case(permission=Permission.identity_provider)
def save_access_token(
    uow, *, actor: Actor, access_token: str, client_id: str, user_id: int, scope: str, expires_in: int
) -> None:
    now = utcnow()
    uow.session.add(
        OAuthToken(
            access_token_hash=_digest(access_token),
            client_id=client_id,
            user_id=user_id,
            scope=scope[:200],
            issued_at=now,
            expires_at=now + timedelta(seconds=expires_in),
        )
    )
    user = uow.session.get(User, user_id)
    _audit_as(
        uow,
        user,
        uow.session.get(Organization, user.organization_id) if user else None,
        "sso.token_issued",
        entity_type="oauth_client",
        entity_id=client_id,
    )


@use_case(permission=Permission.identity_provider)
def identity_for_access_token(
    uow, *, actor: Actor, access_token: str
) -> tuple[IdentityPublic, str, str] | None:
    """(identity, scope, client_id) for a live, unrevoked access token of an active user, else None."""
    if not access_token or len(access_token) > 200:
        return None
    row = uow.session.exec(
        select(OAuthToken).where(OAuthToken.access_token_hash == _digest(access_token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = uow.session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return _identity(uow.session, user), row.scope, row.client_id


@use_case(permission=Permission.identity_provider)
def revoke_user_tokens(uow, *, actor: Actor, user_id: int, client_id: str | None = None) -> int:
    """Revoke a user's live access tokens (sign-out); returns how many."""
    query = update(OAuthToken).where(OAuthToken.user_id == user_id, col(OAuthToken.revoked_at).is_(None))
    if client_id:
        query = query.where(OAuthToken.client_id == client_id)
    count = uow.session.exec(query.values(revoked_at=utcnow())).rowcount
    user = uow.session.get(User, user_id)
    if user is not None:
        _audit_as(
            uow,
            user,
            uow.session.get(Organization, user.organization_id),
            "sso.sign_out",
            entity_type="user",
            entity_id=user_id,
            after={"client_id": client_id, "revoked": count},
        )
    return count


@use_case(permission=None)
def active_user_id(uow, *, actor: Actor) -> int | None:
    """The platform id of the signed-in actor (its ``sub`` is ``actor.label``); None when the account is
    unknown or deactivated — a deactivated user is signed out at the next page load, not at token expiry."""
    row = uow.session.exec(
        select(User.id).where(User.subject == actor.label, col(User.is_active).is_(True))
    ).first()
    return int(row) if row is not None else None
