"""The wall's risk scene (风险预警): open signals by colour, by district on the tile map, and open
large-default cases with the enterprises' names masked.

The wall rotates between its scenes (``SCENES``) every ``SCENE_SECONDS``; ``?scene=risk`` or
``?scene=overview`` pins one. Like the rest of the wall: the figures and table rows are pure functions
of DataFrames, the callbacks' work is done by plain functions tests call (``risk_refresh_view``,
``risk_localize``, ``scene_class``), and ``register_risk_callbacks`` only wires them to an app. The
data come from ``core.services.risk_views`` as the wall actor (``platform_stats`` only).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html
from plotly.colors import sample_colorscale

from apps.bigscreen import ids
from apps.bigscreen.data import WALL_ACTOR
from apps.bigscreen.figures import TEXT, _contrast_text, _wrap, amount_unit, base_layout, empty_figure
from core.auth import Actor
from core.i18n import format_number, normalize_locale, translate

logger = logging.getLogger(__name__)

SCENES: tuple[str, ...] = ("overview", "risk")
SCENE_SECONDS = 45
CASE_ROWS = 8
# The colours banks use, most severe first, as they look on the dark wall.
COLOUR_HEX: dict[str, str] = {"red": "#ff4d4f", "orange": "#ff9c38", "yellow": "#ffd43b", "blue": "#4dabf7"}
# Calm navy (nothing flagged) to alarm red (the most flagged enterprises).
RISK_SCALE: list[list[float | str]] = [[0.0, "#13294b"], [0.4, "#8a4b2a"], [0.75, "#e8590c"], [1.0, "#ff3b3b"]]


class RiskDataProvider(Protocol):
    """What the risk scene reads; either call may raise a ``core.errors.JinfuError``."""

    def risk_map(self) -> Any: ...  # .by_colour, .by_district, .open_signals, .enterprises_flagged

    def open_cases(self) -> Any: ...  # .cases, .count, .amount


class RiskViewsProvider:
    """The production provider: ``core.services.risk_views`` called with the wall actor."""

    def __init__(self, actor: Actor = WALL_ACTOR) -> None:
        self.actor = actor

    def risk_map(self) -> Any:
        from core.services import risk_views

        return risk_views.risk_map(actor=self.actor)

    def open_cases(self) -> Any:
        from core.services import risk_views

        return risk_views.open_cases_masked(actor=self.actor, limit=CASE_ROWS)


# ------------------------------------------------------------------------------------ scene choice


def pinned_scene(search: str | None) -> str | None:
    """The scene ``?scene=`` pins (``risk`` or ``overview``), else None (the wall rotates)."""
    wanted = (parse_qs((search or "").lstrip("?")).get("scene") or [""])[0].strip().lower()
    return wanted if wanted in SCENES else None


def scene_for(search: str | None, ticks: int | None) -> str:
    """The scene to show after ``ticks`` rotation ticks, unless the URL pins one."""
    return pinned_scene(search) or SCENES[int(ticks or 0) % len(SCENES)]


def scene_class(scene: str) -> str:
    """The wall root's class for ``scene`` (the CSS shows one scene's parts, hides the others)."""
    return "wall" if scene == "overview" else f"wall wall-scene-{scene}"


# -------------------------------------------------------------------------------------- figures


def _count_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        return pd.Series(0, index=frame.index, dtype="int64")
    return pd.to_numeric(frame[name], errors="coerce").fillna(0).astype("int64")


def colour_figure(by_colour: pd.DataFrame, *, locale: str | None = None, measure: str = "enterprises") -> go.Figure:
    """A donut of open signals by colour (red, orange, yellow, blue) with the total in its centre.

    Args:
        by_colour: rows ``colour`` with ``signals`` and ``enterprises`` counts.
        measure: which count the slices show.
    """
    if by_colour is None or by_colour.empty or "colour" not in by_colour.columns:
        return empty_figure(locale)
    frame = by_colour.assign(_n=_count_column(by_colour, measure), _signals=_count_column(by_colour, "signals"))
    frame = frame[frame["colour"].isin(list(COLOUR_HEX))]
    total = int(frame["_n"].sum())
    if total == 0:
        return empty_figure(locale)
    names = [translate(f"riskui.colour.{c}", locale) for c in frame["colour"]]
    fig = go.Figure(layout=base_layout(locale))
    fig.add_pie(
        labels=names,
        values=frame["_n"],
        hole=0.58,
        sort=False,
        direction="clockwise",
        marker={"colors": [COLOUR_HEX[c] for c in frame["colour"]], "line": {"color": "#040a18", "width": 3}},
        textinfo="label+value",
        textfont={"size": 22},
        customdata=frame["_signals"],
        hovertemplate="%{label}: %{value:,} · "
        + translate("riskui.wall.hover_signals", locale)
        + " %{customdata:,}<extra></extra>",
    )
    fig.add_annotation(
        text=f"<b>{format_number(total, locale)}</b><br>{translate(f'riskui.wall.centre.{measure}', locale)}",
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 30, "color": TEXT},
    )
    fig.update_layout(margin={"l": 16, "r": 16, "t": 16, "b": 16})
    return fig


def risk_tile_map_figure(by_district: pd.DataFrame, *, locale: str | None = None) -> go.Figure:
    """One tile per district at (``tile_col``, ``tile_row``), redder the more enterprises are flagged.

    Each tile shows the district's name and its flagged enterprises; the hover adds the colours.
    """
    needed = {"tile_col", "tile_row"}
    if by_district is None or by_district.empty or not needed <= set(by_district.columns):
        return empty_figure(locale)
    frame = by_district.assign(
        tile_col=pd.to_numeric(by_district["tile_col"], errors="coerce"),
        tile_row=pd.to_numeric(by_district["tile_row"], errors="coerce"),
    ).dropna(subset=["tile_col", "tile_row"])
    if frame.empty:
        return empty_figure(locale)
    flagged = _count_column(frame, "enterprises")
    top = float(flagged.max()) or 1.0
    colours = sample_colorscale(RISK_SCALE, [min(max(v / top, 0.0), 1.0) for v in flagged])
    name_column = "name_en" if normalize_locale(locale) == "en" and "name_en" in frame.columns else "name"
    names = frame[name_column].fillna("").astype(str) if name_column in frame.columns else frame["district_code"]
    counts = {c: _count_column(frame, c) for c in COLOUR_HEX}
    fig = go.Figure(layout=base_layout(locale))
    half = 0.46
    xs, ys, labels, text_colours, hover = [], [], [], [], []
    for i, (col, row, name, value, colour) in enumerate(
        zip(frame["tile_col"], frame["tile_row"], names, flagged, colours, strict=True)
    ):
        fig.add_shape(type="rect", x0=col - half, x1=col + half, y0=row - half, y1=row + half, fillcolor=colour,
                      line={"color": "rgba(255, 160, 140, 0.45)", "width": 2}, layer="below")
        xs.append(col)
        ys.append(row)
        labels.append(f"{_wrap(name, locale)}<br><b>{format_number(int(value), locale)}</b>")
        text_colours.append(_contrast_text(colour))
        hover.append(
            translate(
                "riskui.wall.hover_district",
                locale,
                name=name,
                flagged=format_number(int(value), locale),
                red=format_number(int(counts["red"].iloc[i]), locale),
                orange=format_number(int(counts["orange"].iloc[i]), locale),
                yellow=format_number(int(counts["yellow"].iloc[i]), locale),
                blue=format_number(int(counts["blue"].iloc[i]), locale),
            )
        )
    fig.add_scatter(x=xs, y=ys, mode="text", text=labels, hovertext=hover, hoverinfo="text",
                    textfont={"size": 17 if locale == "en" else 21, "color": text_colours})
    cols = (float(frame["tile_col"].min()) - 0.55, float(frame["tile_col"].max()) + 0.55)
    rows = (float(frame["tile_row"].max()) + 0.55, float(frame["tile_row"].min()) - 0.55)
    fig.update_layout(margin={"l": 4, "r": 4, "t": 4, "b": 4})
    fig.update_xaxes(visible=False, range=list(cols), fixedrange=True)
    fig.update_yaxes(visible=False, range=list(rows), fixedrange=True, scaleanchor="x", scaleratio=1)
    return fig


def _local_day(value: Any, timezone: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(ZoneInfo(timezone)).strftime("%Y-%m-%d")


def case_rows(cases: pd.DataFrame, *, locale: str | None = None, timezone: str = "Asia/Shanghai") -> list[html.Tr]:
    """The body rows of the open-cases table: masked enterprise, district, amount, status, opened on.

    Args:
        cases: ``core.services.risk_views.CASE_COLUMNS`` (names already masked by the service).
    """
    loc = normalize_locale(locale)
    if cases is None or cases.empty:
        return [html.Tr(html.Td(translate("riskui.wall.no_cases", loc), colSpan=5, className="wall-risk-empty"))]
    divisor, unit_key = amount_unit(float(pd.to_numeric(cases["amount"], errors="coerce").fillna(0).max()))
    unit = translate(unit_key, loc)
    district = "district_name_en" if loc == "en" else "district_name"
    rows = []
    for case in cases.to_dict("records"):
        rows.append(
            html.Tr(
                [
                    html.Td(str(case.get("enterprise") or ""), className="wall-risk-name"),
                    html.Td(str(case.get(district) or "")),
                    html.Td(f"{format_number(float(case.get('amount') or 0) / divisor, loc, 1)} {unit}",
                            className="wall-risk-amount"),
                    html.Td(translate(f"riskui.case_status.{case.get('status')}", loc),
                            className=f"wall-risk-status wall-risk-status-{case.get('status')}"),
                    html.Td(_local_day(case.get("opened_at"), timezone)),
                ]
            )
        )
    return rows


def case_header(locale: str | None = None) -> html.Tr:
    return html.Tr([html.Th(translate(f"riskui.wall.case_col.{c}", locale))
                    for c in ("enterprise", "district", "amount", "status", "opened")])


def risk_kpi_display(risk_map: Any, cases: Any, locale: str | None = None) -> dict[str, tuple[str, str]]:
    """The risk counters as (value text, unit text) by name (``ids.RISK_KPI_NAMES``)."""
    loc = normalize_locale(locale)
    by_colour = getattr(risk_map, "by_colour", pd.DataFrame())
    red = 0
    if by_colour is not None and not by_colour.empty:
        red = int(_count_column(by_colour[by_colour["colour"] == "red"], "enterprises").sum())
    amount = float(getattr(cases, "amount", 0) or 0)
    divisor, unit_key = amount_unit(amount)
    return {
        "signals": (format_number(int(getattr(risk_map, "open_signals", 0)), loc),
                    translate("riskui.wall.unit.signals", loc)),
        "flagged": (format_number(int(getattr(risk_map, "enterprises_flagged", 0)), loc),
                    translate("riskui.wall.unit.firms", loc)),
        "red": (format_number(red, loc), translate("riskui.wall.unit.firms", loc)),
        "cases": (format_number(int(getattr(cases, "count", 0)), loc), translate("riskui.wall.unit.cases", loc)),
        "case_amount": (format_number(amount / divisor, loc, 2 if divisor > 10_000 else 1), translate(unit_key, loc)),
    }


# --------------------------------------------------------------------------------------- layout


def risk_labels(locale: str | None) -> dict[str, str]:
    """Every fixed text of the risk scene by component id, in ``locale``."""
    loc = normalize_locale(locale)
    labels = {ids.risk_kpi_label(n): translate(f"riskui.wall.kpi.{n}", loc) for n in ids.RISK_KPI_NAMES}
    labels.update({ids.risk_panel_title(n): translate(f"riskui.wall.panel.{n}", loc) for n in ids.RISK_PANEL_NAMES})
    return labels


def _graph(graph_id: str) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=go.Figure(layout=base_layout()), className="wall-graph",
                     config={"displayModeBar": False, "responsive": True}, style={"height": "100%", "width": "100%"})


def risk_scene_layout(locale: str | None) -> html.Div:
    """The risk scene (hidden by CSS until the wall root carries ``wall-scene-risk``)."""
    labels = risk_labels(locale)

    def kpi(name: str) -> html.Div:
        return html.Div(className=f"wall-kpi wall-risk-kpi wall-risk-kpi-{name}", children=[
            html.Div(labels[ids.risk_kpi_label(name)], id=ids.risk_kpi_label(name), className="wall-kpi-label"),
            html.Div(className="wall-kpi-figure", children=[
                html.Span("—", id=ids.risk_kpi_value(name), className="wall-kpi-value"),
                html.Span("", id=ids.risk_kpi_unit(name), className="wall-kpi-unit"),
            ]),
        ])

    def panel(name: str, body: Any) -> html.Section:
        return html.Section(className=f"wall-panel wall-risk-panel-{name}", children=[
            html.H2(labels[ids.risk_panel_title(name)], id=ids.risk_panel_title(name), className="wall-panel-title"),
            html.Div(body, className="wall-panel-body"),
        ])

    table = html.Table(className="wall-risk-table", children=[
        html.Thead(case_header(locale), id=ids.risk_cases_header()), html.Tbody(case_rows(pd.DataFrame(), locale=locale), id=ids.risk_cases_table())
    ])
    return html.Div(id=ids.risk_scene(), className="wall-risk", children=[
        html.Section(className="wall-kpis wall-risk-kpis", children=[kpi(n) for n in ids.RISK_KPI_NAMES]),
        html.Main(className="wall-body wall-risk-body", children=[
            panel("colours", _graph(ids.risk_colour_graph())),
            panel("tiles", _graph(ids.risk_tile_map_graph())),
            panel("cases", html.Div(table, className="wall-risk-table-wrap")),
        ]),
    ])


def scene_components(locale: str | None) -> list[Any]:
    """What the wall's layout adds for the risk scene: the rotation ticker and the scene itself."""
    return [dcc.Interval(id=ids.scene_interval(), interval=SCENE_SECONDS * 1000, n_intervals=0),
            risk_scene_layout(locale)]


