"""The wall's screen: header, headline counters, three chart panels and a full-screen message overlay.

``build_layout`` is evaluated per page load and never reads the database: the counters and charts
start blank and the first refresh callback (fired on load) fills them. The display helpers here
(``kpi_display``, ``as_of_text``, ``static_labels``) are pure, so callbacks and tests share them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
from dash import dcc, html

from apps.bigscreen import ids
from apps.bigscreen.figures import base_layout
from apps.bigscreen.risk_scene import scene_components
from core.i18n import format_number, normalize_locale, translate

YI = Decimal(100_000_000)
DASH = "—"


def _count(value: Any, locale: str) -> str:
    return DASH if value is None else format_number(int(value), locale)


def _yi(value: Any, locale: str) -> str:
    if value is None:
        return DASH
    return format_number(Decimal(str(value)) / YI, locale, 2)


def _rate(value: Any, locale: str) -> str:
    if value is None or value != value:  # None or NaN
        return DASH
    return format_number(float(value), locale, 2)


# Counter name → (key in ``platform_kpis``, formatter). Order and names follow ``ids.KPI_NAMES``.
KPI_SPECS: dict[str, tuple[str, Callable[[Any, str], str]]] = {
    "enterprises": ("enterprises", _count),
    "institutions": ("institutions", _count),
    "products": ("products_published", _count),
    "credit": ("credit_granted_yuan", _yi),
    "first_loans": ("first_loans", _count),
    "avg_rate": ("avg_rate_pct", _rate),
}


def kpi_display(kpis: Mapping[str, Any], locale: str | None = None) -> dict[str, str]:
    """The headline counters as display text (numbers only; units are separate labels)."""
    loc = normalize_locale(locale)
    return {name: formatter(kpis.get(key), loc) for name, (key, formatter) in KPI_SPECS.items()}


def as_of_text(as_of: datetime | None, locale: str | None = None, timezone: str = "Asia/Shanghai") -> str:
    """``数据更新于 2025-06-01 14:30`` in the display timezone (naive datetimes are taken as UTC)."""
    if as_of is None:
        return translate("wall.as_of_pending", locale)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=ZoneInfo("UTC"))
    local = as_of.astimezone(ZoneInfo(timezone))
    return translate("wall.as_of", locale, time=local.strftime("%Y-%m-%d %H:%M"))


def city_name(city: Mapping[str, Any], locale: str | None = None) -> str:
    if normalize_locale(locale) == "en":
        return str(city.get("name_en") or city.get("name") or "")
    return str(city.get("name") or "")


def static_labels(locale: str | None, city: Mapping[str, Any]) -> dict[str, str]:
    """Every fixed text of the screen by component id, in ``locale``."""
    loc = normalize_locale(locale)
    labels = {
        ids.title(): translate("wall.title", loc, city=city_name(city, loc)),
        ids.subtitle(): translate("wall.subtitle", loc),
        ids.message_title(): translate("wall.message.title", loc),
    }
    for name in ids.KPI_NAMES:
        labels[ids.kpi_label(name)] = translate(f"wall.kpi.{name}", loc)
        labels[ids.kpi_unit(name)] = translate(f"wall.unit.{name}", loc)
    for name in ids.PANEL_NAMES:
        labels[ids.panel_title(name)] = translate(f"wall.panel.{name}", loc)
    return labels


def blank_figure() -> go.Figure:
    """A transparent, axis-less placeholder shown until the first refresh arrives."""
    fig = go.Figure(layout=base_layout())
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(
        id=graph_id,
        figure=blank_figure(),
        className="wall-graph",
        config={"displayModeBar": False, "responsive": True, "staticPlot": False},
        style={"height": "100%", "width": "100%"},
    )


def _panel(name: str, graph_id: str, labels: Mapping[str, str]) -> html.Section:
    return html.Section(
        className=f"wall-panel wall-panel-{name}",
        children=[
            html.H2(labels[ids.panel_title(name)], id=ids.panel_title(name), className="wall-panel-title"),
            html.Div(_graph(graph_id), className="wall-panel-body"),
        ],
    )


def _kpi(name: str, labels: Mapping[str, str]) -> html.Div:
    return html.Div(
        className=f"wall-kpi wall-kpi-{name}",
        children=[
            html.Div(labels[ids.kpi_label(name)], id=ids.kpi_label(name), className="wall-kpi-label"),
            html.Div(
                className="wall-kpi-figure",
                children=[
                    html.Span(DASH, id=ids.kpi_value(name), className="wall-kpi-value"),
                    html.Span(labels[ids.kpi_unit(name)], id=ids.kpi_unit(name), className="wall-kpi-unit"),
                ],
            ),
        ],
    )


def build_layout(
    *,
    locale: str | None,
    city: Mapping[str, Any],
    timezone: str,
    refresh_seconds: int,
) -> html.Div:
    """The whole screen in ``locale`` (the ``?lang=`` query string re-labels it after load)."""
    loc = normalize_locale(locale)
    labels = static_labels(loc, city)
    return html.Div(
        id=ids.root(),
        className="wall",
        lang="en" if loc == "en" else "zh-CN",
        children=[
            dcc.Location(id=ids.location(), refresh=False),
            dcc.Store(id=ids.settings_store(), data={"locale": loc, "timezone": timezone}),
            dcc.Interval(id=ids.refresh_interval(), interval=refresh_seconds * 1000, n_intervals=0),
            dcc.Interval(id=ids.clock_interval(), interval=1000, n_intervals=0),
            html.Header(
                className="wall-header",
                children=[
                    html.Div(
                        translate("wall.as_of_pending", loc), id=ids.as_of(), className="wall-header-side"
                    ),
                    html.Div(
                        className="wall-header-center",
                        children=[
                            html.H1(labels[ids.title()], id=ids.title(), className="wall-title"),
                            html.Div(labels[ids.subtitle()], id=ids.subtitle(), className="wall-subtitle"),
                        ],
                    ),
                    html.Div("", id=ids.clock(), className="wall-header-side wall-clock"),
                ],
            ),
            html.Section(className="wall-kpis", children=[_kpi(name, labels) for name in ids.KPI_NAMES]),
            html.Main(
                className="wall-body",
                children=[
                    _panel("trend", ids.trend_graph(), labels),
                    _panel("tiles", ids.tile_map_graph(), labels),
                    _panel("ranking", ids.ranking_graph(), labels),
                ],
            ),
            *scene_components(loc),  # the risk scene (issue 7) and the scene rotation
            html.Div(
                id=ids.message(),
                className="wall-message",
                hidden=True,
                children=html.Div(
                    className="wall-message-card",
                    children=[
                        html.H2(labels[ids.message_title()], id=ids.message_title()),
                        html.P("", id=ids.message_body()),
                    ],
                ),
            ),
        ],
    )
