"""Bank app · 申请管理 / Applications: counts by status as a bar chart, and a filterable, exportable table."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.bank.header import institution_header
from apps.common import charts
from apps.common.i18n import num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.services import applications

PENDING = {"submitted", "accepted", "due_diligence"}
APPROVED = {"approved", "contract_signed", "disbursed", "repaying", "settled"}

actor = institution_header("bank.apps.title", "bank.apps.caption")

with st.spinner(t("common.loading")):
    counts = applications.applications_by_status(actor=actor, institution_id=actor.organization_id)

if counts.empty:
    st.info(t("bank.apps.none"))
    st.stop()

by_status = dict(zip(counts["status"], counts["count"], strict=True))
kpi_cards(
    [
        Kpi(t("bank.apps.total"), num(counts["count"].sum())),
        Kpi(t("bank.apps.pending"), num(sum(by_status.get(s, 0) for s in PENDING))),
        Kpi(t("bank.apps.approved"), num(sum(by_status.get(s, 0) for s in APPROVED))),
        Kpi(t("bank.apps.rejected"), num(by_status.get("rejected", 0))),
    ]
)

st.subheader(t("bank.apps.by_status"))
chart_frame = counts.assign(label=counts["status"].map(lambda s: t(f"app_status.{s}")))
st.plotly_chart(
    charts.bars(chart_frame, "label", "count", horizontal=True, height=60 + 28 * len(chart_frame)),
    width="stretch",
    config=charts.CHART_CONFIG,
    key="bank_apps_status_chart",
)

st.subheader(t("bank.apps.list"))
filter_col, search_col = st.columns([2, 1])
with filter_col:
    chosen = st.multiselect(
        t("bank.apps.filter"),
        options=list(counts["status"]),
        format_func=lambda s: f"{t(f'app_status.{s}')} ({by_status[s]})",
        key="bank_apps_status_filter",
        placeholder=t("bank.apps.filter_placeholder"),
    )
with search_col:
    search = st.text_input(t("bank.apps.search"), key="bank_apps_search").strip()

rows = applications.list_applications(
    actor=actor, institution_id=actor.organization_id, status=chosen or None, limit=2000
)
if search:
    rows = rows[
        rows["enterprise_name"].str.contains(search, regex=False)
        | rows["credit_code"].str.contains(search.upper(), regex=False)
    ]

table = pd.DataFrame(
    {
        t("bank.col.id"): rows["id"],
        t("bank.col.enterprise"): rows["enterprise_name"],
        t("bank.col.credit_code"): rows["credit_code"],
        t("bank.col.product"): rows["product_name"],
        t("bank.col.amount"): rows["amount_requested"] / 10_000,
        t("bank.col.term_months"): rows["term_months"],
        t("bank.col.status"): rows["status"].map(lambda s: t(f"app_status.{s}")),
        t("bank.col.submitted_at"): rows["submitted_at"].dt.tz_convert("Asia/Shanghai"),
    }
)
data_table(
    table,
    filename="applications",
    key="bank_apps_table",
    column_config={
        t("bank.col.amount"): st.column_config.NumberColumn(format="%.1f"),
        t("bank.col.submitted_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)
