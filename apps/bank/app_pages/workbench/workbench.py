"""Bank app · 工作台 / Workbench: lead clocks and applications at a glance, the matchmaking funnel, alerts."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common.actor import current_actor
from apps.common.charts import CHART_CONFIG, PALETTE, bars
from apps.common.i18n import num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.services import leads

actor = current_actor()
if actor is None or actor.organization_id is None:
    st.info(t("bank.no_institution"))
    st.stop()

st.title(t("matching.wb.title"))
st.caption(t("matching.wb.caption"))

with st.spinner(t("common.loading")):
    wb = leads.workbench_summary(actor=actor, institution_id=actor.organization_id)

kpi_cards([Kpi(t(f"matching.wb.kpi.{name}"), num(value)) for name, value in wb.kpis.items()], per_row=3,
          key="bank_wb_kpis")

st.subheader(t("matching.wb.funnel"))
funnel = wb.funnel.assign(label=wb.funnel["stage"].map(lambda s: t(f"matching.wb.stage.{s}")))
figure = go.Figure(go.Funnel(y=funnel["label"], x=funnel["count"], textinfo="value+percent initial",
                             marker={"color": PALETTE[: len(funnel)]}))
figure.update_layout(height=320, margin={"l": 8, "r": 8, "t": 8, "b": 8}, font={"size": 12})
st.plotly_chart(figure, config=CHART_CONFIG, key="bank_wb_funnel")
st.caption(t("matching.wb.funnel_note"))

if not wb.stages.empty:
    st.subheader(t("matching.wb.stages"))
    stages = wb.stages.assign(label=wb.stages["status"].map(lambda s: t(f"app_status.{s}")))
    st.plotly_chart(bars(stages, "label", "count", horizontal=True, height=360), config=CHART_CONFIG,
                    key="bank_wb_stages")

st.subheader(t("matching.wb.alerts"))
if wb.alerts.empty:
    st.success(t("matching.wb.no_alerts"), icon=":material/verified:")
else:
    alerts = pd.DataFrame({
        t("matching.wb.col.kind"): wb.alerts["kind"].map(lambda k: t(f"matching.wb.alert.{k}")),
        t("matching.col.lead"): wb.alerts["lead_id"],
        t("matching.col.need"): wb.alerts["need_id"],
        t("matching.col.enterprise"): wb.alerts["enterprise_name"],
        t("matching.wb.col.due"): pd.to_datetime(wb.alerts["due_at"], utc=True).dt.tz_convert("Asia/Shanghai"),
        t("matching.wb.col.escalated"): pd.to_datetime(wb.alerts["escalated_at"], utc=True)
        .dt.tz_convert("Asia/Shanghai"),
    })
    data_table(alerts, filename="alerts", key="bank_wb_alerts", column_config={
        t("matching.wb.col.due"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        t("matching.wb.col.escalated"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    })
