"""The provider's web plumbing: language, CSRF tokens, the signed-in session with its idle timeout,
security headers, and rendering that never shows a traceback."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from flask import Response, render_template, request, session

from core.i18n import LOCALE_LABELS, SUPPORTED_LOCALES, normalize_locale, translate

SESSION_KEEP = ("lang", "authz")  # what survives a sign-in or sign-out (language, pending authorization)


def current_locale() -> str:
    """``?lang=`` (remembered in the session), else the session's choice, else Chinese."""
    asked = request.args.get("lang")
    if asked in SUPPORTED_LOCALES:
        session["lang"] = asked
        return asked
    return normalize_locale(session.get("lang"))


def t(key: str, **params: Any) -> str:
    return translate(key, current_locale(), **params)


def lang_url(locale: str) -> str:
    """The current page in another language (only the path and our own query: no open redirect)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = locale
    return f"{request.path}?{urlencode(args)}"


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    kept = session.get("csrf", "")
    return bool(sent and kept) and hmac.compare_digest(sent, kept)


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def reset_session(**values: Any) -> None:
    """A fresh session (no fixation): keep the language and a pending authorization, set ``values``."""
    kept = {k: session[k] for k in SESSION_KEEP if k in session}
    session.clear()
    session.update(kept)
    session.update(values)
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def enforce_idle_timeout(idle_seconds: int) -> bool:
    """Sign out a session idle for longer than ``idle_seconds``; True if it just timed out."""
    now = int(time.time())
    seen = session.get("seen")
    if "uid" in session or "pending" in session:
        if seen is not None and now - int(seen) > idle_seconds:
            reset_session()
            return True
        session["seen"] = now
    return False


def render(template: str, status: int = 200, **context: Any) -> Response:
    locale = current_locale()
    body = render_template(
        template,
        t=t,
        locale=locale,
        html_lang="zh-CN" if locale == "zh_CN" else "en",
        lang_links=[(code, LOCALE_LABELS[code], lang_url(code)) for code in SUPPORTED_LOCALES],
        csrf_token=csrf_token(),
        **context,
    )
    return Response(body, status=status, mimetype="text/html")


def message_page(
    title_key: str, text: str, status: int = 200, *, link: tuple[str, str] | None = None
) -> Response:
    return render("message.html", status=status, title=t(title_key), text=text, link=link)


def security_headers(response: Response) -> Response:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'none'; img-src 'self' data:; style-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html" or request.path in {"/token", "/userinfo"}:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response
