"""Sign-in for the Streamlit apps: ``st.login`` against the platform's OpenID Connect provider.

The router calls ``resolve(app)`` on every rerun. It reads ``st.user`` (the verified ID-token claims
Streamlit keeps in its signed identity cookie), enforces the session rules of this app itself and
returns a ``Verdict``; when the verdict is ``signed_in`` the ``Actor`` built with
``core.auth.oidc.actor_from_claims`` is in ``st.session_state["actor"]``, else that key is removed.

Session rules (Streamlit keeps its identity cookie for 30 days and never checks ``iat``/``exp``):

* the claims must be addressed to this app (``aud`` is this app's client id), so a cookie another app
  on the same host set cannot sign a person in here;
* absolute lifetime: ``APP_SESSION_MAX_HOURS`` (default 8) from ``auth_time`` (else ``iat``);
* idle timeout: ``APP_IDLE_TIMEOUT_MINUTES`` (default 30) since the last rerun of this sign-in. The
  last activity is kept in the session and in the shared cache (``CACHE_URL``) under a digest of the
  sign-in, so a new tab or another replica sees it too; the token's ``iat`` counts as activity;
* a sign-out is remembered in the shared cache for the sign-in's remaining lifetime, so a copy of
  the cookie cannot be replayed after the person signed out.

When ``st.user`` has no ``is_logged_in`` (no ``[auth]`` secrets: AppTest, or a misconfigured server)
outside production, an actor seeded into ``st.session_state["actor"]`` by a test is used as is.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import streamlit as st
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.common.actor import ACTOR_KEY, current_actor, fits_app
from apps.common.i18n import t
from core import cache
from core.auth import Actor
from core.auth.oidc import ClaimsInvalidError, actor_from_claims
from core.config import PROJECT_ROOT, get_settings
from core.services import identity

PROVIDER = "jinfu"  # the named provider of the [auth.jinfu] secrets section
ACTIVITY_KEY = "auth_last_activity"  # (sign-in digest, epoch seconds) of this session's last rerun
SIGNOUT_KEY = "auth_signing_out"
USER_ID_KEY = "auth_user_id"  # (sign-in digest, platform user id or None, checked at epoch seconds)
USER_RECHECK_SECONDS = 60  # a deactivated account is signed out within a minute
_STORE_PREFIX = "jinfu:auth:"


class SessionPolicy(BaseSettings):
    """How long an app session lives, from ``APP_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="APP_", env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    session_max_hours: float = Field(default=8, gt=0, le=24 * 7)
    idle_timeout_minutes: float = Field(default=30, gt=0, le=24 * 60)

    @property
    def max_seconds(self) -> float:
        return self.session_max_hours * 3600

    @property
    def idle_seconds(self) -> float:
        return self.idle_timeout_minutes * 60


class Status(StrEnum):
    signed_in = "signed_in"
    signed_out = "signed_out"
    expired_idle = "expired_idle"
    expired_absolute = "expired_absolute"
    wrong_app = "wrong_app"  # a genuine sign-in whose roles this app does not serve
    not_configured = "not_configured"  # no [auth] secrets: nobody can sign in


