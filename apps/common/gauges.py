"""Plotly figures for credit ratings: a 0–1000 score gauge with grade bands, a radar, a score trend.

Pure functions of plain values and DataFrames (no Streamlit), sized for phones and desktops like
``apps.common.charts``; render them with ``st.plotly_chart(fig, config=charts.CHART_CONFIG)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from apps.common.charts import PALETTE, _style

SCORE_MAX = 1000
# Best grade first: deep green through amber to deep red.
GRADE_COLOURS = [
    "#1b7f3b",
    "#2f9e44",
    "#69b34c",
    "#a9c23f",
    "#f2c12e",
    "#f59f00",
    "#e8590c",
    "#d9480f",
    "#c92a2a",
]


def grade_colour(grade: str | None, cutoffs: Sequence[tuple[str, float]]) -> str:
    """The colour of ``grade`` on the gauge (grey when unknown).

    ``cutoffs`` are (grade, minimum score) pairs, best grade first.
    """
    names = [g for g, _ in cutoffs]
    if grade not in names:
        return "#868e96"
    return GRADE_COLOURS[min(names.index(grade), len(GRADE_COLOURS) - 1)]


def _bands(cutoffs: Sequence[tuple[str, float]]) -> list[tuple[str, float, float]]:
    """(grade, low, high) bands from (grade, minimum) cut-offs, best first."""
    out, top = [], float(SCORE_MAX)
    for grade, low in cutoffs:
        out.append((grade, float(low), top))
        top = float(low)
    return out


def score_gauge(
    score: float,
    *,
    grade: str | None,
    cutoffs: Sequence[tuple[str, float]],
    title: str | None = None,
    height: int = 250,
) -> go.Figure:
    """A half-dial gauge of a 0–1000 score, each grade's band shaded in its colour.

    Args:
        score: the score shown as the number and the bar.
        grade: the score's grade (colours the bar).
        cutoffs: (grade, minimum score) pairs, best grade first.
        title: an optional title above the dial.
        height: figure height in pixels.
    """
    bands = _bands(cutoffs)
    steps = [{"range": [low, high], "color": grade_colour(g, cutoffs)} for g, low, high in bands]
    fig = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=float(score),
            number={"font": {"size": 40}, "valueformat": ".0f"},
            gauge={
                "shape": "angular",
                "axis": {
                    "range": [0, SCORE_MAX],
                    # Each band is labelled with its grade at its middle.
                    "tickvals": [(low + high) / 2 for _, low, high in bands],
                    "ticktext": [g for g, _, _ in bands],
                    "tickfont": {"size": 10},
                    "ticks": "",
                },
                "bar": {"color": "rgba(0,0,0,0)", "thickness": 0},
                "steps": steps,
                "threshold": {"line": {"color": "#102a43", "width": 5}, "value": float(score), "thickness": 1},
                "bgcolor": "white",
                "borderwidth": 0,
            },
            domain={"x": [0, 1], "y": [0, 1]},
        )
    )
    fig.update_layout(
        height=height,
        margin={"l": 24, "r": 24, "t": 40 if title else 16, "b": 8},
        title={"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"} if title else None,
        font={"size": 12},
    )
    return fig


def radar(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    name: str,
    title: str | None = None,
    height: int = 340,
) -> go.Figure:
    """A filled radar of 0–100 sub-scores; a missing value leaves a gap at its axis.

    Args:
        labels: the axis names, in order.
        values: one 0–100 value per axis (None: no data).
        name: the trace's legend and hover name.
        title: an optional title.
        height: figure height in pixels.
    """
    theta = [*labels, labels[0]] if labels else []
    r = [None if v is None or pd.isna(v) else float(v) for v in values]
    r = [*r, r[0]] if r else []
    fig = go.Figure(
        go.Scatterpolar(
            r=r,
            theta=theta,
            fill="toself",
            name=name,
            line={"color": PALETTE[0], "width": 2},
            fillcolor="rgba(31,111,235,0.18)",
            marker={"size": 6},
            connectgaps=False,
            hovertemplate="%{theta}: %{r:.0f}<extra></extra>",
        )
    )
    fig.update_layout(
        polar={
            "radialaxis": {"range": [0, 100], "tickvals": [20, 40, 60, 80, 100], "tickfont": {"size": 9}},
            "angularaxis": {"tickfont": {"size": 10}},
        },
        showlegend=False,
        height=height,
        margin={"l": 72, "r": 72, "t": 48 if title else 32, "b": 28},  # room for axis names on phones
        title={"text": title, "font": {"size": 14}, "x": 0, "xanchor": "left"} if title else None,
        font={"size": 12},
    )
    return fig


def score_trend(
    frame: pd.DataFrame,
    *,
    x: str = "as_of",
    y: str = "score",
    grade: str = "grade",
    cutoffs: Sequence[tuple[str, float]] = (),
    title: str | None = None,
    height: int = 280,
) -> go.Figure:
    """The score over time (0–1000), each point labelled with its grade, grade floors as faint lines.

    Args:
        frame: one row per rating date.
        x, y, grade: the date, score and grade columns.
        cutoffs: (grade, minimum score) pairs, best first; their floors are drawn as dotted lines.
        title: an optional title.
        height: figure height in pixels.
    """
    fig = go.Figure(
        go.Scatter(
            x=frame[x],
            y=frame[y],
            mode="lines+markers+text" if len(frame) <= 12 else "lines+markers",
            text=frame[grade],
            textposition="top center",
            line={"color": PALETTE[0], "width": 2},
            marker={"size": 7},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.0f} (%{text})<extra></extra>",
            cliponaxis=False,
        )
    )
    for _grade, low in cutoffs:
        if 0 < low < SCORE_MAX:
            fig.add_hline(y=low, line={"color": "#dee2e6", "width": 1, "dash": "dot"})
    _style(fig, height=height, title=title)
    fig.update_yaxes(range=[0, SCORE_MAX], rangemode="normal")
    fig.update_layout(hovermode="closest", showlegend=False)
    return fig
