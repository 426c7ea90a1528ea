"""The provider as a Flask app: ``create_app()`` builds a fresh one (routes registered inside, so a test
can build its own); ``apps.sso.wsgi:server`` is what gunicorn runs.

Pages: sign in (password, then TOTP for the roles that need it, with enrolment on first use),
enterprise sign-up, password reset, the signed-in account page; endpoints: discovery, JWKS,
authorize, token, userinfo, logout. Chinese by default, ``?lang=en`` for English.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Flask, Response, jsonify, redirect, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from apps.sso.config import SsoSettings
from apps.sso.keys import load_signing_key, public_jwks
from apps.sso.provider import PROVIDER_ACTOR, SignedIn, build_server, discovery_document
from apps.sso.web import (
    client_address,
    csrf_ok,
    current_locale,
    enforce_idle_timeout,
    message_page,
    render,
    reset_session,
    security_headers,
    t,
)
from core.auth.oidc import client_registrations
from core.config import get_settings
from core.errors import ConflictError, JinfuError, ValidationErrors
from core.services import identity as svc

HERE = Path(__file__).resolve().parent
log = logging.getLogger("jinfu.sso")
NO_CSRF = {"/token", "/userinfo"}  # authenticated by client secret or bearer token, not by a cookie
MAX_AUTHZ_QUERY = 3000


def _errors(exc: JinfuError) -> dict[str, str]:
    """Field → localized message (``_`` for errors not tied to a field)."""
    locale = current_locale()
    if isinstance(exc, ValidationErrors):
        return exc.messages(locale)
    return {exc.field or "_": exc.message(locale)}


def _status(exc: JinfuError) -> int:
    return 429 if isinstance(exc, svc.RateLimitedError) else 400


def _sync_clients_once_started(attempts: int = 3) -> None:
    """Register the configured clients; several workers booting together may race on the insert."""
    for attempt in range(attempts):
        try:
            svc.sync_oauth_clients(actor=PROVIDER_ACTOR, registrations=client_registrations())
            return
        except ConflictError:
            if attempt == attempts - 1:
                raise
            # Another worker inserted the same client a moment ago: read again and compare.
            continue


def create_app(settings: SsoSettings | None = None, *, sync_clients: bool = True) -> Flask:
    """A new provider app. Loads (or creates) the signing key and registers the configured clients."""
    settings = settings or SsoSettings()
    core_settings = get_settings()
    key = load_signing_key(settings.signing_key_pem, settings.signing_key_file)
    jwks = public_jwks(key)
    metadata = discovery_document(settings)

    app = Flask(__name__, template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.config.update(
        SECRET_KEY=hmac.new(
            core_settings.secret_key.encode(), b"jinfu-sso-session", hashlib.sha256
        ).hexdigest(),
        SESSION_COOKIE_NAME="jinfu_sso",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.idle_timeout_minutes),
        SESSION_REFRESH_EACH_REQUEST=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    server = build_server(app, key, settings)
    if sync_clients:
        _sync_clients_once_started()
    app.extensions["jinfu_sso"] = {"settings": settings, "server": server, "kid": key.kid}
    idle_seconds = settings.idle_timeout_minutes * 60

    # ------------------------------------------------------------------ session helpers

    def signed_in() -> SignedIn | None:
        uid = session.get("uid")
        if not uid:
            return None
        identity = svc.identity_for_user(actor=PROVIDER_ACTOR, user_id=int(uid))
        changed = (
            identity is not None
            and identity.password_changed_at is not None
            and (identity.password_changed_at.isoformat() != session.get("pwd_at"))
        )
        amr = tuple(session.get("amr") or ())
        if identity is None or changed or (identity.totp_required and "otp" not in amr):
            reset_session()
            return None
        return SignedIn(identity, int(session.get("auth_time", 0)), amr)

    def pending() -> dict[str, Any] | None:
        data = session.get("pending")
        if not data or time.time() - data.get("at", 0) > settings.pending_login_minutes * 60:
            session.pop("pending", None)
            return None
        return data

    def finish_sign_in(identity, amr: list[str]) -> Response:
        pwd_at = identity.password_changed_at.isoformat() if identity.password_changed_at else None
        now = int(time.time())
        reset_session(uid=identity.user_id, auth_time=now, amr=amr, pwd_at=pwd_at, seen=now, fresh=True)
        authz = session.get("authz")
        return redirect(f"{url_for('authorize')}?{authz}" if authz else url_for("account"))

    def anonymous():
        return svc.anonymous_actor(client_address())

    # ------------------------------------------------------------------ request hooks

    @app.before_request
    def _before() -> Response | None:
        if request.path.startswith("/static/"):
            return None
        if enforce_idle_timeout(idle_seconds) and request.method == "GET" and request.path == "/":
            return redirect(url_for("login", expired=1))
        if request.method == "POST" and request.path not in NO_CSRF and not csrf_ok():
            return message_page(
                "sso.error.title", t("sso.error.csrf"), 400, link=(url_for("login"), t("sso.nav.signin"))
            )
        return None

    app.after_request(security_headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        key = {404: "sso.error.not_found", 405: "sso.error.method", 413: "sso.error.too_large"}.get(
            exc.code or 500, "sso.error.bad_request"
        )
        return message_page("sso.error.title", t(key), exc.code or 400)

    @app.errorhandler(JinfuError)
    def _jinfu_error(exc: JinfuError) -> Response:
        return message_page(
            "sso.error.title", exc.message(current_locale()), 503 if "database" in exc.key else 400
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.path)
        return message_page("sso.error.title", t("sso.error.unexpected"), 500)

    # ------------------------------------------------------------------ protocol endpoints

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/.well-known/openid-configuration")
    def openid_configuration() -> Response:
        response = jsonify(metadata)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @app.get("/jwks")
    def jwks_endpoint() -> Response:
        response = jsonify(jwks)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    @app.get("/authorize")
    def authorize() -> Response:
        user = signed_in()
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            if error.redirect_uri:  # validated against the client's registration: safe to send back
                return server.handle_error_response(None, error)
            return message_page("sso.error.title", t("sso.error.authorize_invalid", reason=error.error), 400)
        fresh = session.pop("fresh", False)
        if user is None or (grant.prompt == "login" and not fresh):
            query = request.query_string.decode("utf-8", "replace")
            if len(query) > MAX_AUTHZ_QUERY:
                return message_page("sso.error.title", t("sso.error.bad_request"), 400)
            if user is not None:
                reset_session()
            session["authz"] = query
            return redirect(url_for("login"))
        session.pop("authz", None)
        return server.create_authorization_response(grant_user=user, grant=grant)

    @app.post("/token")
    def token() -> Response:
        return server.create_token_response()

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo() -> Response:
        return server.create_endpoint_response("userinfo")

    @app.route("/logout", methods=["GET", "POST"])
    def logout() -> Response:
        if request.method == "POST":  # confirmed on our own page (CSRF checked): no redirect anywhere
            uid = session.get("uid")
            if uid:
                svc.revoke_user_tokens(actor=PROVIDER_ACTOR, user_id=int(uid))
            reset_session()
            return message_page(
                "sso.logout.done_title", t("sso.logout.done"), link=(url_for("login"), t("sso.nav.signin"))
            )
        try:
            end = server.validate_endpoint_request("end_session")
        except OAuth2Error:
            return message_page("sso.error.title", t("sso.error.logout_invalid"), 400)
        if end.needs_confirmation:
            return render("logout.html", client=end.client.get_client_id() if end.client else None)
        response = server.create_endpoint_response("end_session", end)
        return response or message_page(
            "sso.logout.done_title", t("sso.logout.done"), link=(url_for("login"), t("sso.nav.signin"))
        )

    # ------------------------------------------------------------------ pages

    @app.get("/")
    def account() -> Response:
        user = signed_in()
        if user is None:
            return redirect(url_for("login"))
        return render(
            "account.html", me=user.identity, roles=[t(f"sso.role.{r}") for r in user.identity.roles]
        )

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        if request.method == "GET":
            notice = t("sso.signin.expired") if request.args.get("expired") else None
            return render("login.html", identifier="", error=None, notice=notice)
        identifier = request.form.get("identifier", "")[:255]
        try:
            identity = svc.authenticate(
                actor=anonymous(),
                identifier=identifier,
                password=request.form.get("password", "")[:1024],
                client_address=client_address(),
            )
        except JinfuError as exc:
            return render(
                "login.html", _status(exc), identifier=identifier, error=exc.message(current_locale())
            )
        if identity.totp_required:
            reset_session(pending={"uid": identity.user_id, "at": int(time.time())}, seen=int(time.time()))
            return redirect(url_for("totp" if identity.totp_enrolled else "enroll"))
        return finish_sign_in(identity, ["pwd"])

    def check_totp(data: dict) -> Any:
        """Verify the code typed for the pending sign-in (counts towards lock-out)."""
        return svc.verify_totp(
            actor=anonymous(),
            user_id=int(data["uid"]),
            code=request.form.get("code", "")[:20],
            client_address=client_address(),
        )

    def locked_out(exc: JinfuError) -> Response:
        reset_session()
        return render("login.html", 400, identifier="", error=exc.message(current_locale()), notice=None)

    @app.route("/login/totp", methods=["GET", "POST"])
    def totp() -> Response:
        data = pending()
        if data is None:
            return redirect(url_for("login", expired=1))
        if request.method == "GET":
            return render("totp.html", error=None)
        try:
            identity = check_totp(data)
        except svc.AccountLockedError as exc:
            return locked_out(exc)
        except JinfuError as exc:
            return render("totp.html", _status(exc), error=exc.message(current_locale()))
        return finish_sign_in(identity, ["pwd", "otp"])

    @app.route("/login/totp/enroll", methods=["GET", "POST"])
    def enroll() -> Response:
        data = pending()
        if data is None:
            return redirect(url_for("login", expired=1))
        if request.method == "GET" or "secret" not in data:
            try:
                enrolment = svc.enroll_totp(actor=anonymous(), user_id=int(data["uid"]))
            except svc.TotpAlreadyEnrolledError:
                return redirect(url_for("totp"))
            data.update(secret=enrolment.secret, uri=enrolment.uri)
            session["pending"] = data
            return render("enroll.html", secret=enrolment.secret, uri=enrolment.uri, error=None)
        try:
            identity = check_totp(data)
        except svc.AccountLockedError as exc:
            return locked_out(exc)
        except JinfuError as exc:
            return render(
                "enroll.html",
                _status(exc),
                secret=data["secret"],
                uri=data["uri"],
                error=exc.message(current_locale()),
            )
        return finish_sign_in(identity, ["pwd", "otp"])

    def _signup_form() -> svc.EnterpriseSignup:
        f = request.form
        return svc.EnterpriseSignup(
            credit_code=f.get("credit_code", "")[:200].strip().upper(),
            enterprise_name=f.get("enterprise_name", "")[:1000],
            contact_name=f.get("contact_name", "")[:1000],
            email=f.get("email", "")[:1000],
            phone=f.get("phone", "")[:1000] or None,
        )

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> Response:
        saved = session.get("signup")
        action = request.form.get("action", "")
        if request.method == "GET" or action == "back":
            return render("signup.html", step=1, form=saved or {}, errors={})
        if action == "send_code":
            form = _signup_form()
            try:
                cleaned = svc.validate_signup(form)
                svc.request_verification_code(
                    actor=anonymous(),
                    purpose="signup",
                    signup=cleaned,
                    client_address=client_address(),
                    locale=current_locale(),
                )
            except JinfuError as exc:
                return render("signup.html", _status(exc), step=1, form=asdict(form), errors=_errors(exc))
            session["signup"] = asdict(cleaned)
            return render(
                "signup.html",
                step=2,
                form=session["signup"],
                errors={},
                notice=t("sso.signup.code_sent", email=cleaned.email, minutes=svc.policy().code_ttl_minutes),
            )
        if action == "register" and saved:
            errors: dict[str, str] = {}
            password = request.form.get("password", "")[:1024]
            if password != request.form.get("password2", "")[:1024]:
                errors["password2"] = t("sso.error.password_mismatch")
            if not errors:
                try:
                    identity = svc.register_enterprise(
                        actor=anonymous(),
                        signup=svc.EnterpriseSignup(**saved),
                        code=request.form.get("code", "")[:20],
                        password=password,
                        locale=current_locale(),
                    )
                except JinfuError as exc:
                    errors = _errors(exc)
                else:
                    session.pop("signup", None)
                    return render("signup_done.html", me=identity)
            return render("signup.html", 400, step=2, form=saved, errors=errors)
        return redirect(url_for("signup"))

    @app.route("/reset", methods=["GET", "POST"])
    def reset() -> Response:
        action = request.form.get("action", "")
        if request.method == "GET" or action == "back":
            return render("reset.html", step=1, email=session.get("reset_email", ""), errors={})
        if action == "send_code":
            email = request.form.get("email", "")[:1000]
            try:
                normalized = svc.normalize_email(email)
                svc.request_verification_code(
                    actor=anonymous(),
                    purpose="reset",
                    email=normalized,
                    client_address=client_address(),
                    locale=current_locale(),
                )
            except JinfuError as exc:
                return render("reset.html", _status(exc), step=1, email=email, errors=_errors(exc))
            session["reset_email"] = normalized
            return render(
                "reset.html",
                step=2,
                email=normalized,
                errors={},
                notice=t("sso.reset.code_sent", minutes=svc.policy().code_ttl_minutes),
            )
        email = session.get("reset_email")
        if action == "reset" and email:
            password = request.form.get("new_password", "")[:1024]
            if password != request.form.get("new_password2", "")[:1024]:
                return render(
                    "reset.html",
                    400,
                    step=2,
                    email=email,
                    errors={"new_password2": t("sso.error.password_mismatch")},
                )
            try:
                svc.reset_password(
                    actor=anonymous(),
                    email=email,
                    code=request.form.get("code", "")[:20],
                    new_password=password,
                )
            except JinfuError as exc:
                return render("reset.html", _status(exc), step=2, email=email, errors=_errors(exc))
            session.pop("reset_email", None)
            return message_page(
                "sso.reset.done_title", t("sso.reset.done"), link=(url_for("login"), t("sso.nav.signin"))
            )
        return redirect(url_for("reset"))

    return app
