"""Authlib's server components wired to the platform: clients, the code grant with PKCE and OpenID
Connect, the userinfo endpoint, RP-initiated logout and the discovery document.

All state lives in the platform database through ``core.services.identity`` — no table is touched here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, TokenMixin, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo, UserInfoEndpoint
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from authlib.oidc.rpinitiated import EndSessionEndpoint
from flask import session as flask_session
from joserfc.jwk import RSAKey

from apps.sso.config import SsoSettings
from apps.sso.keys import public_jwks
from core.auth import Actor, Role
from core.auth.oidc import CLAIMS_SUPPORTED, ID_TOKEN_ALGORITHMS, SCOPES_SUPPORTED, claims_for
from core.models import AuthorizationCodePublic, IdentityPublic, OAuthClientPublic
from core.services import identity as svc

# The provider's own process: the only actor allowed to touch credentials, codes and tokens.
PROVIDER_ACTOR = Actor(user_id=None, label="sso", roles=frozenset({Role.identity_provider.value}))


class Client(ClientMixin):
    """A registered relying party, as Authlib sees it (exact redirect URI match, no defaults)."""

    def __init__(self, data: OAuthClientPublic) -> None:
        self.data = data
        self.client_id = data.client_id

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.data.post_logout_redirect_uris)}

    @property
    def is_public(self) -> bool:
        return self.data.token_endpoint_auth_method == "none"

    def get_client_id(self) -> str:
        return self.data.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # the request must name its redirect_uri, and it must match exactly

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(self.data.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.data.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return svc.client_secret_matches(self.data, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in {"client_secret_basic", "client_secret_post"}

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass(frozen=True)
class SignedIn:
    """The end user of one authorization: who, when they signed in, and how (``amr``)."""

    identity: IdentityPublic
    auth_time: int
    amr: tuple[str, ...]


class Code(AuthorizationCodeMixin):
    """A consumed authorization code, as Authlib sees it."""

    def __init__(self, data: AuthorizationCodePublic) -> None:
        self.data = data
        self.code_challenge = data.code_challenge
        self.code_challenge_method = data.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.data.redirect_uri

    def get_scope(self) -> str:
        return self.data.scope

    def get_nonce(self) -> str | None:
        return self.data.nonce

    def get_auth_time(self) -> int:
        return self.data.auth_time

    def get_amr(self) -> list[str]:
        return list(self.data.amr)


class CodeGrant(grants.AuthorizationCodeGrant):
    """The authorization-code grant; codes are stored hashed and spent on first use."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code: str, request) -> None:
        user: SignedIn = request.user
        data = request.payload.data
        svc.save_authorization_code(
            actor=PROVIDER_ACTOR,
            code=code,
            client_id=request.client.get_client_id(),
            user_id=user.identity.user_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=user.auth_time,
            amr=list(user.amr),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        found = svc.consume_authorization_code(
            actor=PROVIDER_ACTOR, code=code, client_id=client.get_client_id()
        )
        return Code(found) if found else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        """Nothing to do: ``query_authorization_code`` spent the code atomically."""

    def authenticate_user(self, authorization_code: Code) -> SignedIn | None:
        found = svc.identity_for_user(actor=PROVIDER_ACTOR, user_id=authorization_code.data.user_id)
        if found is None:
            return None
        return SignedIn(found, authorization_code.data.auth_time, authorization_code.data.amr)


class S256Only(CodeChallenge):
    """PKCE with S256 only; public clients must use it (confidential clients may, and Streamlit does)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if grant.request.client is not None and grant.request.client.is_public and not challenge:
            raise InvalidRequestError("PKCE (code_challenge with S256) is required for public clients.")
        if challenge and method != "S256":
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        return super().validate_code_challenge(grant, redirect_uri)


class OidcCode(OpenIDCode):
    """ID tokens: RS256 with the provider's key, our claims, ``aud`` = the client id."""

    def __init__(self, key: RSAKey, settings: SsoSettings) -> None:
        super().__init__(require_nonce=False)
        self.key = key
        self.settings = settings

    def exists_nonce(self, nonce: str, request) -> bool:
        return svc.nonce_used(actor=PROVIDER_ACTOR, client_id=request.payload.client_id, nonce=nonce)

    def resolve_client_private_key(self, client) -> RSAKey:
        return self.key

    def get_client_algorithm(self, client) -> str:
        return "RS256"

    def get_encode_header(self, client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}

    def get_client_claims(self, client) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.settings.issuer_url,
            "aud": client.get_client_id(),
            "iat": now,
            "exp": now + self.settings.id_token_seconds,
        }

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return UserInfo(claims_for(user.identity, scope))


