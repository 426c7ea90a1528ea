"""The wall display (大屏) as a Dash app: ``create_app()`` builds a fresh app; ``server`` is its WSGI app.

Nothing here touches the database at import or at app creation: the layout is a function evaluated
per page load and the data arrive through the refresh callback. ``server`` is created lazily on
first access (``from apps.bigscreen.app import server``), so importing this module in tests is free;
gunicorn uses ``apps.bigscreen.wsgi:server``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash

from apps.bigscreen.callbacks import register_callbacks
from apps.bigscreen.data import AnalyticsProvider, WallDataProvider
from apps.bigscreen.kiosk import install_kiosk_guard
from apps.bigscreen.kiosk import kiosk_token as configured_kiosk_token
from apps.bigscreen.layout import build_layout
from apps.bigscreen.risk_scene import RiskDataProvider, RiskViewsProvider, register_risk_callbacks
from core.config import get_settings
from core.i18n import normalize_locale, translate
from core.reference import city as reference_city

ASSETS_DIR = Path(__file__).resolve().parent / "assets"


def create_app(
    *,
    locale: str | None = None,
    data_provider: WallDataProvider | None = None,
    kiosk_token: str | None = None,
    risk_provider: RiskDataProvider | None = None,
) -> dash.Dash:
    """A new wall app; ``locale`` is the default language (``?lang=`` overrides it per screen).

    ``risk_provider`` feeds the risk scene (default: ``core.services.risk_views`` as the wall actor).
    Every request but ``healthz`` needs the kiosk token (``apps.bigscreen.kiosk``): ``kiosk_token``,
    else ``WALL_KIOSK_TOKEN`` (derived from ``SECRET_KEY`` in development and test when unset).
    """
    settings = get_settings()
    token = kiosk_token or configured_kiosk_token()
    default_locale = normalize_locale(locale or settings.default_locale)
    provider = data_provider if data_provider is not None else AnalyticsProvider()
    city = reference_city()
    timezone = settings.display_timezone
    refresh_seconds = settings.bigscreen_refresh_seconds

    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS_DIR),
        title=translate("wall.page_title", default_locale),
        update_title=None,
        serve_locally=True,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )

    def layout() -> Any:
        return build_layout(
            locale=default_locale, city=city, timezone=timezone, refresh_seconds=refresh_seconds
        )

    app.layout = layout
    register_callbacks(
        app,
        provider,
        default_locale=default_locale,
        timezone=timezone,
        city=city,
        refresh_seconds=refresh_seconds,
    )
    register_risk_callbacks(
        app, risk_provider if risk_provider is not None else RiskViewsProvider(), default_locale=default_locale
    )

    # A liveness probe that reads no data, under the same prefix as the app (DASH_URL_BASE_PATHNAME);
    # the only path the kiosk guard leaves open.
    @app.server.get(f"{app.config.routes_pathname_prefix}healthz")
    def _healthz() -> tuple[str, int]:
        return "ok", 200

    install_kiosk_guard(app.server, token=token, prefix=app.config.routes_pathname_prefix)

    return app


def __getattr__(name: str) -> Any:
    # ``server`` on first access only, so importing this module never builds an app as a side effect.
    if name == "server":
        global server
        server = create_app().server
        return server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
