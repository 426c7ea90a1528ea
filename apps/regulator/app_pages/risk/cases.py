"""Regulator app · 大额违约案件 / Large-default cases: defaults above the configured amount and their
workflow — assign departments, add notes, set in progress, close with a resolution. Analysts read;
holders of ``risk.manage`` act. Each step carries the version shown, so a concurrent change is refused.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError
from core.services import risk_cases

PREFIX = "reg_cases_"
FLASH = PREFIX + "flash"
MANAGE = Permission.risk_manage
STATUSES = ("open", "assigned", "in_progress", "closed")
DEPARTMENTS = risk_cases.DEPARTMENTS


def step(name: str, **kwargs) -> None:
    fn = getattr(risk_cases, name)
    try:
        fn(actor=actor, case_id=chosen, expected_version=int(case["version"]), **kwargs)
    except JinfuError as exc:
        show_error(exc)
    else:
        st.session_state[FLASH] = t(f"riskui.cases.done.{name}", id=chosen)
        st.rerun()


actor = current_actor()
st.title(t("riskui.cases.title"))
if actor is None or not actor.can(Permission.oversight):
    st.info(t("riskui.forbidden"))
    st.stop()
can_manage = actor.can(MANAGE)
st.caption(t("riskui.cases.caption"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

status = st.segmented_control(
    t("riskui.filter.status"),
    options=[None, *STATUSES],
    format_func={None: t("riskui.filter.all"), **{s: t(f"riskui.case_status.{s}") for s in STATUSES}}.get,
    default=None,
    key=PREFIX + "status",
)
cases = risk_cases.list_cases(actor=actor, status=status)
if cases.empty:
    st.info(t("riskui.cases.none"), icon=":material/verified:")
    st.stop()

open_cases = cases[cases["status"] != "closed"]
kpi_cards(
    [
        Kpi(t("riskui.cases.kpi.cases"), num(len(cases))),
        Kpi(t("riskui.cases.kpi.open"), num(len(open_cases))),
        Kpi(t("riskui.cases.kpi.amount"), wan(float(pd.to_numeric(open_cases["amount"]).sum()))),
    ],
    per_row=3,
    key=PREFIX + "kpis",
)


def departments_text(value) -> str:
    return "、".join(t(f"riskui.dept.{d}") if d in DEPARTMENTS else str(d) for d in (value or []))


data_table(
    pd.DataFrame({
        t("riskui.col.id"): cases["id"],
        t("riskui.col.enterprise"): cases["enterprise_name"],
        t("riskui.col.institution"): cases["institution_name"],
        t("riskui.col.amount_wan"): pd.to_numeric(cases["amount"]).astype(float).div(10_000).round(2),
        t("riskui.col.status"): cases["status"].map(lambda s: t(f"riskui.case_status.{s}")),
        t("riskui.col.departments"): cases["departments"].map(departments_text),
        t("riskui.col.opened_at"): pd.to_datetime(cases["opened_at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
    }),
    filename="large_default_cases",
    key=PREFIX + "table",
)

st.subheader(t("riskui.cases.work"))
rows = {int(r["id"]): r for r in cases.to_dict("records")}
chosen = st.selectbox(
    t("riskui.cases.pick"),
    options=list(rows),
    format_func={
        i: f"#{i} · {r['enterprise_name']} · {wan(float(r['amount']))} · {t('riskui.case_status.' + r['status'])}"
        for i, r in rows.items()
    }.get,
    key=PREFIX + "pick",
)
case = rows[chosen]
with st.container(border=True):
    st.markdown(t("common.field", label=t("riskui.col.status"), value=t(f"riskui.case_status.{case['status']}")))
    st.markdown(t("common.field", label=t("riskui.col.departments"), value=departments_text(case["departments"])
                  or "—"))
    if case.get("assignee_name"):
        st.markdown(t("common.field", label=t("riskui.cases.assignee"), value=case["assignee_name"]))
    if case.get("resolution"):
        st.markdown(t("common.field", label=t("riskui.cases.resolution"), value=case["resolution"]))
    notes = case.get("notes") or []
    if notes:
        st.markdown(f"**{t('riskui.cases.notes')}**")
        for note in notes:
            st.caption(f"{str(note.get('at', ''))[:16].replace('T', ' ')} · {note.get('by_label', '')}: "
                       f"{note.get('text', '')}")

if not can_manage:
    st.info(t("riskui.cases.read_only"), icon=":material/visibility:")
    st.stop()
if case["status"] == "closed":
    st.caption(t("riskui.cases.closed_note"))
    st.stop()

with st.form(PREFIX + f"assign_{chosen}", border=True):
    departments = st.multiselect(
        t("riskui.col.departments"),
        options=list(DEPARTMENTS),
        default=[d for d in (case["departments"] or []) if d in DEPARTMENTS],
        format_func={d: t(f"riskui.dept.{d}") for d in DEPARTMENTS}.get,
        key=PREFIX + f"departments_{chosen}",
    )
    to_me = st.checkbox(t("riskui.cases.assign_me"), value=True, key=PREFIX + f"me_{chosen}")
    if st.form_submit_button(t("riskui.cases.assign"), icon=":material/assignment_ind:"):
        step("assign_case", departments=departments, assignee_id=actor.user_id if to_me else None)

with st.form(PREFIX + f"note_{chosen}", border=True, clear_on_submit=True):
    text = st.text_area(t("riskui.cases.note"), max_chars=1000, key=PREFIX + f"note_text_{chosen}")
    if st.form_submit_button(t("riskui.cases.add_note"), icon=":material/note_add:"):
        step("add_case_note", text=text)

with st.form(PREFIX + f"status_{chosen}", border=True):
    target = st.radio(
        t("riskui.cases.new_status"),
        options=["in_progress", "closed"],
        format_func={s: t(f"riskui.case_status.{s}") for s in STATUSES}.get,
        horizontal=True,
        key=PREFIX + f"target_{chosen}",
    )
    resolution = st.text_area(t("riskui.cases.resolution"), max_chars=1000, key=PREFIX + f"resolution_{chosen}",
                              help=t("riskui.cases.resolution_help"))
    if st.form_submit_button(t("riskui.cases.set_status"), icon=":material/flag:"):
        step("set_case_status", status=target, resolution=resolution or None)