class AccessToken(TokenMixin):
    """A bearer token found by its digest (only live tokens are ever returned by the service)."""

    def __init__(self, found: tuple[IdentityPublic, str, str], client: Client | None) -> None:
        self.identity, self.scope, self.client_id = found
        self.client = client

    def check_client(self, client) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False

    def get_user(self) -> SignedIn:
        return SignedIn(self.identity, 0, ())

    def get_client(self) -> Client | None:
        return self.client


class TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> AccessToken | None:
        found = svc.identity_for_access_token(actor=PROVIDER_ACTOR, access_token=token_string)
        if found is None:
            return None
        client = svc.get_oauth_client(actor=PROVIDER_ACTOR, client_id=found[2])
        return AccessToken(found, Client(client) if client else None)


class UserInfoAt(UserInfoEndpoint):
    def __init__(self, settings: SsoSettings, key: RSAKey, resource_protector: ResourceProtector) -> None:
        super().__init__(resource_protector=resource_protector)
        self.settings = settings
        self.key = key

    def get_issuer(self) -> str:
        return self.settings.issuer_url

    def resolve_private_key(self) -> RSAKey:
        return self.key

    def generate_user_info(self, user: SignedIn, scope: str) -> UserInfo:
        return UserInfo(claims_for(user.identity, scope))


class EndSession(EndSessionEndpoint):
    """RP-initiated logout: redirects only to a post-logout URI registered for the client."""

    def __init__(self, key: RSAKey) -> None:
        super().__init__()
        self.key = key

    def get_server_jwks(self) -> dict:
        return public_jwks(self.key)

    def get_algorithms(self) -> list[str]:
        return list(ID_TOKEN_ALGORITHMS)

    def end_session(self, end_session_request) -> None:
        user_id = flask_session.get("uid")
        if user_id:
            client_id = end_session_request.client.get_client_id() if end_session_request.client else None
            svc.revoke_user_tokens(actor=PROVIDER_ACTOR, user_id=int(user_id), client_id=client_id)
        lang = flask_session.get("lang")
        flask_session.clear()
        if lang:
            flask_session["lang"] = lang


def query_client(client_id: str) -> Client | None:
    found = svc.get_oauth_client(actor=PROVIDER_ACTOR, client_id=client_id)
    return Client(found) if found else None


def save_token(token: dict[str, Any], request) -> None:
    svc.save_access_token(
        actor=PROVIDER_ACTOR,
        access_token=token["access_token"],
        client_id=request.client.get_client_id(),
        user_id=request.user.identity.user_id,
        scope=token.get("scope", ""),
        expires_in=int(token.get("expires_in", 3600)),
    )


def build_server(app, key: RSAKey, settings: SsoSettings) -> AuthorizationServer:
    """The authorization server for ``app``: code grant + PKCE + OIDC, userinfo, end-session."""
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": settings.access_token_seconds}
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(SCOPES_SUPPORTED)
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [S256Only(required=True), OidcCode(key, settings)])
    protector = ResourceProtector()
    protector.register_token_validator(TokenValidator())
    server.register_endpoint(UserInfoAt(settings, key, protector))
    server.register_endpoint(EndSession(key))
    return server


def discovery_document(settings: SsoSettings) -> dict[str, Any]:
    """The OpenID Provider metadata served at ``/.well-known/openid-configuration``."""
    base = settings.issuer_url
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/userinfo",
        "jwks_uri": f"{base}/jwks",
        "end_session_endpoint": f"{base}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": list(SCOPES_SUPPORTED),
        "claims_supported": list(CLAIMS_SUPPORTED),
        "ui_locales_supported": ["zh-CN", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
    }
