"""Bank app · 放款与贷后 / Loans: approved applications → sign the contract → disburse with a preview of the
generated schedule; record repayments (a double-clicked submit stores one); the portfolio by days-past-due
bucket; the first-loan queue and the service hall's appointments (attendance and guidance).

Idempotency keys for a disbursement and a repayment are kept in session state until the call succeeds.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.bank.header import institution_header
from apps.common.charts import CHART_CONFIG, PALETTE
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.lending.schedule import FREQUENCIES, METHODS
from core.lending.workdays import SHANGHAI
from core.services import directory, first_loan, loan_reads, loan_repayments, loans

PREFIX = "bank_loans_"
FLASH = PREFIX + "flash"
DISBURSE_KEY = PREFIX + "disburse_key"
REPAY_KEY = PREFIX + "repay_key"
MONEY = "%.2f"


def fail(exc: JinfuError) -> None:
    if isinstance(exc, ValidationErrors):
        for message in exc.messages(current_locale()).values():
            st.error(message, icon=":material/error:")
    elif isinstance(exc, StaleVersionError):
        st.warning(t("loans.stale"), icon=":material/sync_problem:")
    else:
        show_error(exc)


def done(message: str) -> None:
    st.session_state[FLASH] = message
    st.session_state.pop(DISBURSE_KEY, None)
    st.session_state.pop(REPAY_KEY, None)
    st.rerun()


actor = institution_header("loans.svc.title", "loans.svc.caption")
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")
today = datetime.now(SHANGHAI).date()
# Products (and so applications and loans) belong to head offices: branch staff service their whole family's.
home = directory.get_organization(actor=actor, organization_id=actor.organization_id)
family_id = home.parent_id or home.id

disburse_tab, repay_tab, portfolio_tab, first_tab = st.tabs(
    [t("loans.svc.tab.disburse"), t("loans.svc.tab.repay"), t("loans.svc.tab.portfolio"), t("loans.svc.tab.first")]
)

# -- contract and disbursement ----------------------------------------------------------------------
with disburse_tab:
    queue = loan_reads.servicing_queue(actor=actor, institution_id=family_id)
    if queue.empty:
        st.info(t("loans.svc.queue_empty"), icon=":material/inbox:")
    else:
        labels = {int(r.id): f"#{r.id} · {r.enterprise_name} · {wan(r.amount)} · {t('app_status.' + r.status)}"
                  for r in queue.itertuples()}
        app_id = st.selectbox(t("loans.svc.pick_application"), options=list(labels), format_func=labels.__getitem__,
                              key=PREFIX + "app")
        row = queue.set_index("id").loc[app_id]
        kpi_cards(
            [
                Kpi(t("loans.kpi.amount"), wan(row["amount"])),
                Kpi(t("loans.kpi.rate"), f"{num(row['rate'], 2)}%"),
                Kpi(t("loans.kpi.term"), t("loans.months", months=int(row["term_months"]))),
                Kpi(t("loans.kpi.first_loan"), t("loans.yes") if row["first_loan"] else t("loans.no")),
            ],
            key=PREFIX + "app_kpis",
        )
        if row["status"] == "approved":
            st.info(t("loans.svc.sign_hint"), icon=":material/draw:")
            if st.button(t("loans.svc.sign"), type="primary", key=PREFIX + "sign", icon=":material/draw:",
                         width="stretch"):
                try:
                    loans.sign_contract(actor=actor, application_id=app_id, expected_version=int(row["version"]))
                except JinfuError as exc:
                    fail(exc)
                else:
                    done(t("loans.svc.signed", id=app_id))
        else:
            offered = list(row["repayment_methods"]) or list(METHODS)
            method = st.selectbox(t("loans.svc.method"), options=offered, format_func=lambda m: t(f"repayment.{m}"),
                                  key=PREFIX + "method")
            frequency = st.segmented_control(t("loans.svc.frequency"), options=list(FREQUENCIES),
                                             format_func=lambda f: t(f"loans.frequency.{f}"), default="monthly",
                                             required=True, key=PREFIX + "frequency")
            value_date = st.date_input(t("loans.svc.value_date"), value=today, max_value=today,
                                       key=PREFIX + "value_date")
            try:
                preview = loan_reads.schedule_preview(actor=actor, application_id=app_id, method=method,
                                                      frequency=frequency, disbursed_on=value_date)
            except JinfuError as exc:
                fail(exc)
                preview = pd.DataFrame()
            if not preview.empty:
                st.markdown(t("loans.svc.preview", n=len(preview), interest=f"¥{preview['interest_due'].sum():,.2f}",
                              last=preview["due_date"].iloc[-1].isoformat()))
                st.dataframe(
                    preview, hide_index=True, width="stretch", height=240,
                    column_config={
                        "seq": st.column_config.NumberColumn(t("loans.col.seq"), width="small"),
                        "due_date": st.column_config.DateColumn(t("loans.col.due_date")),
                        "principal_due": st.column_config.NumberColumn(t("loans.col.principal"), format=MONEY),
                        "interest_due": st.column_config.NumberColumn(t("loans.col.interest"), format=MONEY),
                        "total_due": st.column_config.NumberColumn(t("loans.col.total"), format=MONEY),
                    },
                    key=PREFIX + "preview",
                )
                if st.button(t("loans.svc.disburse"), type="primary", key=PREFIX + "disburse",
                             icon=":material/account_balance_wallet:", width="stretch"):
                    key = st.session_state.setdefault(DISBURSE_KEY, f"disburse-{uuid.uuid4().hex}")
                    try:
                        loan = loans.disburse_loan(actor=actor, application_id=app_id, method=method,
                                                   frequency=frequency, disbursed_on=value_date, idempotency_key=key,
                                                   expected_version=int(row["version"]))
                    except JinfuError as exc:
                        st.session_state.pop(DISBURSE_KEY, None)
                        fail(exc)
                    else:
                        done(t("loans.svc.disbursed", id=loan.id, amount=wan(loan.amount)))

# -- repayments -------------------------------------------------------------------------------------
with repay_tab:
    book = loan_reads.servicing_loans(actor=actor, institution_id=family_id,
                                      status=["active", "overdue", "defaulted"], limit=500)
    if book.empty:
        st.info(t("loans.svc.no_loans"), icon=":material/inbox:")
    else:
        labels = {int(r.id): f"#{r.id} · {r.enterprise_name} · {wan(r.outstanding_principal)} · "
                             f"{t('loans.status.' + r.status)}" for r in book.itertuples()}
        loan_id = st.selectbox(t("loans.svc.pick_loan"), options=list(labels), format_func=labels.__getitem__,
                               key=PREFIX + "loan")
        detail = loan_reads.servicing_loan_detail(actor=actor, loan_id=loan_id)
        kpi_cards(
            [
                Kpi(t("loans.kpi.outstanding"), wan(detail.loan.outstanding_principal)),
                Kpi(t("loans.kpi.dpd"), f"{detail.days_past_due} · {detail.bucket}"),
                Kpi(t("loans.kpi.next_due"), detail.next_due_date.isoformat() if detail.next_due_date else "—"),
                Kpi(t("loans.kpi.next_amount"), f"¥{detail.next_due_amount:,.2f}"
                    if detail.next_due_amount is not None else "—"),
            ],
            key=PREFIX + "loan_kpis",
        )
        with st.form(PREFIX + "repay_form", border=True):
            amount = st.number_input(t("loans.svc.amount"), min_value=0.0, step=100.0, format="%.2f",
                                     value=float(detail.next_due_amount or 0), key=PREFIX + "amount")
            paid_on = st.date_input(t("loans.svc.paid_on"), value=today, max_value=today, key=PREFIX + "paid_on")
            prepay = st.checkbox(t("loans.svc.prepay"), help=t("loans.svc.prepay_help"), key=PREFIX + "prepay")
            submitted = st.form_submit_button(t("loans.svc.record"), type="primary", icon=":material/payments:",
                                              width="stretch")
        if submitted:
            key = st.session_state.setdefault(REPAY_KEY, f"repay-{uuid.uuid4().hex}")
            try:
                out = loan_repayments.record_repayment(actor=actor, loan_id=loan_id, amount=f"{amount:.2f}", paid_on=paid_on,
                                             prepay=prepay, idempotency_key=key)
            except JinfuError as exc:
                st.session_state.pop(REPAY_KEY, None)
                fail(exc)
            else:
                done(t("loans.svc.recorded", amount=f"¥{out.amount:,.2f}", outstanding=wan(out.outstanding_principal),
                       status=t(f"loans.status.{out.loan_status}")))
        with st.expander(t("loans.tab.schedule"), icon=":material/calendar_month:"):
            schedule = detail.schedule.assign(
                status=detail.schedule["status"].map(lambda s: t(f"loans.inst_status.{s}")))
            data_table(schedule[["seq", "due_date", "total_due", "outstanding", "paid_on", "status", "days_past_due"]],
                       f"loan-{loan_id}-schedule", key=PREFIX + "schedule",
                       column_config={
                           "seq": st.column_config.NumberColumn(t("loans.col.seq"), width="small"),
                           "due_date": st.column_config.DateColumn(t("loans.col.due_date")),
                           "total_due": st.column_config.NumberColumn(t("loans.col.total"), format=MONEY),
                           "outstanding": st.column_config.NumberColumn(t("loans.col.outstanding"), format=MONEY),
                           "paid_on": st.column_config.DateColumn(t("loans.col.paid_on")),
                           "status": st.column_config.TextColumn(t("loans.col.status")),
                           "days_past_due": st.column_config.NumberColumn(t("loans.col.dpd")),
                       })
        with st.expander(t("loans.tab.history"), icon=":material/history:"):
            data_table(detail.repayments[["paid_on", "amount", "to_interest", "to_principal", "prepaid_principal"]],
                       f"loan-{loan_id}-repayments", key=PREFIX + "history",
                       column_config={
                           "paid_on": st.column_config.DateColumn(t("loans.col.paid_on")),
                           "amount": st.column_config.NumberColumn(t("loans.col.amount"), format=MONEY),
                           "to_interest": st.column_config.NumberColumn(t("loans.col.to_interest"), format=MONEY),
                           "to_principal": st.column_config.NumberColumn(t("loans.col.to_principal"), format=MONEY),
                           "prepaid_principal": st.column_config.NumberColumn(t("loans.col.prepaid"), format=MONEY),
                       })

# -- portfolio by DPD bucket ------------------------------------------------------------------------
with portfolio_tab:
    buckets = loan_reads.portfolio_by_bucket(actor=actor, institution_id=actor.organization_id)
    kpi_cards([Kpi(t(f"loans.bucket.{b.bucket}"), num(b.loans), help=wan(b.outstanding))
               for b in buckets.itertuples()], key=PREFIX + "buckets")
    fig = go.Figure(go.Bar(
        x=[t(f"loans.bucket.{b}") for b in buckets["bucket"]], y=[float(v) / 10_000 for v in buckets["outstanding"]],
        marker_color=[PALETTE[2], PALETTE[4], PALETTE[1], "#c92a2a"], text=[f"{s:.1%}" for s in buckets["share"]],
        textposition="auto",
    ))
    fig.update_layout(height=300, margin={"l": 8, "r": 8, "t": 36, "b": 8},
                      title={"text": t("loans.svc.portfolio_chart"), "font": {"size": 14}, "x": 0})
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch", key=PREFIX + "bucket_chart")

# -- first-loan queue and the hall ------------------------------------------------------------------
with first_tab:
    st.markdown(f"**{t('loans.svc.first_queue')}**")
    fq = first_loan.first_loan_queue(actor=actor, institution_id=actor.organization_id)
    fq = fq.assign(
        status=[t(f"loans.lead_status.{s}") if k == "lead" else t(f"app_status.{s}")
                for k, s in zip(fq["kind"], fq["status"], strict=True)],
        kind=fq["kind"].map(lambda k: t(f"loans.queue.{k}")),
    )
    data_table(fq, "first-loan-queue", key=PREFIX + "first_queue",
               column_config={
                   "kind": st.column_config.TextColumn(t("loans.col.kind")),
                   "id": st.column_config.NumberColumn("#", width="small"),
                   "enterprise_name": st.column_config.TextColumn(t("loans.col.enterprise")),
                   "credit_code": st.column_config.TextColumn(t("loans.col.credit_code")),
                   "amount": st.column_config.NumberColumn(t("loans.col.amount"), format=MONEY),
                   "term_months": st.column_config.NumberColumn(t("loans.col.term")),
                   "status": st.column_config.TextColumn(t("loans.col.status")),
                   "since": st.column_config.DatetimeColumn(t("loans.col.since"), timezone="Asia/Shanghai",
                                                            format="YYYY-MM-DD HH:mm"),
               })
    st.markdown(f"**{t('loans.svc.hall')}**")
    hall_day = st.date_input(t("loans.svc.hall_day"), value=today, key=PREFIX + "hall_day")
    hall = first_loan.hall_schedule(actor=actor, day=hall_day)
    if hall.empty:
        st.caption(t("loans.svc.hall_empty"))
    for a in hall.itertuples():
        when = a.slot_start.astimezone(SHANGHAI).strftime("%H:%M")
        with st.expander(t("loans.svc.hall_line", when=when, window=a.window_no, enterprise=a.enterprise_name,
                           status=t(f"loans.appt_status.{a.status}"))):
            if a.note:
                st.caption(a.note)
            guidance = st.text_area(t("loans.svc.guidance"), value=a.guidance_note or "", max_chars=1000,
                                    key=f"{PREFIX}guidance_{a.id}")
            with st.container(horizontal=True, gap="small"):
                came = st.button(t("loans.svc.attended"), key=f"{PREFIX}came_{a.id}", icon=":material/how_to_reg:")
                missed = st.button(t("loans.svc.no_show"), key=f"{PREFIX}missed_{a.id}", icon=":material/person_off:")
            if came or missed:
                try:
                    first_loan.record_visit(actor=actor, appointment_id=int(a.id), attended=came,
                                            guidance_note=guidance)
                except JinfuError as exc:
                    fail(exc)
                else:
                    done(t("loans.svc.visit_recorded"))