# ------------------------------------------------------------------------------------ callbacks

RISK_LABEL_OUTPUTS: list[tuple[str, str]] = [
    *[(ids.risk_kpi_label(n), "children") for n in ids.RISK_KPI_NAMES],
    *[(ids.risk_panel_title(n), "children") for n in ids.RISK_PANEL_NAMES],
    (ids.risk_cases_header(), "children"),
]
RISK_REFRESH_OUTPUTS: list[tuple[str, str]] = [
    *[(ids.risk_kpi_value(n), "children") for n in ids.RISK_KPI_NAMES],
    *[(ids.risk_kpi_unit(n), "children") for n in ids.RISK_KPI_NAMES],
    (ids.risk_colour_graph(), "figure"),
    (ids.risk_tile_map_graph(), "figure"),
    (ids.risk_cases_table(), "children"),
]


def risk_localize(search: str | None, *, default_locale: str | None) -> dict[tuple[str, str], Any]:
    """The risk scene's fixed labels in the language ``?lang=`` asks for."""
    lang = (parse_qs((search or "").lstrip("?")).get("lang") or [""])[0].strip()
    locale = normalize_locale(lang or default_locale)
    labels = {**risk_labels(locale), ids.risk_cases_header(): case_header(locale)}
    return {(cid, prop): labels[cid] for cid, prop in RISK_LABEL_OUTPUTS}


