"""Bank app · 增信审批 / Credit enhancement: a guarantor's or insurer's queue of applications that attached one
of its products, each approved or declined in the provider's own step; the decided ones below, exportable.

The version of each request when it was first shown travels with the decision, so two colleagues
deciding the same request cannot overwrite each other: the second is told to reload.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.bank.header import institution_header
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.services import enhancement

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLASH = "bank_enh_flash"
SEEN = "bank_enh_seen"  # enhancement id → the version shown first
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value is not None and not pd.isna(value) else "—"


def plain(text: object) -> str:
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


actor = institution_header("review.enh.title", "review.enh.caption")
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    queue = enhancement.enhancement_queue(actor=actor, provider_id=actor.organization_id, status=None)
pending = queue[queue["status"] == "pending"]
decided = queue[queue["status"] != "pending"]
kpi_cards(
    [
        Kpi(t("review.enh.kpi.pending"), num(len(pending))),
        Kpi(t("review.enh.kpi.approved"), num(int((queue["status"] == "approved").sum()))),
        Kpi(t("review.enh.kpi.declined"), num(int((queue["status"] == "declined").sum()))),
        Kpi(t("review.enh.kpi.amount"), wan(pending["amount_requested"].sum() if len(pending) else 0)),
    ],
    key="bank_enh_kpis",
)

st.subheader(t("review.enh.pending"))
if pending.empty:
    st.info(t("review.enh.queue_empty"), icon=":material/inbox:")
seen: dict[int, int] = st.session_state.setdefault(SEEN, {})
for row in pending.itertuples():
    version = seen.setdefault(int(row.id), int(row.version))
    with st.container(border=True):
        st.markdown(f"**{plain(row.enterprise_name)}** · #{row.application_id}")
        st.caption(
            t("review.enh.request_line", lender=plain(row.lender_name), product=plain(row.product_name),
              amount=wan(row.amount_requested), pct=num(row.coverage_pct), at=local(row.created_at))
        )
        note = st.text_input(t("review.enh.note"), key=f"bank_enh_note_{row.id}", max_chars=1000)
        with st.container(horizontal=True, gap="small"):
            approve = st.button(t("review.enh.approve"), type="primary", key=f"bank_enh_approve_{row.id}",
                                icon=":material/check:")
            decline = st.button(t("review.enh.decline"), key=f"bank_enh_decline_{row.id}", icon=":material/close:")
        if approve or decline:
            try:
                enhancement.decide_enhancement(actor=actor, enhancement_id=int(row.id), approve=bool(approve),
                                               expected_version=version, note=note)
            except ValidationErrors as exc:
                for message in exc.messages(current_locale()).values():
                    st.error(message, icon=":material/error:")
            except StaleVersionError:
                st.warning(t("review.stale"), icon=":material/sync_problem:")
                seen[int(row.id)] = int(row.version)
            except JinfuError as exc:
                show_error(exc)
            else:
                seen.pop(int(row.id), None)
                st.session_state[FLASH] = t("review.enh.decided_" + ("approved" if approve else "declined"),
                                            id=row.application_id)
                st.rerun()

st.subheader(t("review.enh.history"))
table = pd.DataFrame(
    {
        t("review.col.application"): decided["application_id"],
        t("review.col.enterprise"): decided["enterprise_name"],
        t("review.col.lender"): decided["lender_name"],
        t("review.col.product"): decided["product_name"],
        t("review.col.amount"): decided["amount_requested"] / 10_000,
        t("review.col.coverage"): decided["coverage_pct"],
        t("review.col.status"): decided["status"].map(lambda s: t(f"review.enh.status.{s}")),
        t("review.col.decided_at"): decided["decided_at"].dt.tz_convert("Asia/Shanghai"),
        t("review.col.note"): decided["note"],
    }
)
data_table(
    table,
    filename="credit_enhancement",
    key="bank_enh_table",
    column_config={
        t("review.col.amount"): st.column_config.NumberColumn(format="%.1f"),
        t("review.col.decided_at"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)
