"""Regulator app · 风险监测 / Risk oversight: open early-warning signals by level (colour-coded), by district
on the tile map and by industry, and the list of signals with filters and export.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common import charts
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.auth import Permission
from core.enums import SIGNAL_COLOURS
from core.reference import districts, industry_sections
from core.services import risk_queues, risk_views

PREFIX = "reg_risk_"
COLOUR_HEX = {"red": "#d92d20", "orange": "#f79009", "yellow": "#eaaa08", "blue": "#1f6feb"}


def coloured_bars(labels, values, colours, *, height: int = 300, horizontal: bool = False) -> go.Figure:
    """Bars each in its signal colour, labelled with the count."""
    bar = go.Bar(
        x=values if horizontal else labels,
        y=labels if horizontal else values,
        orientation="h" if horizontal else "v",
        marker_color=colours,
        text=[num(v) for v in values],
        textposition="auto",
    )
    fig = go.Figure(bar)
    fig.update_layout(height=height, margin={"l": 8, "r": 8, "t": 8, "b": 8}, hovermode="closest")
    if horizontal:
        fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


actor = current_actor()
st.title(t("riskui.oversight.title"))
if actor is None or not actor.can(Permission.oversight):
    st.info(t("riskui.forbidden"))
    st.stop()
en = current_locale() == "en"
st.caption(t("riskui.oversight.caption"))

with st.spinner(t("common.loading")):
    summary = risk_views.risk_map(actor=actor)
red = int(summary.by_colour.loc[summary.by_colour["colour"] == "red", "enterprises"].sum())
kpi_cards(
    [
        Kpi(t("riskui.kpi.open_signals"), num(summary.open_signals)),
        Kpi(t("riskui.kpi.flagged"), num(summary.enterprises_flagged)),
        Kpi(t("riskui.kpi.red"), num(red)),
        Kpi(t("riskui.kpi.districts"), num(int((summary.by_district["enterprises"] > 0).sum()))),
    ],
    key=PREFIX + "kpis",
)

# ------------------------------------------------------------------------------------ by level
st.subheader(t("riskui.oversight.by_level"))
levels = summary.by_level
st.plotly_chart(
    coloured_bars(
        [f"L{lv} · {t('riskui.colour.' + c)}" for lv, c in zip(levels["level"], levels["colour"], strict=True)],
        levels["signals"].tolist(),
        [COLOUR_HEX[c] for c in levels["colour"]],
    ),
    width="stretch",
    config=charts.CHART_CONFIG,
    key=PREFIX + "levels",
)

# --------------------------------------------------------------------------------- by district
st.subheader(t("riskui.oversight.by_district"))
frame = summary.by_district.assign(
    label=summary.by_district["name_en"].str.replace(r" (District|County)$", "", regex=True)
    if en
    else summary.by_district["name"]
)
map_col, bar_col = st.columns(2)
with map_col:
    st.plotly_chart(
        charts.tile_map(frame, "enterprises", "label", value_text=frame["enterprises"].map(num)),
        width="stretch",
        config=charts.CHART_CONFIG,
        key=PREFIX + "map",
    )
    st.caption(t("riskui.oversight.map_note"))
with bar_col:
    ordered = frame.sort_values("enterprises", ascending=False, kind="stable")
    fig = go.Figure()
    for colour in ("red", "orange", "yellow", "blue"):
        fig.add_bar(y=ordered["label"], x=ordered[colour], orientation="h", name=t(f"riskui.colour.{colour}"),
                    marker_color=COLOUR_HEX[colour])
    fig.update_layout(barmode="stack", height=60 + 26 * len(ordered), margin={"l": 8, "r": 8, "t": 8, "b": 8},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0})
    fig.update_yaxes(autorange="reversed", automargin=True)
    st.plotly_chart(fig, width="stretch", config=charts.CHART_CONFIG, key=PREFIX + "district_bars")

# --------------------------------------------------------------------------------- by industry
st.subheader(t("riskui.oversight.by_industry"))
industry = summary.by_industry
if industry.empty:
    st.info(t("common.no_data"))
else:
    names = industry["name_en"] if en else industry["name"]
    st.plotly_chart(
        charts.bars(industry.assign(label=names), "label", "enterprises", horizontal=True,
                    height=60 + 26 * len(industry)),
        width="stretch",
        config=charts.CHART_CONFIG,
        key=PREFIX + "industry",
    )

# ------------------------------------------------------------------------------------ the list
st.subheader(t("riskui.oversight.list"))
ref_districts = districts()
ref_sections = industry_sections()
filters = st.columns(3)
with filters[0]:
    level_min = st.selectbox(t("riskui.filter.level_min"), options=list(range(1, 9)), index=4,
                             format_func={lv: f"L{lv} · {t('riskui.colour.' + c)}" for lv, c in SIGNAL_COLOURS.items()}.get,
                             key=PREFIX + "level_min")
with filters[1]:
    district = st.selectbox(
        t("riskui.filter.district"),
        options=[None, *ref_districts["code"]],
        format_func={None: t("riskui.filter.all"),
                     **dict(zip(ref_districts["code"], ref_districts["name_en" if en else "name"], strict=True))}.get,
        key=PREFIX + "district",
    )
with filters[2]:
    section = st.selectbox(
        t("riskui.filter.industry"),
        options=[None, *ref_sections["section"]],
        format_func={None: t("riskui.filter.all"), **{
            s: f"{s} · {n}" for s, n in zip(ref_sections["section"], ref_sections["name_en" if en else "name"],
                                             strict=True)}}.get,
        key=PREFIX + "industry_filter",
    )
signals = risk_queues.regulator_signals(actor=actor, level_min=level_min, district=district, industry=section)
if signals.empty:
    st.info(t("riskui.signals.none"), icon=":material/verified:")
else:
    shown = {
        "id": "riskui.col.id", "level": "riskui.col.level", "enterprise_name": "riskui.col.enterprise",
        "district_name": "riskui.col.district", "rule_code": "riskui.col.rule_code", "rule_name": "riskui.col.rule",
        "institution_name": "riskui.col.institution", "status": "riskui.col.status",
        "raised_at": "riskui.col.raised_at", "feedback": "riskui.col.feedback",
    }
    district_names = ref_districts.set_index("code")["name_en" if en else "name"]
    signals = signals.assign(
        district_name=signals["district_code"].map(district_names),
        rule_name=signals["rule_name_en"].fillna(signals["rule_name"]) if en else signals["rule_name"],
        raised_at=pd.to_datetime(signals["raised_at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
        feedback=signals["feedback"].map(lambda f: t(f"riskui.feedback.{f}") if isinstance(f, str) else ""),
    )
    table = signals[[c for c in shown if c in signals.columns]].copy()
    if "level" in table:
        table.insert(1, "colour", table["level"].map(lambda lv: t("riskui.colour." + SIGNAL_COLOURS[int(lv)])))
    if "status" in table:
        table["status"] = table["status"].map(lambda s: t(f"riskui.status.{s}"))
    table = table.rename(columns={**{k: t(v) for k, v in shown.items()}, "colour": t("riskui.col.colour")})
    data_table(table, filename="risk_signals", key=PREFIX + "table")
