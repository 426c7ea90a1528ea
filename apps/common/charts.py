"""Plotly figure builders shared by the apps: pure functions of DataFrames, styled for phones and desktops."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

PALETTE = ["#1f6feb", "#d9480f", "#2b8a3e", "#7048e8", "#e8590c", "#0c8599"]
CHART_CONFIG = {"displayModeBar": False, "responsive": True}


def _style(fig: go.Figure, *, height: int, title: str | None = None) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 36 if title else 8, "b": 8},
        title={"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"} if title else None,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
        hovermode="x unified",
        colorway=PALETTE,
        font={"size": 12},
    )
    fig.update_xaxes(title=None, automargin=True)
    fig.update_yaxes(title=None, automargin=True, rangemode="tozero")
    return fig


def sparkline(
    frame: pd.DataFrame, x: str, y: str, *, title: str, colour: str = PALETTE[0], height: int = 200
):
    """A small area line of one monthly series."""
    fig = go.Figure(
        go.Scatter(
            x=frame[x],
            y=frame[y],
            mode="lines+markers",
            line={"color": colour, "width": 2},
            marker={"size": 4},
            fill="tozeroy",
            fillcolor="rgba(31,111,235,0.08)",
            name=title,
            connectgaps=False,
        )
    )
    fig.update_xaxes(tickformat="%y-%m", nticks=6)
    return _style(fig, height=height, title=title)


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    title: str | None = None,
    horizontal: bool = False,
    height: int = 320,
):
    """One bar series (horizontal for long category names)."""
    if horizontal:
        trace = go.Bar(x=frame[y], y=frame[x], orientation="h", marker_color=PALETTE[0], text=frame[y])
    else:
        trace = go.Bar(x=frame[x], y=frame[y], marker_color=PALETTE[0], text=frame[y])
    fig = go.Figure(trace)
    fig.update_traces(
        textposition="auto", cliponaxis=False, texttemplate="%{x:,.0f}" if horizontal else "%{y:,.0f}"
    )
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    return _style(fig, height=height, title=title)


def trend(
    frame: pd.DataFrame, x: str, bars_col: str, lines: dict[str, str], *, bar_name: str, height: int = 360
):
    """Monthly amounts as bars (left axis) with counts as lines (right axis)."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=frame[x], y=frame[bars_col], name=bar_name, marker_color="rgba(31,111,235,0.35)"))
    for i, (column, name) in enumerate(lines.items()):
        fig.add_trace(
            go.Scatter(
                x=frame[x],
                y=frame[column],
                name=name,
                mode="lines+markers",
                yaxis="y2",
                line={"color": PALETTE[(i + 1) % len(PALETTE)], "width": 2},
                marker={"size": 4},
            )
        )
    fig.update_layout(
        yaxis2={
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickformat": ",d",
        }
    )
    fig.update_xaxes(tickformat="%Y-%m")
    return _style(fig, height=height)


def tile_map(
    frame: pd.DataFrame, value: str, label: str, *, value_text: pd.Series | None = None, height: int = 380
):
    """Districts as equal squares at their (tile_col, tile_row) positions, shaded by ``value``.

    Squares are shapes in data coordinates, so they scale with the chart's width (phones included).
    """
    values = pd.to_numeric(frame[value], errors="coerce").fillna(0.0).astype(float)
    top = float(values.max()) or 1.0
    intensity = (0.12 + 0.78 * values / top).clip(0, 1)
    colours = sample_colorscale("Blues", list(intensity))
    text = value_text if value_text is not None else values.map(lambda v: f"{v:,.0f}")
    fig = go.Figure()
    for (_, row), colour, shade, shown in zip(frame.iterrows(), colours, intensity, text, strict=True):
        x, y = float(row["tile_col"]), float(row["tile_row"])
        fig.add_shape(
            type="rect",
            x0=x - 0.47,
            x1=x + 0.47,
            y0=y - 0.47,
            y1=y + 0.47,
            fillcolor=colour,
            line={"color": "white", "width": 2},
            layer="below",
        )
        fig.add_annotation(
            x=x,
            y=y,
            text=f"{row[label]}<br><b>{shown}</b>",
            showarrow=False,
            font={"size": 11, "color": "white" if shade > 0.55 else "#102a43"},
        )
    fig.add_trace(
        go.Scatter(
            x=frame["tile_col"],
            y=frame["tile_row"],
            mode="markers",
            marker={"opacity": 0, "size": 30},
            hovertext=frame[label] + ": " + text.astype(str),
            hoverinfo="text",
            showlegend=False,
        )
    )
    cols, rows = frame["tile_col"].astype(float), frame["tile_row"].astype(float)
    fig.update_xaxes(visible=False, range=[cols.min() - 0.5, cols.max() + 0.5], fixedrange=True)
    fig.update_yaxes(
        visible=False,
        range=[rows.max() + 0.5, rows.min() - 0.5],
        scaleanchor="x",
        scaleratio=1,
        fixedrange=True,
    )
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)", hovermode="closest")
    _style(fig, height=height)
    fig.update_yaxes(rangemode="normal")
    return fig
