"""Regulator app · 机构管理 / Institutions: organizations with their branches, kind and user counts (operators)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.auth import Permission
from core.models.types import OrgKind
from core.services import admin

st.title(t("reg.admin.orgs.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.admin_users):
    st.info(t("reg.admin.forbidden"))
    st.stop()

en = current_locale() == "en"
st.caption(t("reg.admin.orgs.caption"))

kind_col, search_col = st.columns([3, 2])
with kind_col:
    kinds = st.multiselect(
        t("reg.admin.orgs.kinds"),
        options=[k.value for k in OrgKind],
        format_func=lambda k: t(f"org_kind.{k}"),
        key="reg_admin_orgs_kinds",
        placeholder=t("reg.admin.orgs.kinds_placeholder"),
    )
with search_col:
    search = st.text_input(t("reg.admin.orgs.search"), key="reg_admin_orgs_search", max_chars=60).strip()

with st.spinner(t("common.loading")):
    orgs = admin.list_organizations(actor=actor, kinds=kinds or None, search=search or None)

kpi_cards(
    [
        Kpi(t("reg.admin.orgs.kpi.organizations"), num(len(orgs))),
        Kpi(t("reg.admin.orgs.kpi.branches"), num(int(orgs["parent_id"].notna().sum()))),
        Kpi(t("reg.admin.orgs.kpi.users"), num(int(orgs["users"].sum()))),
        Kpi(t("reg.admin.orgs.kpi.locked"), num(int(orgs["locked_users"].sum()))),
    ],
    key="kpi_reg_admin_orgs",
)

if orgs.empty:
    st.info(t("reg.admin.orgs.none"))
    st.stop()


def localized(name: pd.Series, name_en: pd.Series) -> pd.Series:
    """The English name where one exists and the session is in English, else the Chinese name."""
    return name_en.where(name_en.notna() & (name_en != ""), name).fillna("") if en else name.fillna("")


table = pd.DataFrame(
    {
        t("reg.admin.col.code"): orgs["code"],
        t("reg.admin.col.name"): localized(orgs["name"], orgs["name_en"]),
        t("reg.admin.col.kind"): orgs["kind"].map(lambda k: t(f"org_kind.{k}")),
        t("reg.admin.col.head_office"): localized(orgs["parent_name"], orgs["parent_name_en"]),
        t("reg.admin.col.branches"): orgs["branches"],
        t("reg.admin.col.active"): orgs["is_active"],
        t("reg.admin.col.users"): orgs["users"],
        t("reg.admin.col.active_users"): orgs["active_users"],
        t("reg.admin.col.locked_users"): orgs["locked_users"],
    }
)
data_table(
    table,
    filename="institutions",
    key="reg_admin_orgs_table",
    column_config={
        t("reg.admin.col.active"): st.column_config.CheckboxColumn(),
        t("reg.admin.col.name"): st.column_config.TextColumn(width="medium"),
    },
)
