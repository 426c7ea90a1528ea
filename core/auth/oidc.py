"""OpenID Connect on the platform's side: client registrations, the claim mapping, token verification.

One module used by both ends of the sign-in:

* the bundled provider (``apps/sso``) builds ID-token and userinfo claims with ``claims_for``;
* every app (Streamlit through ``st.login``, the wall, scripts) turns the claims it received into a
  ``core.auth.Actor`` with ``actor_from_claims`` — and, where it holds a raw ID token, checks it first
  with ``IdTokenVerifier`` (signature against the provider's JWKS, issuer, audience, expiry).

Claims: ``sub`` (the user's ``subject``), ``name``, ``email``, ``phone_number``, ``locale`` (BCP 47,
``zh-CN`` or ``en``), ``roles`` (list of ``core.auth.Role`` values), ``org_id``, ``org_name``, and for
enterprise users ``enterprise_id``. An external provider (Keycloak, a government identity service)
works unchanged if it emits the same claims (in Keycloak: user attributes mapped by protocol mappers).

Client registrations come from the environment, the same for the provider and the apps:
``SSO_CLIENTS`` (a JSON list of ``{"client_id", "client_secret", "redirect_uris",
"post_logout_redirect_uris", "name"}``) or, per client, ``SSO_CLIENT_<NAME>_SECRET`` and
``SSO_CLIENT_<NAME>_REDIRECT_URIS`` (comma-separated; ``<NAME>`` is ENTERPRISE, BANK, REGULATOR,
BIGSCREEN). Without them, in development and test only, the four first-party clients get secrets
derived from ``SECRET_KEY`` and redirect URIs on 127.0.0.1/localhost at the configured ports.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.auth.actor import Actor
from core.auth.permissions import PERSON_ROLES
from core.config import get_settings
from core.errors import ForbiddenError, InvalidError
from core.i18n import normalize_locale

DEFAULT_ISSUER = "http://127.0.0.1:8100"
ID_TOKEN_ALGORITHMS = ("RS256",)
SCOPES_SUPPORTED = ("openid", "profile", "email", "phone")
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "name",
    "email",
    "phone_number",
    "locale",
    "roles",
    "org_id",
    "org_name",
    "enterprise_id",
)

# The first-party clients: name → (client_id, setting holding the app's port, callback path).
FIRST_PARTY_CLIENTS: dict[str, tuple[str, str, str]] = {
    "ENTERPRISE": ("jinfu-enterprise", "enterprise_port", "/oauth2callback"),
    "BANK": ("jinfu-bank", "bank_port", "/oauth2callback"),
    "REGULATOR": ("jinfu-regulator", "regulator_port", "/oauth2callback"),
    "BIGSCREEN": ("jinfu-bigscreen", "bigscreen_port", "/oauth2callback"),
}


class OidcConfigurationError(ValueError):
    """The SSO client settings are missing or malformed (raised at start, for operators)."""


class IdTokenInvalidError(ForbiddenError):
    """A forged, expired, wrongly signed or wrongly addressed token: the sign-in is refused."""

    key = "sso.error.token_invalid"


class ClaimsInvalidError(InvalidError):
    """Verified claims that cannot describe a platform user (no subject, unknown shape)."""

    key = "sso.error.claims_invalid"


@dataclass(frozen=True)
class ClientRegistration:
    """One relying party: its id, secret (None: a public client using PKCE) and allowed URIs."""

    client_id: str
    client_secret: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    name: str = ""
    scope: str = "openid profile email phone"

    @property
    def is_public(self) -> bool:
        return not self.client_secret


def issuer() -> str:
    """The provider's issuer identifier (``SSO_ISSUER``, no trailing slash)."""
    return os.environ.get("SSO_ISSUER", DEFAULT_ISSUER).rstrip("/")


def discovery_url(issuer_url: str | None = None) -> str:
    """The discovery document's URL — what ``st.login`` wants as ``server_metadata_url``."""
    return f"{(issuer_url or issuer()).rstrip('/')}/.well-known/openid-configuration"


