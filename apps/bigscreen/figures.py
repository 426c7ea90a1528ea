"""The wall's charts as pure functions: DataFrames in, ``plotly.graph_objects.Figure`` out, no I/O.

Every figure shares one dark theme sized for a 1920×1080 LED wall seen from several metres, and
every figure renders from an empty DataFrame (an empty platform shows "no data yet", not a crash).
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from core.i18n import format_number, translate

FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
TEXT = "#dce8f7"
MUTED = "#8aa4c8"
GRID = "rgba(120, 160, 220, 0.16)"
CYAN = "#2ad4ff"
GOLD = "#ffc845"
GREEN = "#3ee08f"
# Deep navy (little credit) to bright gold (most credit): readable on the dark wall at any level.
AMOUNT_SCALE: list[list[float | str]] = [
    [0.0, "#12305a"],
    [0.35, "#1a6fb5"],
    [0.7, "#25c2e0"],
    [1.0, "#ffd666"],
]
YI = 100_000_000
WAN = 10_000


def amount_unit(max_yuan: float) -> tuple[float, str]:
    """The divisor and unit key for amounts whose largest value is ``max_yuan`` (亿元, else 万元)."""
    if max_yuan >= YI:
        return float(YI), "unit.yi_yuan"
    return float(WAN), "unit.wan_yuan"


def _amount_digits(divisor: float, largest_scaled: float) -> int:
    if divisor == YI:
        return 2
    return 1 if largest_scaled < 1000 else 0


def _column(frame: pd.DataFrame, name: str, fill: float = 0.0) -> pd.Series:
    """A numeric column (missing or non-numeric values become ``fill``), aligned with ``frame``."""
    if name not in frame.columns:
        return pd.Series(fill, index=frame.index, dtype="float64")
    return pd.to_numeric(frame[name], errors="coerce").fillna(fill).astype("float64")


def _names(frame: pd.DataFrame, locale: str) -> pd.Series:
    preferred = "name_en" if locale == "en" else "name"
    for column in (preferred, "name", "district_code"):
        if column in frame.columns:
            return frame[column].fillna("").astype(str)
    return pd.Series("", index=frame.index, dtype="object")


def base_layout(locale: str | None = None) -> dict:
    """Shared dark theme: transparent paper (the panel draws the background) and large type."""
    return {
        "template": "plotly_dark",
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"family": FONT_FAMILY, "size": 18, "color": TEXT},
        "margin": {"l": 16, "r": 16, "t": 16, "b": 16},
        "showlegend": False,
        "hoverlabel": {"font": {"family": FONT_FAMILY, "size": 18}},
        "separators": ".,",
    }


def empty_figure(locale: str | None = None) -> go.Figure:
    """A blank panel saying "no data yet" in the wall's language."""
    fig = go.Figure(layout=base_layout(locale))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(
        text=translate("wall.figure.empty", locale),
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 30, "color": MUTED},
    )
    return fig


