"""Bank app · 我的产品 / Our products: the institution's products with status and ranges, exportable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.bank.header import institution_header
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.models.types import ProductStatus
from core.services import products

actor = institution_header("bank.products.title", "bank.products.caption")
en = current_locale() == "en"

with st.spinner(t("common.loading")):
    frame = products.products_frame(products.list_products(actor=actor, institution_id=actor.organization_id))

if frame.empty:
    st.info(t("bank.products.none"))
    st.stop()

kpi_cards(
    [
        Kpi(t("bank.products.total"), num(len(frame))),
        Kpi(t("bank.products.published"), num((frame["status"] == ProductStatus.published).sum())),
        Kpi(t("bank.products.drafts"), num((frame["status"] == ProductStatus.draft).sum())),
        Kpi(t("bank.products.first_loan"), num(frame["first_loan_friendly"].sum())),
    ]
)

statuses = [s.value for s in ProductStatus]
chosen = st.pills(
    t("bank.products.status"),
    options=statuses,
    format_func=lambda s: t(f"product_status.{s}"),
    selection_mode="multi",
    key="bank_products_status",
)
if chosen:
    frame = frame[frame["status"].isin(chosen)]

table = pd.DataFrame(
    {
        t("bank.col.name"): frame["name_en"].fillna(frame["name"]) if en else frame["name"],
        t("bank.col.type"): frame["product_type"].map(lambda v: t(f"product_type.{v}")),
        t("bank.col.status"): frame["status"].map(lambda v: t(f"product_status.{v}")),
        t("bank.col.amount_min"): frame["amount_min"] / 10_000,
        t("bank.col.amount_max"): frame["amount_max"] / 10_000,
        t("bank.col.term"): frame["term_min_months"].astype(str) + "–" + frame["term_max_months"].astype(str),
        t("bank.col.rate"): frame["rate_min"].map(lambda v: f"{v:.2f}")
        + "–"
        + frame["rate_max"].map(lambda v: f"{v:.2f}"),
        t("bank.col.first_loan"): frame["first_loan_friendly"],
        t("bank.col.code"): frame["code"],
    }
)
data_table(
    table,
    filename="products",
    key="bank_products_table",
    column_config={
        t("bank.col.amount_min"): st.column_config.NumberColumn(format="%.1f"),
        t("bank.col.amount_max"): st.column_config.NumberColumn(format="%.1f"),
        t("bank.col.first_loan"): st.column_config.CheckboxColumn(),
    },
)
