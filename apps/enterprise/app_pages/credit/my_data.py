"""Enterprise app · 我的数据 / My data: everything the platform holds about the firm, one tab per source,
each record open to a dispute (征信业管理条例 §25), records in dispute marked with their 20-day clock,
and the firm's disputes with the platform's answers.

A dispute form keeps its idempotency key in session state per record, so a double-click (two reruns
with the same inputs) raises one dispute.
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.text import plain
from apps.common.widgets import data_table, show_error
from core.errors import JinfuError, ValidationErrors
from core.services import disputes, my_data

PREFIX = "ent_mydata_"
FLASH = PREFIX + "flash"
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM_FIELDS = ("reason", "proposed_value")

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
locale = current_locale()



def label_of(key: str, fallback: str) -> str:
    text = t(key)
    return fallback if text == key else text


def kind_label(kind: str) -> str:
    return label_of(f"bank.file.kind.{kind}", kind)


def clock_text(days_left, overdue: bool) -> str:
    if pd.isna(days_left):
        return ""
    days = int(days_left)
    if overdue:
        return t("portrait.clock.overdue", days=max(1, -days))
    return t("portrait.clock.today") if days == 0 else t("portrait.clock.left", days=days)


def mark(row) -> str:
    """The dispute column: 「异议处理中 · 剩 N 天」 for an open dispute, else the last outcome."""
    status = row["dispute_status"]
    if status is None or pd.isna(status):
        return ""
    if status == "open":
        return t("portrait.mark.open", clock=clock_text(row["days_left"], bool(row["overdue"])))
    return t(f"portrait.status.{status}")


def local(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.tz_convert(SHANGHAI)


def marks(frame: pd.DataFrame) -> pd.Series:
    return frame.apply(mark, axis=1) if not frame.empty else pd.Series(dtype=object)


def dispute_form(record_type: str, record_id: int, label: str, row) -> None:
    """The dispute action of one record: its open dispute's clock, or a form to raise one."""
    if row["dispute_status"] == "open":
        st.info(
            t("portrait.form.in_dispute", clock=clock_text(row["days_left"], bool(row["overdue"]))),
            icon=":material/hourglass_top:",
        )
        return
    suffix = f"{record_type}_{record_id}"
    key_name = PREFIX + f"key_{suffix}"
    st.session_state.setdefault(key_name, uuid.uuid4().hex)
    with st.form(PREFIX + f"form_{suffix}", border=True):
        st.markdown(f"**{t('portrait.form.title')}**  \n{plain(t('portrait.form.record', record=label))}")
        reason = st.text_area(
            t("portrait.form.reason"),
            max_chars=disputes.REASON_MAX,
            placeholder=t("portrait.form.reason_placeholder"),
            help=t("portrait.form.reason_help", min=disputes.REASON_MIN, max=disputes.REASON_MAX),
            key=PREFIX + f"reason_{suffix}",
        )
        slots = {"reason": st.empty()}
        proposed = st.text_input(
            t("portrait.form.proposed"), max_chars=disputes.PROPOSED_MAX, key=PREFIX + f"proposed_{suffix}"
        )
        slots["proposed_value"] = st.empty()
        slots["_"] = st.empty()
        submitted = st.form_submit_button(
            t("portrait.form.submit"), type="primary", icon=":material/gavel:", key=PREFIX + f"submit_{suffix}"
        )
    if not submitted:
        return
    try:
        raised = disputes.raise_dispute(
            actor=actor,
            record_type=record_type,
            record_id=record_id,
            reason=reason,
            proposed_value=proposed or None,
            idempotency_key=st.session_state[key_name],
        )
    except ValidationErrors as exc:
        for error in exc.errors:
            slots.get(error.field or "_", slots["_"]).error(error.message(locale), icon=":material/error:")
    except JinfuError as exc:
        if exc.field in FORM_FIELDS:
            slots[exc.field].error(exc.message(locale), icon=":material/error:")
        else:
            show_error(exc)
    else:
        due = raised.due_at.astimezone(SHANGHAI).strftime("%Y-%m-%d")
        st.session_state[FLASH] = t("portrait.form.raised", id=raised.id, date=due)
        st.rerun()