def trend_figure(trend: pd.DataFrame, *, locale: str | None = None) -> go.Figure:
    """Monthly bars of the amount lent (亿元, left axis) with lines of loans and first loans (right axis)."""
    if trend is None or trend.empty or "month" not in trend.columns:
        return empty_figure(locale)
    frame = trend.assign(month=pd.to_datetime(trend["month"], errors="coerce")).dropna(subset=["month"])
    if frame.empty:
        return empty_figure(locale)
    frame = frame.sort_values("month")
    amount_yi = _column(frame, "amount_yuan") / YI
    unit = translate("unit.yi_yuan", locale)
    fig = go.Figure(layout=base_layout(locale))
    fig.add_bar(
        x=frame["month"],
        y=amount_yi,
        name=translate("wall.trend.amount", locale, unit=unit),
        marker={"color": "rgba(42, 212, 255, 0.55)", "line": {"color": CYAN, "width": 1}},
        hovertemplate="%{x|%Y-%m}: %{y:.2f} " + unit + "<extra></extra>",
    )
    for column, key, colour, dash in (
        ("loans", "wall.trend.loans", GOLD, "solid"),
        ("first_loans", "wall.trend.first_loans", GREEN, "dot"),
    ):
        fig.add_scatter(
            x=frame["month"],
            y=_column(frame, column),
            name=translate(key, locale),
            yaxis="y2",
            mode="lines+markers",
            line={"color": colour, "width": 4, "dash": dash},
            marker={"size": 8, "color": colour},
            hovertemplate="%{x|%Y-%m}: %{y:,.0f}<extra></extra>",
        )
    fig.update_layout(
        showlegend=True,
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.0,
            "yanchor": "bottom",
            "font": {"size": 18},
            "bgcolor": "rgba(0,0,0,0)",
        },
        margin={"l": 70, "r": 70, "t": 48, "b": 50},
        bargap=0.28,
        xaxis={"tickformat": "%Y-%m", "gridcolor": GRID, "showgrid": False, "tickfont": {"size": 16}},
        yaxis={
            "title": {"text": unit, "font": {"size": 16, "color": CYAN}},
            "gridcolor": GRID,
            "rangemode": "tozero",
            "tickfont": {"size": 16, "color": CYAN},
            "zeroline": False,
        },
        yaxis2={
            "title": {
                "text": translate("wall.trend.count_axis", locale),
                "font": {"size": 16, "color": GOLD},
            },
            "overlaying": "y",
            "side": "right",
            "tickmode": "auto",
            "tickformat": ",d",
            "showgrid": False,
            "rangemode": "tozero",
            "tickfont": {"size": 16, "color": GOLD},
            "zeroline": False,
        },
    )
    return fig


def _wrap(name: str, locale: str | None) -> str:
    """Break long English names over lines so they fit a tile; Chinese names are short already."""
    if locale != "en" or len(name) <= 10:
        return name
    return "<br>".join(textwrap.wrap(name, width=10)) or name


def _contrast_text(colour: str) -> str:
    """Dark text on light tiles, light text on dark ones."""
    red, green, blue = _rgb(colour)
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#0b1a33" if luminance > 150 else "#ffffff"


def _rgb(colour: str) -> tuple[float, float, float]:
    colour = colour.strip()
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
    return tuple(float(p) for p in parts[:3])  # type: ignore[return-value]


def tile_map_figure(districts: pd.DataFrame, *, locale: str | None = None) -> go.Figure:
    """One square tile per district at (``tile_col``, ``tile_row``), coloured by the credit granted.

    No map service: the tiles are drawn as shapes in a plain grid, row 0 at the top, each labelled
    with the district's name and amount; a colour bar gives the unit.
    """
    needed = {"tile_col", "tile_row"}
    if districts is None or districts.empty or not needed <= set(districts.columns):
        return empty_figure(locale)
    frame = districts.assign(
        tile_col=pd.to_numeric(districts["tile_col"], errors="coerce"),
        tile_row=pd.to_numeric(districts["tile_row"], errors="coerce"),
    ).dropna(subset=["tile_col", "tile_row"])
    if frame.empty:
        return empty_figure(locale)
    amounts = _column(frame, "amount_yuan")
    loans = _column(frame, "loans")
    names = _names(frame, locale)
    divisor, unit_key = amount_unit(float(amounts.max()))
    unit = translate(unit_key, locale)
    scaled = amounts / divisor
    digits = _amount_digits(divisor, float(scaled.max()))
    top = float(scaled.max()) or 1.0
    colours = sample_colorscale(AMOUNT_SCALE, [min(max(v / top, 0.0), 1.0) for v in scaled])

    fig = go.Figure(layout=base_layout(locale))
    half = 0.46
    label_x, label_y, labels, text_colours, hover = [], [], [], [], []
    for col, row, name, value, count, colour in zip(
        frame["tile_col"], frame["tile_row"], names, scaled, loans, colours, strict=True
    ):
        fig.add_shape(
            type="rect",
            x0=col - half,
            x1=col + half,
            y0=row - half,
            y1=row + half,
            fillcolor=colour,
            line={"color": "rgba(160, 210, 255, 0.55)", "width": 2},
            layer="below",
        )
        amount_text = format_number(value, locale, digits)
        label_x.append(col)
        label_y.append(row)
        labels.append(f"{_wrap(name, locale)}<br><b>{amount_text}</b>")
        text_colours.append(_contrast_text(colour))
        hover.append(
            translate(
                "wall.figure.hover_district",
                locale,
                name=name,
                amount=amount_text,
                unit=unit,
                loans=format_number(count, locale),
            )
        )
    fig.add_scatter(
        x=label_x,
        y=label_y,
        mode="text",
        text=labels,
        textfont={"size": 17 if locale == "en" else 21, "color": text_colours},
        hovertext=hover,
        hoverinfo="text",
    )
    # An invisible trace that carries the colour bar (the tiles themselves are shapes).
    fig.add_scatter(
        x=[float(frame["tile_col"].min())] * 2,
        y=[float(frame["tile_row"].min())] * 2,
        mode="markers",
        marker={
            "size": 0.1,
            "opacity": 0,
            "color": [0.0, top],
            "colorscale": AMOUNT_SCALE,
            "cmin": 0.0,
            "cmax": top,
            "showscale": True,
            "colorbar": {
                "title": {"text": unit, "font": {"size": 16}, "side": "right"},
                "orientation": "h",
                "x": 0.5,
                "xanchor": "center",
                "y": 0,
                "yanchor": "top",
                "tickfont": {"size": 15},
                "thickness": 14,
                "len": 0.7,
                "outlinewidth": 0,
            },
        },
        hoverinfo="skip",
    )
    cols = (float(frame["tile_col"].min()) - 0.55, float(frame["tile_col"].max()) + 0.55)
    rows = (float(frame["tile_row"].max()) + 0.55, float(frame["tile_row"].min()) - 0.55)
    fig.update_layout(margin={"l": 4, "r": 4, "t": 4, "b": 60})
    fig.update_xaxes(visible=False, range=list(cols), fixedrange=True)
    fig.update_yaxes(visible=False, range=list(rows), fixedrange=True, scaleanchor="x", scaleratio=1)
    return fig


