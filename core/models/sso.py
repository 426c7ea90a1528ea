"""Single sign-on: credentials, OAuth clients, codes and tokens, verification codes, sign-in attempts.

Secrets are never stored in the clear: passwords as argon2id hashes, client secrets, authorization
codes, access tokens and verification codes as SHA-256/HMAC digests, TOTP secrets encrypted with a
key derived from ``SECRET_KEY`` (``core.services.identity``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

from core.models.base import created_at_field, updated_at_field
from core.models.types import JSONType, UTCDateTime


class Credential(SQLModel, table=True):
    """Table: how one user proves who they are — password hash, TOTP secret, lock-out state."""

    __tablename__ = "credential"
    __table_args__ = (CheckConstraint("failed_attempts >= 0", name="failed_attempts_non_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", unique=True)
    password_hash: str = Field(max_length=255)  # argon2id, salted, parameters inside the hash
    password_changed_at: datetime = created_at_field()
    totp_secret_enc: str | None = Field(default=None, max_length=400)  # Fernet token, never logged
    totp_enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totp_last_step: int | None = Field(default=None)  # last accepted TOTP time step: no replay
    failed_attempts: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = created_at_field()


class OAuthClient(SQLModel, table=True):
    """Table: an application allowed to sign users in through the bundled provider (a relying party)."""

    __tablename__ = "oauth_client"

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=80, unique=True)
    client_secret_hash: str | None = Field(default=None, max_length=64)  # SHA-256 hex; None: public client
    name: str = Field(max_length=120)
    redirect_uris: list[str] = Field(default_factory=list, sa_type=JSONType)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, sa_type=JSONType)
    scope: str = Field(default="openid profile email", max_length=200)
    token_endpoint_auth_method: str = Field(default="client_secret_basic", max_length=40)
    is_active: bool = Field(default=True)
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class AuthorizationCode(SQLModel, table=True):
    """Table: a one-time authorization code, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_authorization_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    client_id: str = Field(max_length=80, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    redirect_uri: str = Field(max_length=500)
    scope: str = Field(max_length=200)
    nonce: str | None = Field(default=None, max_length=255, index=True)
    code_challenge: str | None = Field(default=None, max_length=128)
    code_challenge_method: str | None = Field(default=None, max_length=10)
    auth_time: int  # epoch seconds of the sign-in that produced the code
    amr: list[str] = Field(default_factory=list, sa_type=JSONType)  # ["pwd"] or ["pwd", "otp"]
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthToken(SQLModel, table=True):
    """Table: an issued bearer access token (its digest), for the userinfo endpoint and revocation."""

    __tablename__ = "oauth_token"

    id: int | None = Field(default=None, primary_key=True)
    access_token_hash: str = Field(max_length=64, unique=True)
    client_id: str = Field(max_length=80, index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    scope: str = Field(max_length=200)
    issued_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class VerificationCode(SQLModel, table=True):
    """Table: a six-digit code sent to an address for sign-up or password reset; hashed, single use."""

    __tablename__ = "verification_code"
    __table_args__ = (
        Index("ix_verification_target_purpose", "target", "purpose"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=20)  # signup, reset
    channel: str = Field(default="email", max_length=20)
    target: str = Field(max_length=200)  # normalized e-mail address or phone number
    code_hash: str = Field(max_length=64)  # HMAC-SHA256 under SECRET_KEY, bound to target and purpose
    attempts: int = Field(default=0)
    client_address: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    """Table: one sign-in, second-factor or code request, counted for rate limits per account and address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_time", "account", "occurred_at"),
        Index("ix_login_attempt_address_time", "address", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # password, totp, code
    account: str = Field(max_length=255)  # the normalized identifier typed (may match no user)
    address: str = Field(max_length=64)
    succeeded: bool = Field(default=False)
    reason: str | None = Field(default=None, max_length=40)
    occurred_at: datetime = created_at_field()


class IdentityPublic(BaseModel):
    """A signed-in (or half signed-in) person as identity services return it: what the claims need."""

    model_config = ConfigDict(frozen=True)

    user_id: int
    subject: str
    display_name: str
    email: str | None
    phone: str | None
    locale: str
    roles: tuple[str, ...]
    organization_id: int
    organization_name: str
    organization_kind: str
    enterprise_id: int | None
    totp_required: bool
    totp_enrolled: bool
    password_changed_at: datetime | None = None


class OAuthClientPublic(BaseModel):
    """A relying party as services return it (the secret only as its digest)."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    client_secret_hash: str | None
    name: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    scope: str
    token_endpoint_auth_method: str


class AuthorizationCodePublic(BaseModel):
    """A consumed authorization code: what the token endpoint needs to issue tokens."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    user_id: int
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    amr: tuple[str, ...]


class TotpEnrolment(BaseModel):
    """A new, not yet confirmed TOTP secret: shown once to its owner, never logged."""

    model_config = ConfigDict(frozen=True)

    secret: str
    uri: str
