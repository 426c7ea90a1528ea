"""The wall's callbacks: localize the screen from ``?lang=``, refresh the data on an interval, tick the clock.

The work is done by plain functions (``localize``, ``refresh_view``) that tests call directly;
``register_callbacks(app, provider, ...)`` only wires them to a given app, so a test can build a
fresh app with a fake provider. The clock ticks in the browser (a clientside callback), so it costs
the server nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import dash
from dash import Input, Output

from apps.bigscreen import figures, ids
from apps.bigscreen.data import WallDataProvider, read_snapshot
from apps.bigscreen.layout import as_of_text, kpi_display, static_labels
from core.errors import JinfuError
from core.i18n import normalize_locale, translate

logger = logging.getLogger(__name__)

# (component id, property) of every text the localize callback writes, in output order.
LABEL_OUTPUTS: list[tuple[str, str]] = [
    (ids.title(), "children"),
    (ids.subtitle(), "children"),
    (ids.message_title(), "children"),
    *[(ids.kpi_label(name), "children") for name in ids.KPI_NAMES],
    *[(ids.kpi_unit(name), "children") for name in ids.KPI_NAMES],
    *[(ids.panel_title(name), "children") for name in ids.PANEL_NAMES],
]
LOCALIZE_OUTPUTS: list[tuple[str, str]] = [
    (ids.settings_store(), "data"),
    (ids.root(), "lang"),
    *LABEL_OUTPUTS,
]

# (component id, property) of everything one refresh writes, in output order.
REFRESH_OUTPUTS: list[tuple[str, str]] = [
    (ids.as_of(), "children"),
    *[(ids.kpi_value(name), "children") for name in ids.KPI_NAMES],
    (ids.trend_graph(), "figure"),
    (ids.tile_map_graph(), "figure"),
    (ids.ranking_graph(), "figure"),
    (ids.message(), "hidden"),
    (ids.message_body(), "children"),
]

CLOCK_JS = """
function (n, settings) {
    var s = settings || {};
    var options = {timeZone: s.timezone || 'Asia/Shanghai', year: 'numeric', month: '2-digit',
                   day: '2-digit', weekday: 'short', hour: '2-digit', minute: '2-digit',
                   second: '2-digit', hour12: false};
    try {
        return new Intl.DateTimeFormat(s.locale === 'en' ? 'en-GB' : 'zh-CN', options).format(new Date());
    } catch (e) {
        return new Date().toLocaleString();
    }
}
"""


def resolve_locale(search: str | None, default: str | None = None) -> str:
    """The locale asked for by ``?lang=`` (``en``, ``zh``, ``zh_CN`` …), else ``default``."""
    query = parse_qs((search or "").lstrip("?"))
    requested = (query.get("lang") or [""])[0].strip()
    return normalize_locale(requested or default)


def localize(
    search: str | None, *, default_locale: str | None, timezone: str, city: Mapping[str, Any]
) -> dict[tuple[str, str], Any]:
    """Every locale-dependent output for the page at ``search``, keyed by (id, property)."""
    locale = resolve_locale(search, default_locale)
    labels = static_labels(locale, city)
    values: dict[tuple[str, str], Any] = {
        (ids.settings_store(), "data"): {"locale": locale, "timezone": timezone},
        (ids.root(), "lang"): "en" if locale == "en" else "zh-CN",
    }
    for component_id, prop in LABEL_OUTPUTS:
        values[(component_id, prop)] = labels[component_id]
    return values


def _failure_message(exc: Exception, locale: str) -> str:
    if isinstance(exc, JinfuError):
        return exc.message(locale)
    return translate("wall.message.unavailable", locale)


def refresh_view(
    provider: WallDataProvider, settings: Mapping[str, Any] | None, *, refresh_seconds: int
) -> dict[tuple[str, str], Any]:
    """Read the provider once and build every refreshed output, keyed by (id, property).

    If the provider fails, the counters and charts keep what they showed (``dash.no_update``) and
    the full-screen message appears with the error's text in the page's language — never a traceback.
    """
    settings = settings or {}
    locale = normalize_locale(settings.get("locale"))
    timezone = str(settings.get("timezone") or "Asia/Shanghai")
    try:
        snapshot = read_snapshot(provider)
        values: dict[tuple[str, str], Any] = {
            (ids.as_of(), "children"): as_of_text(snapshot.kpis.get("as_of"), locale, timezone)
        }
        for name, text in kpi_display(snapshot.kpis, locale).items():
            values[(ids.kpi_value(name), "children")] = text
        values[(ids.trend_graph(), "figure")] = figures.trend_figure(snapshot.trend, locale=locale)
        values[(ids.tile_map_graph(), "figure")] = figures.tile_map_figure(snapshot.districts, locale=locale)
        values[(ids.ranking_graph(), "figure")] = figures.ranking_figure(snapshot.districts, locale=locale)
        values[(ids.message(), "hidden")] = True
        values[(ids.message_body(), "children")] = ""
        return values
    except JinfuError as exc:
        logger.warning("wall data unavailable: %s", exc)
        problem: Exception = exc
    except Exception as exc:  # noqa: BLE001 - the wall must keep running whatever the data layer does
        logger.exception("wall refresh failed")
        problem = exc
    values = dict.fromkeys(REFRESH_OUTPUTS, dash.no_update)
    values[(ids.message(), "hidden")] = False
    values[(ids.message_body(), "children")] = [
        _failure_message(problem, locale),
        " ",
        translate("wall.message.retry", locale, seconds=refresh_seconds),
    ]
    return values


def register_callbacks(
    app: dash.Dash,
    provider: WallDataProvider,
    *,
    default_locale: str | None,
    timezone: str,
    city: Mapping[str, Any],
    refresh_seconds: int,
) -> None:
    """Wire the localize, refresh and clock callbacks to ``app``."""

    @app.callback(
        [Output(component_id, prop) for component_id, prop in LOCALIZE_OUTPUTS],
        Input(ids.location(), "search"),
    )
    def _localize(search: str | None) -> list[Any]:
        values = localize(search, default_locale=default_locale, timezone=timezone, city=city)
        return [values[output] for output in LOCALIZE_OUTPUTS]

    @app.callback(
        [Output(component_id, prop) for component_id, prop in REFRESH_OUTPUTS],
        Input(ids.refresh_interval(), "n_intervals"),
        Input(ids.settings_store(), "data"),
    )
    def _refresh(_n_intervals: int | None, settings: Mapping[str, Any] | None) -> list[Any]:
        values = refresh_view(provider, settings, refresh_seconds=refresh_seconds)
        return [values[output] for output in REFRESH_OUTPUTS]

    app.clientside_callback(
        CLOCK_JS,
        Output(ids.clock(), "children"),
        Input(ids.clock_interval(), "n_intervals"),
        Input(ids.settings_store(), "data"),
    )
