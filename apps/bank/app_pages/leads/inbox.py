"""Bank app · 线索收件箱 / Lead inbox: dispatched needs with their SLA clocks, the match explanation and the
enterprise's grade; accept, or decline with a reason; claim open needs (抢单).

Each response carries the lead's version as shown, so a colleague's earlier response is reported
instead of being overwritten.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, district, explain, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.errors import JinfuError
from core.services import leads, need_claims, needs

FLASH = "bank_leads_flash"
CARDS = 20

actor = current_actor()
if actor is None or actor.organization_id is None:
    st.info(t("bank.no_institution"))
    st.stop()

en = current_locale() == "en"
institution_id = actor.organization_id

st.title(t("matching.leads.title"))
st.caption(t("matching.leads.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    inbox = leads.lead_inbox(actor=actor, institution_id=institution_id)

active = inbox[inbox["status"].isin(needs.ACTIVE_LEAD_STATUSES)] if not inbox.empty else inbox
kpi_cards([
    Kpi(t("matching.leads.kpi.pending"), num((active["status"] == "pending").sum() if not active.empty else 0)),
    Kpi(t("matching.leads.kpi.overdue"), num(active["overdue"].sum() if not active.empty else 0)),
    Kpi(t("matching.leads.kpi.responded"), num((active["status"] == "responded").sum() if not active.empty else 0)),
], per_row=3, key="bank_leads_kpis")


def sla_badge(row) -> None:
    if row.status not in needs.ACTIVE_LEAD_STATUSES:
        st.badge(t("matching.sla.done"), color="gray")
    elif row.overdue:
        st.badge(t("matching.sla.overdue"), icon=":material/alarm:", color="red")
    elif row.days_left == 0:
        st.badge(t("matching.sla.today"), icon=":material/schedule:", color="orange")
    else:
        st.badge(t("matching.sla.left", days=row.days_left), icon=":material/schedule:", color="green")


def respond(row, accept: bool) -> None:
    reason = st.session_state.get(f"bank_leads_reason_{row.lead_id}", "")
    try:
        leads.respond_to_lead(actor=actor, lead_id=int(row.lead_id), accept=accept, reason=reason or None,
                              version=int(row.version))
    except JinfuError as exc:
        show_error(exc)
    else:
        key = "matching.leads.accepted" if accept else "matching.leads.declined"
        st.session_state[FLASH] = t(key, id=row.lead_id)
        st.rerun()


choice = st.segmented_control(
    t("matching.leads.filter"), options=["open", "all"], format_func=lambda v: t(f"matching.leads.filter.{v}"),
    default="open", required=True, key="bank_leads_filter",
)
shown = active if choice == "open" else inbox
if shown.empty:
    st.info(t("matching.leads.none"), icon=":material/inbox:")
for row in shown.head(CARDS).itertuples():
    with st.container(border=True):
        st.markdown(f"**{row.enterprise_name}**")
        with st.container(horizontal=True, gap="small"):
            grade = row.grade or t("matching.unrated")
            st.badge(t("matching.leads.card.grade", grade=grade), color="violet")
            st.badge(t(f"matching.status.{row.status}"), color="gray")
            st.badge(t(f"matching.channel.{row.channel}"), color="blue")
            sla_badge(row)
        st.caption(t("matching.leads.card.need", amount=wan(row.amount, 0), term=row.term_months, need=row.need_id)
                   + " · " + district(row.district_code))
        st.caption(row.purpose)
        if row.product_name:
            st.caption(t("matching.leads.card.product", product=row.product_name, fit=num(row.fit_score or 0, 2)))
        if row.reasons:
            with st.expander(t("matching.leads.why"), icon=":material/insights:"):
                for reason in row.reasons:
                    st.markdown(f"- {explain(reason)}")
        if row.status == "pending":
            st.text_input(t("matching.leads.reason"), key=f"bank_leads_reason_{row.lead_id}", max_chars=500,
                          placeholder=t("matching.leads.reason_placeholder"))
            with st.container(horizontal=True, gap="small"):
                if st.button(t("matching.leads.accept"), type="primary", key=f"bank_leads_accept_{row.lead_id}",
                             icon=":material/handshake:"):
                    respond(row, True)
                if st.button(t("matching.leads.decline"), key=f"bank_leads_decline_{row.lead_id}",
                             icon=":material/block:"):
                    respond(row, False)

if not inbox.empty:
    with st.expander(t("matching.leads.all"), icon=":material/table_view:"):
        table = pd.DataFrame({
            t("matching.col.lead"): inbox["lead_id"],
            t("matching.col.need"): inbox["need_id"],
            t("matching.col.enterprise"): inbox["enterprise_name"],
            t("matching.col.grade"): inbox["grade"].fillna(t("matching.unrated")),
            t("matching.col.amount"): (inbox["amount"] / 10_000).round(1),
            t("matching.col.term"): inbox["term_months"],
            t("matching.col.product"): inbox["product_name"],
            t("matching.col.channel"): inbox["channel"].map(lambda c: t(f"matching.channel.{c}")),
            t("matching.col.status"): inbox["status"].map(lambda s: t(f"matching.status.{s}")),
            t("matching.col.sla"): inbox["first_response_due"].dt.tz_convert("Asia/Shanghai"),
            t("matching.col.note"): inbox["response_note"],
        })
        data_table(table, filename="leads", key="bank_leads_table",
                   column_config={t("matching.col.sla"): st.column_config.DatetimeColumn(format="YYYY-MM-DD")})

# -- claims ------------------------------------------------------------------------------------------
st.subheader(t("matching.leads.claim.title"))
st.caption(t("matching.leads.claim.caption"))
with st.spinner(t("common.loading")):
    open_needs = need_claims.claimable_needs(actor=actor, institution_id=institution_id, limit=100)
if open_needs.empty:
    st.info(t("matching.leads.claim.none"), icon=":material/travel_explore:")
    st.stop()
data_table(pd.DataFrame({
    t("matching.col.need"): open_needs["need_id"],
    t("matching.col.enterprise"): open_needs["enterprise_name"],
    t("matching.col.district"): open_needs["district_code"].map(district),
    t("matching.col.grade"): open_needs["grade"].fillna(t("matching.unrated")),
    t("matching.col.amount"): (open_needs["amount"] / 10_000).round(1),
    t("matching.col.term"): open_needs["term_months"],
    t("matching.col.product"): open_needs["product_name"],
    t("matching.col.fit"): open_needs["fit_score"].round(2),
    t("matching.col.leads"): open_needs["active_leads"].astype(str) + "/" + open_needs["dispatch_limit"].astype(str),
}), filename="claimable_needs", key="bank_leads_claimable")
by_id = {int(r.need_id): r for r in open_needs.itertuples()}
pick = st.selectbox(t("matching.leads.claim.pick"), options=list(by_id), index=None, key="bank_leads_claim_pick",
                    format_func=lambda i: f"#{i} · {by_id[i].enterprise_name} · {wan(by_id[i].amount, 0)}")
if st.button(t("matching.leads.claim.submit"), key="bank_leads_claim", disabled=pick is None,
             icon=":material/back_hand:", width="stretch"):
    try:
        need_claims.claim_need(actor=actor, need_id=int(pick))
    except JinfuError as exc:
        show_error(exc)
    else:
        st.session_state[FLASH] = t("matching.leads.claimed", id=pick)
        st.rerun()