def risk_refresh_view(provider: RiskDataProvider, settings: Mapping[str, Any] | None) -> dict[tuple[str, str], Any]:
    """Read the risk provider once and build every output of the scene, keyed by (id, property).

    On a failure the counters and charts keep what they showed and the cases table says the data are
    unavailable, in the page's language — never a traceback (the overview's overlay is left alone).
    """
    settings = settings or {}
    locale = normalize_locale(settings.get("locale"))
    timezone = str(settings.get("timezone") or "Asia/Shanghai")
    try:
        risk_map = provider.risk_map()
        cases = provider.open_cases()
    except Exception:  # noqa: BLE001 - the wall keeps running whatever the data layer does
        logger.exception("wall risk scene refresh failed")
        values: dict[tuple[str, str], Any] = dict.fromkeys(RISK_REFRESH_OUTPUTS, dash.no_update)
        values[(ids.risk_cases_table(), "children")] = [
            html.Tr(html.Td(translate("wall.message.unavailable", locale), colSpan=5, className="wall-risk-empty"))
        ]
        return values
    values = {}
    for name, (value, unit) in risk_kpi_display(risk_map, cases, locale).items():
        values[(ids.risk_kpi_value(name), "children")] = value
        values[(ids.risk_kpi_unit(name), "children")] = unit
    values[(ids.risk_colour_graph(), "figure")] = colour_figure(risk_map.by_colour, locale=locale)
    values[(ids.risk_tile_map_graph(), "figure")] = risk_tile_map_figure(risk_map.by_district, locale=locale)
    values[(ids.risk_cases_table(), "children")] = case_rows(cases.cases, locale=locale, timezone=timezone)
    return values


def register_risk_callbacks(app: dash.Dash, provider: RiskDataProvider, *, default_locale: str | None) -> None:
    """Wire the scene rotation, the risk labels and the risk refresh to ``app``."""

    @app.callback(Output(ids.root(), "className"), Input(ids.scene_interval(), "n_intervals"),
                  Input(ids.location(), "search"))
    def _rotate(ticks: int | None, search: str | None) -> str:
        return scene_class(scene_for(search, ticks))

    @app.callback([Output(c, p) for c, p in RISK_LABEL_OUTPUTS], Input(ids.location(), "search"))
    def _risk_labels(search: str | None) -> list[Any]:
        values = risk_localize(search, default_locale=default_locale)
        return [values[o] for o in RISK_LABEL_OUTPUTS]

    @app.callback([Output(c, p) for c, p in RISK_REFRESH_OUTPUTS], Input(ids.refresh_interval(), "n_intervals"),
                  Input(ids.settings_store(), "data"))
    def _risk_refresh(_n: int | None, settings: Mapping[str, Any] | None) -> list[Any]:
        values = risk_refresh_view(provider, settings)
        return [values[o] for o in RISK_REFRESH_OUTPUTS]