def ranking_figure(
    districts: pd.DataFrame, *, locale: str | None = None, top: int | None = None
) -> go.Figure:
    """Districts as horizontal bars by credit granted, the largest at the top, each bar labelled."""
    if districts is None or districts.empty:
        return empty_figure(locale)
    frame = districts.assign(
        _amount=_column(districts, "amount_yuan"), _name=_names(districts, locale)
    ).sort_values("_amount", ascending=False, kind="stable")
    if top:
        frame = frame.head(top)
    divisor, unit_key = amount_unit(float(frame["_amount"].max()))
    unit = translate(unit_key, locale)
    scaled = frame["_amount"] / divisor
    digits = _amount_digits(divisor, float(scaled.max()))
    peak = float(scaled.max()) or 1.0
    # Plotly draws the first category at the bottom; reverse so the leader sits on top.
    scaled, names = scaled.iloc[::-1], frame["_name"].iloc[::-1]
    fig = go.Figure(layout=base_layout(locale))
    fig.add_bar(
        x=scaled,
        y=names,
        orientation="h",
        marker={
            "color": scaled,
            "colorscale": AMOUNT_SCALE,
            "cmin": 0.0,
            "cmax": peak,
            "line": {"width": 0},
        },
        text=[format_number(v, locale, digits) for v in scaled],
        textposition="outside",
        cliponaxis=False,
        textfont={"size": 18, "color": TEXT},
        hovertemplate="%{y}: %{x:,." + str(digits) + "f} " + unit + "<extra></extra>",
    )
    fig.update_layout(
        margin={"l": 8, "r": 24, "t": 36, "b": 8},
        bargap=0.32,
        annotations=[
            {
                "text": translate("wall.figure.amount", locale, unit=unit),
                "x": 1,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "right",
                "yanchor": "bottom",
                "yshift": 6,
                "showarrow": False,
                "font": {"size": 16, "color": MUTED},
            }
        ],
    )
    fig.update_xaxes(visible=False, range=[0, peak * 1.28], fixedrange=True)
    fig.update_yaxes(
        automargin=True, tickfont={"size": 17 if locale == "en" else 19}, fixedrange=True, showgrid=False
    )
    return fig
