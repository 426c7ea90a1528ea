"""Plotly figure builders shared by the apps: pure functions of DataFrames, styled for phones and desktops."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

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


def sparkline(frame: pd.DataFrame, x: str, y: str, *, title: str, colour: str = PALETTE[0], height: int = 200):
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


def bars(frame: pd.DataFrame, x: str, y: str, *, title: str | None = None, horizontal: bool = False, height: int = 320):
    """One bar series (horizontal for long category names)."""
    if horizontal:
        trace = go.Bar(x=frame[y], y=frame[x], orientation="h", marker_color=PALETTE[0], text=frame[y])
    else:
        trace = go.Bar(x=frame[x], y=frame[y], marker_color=PALETTE[0], text=frame[y])
    fig = go.Figure(trace)
    fig.update_traces(textposition="auto", cliponaxis=False)
    if horizontal:
        fig.update_yaxes(autorange="reversed")
    fig.update_layout(hovermode="closest")
    return _style(fig, height=height, title=title)


def trend(frame: pd.DataFrame, x: str, bars_col: str, lines: dict[str, str], *, bar_name: str, height: int = 360):
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
    fig.update_layout(yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "showgrid": False})
    fig.update_xaxes(tickformat="%Y-%m")
    return _style(fig, height=height)


def tile_map(frame: pd.DataFrame, value: str, label: str, *, value_text: pd.Series | None = None, height: int = 360):
    """Districts as equal squares at their (tile_col, tile_row) positions, shaded by ``value``."""
    text = value_text if value_text is not None else frame[value].map(lambda v: f"{v:,.0f}")
    labels = frame[label] + "<br><b>" + text.astype(str) + "</b>"
    fig = go.Figure(
        go.Scatter(
            x=frame["tile_col"],
            y=frame["tile_row"],
            mode="markers+text",
            marker={
                "symbol": "square",
                "size": 58,
                "color": frame[value],
                "colorscale": "Blues",
                "line": {"color": "white", "width": 2},
                "showscale": False,
            },
            text=labels,
            textfont={"size": 10, "color": "#102a43"},
            hovertext=frame[label] + ": " + text.astype(str),
            hoverinfo="text",
        )
    )
    fig.update_xaxes(visible=False, range=[frame["tile_col"].min() - 0.6, frame["tile_col"].max() + 0.6])
    fig.update_yaxes(
        visible=False, autorange="reversed", range=None, scaleanchor="x", scaleratio=1, rangemode="normal"
    )
    fig.update_layout(plot_bgcolor="rgba(0,0,0,0)", hovermode="closest")
    return _style(fig, height=height)