def development_client_secret(client_id: str) -> str:
    """A client secret derived from ``SECRET_KEY`` — development and test only, never in production."""
    settings = get_settings()
    if settings.jinfu_env == "production":
        raise OidcConfigurationError(
            f"set a real secret for {client_id} (SSO_CLIENTS or SSO_CLIENT_*_SECRET)"
        )
    digest = hmac.new(settings.secret_key.encode(), f"jinfu-oidc-client|{client_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:40]


def _split_uris(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


def _default_redirects(port: int, path: str) -> tuple[str, ...]:
    return (f"http://127.0.0.1:{port}{path}", f"http://localhost:{port}{path}")


def client_registrations() -> list[ClientRegistration]:
    """Every relying party the provider accepts, from the environment (see the module docstring).

    Raises:
        OidcConfigurationError: malformed ``SSO_CLIENTS``, a redirect URI that is not absolute http(s),
            or (outside development) a first-party client without a secret.
    """
    raw = os.environ.get("SSO_CLIENTS", "").strip()
    if raw:
        try:
            items = json.loads(raw)
            registrations = [
                ClientRegistration(
                    client_id=str(item["client_id"]),
                    client_secret=item.get("client_secret") or None,
                    redirect_uris=tuple(item["redirect_uris"]),
                    post_logout_redirect_uris=tuple(
                        item.get("post_logout_redirect_uris") or item["redirect_uris"]
                    ),
                    name=str(item.get("name") or item["client_id"]),
                )
                for item in items
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise OidcConfigurationError(f"SSO_CLIENTS is not a JSON list of clients: {exc}") from exc
    else:
        settings = get_settings()
        registrations = []
        for name, (client_id, port_setting, path) in FIRST_PARTY_CLIENTS.items():
            secret = os.environ.get(f"SSO_CLIENT_{name}_SECRET") or development_client_secret(client_id)
            redirects = _split_uris(
                os.environ.get(f"SSO_CLIENT_{name}_REDIRECT_URIS", "")
            ) or _default_redirects(getattr(settings, port_setting), path)
            logout = _split_uris(os.environ.get(f"SSO_CLIENT_{name}_POST_LOGOUT_URIS", "")) or redirects
            registrations.append(ClientRegistration(client_id, secret, redirects, logout, name=client_id))
    for reg in registrations:
        for uri in (*reg.redirect_uris, *reg.post_logout_redirect_uris):
            if not (uri.startswith("https://") or uri.startswith("http://")) or "#" in uri:
                raise OidcConfigurationError(
                    f"{reg.client_id}: redirect URI {uri!r} must be absolute http(s)"
                )
    return registrations


def client_registration(client_id: str) -> ClientRegistration:
    """One client's registration — what an app needs for its ``[auth]`` settings."""
    for reg in client_registrations():
        if reg.client_id == client_id:
            return reg
    raise OidcConfigurationError(f"no SSO client {client_id!r} is configured")


def bcp47(locale: str | None) -> str:
    """``zh_CN`` → ``zh-CN`` (the claim's format)."""
    return normalize_locale(locale).replace("_", "-")


def claims_for(identity: Any, scope: str = "openid profile email") -> dict[str, Any]:
    """The ID-token / userinfo claims of one user (an ``IdentityPublic``), filtered by scope.

    ``roles``, ``org_id`` and ``enterprise_id`` are always present: every app needs them to build
    the actor, whatever scopes it asked for.
    """
    scopes = set(scope.split())
    claims: dict[str, Any] = {
        "sub": identity.subject,
        "roles": list(identity.roles),
        "org_id": identity.organization_id,
    }
    if identity.enterprise_id is not None:
        claims["enterprise_id"] = identity.enterprise_id
    if "profile" in scopes:
        claims["name"] = identity.display_name
        claims["locale"] = bcp47(identity.locale)
        claims["org_name"] = identity.organization_name
    if "email" in scopes and identity.email:
        claims["email"] = identity.email
    if "phone" in scopes and identity.phone:
        claims["phone_number"] = identity.phone
    return claims


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ClaimsInvalidError()
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ClaimsInvalidError() from exc


def actor_from_claims(claims: Mapping[str, Any], *, user_id: int | None = None) -> Actor:
    """The ``Actor`` for a signed-in person, from *verified* claims (``st.user`` or a verified token).

    Unknown roles are dropped (they would grant nothing anyway); ``system`` and ``identity_provider`` can never come from a
    token. ``user_id`` is the platform's ``user_account.id`` when the caller has looked it up (the
    ``sub`` claim is the user's ``subject``).

    Raises:
        ClaimsInvalidError: no ``sub``, or ``roles``/``org_id``/``enterprise_id`` of the wrong shape.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise ClaimsInvalidError()
    raw_roles = claims.get("roles") or []
    if isinstance(raw_roles, str):
        raw_roles = raw_roles.split()
    if not isinstance(raw_roles, list | tuple):
        raise ClaimsInvalidError()
    known = {r.value for r in PERSON_ROLES}
    roles = frozenset(str(r) for r in raw_roles if str(r) in known)
    return Actor(
        user_id=user_id,
        label=subject[:120],
        roles=roles,
        organization_id=_int_or_none(claims.get("org_id")),
        enterprise_id=_int_or_none(claims.get("enterprise_id")),
        locale=normalize_locale(str(claims.get("locale") or "")),
    )


@dataclass
class _CachedJwks:
    keys: dict[str, Any]
    fetched_at: float


@dataclass
class IdTokenVerifier:
    """Verifies ID tokens of one provider for one client: RS256 signature against the JWKS, ``iss``,
    ``aud`` (and ``azp`` when several audiences), ``exp``/``iat`` with ``leeway`` seconds, ``nonce``.

    ``jwks`` may be given (a dict, for tests and offline use); otherwise it is fetched from
    ``jwks_uri`` (default: the provider's ``/jwks``) and re-fetched at most every ``refresh_seconds``,
    or once when a token names an unknown key (key rotation).
    """

    issuer: str
    client_id: str
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    leeway: int = 30
    refresh_seconds: int = 300
    _cache: _CachedJwks | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _fetch(self) -> dict[str, Any]:
        uri = self.jwks_uri or f"{self.issuer.rstrip('/')}/jwks"
        with urllib.request.urlopen(uri, timeout=5) as response:  # noqa: S310 - configured provider URL
            return json.loads(response.read().decode("utf-8"))

    def _key_set(self, *, force: bool = False):
        from joserfc.jwk import KeySet

        if self.jwks is not None:
            return KeySet.import_key_set(self.jwks)
        with self._lock:
            stale = self._cache is None or time.monotonic() - self._cache.fetched_at > self.refresh_seconds
            if force or stale:
                self._cache = _CachedJwks(self._fetch(), time.monotonic())
            return KeySet.import_key_set(self._cache.keys)

    def verify(self, token: str, *, nonce: str | None = None, now: int | None = None) -> dict[str, Any]:
        """The token's claims if it is genuine and meant for this client; else ``IdTokenInvalidError``."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16_000:
            raise IdTokenInvalidError()
        try:
            try:
                decoded = jwt.decode(token, self._key_set(), algorithms=list(ID_TOKEN_ALGORITHMS))
            except JoseError:
                if self.jwks is not None:
                    raise
                decoded = jwt.decode(token, self._key_set(force=True), algorithms=list(ID_TOKEN_ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(
                now=now,
                leeway=self.leeway,
                iss={"essential": True, "value": self.issuer},
                sub={"essential": True},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                iat={"essential": True},
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError, KeyError, TypeError, OSError) as exc:
            raise IdTokenInvalidError() from exc
        claims = dict(decoded.claims)
        if decoded.header.get("alg") not in ID_TOKEN_ALGORITHMS:
            raise IdTokenInvalidError()
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise IdTokenInvalidError()
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise IdTokenInvalidError()
        return claims
