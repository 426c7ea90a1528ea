"""Regulator app · 审计日志 / Audit log: the chain's verification status, then the events, newest first,
filtered by action, actor, entity and date, paginated, with export (operators and regulator admins).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import num, t
from apps.common.widgets import data_table
from core.auth import Permission
from core.services import admin

PREFIX = "reg_admin_audit_"
PAGE_SIZES = (50, 200, 1000)

st.title(t("reg.admin.audit.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.admin_users):
    st.info(t("reg.admin.forbidden"))
    st.stop()

st.caption(t("reg.admin.audit.caption"))

with st.spinner(t("reg.admin.audit.verifying")):
    chain = admin.audit_chain_status(actor=actor)
if chain.intact:
    st.success(t("reg.admin.audit.intact", count=num(chain.total)), icon=":material/verified:")
else:
    st.error(
        t("reg.admin.audit.broken", event=chain.broken_id, checked=num(chain.checked)),
        icon=":material/gpp_bad:",
    )

with st.expander(t("reg.admin.audit.filters"), expanded=True):
    action_col, by_col = st.columns(2)
    with action_col:
        # The choices come from the trail itself; read them with a first, unfiltered call.
        choices = admin.audit_log(actor=actor, page_size=1).actions
        actions = st.multiselect(
            t("reg.admin.audit.actions"),
            options=list(choices),
            key=PREFIX + "actions",
            placeholder=t("reg.admin.audit.actions_placeholder"),
        )
    with by_col:
        by = st.text_input(
            t("reg.admin.audit.by"), key=PREFIX + "by", max_chars=120, help=t("reg.admin.audit.by_help")
        ).strip()
    type_col, id_col, dates_col = st.columns(3)
    with type_col:
        entity_type = st.text_input(
            t("reg.admin.audit.entity_type"), key=PREFIX + "entity_type", max_chars=60
        )
    with id_col:
        entity_id = st.text_input(t("reg.admin.audit.entity_id"), key=PREFIX + "entity_id", max_chars=60)
    with dates_col:
        dates = st.date_input(t("reg.admin.audit.dates"), value=(), key=PREFIX + "dates")

since = dates[0] if len(dates) >= 1 else None
until = dates[1] if len(dates) == 2 else None

size_col, page_col = st.columns(2)
with size_col:
    page_size = st.selectbox(
        t("reg.admin.audit.page_size"), options=list(PAGE_SIZES), key=PREFIX + "page_size"
    )
with page_col:
    page = st.number_input(t("reg.admin.audit.page"), min_value=1, value=1, step=1, key=PREFIX + "page")

with st.spinner(t("common.loading")):
    result = admin.audit_log(
        actor=actor,
        actions=actions or None,
        by=by or None,
        entity_type=entity_type.strip() or None,
        entity_id=entity_id.strip() or None,
        since=since,
        until=until,
        page=int(page),
        page_size=int(page_size),
    )
st.caption(t("reg.admin.audit.page_of", page=result.page, pages=result.pages, total=num(result.total)))

events = result.events
table = pd.DataFrame(
    {
        t("reg.admin.col.event"): events["id"],
        t("reg.admin.col.time"): events["occurred_at"].dt.tz_convert("Asia/Shanghai"),
        t("reg.admin.col.actor"): events["actor_label"],
        t("reg.admin.col.actor_user"): events["actor_user_id"],
        t("reg.admin.col.action"): events["action"],
        t("reg.admin.col.entity_type"): events["entity_type"],
        t("reg.admin.col.entity_id"): events["entity_id"],
        t("reg.admin.col.before"): events["before"],
        t("reg.admin.col.after"): events["after"],
        t("reg.admin.col.hash"): events["hash"],
    }
)
data_table(
    table,
    filename=f"audit-log-p{result.page}",
    key=PREFIX + "table",
    column_config={
        t("reg.admin.col.time"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        t("reg.admin.col.before"): st.column_config.TextColumn(width="medium"),
        t("reg.admin.col.after"): st.column_config.TextColumn(width="medium"),
    },
)
