"""Bank app · 放款与贷后 / Loans: approved applications → sign the contract → disburse with a preview of the
generated schedule; record repayments (a double-clicked submit stores one); the portfolio by days-past-due
bucket; the first-loan queue and the service hall's appointments (attendance and guidance).

The page keeps its shape across reruns so that nothing on it is rebuilt under the user's pointer: the flash
message has a slot that is always there (a message appearing above the tabs would move them and the browser
would rebuild them on the first tab), the open tab is kept by the server (stateful ``st.tabs``; only its
content runs), and the repayment form's inputs are keyed by the loan and its version (another loan, or a
recorded payment, gives a fresh form showing that loan's next amount due). The submit button's callback only
notes which form was sent; the run it starts records the payment before reading the loan, so that one run
shows the result (no second rerun). Idempotency: a disbursement's key is kept in session state until the call
succeeds; a repayment's names the session, the loan and its version.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from apps.bank.header import institution_header
from apps.common.charts import CHART_CONFIG, PALETTE
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.auth import Actor
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.lending.schedule import FREQUENCIES, METHODS
from core.lending.workdays import SHANGHAI
from core.services import directory, first_loan, loan_reads, loan_repayments, loans

PREFIX = "bank_loans_"
FLASH = PREFIX + "flash"
TAB = PREFIX + "tab"
DISBURSE_KEY = PREFIX + "disburse_key"
REPAY_NONCE = PREFIX + "repay_nonce"
REPAY_SENT = PREFIX + "repay_sent"
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
    st.rerun()


def repay_keys(loan_id: int, version: int) -> dict[str, str]:
    """Widget keys of the repayment form for one loan as it stands (its version): picking another loan, or a
    payment (which moves the version), starts a fresh form whose amount is that loan's next amount due."""
    return {name: f"{PREFIX}{name}_{loan_id}_v{version}" for name in ("amount", "paid_on", "prepay")}


def sent(loan_id: int, version: int) -> None:
    """The repayment form's on_click: note which form was sent (the loan and its version)."""
    st.session_state[REPAY_SENT] = (loan_id, version)


def record_sent(actor: Actor, loan_id: int, flash: DeltaGenerator) -> JinfuError | None:
    """Record the payment of the form just sent, before the loan is read, so that this run shows the result;
    return the refusal to show under the form.

    The idempotency key names this session, the loan and its version: a double-clicked submit of one form
    stores one repayment, and the next payment (a new version) gets a new key.
    """
    loan_and_version = st.session_state.pop(REPAY_SENT, None)
    if loan_and_version is None or loan_and_version[0] != loan_id:
        return None
    version = loan_and_version[1]
    keys = repay_keys(loan_id, version)
    if keys["amount"] not in st.session_state:  # a late second submit of a form no longer on screen
        return None
    nonce = st.session_state.setdefault(REPAY_NONCE, uuid.uuid4().hex)
    try:
        out = loan_repayments.record_repayment(
            actor=actor, loan_id=loan_id, amount=f"{st.session_state[keys['amount']]:.2f}",
            paid_on=st.session_state[keys["paid_on"]], prepay=bool(st.session_state[keys["prepay"]]),
            idempotency_key=f"repay-{nonce}-{loan_id}-v{version}",
        )
    except JinfuError as exc:
        return exc
    flash.success(t("loans.svc.recorded", amount=f"¥{out.amount:,.2f}", outstanding=wan(out.outstanding_principal),
                    status=t(f"loans.status.{out.loan_status}")), icon=":material/check_circle:")
    return None


# -- contract and disbursement ----------------------------------------------------------------------
def disburse_section(actor: Actor, family_id: int, today: date) -> None:
    """Approved applications to sign, signed contracts to disburse with a preview of the schedule."""
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
def repay_section(actor: Actor, family_id: int, today: date, flash: DeltaGenerator) -> None:
    """The family's live loans: one loan's state, the repayment form, its schedule and history."""
    book = loan_reads.servicing_loans(actor=actor, institution_id=family_id,
                                      status=["active", "overdue", "defaulted"], limit=500)
    if book.empty:
        st.info(t("loans.svc.no_loans"), icon=":material/inbox:")
    else:
        labels = {int(r.id): f"#{r.id} · {r.enterprise_name} · {wan(r.outstanding_principal)} · "
                             f"{t('loans.status.' + r.status)}" for r in book.itertuples()}
        loan_id = st.selectbox(t("loans.svc.pick_loan"), options=list(labels), format_func=labels.__getitem__,
                               key=PREFIX + "loan")
        refused = record_sent(actor, loan_id, flash)
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
        version = detail.loan.version
        keys = repay_keys(loan_id, version)
        with st.form(PREFIX + "repay_form", border=True):
            st.number_input(t("loans.svc.amount"), min_value=0.0, step=100.0, format="%.2f",
                            value=float(detail.next_due_amount or 0), key=keys["amount"])
            st.date_input(t("loans.svc.paid_on"), value=today, max_value=today, key=keys["paid_on"])
            st.checkbox(t("loans.svc.prepay"), help=t("loans.svc.prepay_help"), key=keys["prepay"])
            st.form_submit_button(t("loans.svc.record"), type="primary", icon=":material/payments:", width="stretch",
                                  key=PREFIX + "record", on_click=sent, args=(loan_id, version))
        with st.container(key=PREFIX + "repay_feedback"):  # always here, so the expanders below never move
            if refused is not None:
                fail(refused)
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
def portfolio_section(actor: Actor) -> None:
    """Live loans of the institution by days-past-due bucket."""
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
def first_loan_section(actor: Actor, today: date) -> None:
    """The first-loan queue and the service hall's appointments of a day."""
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


# -- the page ---------------------------------------------------------------------------------------
actor = institution_header("loans.svc.title", "loans.svc.caption")
# The flash lives in a slot that is always on the page: a message appearing or going away above the tabs
# must not move them, or the browser rebuilds them (first tab shown, the form's button detached).
flash_slot = st.container(key=PREFIX + "flash_slot")
if FLASH in st.session_state:
    flash_slot.success(st.session_state.pop(FLASH), icon=":material/check_circle:")
today = datetime.now(SHANGHAI).date()
# Products (and so applications and loans) belong to head offices: branch staff service their whole family's.
home = directory.get_organization(actor=actor, organization_id=actor.organization_id)
family_id = home.parent_id or home.id

# The open tab is kept by the server (a keyed, stateful st.tabs): it survives reruns, and only its content runs.
disburse_tab, repay_tab, portfolio_tab, first_tab = st.tabs(
    [t("loans.svc.tab.disburse"), t("loans.svc.tab.repay"), t("loans.svc.tab.portfolio"), t("loans.svc.tab.first")],
    key=TAB, on_change="rerun",
)
if disburse_tab.open:
    with disburse_tab:
        disburse_section(actor, family_id, today)
if repay_tab.open:
    with repay_tab:
        repay_section(actor, family_id, today, flash_slot)
if portfolio_tab.open:
    with portfolio_tab:
        portfolio_section(actor)
if first_tab.open:
    with first_tab:
        first_loan_section(actor, today)