def text_or_empty(value) -> str:
    return value if isinstance(value, str) else ""


def describe_gov(r) -> str:
    shown = text_or_empty(r["text"]) or (num(r["value"], 2) if pd.notna(r["value"]) else "—")
    ref = f" · {r['ref']}" if text_or_empty(r["ref"]) else ""
    return f"{pd.Timestamp(r['period']).strftime('%Y-%m')} · {kind_label(r['kind'])} · {shown}{ref}"


def record_picker(frame: pd.DataFrame, record_type: str, tab: str, describe) -> None:
    """A select box of the tab's records; the chosen one gets its dispute action below."""
    rows = {int(r["id"]): r for r in frame.to_dict("records")}
    labels = {rid: describe(r) for rid, r in rows.items()}
    chosen = st.selectbox(
        t("portrait.mydata.select_hint"),
        options=list(rows),
        index=None,
        format_func=labels.__getitem__,
        placeholder=t("portrait.mydata.pick_placeholder"),
        key=PREFIX + f"pick_{tab}",
    )
    if chosen is not None:
        dispute_form(record_type, chosen, labels[chosen], rows[chosen])


# ------------------------------------------------------------------------------------------ page
st.title(t("portrait.mydata.title"))
st.caption(t("portrait.mydata.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    data = my_data.my_data(actor=actor, enterprise_id=actor.enterprise_id)
open_disputes = int((data.disputes["status"] == "open").sum())
total = len(data.gov_records) + len(data.financials) + len(data.shareholdings) + len(data.registration)
st.caption(t("portrait.mydata.counts", records=num(total), open=num(open_disputes)))

groups = list(my_data.SOURCE_GROUPS)
tabs = st.tabs(
    [t(f"portrait.source.{g}") for g in groups]
    + [t("portrait.mydata.tab.financials"), t("portrait.mydata.tab.shareholdings"),
       t("portrait.mydata.tab.registration")]
)
DATETIME = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")

for group, tab in zip(groups, tabs, strict=False):
    with tab:
        frame = data.gov_records[data.gov_records["group"] == group]
        if frame.empty:
            st.info(t("portrait.mydata.empty"), icon=":material/inbox:")
            continue
        table = pd.DataFrame(
            {
                t("portrait.field.period"): pd.to_datetime(frame["period"]).dt.strftime("%Y-%m"),
                t("portrait.field.kind"): frame["kind"].map(kind_label),
                t("portrait.field.value"): frame["value"],
                t("portrait.field.text"): frame["text"].map(text_or_empty),
                t("portrait.field.dispute"): marks(frame),
                t("portrait.field.ref"): frame["ref"].map(text_or_empty),
                t("portrait.field.received_at"): local(frame["received_at"]),
            }
        )
        data_table(
            table,
            filename=f"my_data_{group}",
            key=PREFIX + f"table_{group}",
            column_config={t("portrait.field.received_at"): DATETIME},
        )

        record_picker(frame, "gov_record", group, describe_gov)

money_fields = list(my_data.MONEY_FIELDS)
with tabs[len(groups)]:
    frame = data.financials
    if frame.empty:
        st.info(t("portrait.mydata.empty"), icon=":material/inbox:")
    else:
        table = pd.DataFrame({t("portrait.field.year"): frame["year"]})
        for name in money_fields:
            table[t(f"portrait.field.{name}")] = frame[name].astype(float)
        table[t("portrait.field.received_at")] = local(frame["received_at"])
        table[t("portrait.field.dispute")] = marks(frame)
        data_table(
            table,
            filename="my_data_financials",
            key=PREFIX + "table_financials",
            column_config={
                t("portrait.field.received_at"): DATETIME,
                **{t(f"portrait.field.{n}"): st.column_config.NumberColumn(format="localized") for n in money_fields},
            },
        )
        record_picker(
            frame,
            "financial_statement",
            "financials",
            lambda r: f"{r['year']} · {t('portrait.field.revenue')} {num(r['revenue'])}",
        )

with tabs[len(groups) + 1]:
    frame = data.shareholdings
    if frame.empty:
        st.info(t("portrait.mydata.empty"), icon=":material/inbox:")
    else:
        table = pd.DataFrame(
            {
                t("portrait.field.holder_name"): frame["holder_name"],
                t("portrait.field.holder_type"): frame["holder_type"].map(lambda h: t(f"portrait.holder.{h}")),
                t("portrait.field.share_pct"): frame["share_pct"].astype(float),
                t("portrait.field.since"): frame["since"],
                t("portrait.field.until"): frame["until"],
                t("portrait.field.dispute"): marks(frame),
            }
        )
        data_table(table, filename="my_data_shareholdings", key=PREFIX + "table_shareholdings")
        record_picker(
            frame,
            "shareholding",
            "shareholdings",
            lambda r: f"{r['holder_name']} · {num(float(r['share_pct']), 2)}%",
        )

with tabs[len(groups) + 2]:
    frame = data.registration
    row = frame.iloc[0]
    facts = pd.DataFrame(
        {
            t("portrait.col.record"): [t(f"portrait.field.{f}") for f in my_data.SNAPSHOT_FIELDS["enterprise"]],
            t("portrait.field.value"): [
                "" if row[f] is None or (not isinstance(row[f], str) and pd.isna(row[f])) else str(row[f])
                for f in my_data.SNAPSHOT_FIELDS["enterprise"]
            ],
        }
    )
    data_table(facts, filename="my_data_registration", key=PREFIX + "table_registration")
    if status := mark(row):
        st.caption(f"{t('portrait.field.dispute')}: {status}")
    record_picker(frame, "enterprise", "registration", lambda r: f"{r['name']} · {r['credit_code']}")

# --------------------------------------------------------------------------------- my disputes
st.subheader(t("portrait.mydata.disputes"))
mine = data.disputes
if mine.empty:
    st.info(t("portrait.mydata.disputes.none"), icon=":material/gavel:")
else:

    def record_text(r) -> str:
        source = r["record_source"]
        parts = [label_of(f"portrait.source.{source}", str(source or ""))]
        if isinstance(r["record_kind"], str) and r["record_kind"]:
            parts.append(kind_label(r["record_kind"]))
        if isinstance(r["record_label"], str) and r["record_label"]:
            parts.append(str(r["record_label"]))
        return " · ".join(parts)

    table = pd.DataFrame(
        {
            t("portrait.col.id"): mine["id"],
            t("portrait.col.record"): mine.apply(record_text, axis=1),
            t("portrait.col.reason"): mine["reason"],
            t("portrait.col.proposed"): mine["proposed_value"],
            t("portrait.col.status"): mine["status"].map(lambda s: t(f"portrait.status.{s}")),
            t("portrait.col.clock"): mine.apply(lambda r: clock_text(r["days_left"], bool(r["overdue"])), axis=1),
            t("portrait.col.raised_at"): local(mine["raised_at"]),
            t("portrait.col.due_at"): local(mine["due_at"]),
            t("portrait.col.answer"): mine["answer"],
            t("portrait.col.answered_at"): local(mine["answered_at"]),
        }
    )
    data_table(
        table,
        filename="my_disputes",
        key=PREFIX + "disputes",
        column_config={
            t("portrait.col.raised_at"): DATETIME,
            t("portrait.col.due_at"): DATETIME,
            t("portrait.col.answered_at"): DATETIME,
        },
    )
    for r in mine[mine["status"] == "open"].to_dict("records"):
        if st.button(
            t("portrait.mydata.withdraw", id=r["id"]), key=PREFIX + f"withdraw_{r['id']}", icon=":material/undo:"
        ):
            try:
                disputes.withdraw_dispute(actor=actor, dispute_id=int(r["id"]))
            except JinfuError as exc:
                show_error(exc)
            else:
                st.session_state.pop(PREFIX + f"key_{r['record_type']}_{r['record_id']}", None)
                st.session_state[FLASH] = t("portrait.mydata.withdrawn", id=r["id"])
                st.rerun()
