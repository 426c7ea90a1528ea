"""The wall's kiosk guard: nothing but ``/healthz`` answers without the kiosk token.

A screen is authorized once by opening the wall with ``?kiosk=<WALL_KIOSK_TOKEN>``: the guard checks
the token (constant time), sets a signed, HttpOnly cookie and redirects to the same URL without the
token (so it does not stay in the address bar or the history). From then on the cookie is enough; it
lasts ``WALL_KIOSK_COOKIE_DAYS`` (default 30) and is renewed once a day while the wall is running, so
a kiosk never drops out. The cookie is signed with a key derived from ``SECRET_KEY`` *and* the token:
changing ``WALL_KIOSK_TOKEN`` revokes every authorized screen at once.

Every other request — the page, ``_dash-layout``, ``_dash-dependencies``, ``_dash-update-component``,
the component bundles and assets — gets a 401 page in the viewer's language.

``WALL_KIOSK_TOKEN`` is required in production (at least 16 characters; e.g. ``openssl rand -hex 24``).
In development and test, when it is unset, a token derived from ``SECRET_KEY`` is used and
``scripts/run_all.py`` prints the URL to open.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape

from core.config import get_settings
from core.i18n import normalize_locale, translate

QUERY_PARAM = "kiosk"
COOKIE_NAME = "jinfu_wall"
MIN_TOKEN_LENGTH = 16
RENEW_AFTER_SECONDS = 24 * 3600


class KioskConfigurationError(RuntimeError):
    """``WALL_KIOSK_TOKEN`` is missing or too short where it is required (raised at start, for operators)."""


def development_token() -> str:
    """The token used in development and test when ``WALL_KIOSK_TOKEN`` is unset (derived, never random,
    so every gunicorn worker and the launcher agree on it)."""
    secret = get_settings().secret_key.encode("utf-8")
    return hmac.new(secret, b"jinfu-wall-kiosk-dev", hashlib.sha256).hexdigest()[:32]


def kiosk_token() -> str:
    """The configured kiosk token (see the module docstring)."""
    settings = get_settings()
    token = os.environ.get("WALL_KIOSK_TOKEN", "").strip()
    if token:
        if len(token) < MIN_TOKEN_LENGTH and settings.jinfu_env == "production":
            raise KioskConfigurationError(f"WALL_KIOSK_TOKEN must have at least {MIN_TOKEN_LENGTH} characters")
        return token
    if settings.jinfu_env == "production":
        raise KioskConfigurationError("set WALL_KIOSK_TOKEN: the wall display answers only with it")
    return development_token()


def cookie_days() -> int:
    try:
        return max(1, min(365, int(os.environ.get("WALL_KIOSK_COOKIE_DAYS", "30"))))
    except ValueError:
        return 30


def _serializer(token: str) -> URLSafeTimedSerializer:
    secret = get_settings().secret_key.encode("utf-8")
    key = hmac.new(secret, b"jinfu-wall-kiosk|" + token.encode("utf-8"), hashlib.sha256).hexdigest()
    return URLSafeTimedSerializer(key, salt="jinfu-wall-kiosk-cookie")


def _locale() -> str:
    lang = request.args.get("lang")
    if lang:
        return normalize_locale(lang)
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    return normalize_locale(best or get_settings().default_locale)


def _refused() -> Response:
    locale = _locale()
    title = escape(translate("common.auth.wall.title", locale))
    body = escape(translate("common.auth.wall.body", locale))
    lang = "en" if locale == "en" else "zh-CN"
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head>"
        '<body style="font-family:sans-serif;background:#0b1a2e;color:#e6edf5;margin:0;padding:12vh 6vw">'
        f'<h1 style="font-size:1.6rem">{title}</h1><p style="max-width:40rem;line-height:1.6">{body}</p>'
        "</body></html>"
    )
    response = Response(html, status=401, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def install_kiosk_guard(server: Flask, *, token: str, prefix: str = "/") -> None:
    """Refuse every request to ``server`` except ``<prefix>healthz`` unless the kiosk token or cookie is valid."""
    if not token:
        raise KioskConfigurationError("the kiosk token is empty")
    serializer = _serializer(token)
    max_age = cookie_days() * 24 * 3600
    open_paths = {f"{prefix}healthz"}
    cookie_path = prefix if prefix.endswith("/") else prefix + "/"

    def set_cookie(response: Response) -> Response:
        secure = request.is_secure or request.headers.get("X-Forwarded-Proto", "") == "https"
        response.set_cookie(
            COOKIE_NAME,
            serializer.dumps("wall"),
            max_age=max_age,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path=cookie_path,
        )
        return response

    @server.before_request
    def _kiosk_guard() -> Response | None:
        if request.path in open_paths:
            return None
        given = request.args.get(QUERY_PARAM)
        if given is not None:
            if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
                return _refused()
            args = request.args.to_dict(flat=False)
            args.pop(QUERY_PARAM, None)
            target = request.path + (f"?{urlencode(args, doseq=True)}" if args else "")
            response = redirect(target, code=303)
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            return set_cookie(response)
        cookie = request.cookies.get(COOKIE_NAME)
        if not cookie:
            return _refused()
        try:
            _, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:  # also SignatureExpired
            return _refused()
        if time.time() - signed_at.timestamp() > RENEW_AFTER_SECONDS:
            request.environ["jinfu.renew_kiosk_cookie"] = True
        return None

    @server.after_request
    def _renew(response: Response) -> Response:
        if request.environ.get("jinfu.renew_kiosk_cookie"):
            set_cookie(response)
        return response