@dataclass(frozen=True)
class Verdict:
    """What the router does with this rerun: the status and, when signed in, who it is."""

    status: Status
    actor: Actor | None = None
    name: str = ""
    org_name: str = ""
    roles: tuple[str, ...] = ()
    started_at: float | None = None  # auth_time (else iat) of the sign-in
    issued_at: float | None = None  # iat: when this app received the sign-in
    key: str = ""  # digest identifying this sign-in in the shared store
    reason: str = ""  # why claims that were present signed nobody in ("aud", "iat", "claims", "inactive")

    @property
    def expired(self) -> bool:
        return self.status in (Status.expired_idle, Status.expired_absolute)


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def signin_key(claims: Mapping[str, Any]) -> str:
    """A digest naming one sign-in (subject, issue time, nonce): the shared store's key."""
    raw = "|".join(str(claims.get(k, "")) for k in ("iss", "aud", "sub", "iat", "nonce"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _audiences(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list | tuple):
        return tuple(str(a) for a in aud)
    return ()


def evaluate(
    claims: Mapping[str, Any] | None,
    *,
    app: str,
    client_id: str | None,
    now: float,
    last_activity: float | None,
    signed_out: bool = False,
    policy: SessionPolicy,
) -> Verdict:
    """The verdict for ``claims`` (``st.user``) at ``now`` — pure, so the rules are unit-tested.

    ``last_activity`` is the latest rerun of this sign-in seen anywhere (None: never); ``signed_out``
    whether this sign-in was ended by a sign-out.
    """
    if not claims or claims.get("is_logged_in") is not True or signed_out:
        return Verdict(Status.signed_out)
    if client_id and client_id not in _audiences(claims):
        return Verdict(Status.signed_out, reason="aud")
    issued = _epoch(claims.get("iat"))
    started = _epoch(claims.get("auth_time")) or issued
    if issued is None or started is None:
        return Verdict(Status.signed_out, reason="iat")
    key = signin_key(claims)
    name = str(claims.get("name") or claims.get("sub") or "")[:120]
    org_name = str(claims.get("org_name") or "")[:200]
    common = {"name": name, "org_name": org_name, "started_at": started, "issued_at": issued, "key": key}
    if now - started > policy.max_seconds:
        return Verdict(Status.expired_absolute, **common)
    if now - max(issued, last_activity or 0.0) > policy.idle_seconds:
        return Verdict(Status.expired_idle, **common)
    try:
        actor = actor_from_claims(claims)
    except ClaimsInvalidError:
        return Verdict(Status.signed_out, reason="claims")
    roles = tuple(sorted(actor.roles))
    if not fits_app(actor, app):
        return Verdict(Status.wrong_app, actor=actor, roles=roles, **common)
    return Verdict(Status.signed_in, actor=actor, roles=roles, **common)


# -- the shared store (last activity, sign-outs) -------------------------------------------------


def _store_get(key: str) -> bytes | None:
    return cache.get_bytes(_STORE_PREFIX + key)


def _store_set(key: str, value: bytes, ttl: float) -> None:
    cache.set_bytes(_STORE_PREFIX + key, value, int(ttl))


def _shared_state(key: str) -> tuple[float | None, bool]:
    """(last activity, signed out) recorded for sign-in ``key`` by any session or replica."""
    raw = _store_get(key)
    if raw is None:
        return None, False
    if raw == b"out":
        return None, True
    return _epoch(raw.decode("ascii", "ignore")), False


# -- Streamlit glue ------------------------------------------------------------------------------


def auth_configured() -> bool:
    """Whether this server has ``[auth]`` secrets (then ``st.user`` always carries ``is_logged_in``)."""
    try:
        return "is_logged_in" in st.user.to_dict()
    except Exception:  # noqa: BLE001 - no script context
        return False


def client_id() -> str | None:
    """This app's OIDC client id, from its ``[auth.jinfu]`` secrets."""
    try:
        return str(st.secrets["auth"][PROVIDER]["client_id"])
    except (KeyError, FileNotFoundError, AttributeError, TypeError):
        return None


def provider_base_url() -> str | None:
    """The provider's issuer URL (from ``server_metadata_url``), for links such as enterprise sign-up."""
    try:
        url = str(st.secrets["auth"][PROVIDER]["server_metadata_url"])
    except (KeyError, FileNotFoundError, AttributeError, TypeError):
        return None
    return url.split("/.well-known/")[0].rstrip("/") or None


def _last_activity(key: str) -> tuple[float | None, bool]:
    shared, signed_out = _shared_state(key)
    mine = st.session_state.get(ACTIVITY_KEY)
    local = mine[1] if isinstance(mine, tuple) and len(mine) == 2 and mine[0] == key else None
    values = [v for v in (shared, local) if v is not None]
    return (max(values) if values else None), signed_out


def _seeded_verdict(app: str) -> Verdict:
    """Without ``[auth]`` secrets: a test's seeded actor (never in production), else nobody."""
    actor = current_actor()
    if actor is None or get_settings().jinfu_env == "production":
        st.session_state.pop(ACTOR_KEY, None)
        return Verdict(Status.not_configured)
    status = Status.signed_in if fits_app(actor, app) else Status.wrong_app
    return Verdict(status, actor=actor, name=actor.label, roles=tuple(sorted(actor.roles)))


def resolve(app: str, *, policy: SessionPolicy | None = None) -> Verdict:
    """This rerun's verdict; records the activity of a valid sign-in and keeps its actor in session state."""
    if not auth_configured():
        return _seeded_verdict(app)
    policy = policy or SessionPolicy()
    claims = st.user.to_dict()
    now = time.time()
    key = signin_key(claims) if claims.get("is_logged_in") is True else ""
    last, signed_out = _last_activity(key) if key else (None, False)
    verdict = evaluate(
        claims,
        app=app,
        client_id=client_id(),
        now=now,
        last_activity=last,
        signed_out=signed_out,
        policy=policy,
    )
    if verdict.status in (Status.signed_in, Status.wrong_app) and verdict.actor is not None:
        st.session_state[ACTIVITY_KEY] = (verdict.key, now)
        remaining = policy.max_seconds - (now - (verdict.started_at or now))
        _store_set(verdict.key, repr(now).encode("ascii"), min(remaining, policy.idle_seconds) + 60)
    if verdict.status == Status.signed_in:
        verdict = _with_platform_user(verdict)
    if verdict.status == Status.signed_in:
        st.session_state[ACTOR_KEY] = verdict.actor
    else:
        st.session_state.pop(ACTOR_KEY, None)
    return verdict


def _with_platform_user(verdict: Verdict) -> Verdict:
    """Fill the actor's platform user id (so audit rows name the user) and refuse deactivated accounts.

    Looked up once per sign-in and per deactivation check interval, not on every rerun.
    """
    cached = st.session_state.get(USER_ID_KEY)
    now = time.time()
    if cached and cached[0] == verdict.key and now - cached[2] < USER_RECHECK_SECONDS:
        user_id = cached[1]
    else:
        user_id = identity.active_user_id(actor=verdict.actor)
        st.session_state[USER_ID_KEY] = (verdict.key, user_id, now)
    if user_id is None:
        return Verdict(Status.signed_out, reason="inactive")
    return replace(verdict, actor=replace(verdict.actor, user_id=user_id))


def sign_in() -> None:
    """Start the OIDC sign-in (a redirect to the provider)."""
    st.login(PROVIDER)


def sign_out(verdict: Verdict | None = None, *, policy: SessionPolicy | None = None) -> None:
    """End this sign-in everywhere it could be replayed, then clear Streamlit's cookie (``st.logout``)."""
    policy = policy or SessionPolicy()
    if verdict is not None and verdict.key:
        _store_set(verdict.key, b"out", policy.max_seconds + 60)
    st.session_state.pop(ACTOR_KEY, None)
    st.session_state.pop(ACTIVITY_KEY, None)
    if auth_configured():
        st.logout()
    else:  # tests: nothing to clear but the seeded actor
        st.rerun()


def role_names(roles: tuple[str, ...] | frozenset[str]) -> str:
    return t("common.list_sep").join(t(f"sso.role.{r}") for r in sorted(roles)) or "—"


def audience(app: str) -> str:
    """Who the app is for, in plain words."""
    return t(f"common.auth.audience.{app}")


@st.fragment(run_every=60)
def expiry_watch(app: str, verdict: Verdict) -> None:
    """Once a minute: when this sign-in has expired, rerun the app so the data leave the screen."""
    if verdict.status != Status.signed_in or not verdict.key:
        return
    policy = SessionPolicy()
    now = time.time()
    last, signed_out = _last_activity(verdict.key)
    started = verdict.started_at or now
    active = max(verdict.issued_at or started, last or 0.0)
    if signed_out or now - started > policy.max_seconds or now - active > policy.idle_seconds:
        st.rerun(scope="app")


# -- the pages and the sidebar the router shows ---------------------------------------------------


def _gate_header(app: str) -> None:
    from apps.common.frame import app_title

    with st.container(key="auth_gate"):
        st.title(app_title(app), anchor=False)


def _signin_body(app: str, verdict: Verdict) -> None:
    policy = SessionPolicy()
    _gate_header(app)
    with st.container(border=True, key="auth_card"):
        st.subheader(t("common.auth.signin.title"), anchor=False)
        st.markdown(t("common.auth.signin.for", audience=audience(app)))
        if verdict.status == Status.expired_idle:
            st.warning(
                t("common.auth.expired.idle", minutes=f"{policy.idle_timeout_minutes:g}"),
                icon=":material/timer:",
            )
        elif verdict.status == Status.expired_absolute:
            st.warning(
                t("common.auth.expired.absolute", hours=f"{policy.session_max_hours:g}"),
                icon=":material/timer:",
            )
        if verdict.status == Status.not_configured:
            st.error(t("common.auth.not_configured"), icon=":material/error:")
            if get_settings().jinfu_env != "production":
                st.caption(t("common.auth.not_configured.dev"))
            return
        st.caption(t("common.auth.signin.lead"))
        label = t("common.auth.signin.again") if verdict.expired else t("common.auth.signin.button")
        if st.button(label, type="primary", icon=":material/login:", width="stretch", key="auth_signin"):
            st.caption(t("common.auth.signin.redirect"))
            sign_in()
        if app != "enterprise":
            st.caption(t("common.auth.signin.totp_hint"))
        base = provider_base_url()
        if app == "enterprise" and base:
            st.caption(t("common.auth.signin.signup_hint"))
            st.link_button(t("common.auth.signin.signup"), f"{base}/signup", icon=":material/person_add:")


def _wrong_app_body(app: str, verdict: Verdict) -> None:
    _gate_header(app)
    with st.container(border=True, key="auth_card"):
        st.subheader(t("common.auth.wrong_app.title"), anchor=False)
        name = (
            t("common.auth.account", name=verdict.name, org=verdict.org_name)
            if verdict.org_name
            else verdict.name
        )
        st.warning(
            t(
                "common.auth.wrong_app.body",
                audience=audience(app),
                name=name,
                roles=role_names(verdict.roles),
            ),
            icon=":material/block:",
        )
        st.caption(t("common.auth.wrong_app.hint"))
        if st.button(
            t("common.auth.signout"), type="primary", icon=":material/logout:", key="auth_wrong_signout"
        ):
            sign_out(verdict)


def gate_page(app: str, verdict: Verdict) -> st.Page:
    """The one page a person who is not (or no longer) signed in to this app can reach."""
    if verdict.status == Status.wrong_app:
        return st.Page(
            lambda: _wrong_app_body(app, verdict),
            title=t("common.auth.wrong_app.title"),
            icon=":material/block:",
            url_path="signin",
            default=True,
        )
    return st.Page(
        lambda: _signin_body(app, verdict),
        title=t("common.auth.signin.title"),
        icon=":material/login:",
        url_path="signin",
        default=True,
    )


def account_sidebar(verdict: Verdict) -> None:
    """Who is signed in, and the sign-out button."""
    with st.sidebar.container(key="auth_account"):
        st.caption(t("common.auth.signed_in"))
        st.markdown(
            f"**{verdict.name}**" + (f"  \n{verdict.org_name}" if verdict.org_name else ""),
        )
        if st.button(t("common.auth.signout"), icon=":material/logout:", key="auth_signout", width="stretch"):
            sign_out(verdict)


def router_pages(app: str, verdict: Verdict, specs) -> list[st.Page]:
    """The pages ``st.navigation`` may show for this verdict: the app's own when signed in, else the gate."""
    from apps.common.navigation import pages_for

    if verdict.status != Status.signed_in or verdict.actor is None:
        return [gate_page(app, verdict)]
    account_sidebar(verdict)
    with st.sidebar:
        expiry_watch(app, verdict)
    return pages_for(app, verdict.actor, specs)
