"""Enterprise app · 企业概况 / Profile: basic facts as KPI cards, the latest financials, 12-month trends."""

from __future__ import annotations

import streamlit as st

from apps.common import charts
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, kpi_cards
from core.services import directory

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()

with st.spinner(t("common.loading")):
    profile = directory.enterprise_profile(actor=actor, enterprise_id=actor.enterprise_id)
en = current_locale() == "en"

st.title(profile.name)
st.caption(t("ent.profile.caption", code=profile.credit_code, founded=profile.founded_on.isoformat()))

kpi_cards(
    [
        Kpi(t("ent.kpi.district"), profile.district_name_en if en else profile.district_name),
        Kpi(t("ent.kpi.industry"), profile.industry_name_en if en else profile.industry_name),
        Kpi(t("ent.kpi.scale"), t(f"scale.{profile.scale.value}")),
        Kpi(t("ent.kpi.years"), t("ent.kpi.years_value", years=profile.years_in_business)),
        Kpi(t("ent.kpi.employees"), num(profile.employees)),
        Kpi(t("ent.kpi.capital"), wan(profile.registered_capital, 0)),
        Kpi(
            t("ent.kpi.loans"),
            t("ent.kpi.loans_value", count=profile.loans_count)
            if profile.loans_count
            else (t("common.yes") if profile.has_had_loan else t("ent.kpi.never")),
        ),
    ]
)

if not profile.has_had_loan:
    st.info(
        f"**{t('ent.first_loan.title')}** — {t('ent.first_loan.hint')}", icon=":material/volunteer_activism:"
    )

statement = profile.latest_statement
if statement is None:
    st.caption(t("ent.fin.none"))
else:
    st.subheader(t("ent.fin.title", year=statement.year))
    ratio = statement.debt_ratio_pct
    kpi_cards(
        [
            Kpi(t("ent.fin.revenue"), wan(statement.revenue)),
            Kpi(t("ent.fin.profit"), wan(statement.net_profit)),
            Kpi(t("ent.fin.assets"), wan(statement.total_assets)),
            Kpi(t("ent.fin.debt_ratio"), f"{num(ratio, 1)}%" if ratio is not None else "—"),
        ]
    )

st.subheader(t("ent.series.title"))
series = profile.series
if series.empty:
    st.caption(t("ent.series.none"))
else:
    specs = [
        ("tax_paid", "ent.series.tax", charts.PALETTE[0]),
        ("electricity_kwh", "ent.series.electricity", charts.PALETTE[1]),
        ("si_headcount", "ent.series.headcount", charts.PALETTE[2]),
    ]
    for column, (field, key, colour) in zip(st.columns(3), specs, strict=True):
        with column:
            figure = charts.sparkline(series, "month", field, title=t(key), colour=colour)
            st.plotly_chart(figure, width="stretch", config=charts.CHART_CONFIG, key=f"ent_profile_{field}")
    st.caption(t("ent.series.source"))
