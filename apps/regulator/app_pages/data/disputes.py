"""Regulator app · 数据异议处理 / Data disputes (operator): the queue by due date with days left (red at 3 days
or fewer, and when overdue), one dispute with its record and the enterprise's reason, and the answer:
correct the record (with the correct value) or reject it (with the reason).

The answer form carries the dispute's version as it was when the operator opened it (kept in session
state), so an answer that crossed another operator's is refused with a clear message, never applied twice.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.services import dispute_answers, disputes

PREFIX = "reg_disputes_"
FLASH = PREFIX + "flash"
PICK = PREFIX + "pick"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DUE_SOON_DAYS = 3
FORM_FIELDS = ("answer", "corrected_value", "corrected_field", "outcome")
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")

st.title(t("portrait.desk.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.disputes_answer):
    st.info(t("portrait.desk.forbidden"), icon=":material/lock:")
    st.stop()
locale = current_locale()
st.caption(t("portrait.desk.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")


def plain(text) -> str:
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


def label_of(key: str, fallback: str) -> str:
    text = t(key)
    return fallback if text == key else text


def urgent(days_left, overdue: bool) -> bool:
    return bool(overdue) or (pd.notna(days_left) and int(days_left) <= DUE_SOON_DAYS)


def clock_text(days_left, overdue: bool) -> str:
    if pd.isna(days_left):
        return "—"
    days = int(days_left)
    if overdue:
        text = t("portrait.clock.overdue", days=max(1, -days))
    else:
        text = t("portrait.clock.today") if days == 0 else t("portrait.clock.left", days=days)
    return text


def record_text(r) -> str:
    source = r["record_source"]
    parts = [label_of(f"portrait.source.{source}", str(source or ""))]
    if isinstance(r["record_kind"], str) and r["record_kind"]:
        parts.append(label_of(f"bank.file.kind.{r['record_kind']}", str(r["record_kind"])))
    if isinstance(r["record_label"], str) and r["record_label"]:
        parts.append(str(r["record_label"]))
    return " · ".join(parts)


def local(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.tz_convert(SHANGHAI)


def shown_value(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if hasattr(value, "isoformat"):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if hasattr(value, "hour") else str(value)
    if isinstance(value, float):
        return num(value, 2)
    return label_of(f"portrait.source.{value}", str(getattr(value, "value", value)))


# ----------------------------------------------------------------------------------------- queue
with st.spinner(t("common.loading")):
    everything = disputes.list_disputes(actor=actor)
is_open = everything["status"] == "open"
overdue = everything["overdue"] & is_open
due_soon = is_open & ~overdue & everything["days_left"].fillna(99).le(DUE_SOON_DAYS)
kpi_cards(
    [
        Kpi(t("portrait.desk.kpi.open"), num(int(is_open.sum()))),
        Kpi(t("portrait.desk.kpi.due_soon"), num(int(due_soon.sum()))),
        Kpi(t("portrait.desk.kpi.overdue"), num(int(overdue.sum()))),
        Kpi(t("portrait.desk.kpi.closed"), num(int((~is_open).sum()))),
    ],
    key="kpi_" + PREFIX + "counts",
)

st.subheader(t("portrait.desk.queue"))
open_only = st.toggle(t("portrait.desk.open_only"), value=True, key=PREFIX + "open_only")
queue = everything[is_open] if open_only else everything
if queue.empty:
    st.info(t("portrait.desk.none"), icon=":material/task_alt:")
else:
    clocks = queue.apply(lambda r: clock_text(r["days_left"], r["overdue"]), axis=1)
    red = queue.apply(lambda r: urgent(r["days_left"], r["overdue"]), axis=1)
    labels = list(dict.fromkeys(clocks))
    colours = ["red" if red[clocks == label].any() else "green" for label in labels]
    table = pd.DataFrame(
        {
            t("portrait.col.id"): queue["id"],
            # One coloured label per row: red at 3 days or fewer and when overdue, else green.
            t("portrait.col.clock"): clocks.map(lambda c: [c]),
            t("portrait.col.enterprise"): queue["enterprise_name"],
            t("portrait.col.credit_code"): queue["credit_code"],
            t("portrait.col.record_type"): queue["record_type"].map(lambda r: t(f"portrait.record_type.{r}")),
            t("portrait.col.record"): queue.apply(record_text, axis=1),
            t("portrait.col.status"): queue["status"].map(lambda s: t(f"portrait.status.{s}")),
            t("portrait.col.raised_at"): local(queue["raised_at"]),
            t("portrait.col.due_at"): local(queue["due_at"]),
        }
    )
    datetime_column = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")
    data_table(
        table,
        filename="disputes",
        key=PREFIX + "table",
        column_config={
            t("portrait.col.raised_at"): datetime_column,
            t("portrait.col.due_at"): datetime_column,
            t("portrait.col.clock"): st.column_config.MultiselectColumn(options=labels, color=colours),
        },
    )

# ---------------------------------------------------------------------------------- one dispute
rows = {int(r["id"]): r for r in everything.to_dict("records")}
choices = [int(i) for i in queue["id"]]
kept = st.session_state.get(PICK)
if kept in rows and kept not in choices:
    choices.insert(0, kept)  # the dispute being answered stays open even once it leaves the queue
if not choices:
    st.stop()
chosen = st.selectbox(
    t("portrait.desk.pick"),
    options=choices,
    format_func=lambda i: t(
        "portrait.desk.pick_label",
        id=i,
        enterprise=rows[i]["enterprise_name"],
        record=record_text(rows[i]),
        clock=clock_text(rows[i]["days_left"], rows[i]["overdue"]),
    ),
    key=PICK,
)
detail = disputes.dispute_detail(actor=actor, dispute_id=chosen)
dispute = detail.dispute
version_key = PREFIX + f"version_{chosen}"
if dispute.status == "open":
    st.session_state.setdefault(version_key, dispute.version)  # the version this operator is answering

with st.container(border=True):
    st.markdown(f"#### {t('portrait.desk.detail', id=dispute.id)}")
    with st.container(horizontal=True, gap="small"):
        st.badge(t(f"portrait.status.{dispute.status}"), color="blue" if dispute.status == "open" else "gray")
        if dispute.status == "open":
            st.badge(
                clock_text(dispute.days_left, dispute.overdue),
                color="red" if urgent(dispute.days_left, dispute.overdue) else "green",
                icon=":material/timer:",
            )
        st.badge(t(f"portrait.record_type.{rows[chosen]['record_type']}"), color="violet")
    st.markdown(f"**{plain(detail.enterprise_name)}** · {detail.credit_code}")
    st.markdown(f"**{t('portrait.desk.reason')}**  \n{plain(dispute.reason)}")
    if dispute.proposed_value:
        st.markdown(t("portrait.desk.proposed", value=plain(dispute.proposed_value)))
    st.markdown(f"**{t('portrait.desk.record')}**")
    record = pd.DataFrame(
        {
            t("portrait.col.record"): [label_of(f"portrait.field.{k}", k) for k in detail.record],
            t("portrait.field.value"): [
                label_of(f"bank.file.kind.{v}", str(v)) if k == "kind" else shown_value(v)
                for k, v in detail.record.items()
            ],
        }
    )
    st.dataframe(record, hide_index=True, width="stretch", key=PREFIX + f"record_{chosen}")
    if dispute.status != "open" and version_key not in st.session_state:
        st.info(t("portrait.desk.closed", status=t(f"portrait.status.{dispute.status}")), icon=":material/done:")
        if dispute.answer:
            st.caption(t("portrait.mydata.answer", answer=dispute.answer))
        st.stop()

# ------------------------------------------------------------------------------------ the answer
st.markdown(f"#### {t('portrait.desk.answer')}")
outcome = st.radio(
    t("portrait.desk.outcome"),
    options=list(dispute_answers.OUTCOMES),
    format_func=lambda o: t(f"portrait.desk.outcome.{o}"),
    index=1,
    horizontal=True,
    key=PREFIX + f"outcome_{chosen}",
)
with st.form(PREFIX + f"form_{chosen}", border=True):
    slots = {}
    field_name = value = None
    if outcome == "corrected":
        fields = list(detail.correctable)
        field_name = st.selectbox(
            t("portrait.desk.field"),
            options=fields,
            index=fields.index(detail.default_field),
            format_func=lambda f: label_of(f"portrait.field.{f}", f),
            key=PREFIX + f"field_{chosen}",
        )
        slots["corrected_field"] = st.empty()
        value = st.text_input(
            t("portrait.desk.value"),
            value=dispute.proposed_value or "",
            max_chars=200,
            key=PREFIX + f"value_{chosen}",
        )
        slots["corrected_value"] = st.empty()
        st.caption(t("portrait.desk.rerate_note"))
    answer = st.text_area(
        t("portrait.desk.text"),
        max_chars=dispute_answers.ANSWER_MAX,
        help=t("portrait.desk.text_help", min=dispute_answers.ANSWER_MIN, max=dispute_answers.ANSWER_MAX),
        key=PREFIX + f"answer_{chosen}",
    )
    slots["answer"] = st.empty()
    slots["_"] = st.empty()
    submitted = st.form_submit_button(
        t("portrait.desk.submit"), type="primary", icon=":material/send:", key=PREFIX + f"submit_{chosen}"
    )

if submitted:
    try:
        answered = dispute_answers.answer_dispute(
            actor=actor,
            dispute_id=chosen,
            outcome=outcome,
            answer=answer,
            corrected_value=value,
            corrected_field=field_name,
            expected_version=st.session_state.get(version_key, dispute.version),
        )
    except StaleVersionError:
        st.session_state.pop(version_key, None)  # the next run shows the dispute as it now stands
        st.error(t("portrait.desk.stale"), icon=":material/sync_problem:")
    except ValidationErrors as exc:
        for error in exc.errors:
            slots.get(error.field or "_", slots["_"]).error(error.message(locale), icon=":material/error:")
    except JinfuError as exc:
        if exc.field in slots:
            slots[exc.field].error(exc.message(locale), icon=":material/error:")
        else:
            st.session_state.pop(version_key, None)
            show_error(exc)
    else:
        st.session_state.pop(version_key, None)
        st.session_state[FLASH] = t(f"portrait.desk.answered.{answered.status}", id=answered.id)
        st.rerun()
