"""Regulator app · 平台总览 / Platform overview: headline KPIs, the monthly trend and the district breakdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common import cached, charts
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t, wan, yi
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.auth import Permission

actor = current_actor()
if actor is None or not actor.can(Permission.platform_stats):
    st.info(t("common.identity.choose"))
    st.stop()

en = current_locale() == "en"
st.title(t("reg.overview.title"))

with st.spinner(t("common.loading")):
    kpis = cached.platform_kpis(actor)
    trend = cached.monthly_trend(actor, 24)
    districts = cached.district_breakdown(actor)

as_of = pd.Timestamp(kpis["as_of"]).tz_convert("Asia/Shanghai") if kpis.get("as_of") else None
if as_of is not None:
    st.caption(t("common.as_of", time=as_of.strftime("%Y-%m-%d %H:%M")))


def money(yuan) -> str:
    """亿元 for platform totals of at least one 亿, 万元 below that."""
    return yi(yuan) if yuan and yuan >= 100_000_000 else wan(yuan)


kpi_cards(
    [
        Kpi(t("reg.kpi.enterprises"), num(kpis["enterprises"])),
        Kpi(t("reg.kpi.institutions"), num(kpis["institutions"])),
        Kpi(t("reg.kpi.products"), num(kpis["products_published"])),
        Kpi(t("reg.kpi.needs"), num(kpis["needs"])),
        Kpi(t("reg.kpi.applications"), num(kpis["applications"])),
        Kpi(t("reg.kpi.loans"), num(kpis["loans"])),
        Kpi(t("reg.kpi.credit"), money(kpis["credit_granted_yuan"])),
        Kpi(t("reg.kpi.avg_rate"), f"{num(kpis['avg_rate_pct'], 2)}%"),
        Kpi(t("reg.kpi.first_loans"), num(kpis["first_loans"])),
        Kpi(t("reg.kpi.first_loan_amount"), money(kpis["first_loan_amount_yuan"])),
        Kpi(t("reg.kpi.overdue"), f"{num(kpis['overdue_loans'])} / {num(kpis['defaulted_loans'])}"),
    ]
)

st.subheader(t("reg.trend.title"))
if trend.empty:
    st.info(t("common.no_data"))
else:
    frame = trend.assign(amount_wan=trend["amount_yuan"] / 10_000)
    figure = charts.trend(
        frame,
        "month",
        "amount_wan",
        {
            "applications": t("reg.trend.applications"),
            "loans": t("reg.trend.loans"),
            "first_loans": t("reg.trend.first_loans"),
        },
        bar_name=t("reg.trend.amount"),
    )
    st.plotly_chart(figure, width="stretch", config=charts.CHART_CONFIG, key="reg_trend_chart")

st.subheader(t("reg.district.title"))
if districts.empty:
    st.info(t("common.no_data"))
    st.stop()

measures = {
    "enterprises": t("reg.col.enterprises"),
    "loans": t("reg.col.loans"),
    "amount_wan": t("reg.col.amount"),
    "first_loans": t("reg.col.first_loans"),
}
frame = districts.assign(
    amount_wan=districts["amount_yuan"].astype(float) / 10_000,
    label=districts["name_en"].str.replace(r" (District|County)$", "", regex=True)
    if en
    else districts["name"],
)
measure = st.segmented_control(
    t("reg.district.metric"),
    options=list(measures),
    format_func=measures.get,
    default="amount_wan",
    required=True,
    key="reg_district_measure",
)
map_col, bar_col = st.columns(2)
with map_col:
    text = frame[measure].map(lambda v: num(v, 1 if measure == "amount_wan" else 0))
    st.plotly_chart(
        charts.tile_map(frame, measure, "label", value_text=text),
        width="stretch",
        config=charts.CHART_CONFIG,
        key="reg_district_map",
    )
with bar_col:
    ordered = frame.sort_values(measure, ascending=False)
    st.plotly_chart(
        charts.bars(ordered, "label", measure, horizontal=True, height=60 + 26 * len(ordered)),
        width="stretch",
        config=charts.CHART_CONFIG,
        key="reg_district_bars",
    )
with st.expander(t("reg.district.table")):
    table = pd.DataFrame(
        {
            t("reg.col.district"): frame["label"],
            t("reg.col.enterprises"): frame["enterprises"],
            t("reg.col.loans"): frame["loans"],
            t("reg.col.amount"): frame["amount_wan"].round(1),
            t("reg.col.first_loans"): frame["first_loans"],
        }
    )
    data_table(table, filename="districts", key="reg_district_table")
