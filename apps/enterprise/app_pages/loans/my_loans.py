"""Enterprise app · 我的贷款 / My loans: overdue notices first, then each loan's next due date and amount,
its repayment schedule and the payments recorded against it (read-only; banks record repayments)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.services import loan_reads

PREFIX = "ent_loans_"
STATUS_COLOR = {"active": "blue", "overdue": "orange", "settled": "green", "defaulted": "red", "written_off": "gray"}

actor = current_actor()
st.title(t("loans.my.title"))
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
st.caption(t("loans.my.caption"))


def money(value) -> str:
    return "—" if value is None or pd.isna(value) else f"¥{value:,.2f}"


def day(value) -> str:
    return "—" if value is None or pd.isna(value) else value.isoformat()


with st.spinner(t("common.loading")):
    loans = loan_reads.my_loans(actor=actor, enterprise_id=actor.enterprise_id)
if loans.empty:
    st.info(t("loans.my.none"), icon=":material/payments:")
    st.caption(t("loans.my.to_first_loan"))
    st.stop()

live = loans[loans["status"].isin(["active", "overdue", "defaulted"])]
upcoming = live.dropna(subset=["next_due_date"]).sort_values("next_due_date")
kpi_cards(
    [
        Kpi(t("loans.my.kpi.loans"), num(len(loans))),
        Kpi(t("loans.my.kpi.outstanding"), wan(live["outstanding_principal"].sum() if not live.empty else 0)),
        Kpi(t("loans.my.kpi.next_due"), day(upcoming.iloc[0]["next_due_date"]) if not upcoming.empty else "—"),
        Kpi(t("loans.my.kpi.next_amount"), money(upcoming.iloc[0]["next_due_amount"]) if not upcoming.empty else "—"),
    ],
    key=PREFIX + "kpis",
)

for row in live[live["days_past_due"] > 0].itertuples():
    st.warning(t("loans.my.overdue_notice", loan=row.id, product=row.product_name, days=row.days_past_due,
               amount=money(row.next_due_amount)), icon=":material/warning:")

labels = {
    int(r.id): f"#{r.id} · {r.product_name} · {wan(r.amount)} · {t('loans.status.' + r.status)}"
    for r in loans.itertuples()
}
chosen = st.selectbox(t("loans.my.pick"), options=list(labels), format_func=labels.__getitem__, key=PREFIX + "pick")
detail = loan_reads.my_loan_detail(actor=actor, loan_id=chosen)
loan = detail.loan

with st.container(horizontal=True, gap="small"):
    st.badge(t(f"loans.status.{loan.status}"), color=STATUS_COLOR.get(loan.status, "blue"))
    st.badge(detail.institution_name, color="gray", icon=":material/account_balance:")
    st.badge(t(f"repayment.{loan.repayment_method}"), color="gray")
    if loan.is_first_loan:
        st.badge(t("loans.first_loan_badge"), color="green", icon=":material/star:")
kpi_cards(
    [
        Kpi(t("loans.kpi.amount"), wan(loan.amount)),
        Kpi(t("loans.kpi.rate"), f"{num(loan.annual_rate, 2)}%"),
        Kpi(t("loans.kpi.outstanding"), wan(loan.outstanding_principal)),
        Kpi(t("loans.kpi.next_due"), f"{day(detail.next_due_date)} · {money(detail.next_due_amount)}"),
    ],
    key=PREFIX + "loan_kpis",
)
if loan.paused_until:
    st.info(t("loans.paused_until", day=loan.paused_until.isoformat()), icon=":material/pause_circle:")

schedule_tab, history_tab = st.tabs([t("loans.tab.schedule"), t("loans.tab.history")])
with schedule_tab:
    schedule = detail.schedule.assign(status=detail.schedule["status"].map(lambda s: t(f"loans.inst_status.{s}")))
    data_table(
        schedule[["seq", "due_date", "principal_due", "interest_due", "total_due", "outstanding", "paid_on",
                  "status", "days_past_due"]],
        f"loan-{loan.id}-schedule",
        column_config={
            "seq": st.column_config.NumberColumn(t("loans.col.seq"), width="small"),
            "due_date": st.column_config.DateColumn(t("loans.col.due_date")),
            "principal_due": st.column_config.NumberColumn(t("loans.col.principal"), format="%.2f"),
            "interest_due": st.column_config.NumberColumn(t("loans.col.interest"), format="%.2f"),
            "total_due": st.column_config.NumberColumn(t("loans.col.total"), format="%.2f"),
            "outstanding": st.column_config.NumberColumn(t("loans.col.outstanding"), format="%.2f"),
            "paid_on": st.column_config.DateColumn(t("loans.col.paid_on")),
            "status": st.column_config.TextColumn(t("loans.col.status")),
            "days_past_due": st.column_config.NumberColumn(t("loans.col.dpd")),
        },
        key=PREFIX + "schedule",
    )
with history_tab:
    data_table(
        detail.repayments[["paid_on", "amount", "to_interest", "to_principal", "prepaid_principal", "prepay"]],
        f"loan-{loan.id}-repayments",
        column_config={
            "paid_on": st.column_config.DateColumn(t("loans.col.paid_on")),
            "amount": st.column_config.NumberColumn(t("loans.col.amount"), format="%.2f"),
            "to_interest": st.column_config.NumberColumn(t("loans.col.to_interest"), format="%.2f"),
            "to_principal": st.column_config.NumberColumn(t("loans.col.to_principal"), format="%.2f"),
            "prepaid_principal": st.column_config.NumberColumn(t("loans.col.prepaid"), format="%.2f"),
            "prepay": st.column_config.CheckboxColumn(t("loans.col.prepay")),
        },
        key=PREFIX + "history",
    )
