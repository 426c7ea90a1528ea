"""Enterprise app · 首贷中心 / First-loan center: whether we count as a first-time borrower, the checklist of what
banks ask for, first-loan friendly products, booking a 30-minute slot at a service-hall window (date and slot
pickers; a taken slot is refused with a clear message) and my appointments with cancel.

The idempotency key of a booking is kept in session state until it succeeds, so a double click books once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import num, t, wan
from apps.common.widgets import Kpi, kpi_cards, show_error
from core.errors import JinfuError
from core.lending.workdays import SHANGHAI, is_working_day
from core.services import first_loan

PREFIX = "ent_fl_"
FLASH = PREFIX + "flash"
BOOK_KEY = PREFIX + "book_key"

actor = current_actor()
st.title(t("loans.fl.title"))
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
st.caption(t("loans.fl.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")


def done(message: str) -> None:
    st.session_state[FLASH] = message
    st.session_state.pop(BOOK_KEY, None)
    st.rerun()


status = first_loan.first_loan_status(actor=actor, enterprise_id=actor.enterprise_id)
if status.first_time:
    st.success(t("loans.fl.first_time"), icon=":material/emoji_people:")
else:
    st.info(t("loans.fl.not_first_time", loans=status.loans), icon=":material/history:")
kpi_cards(
    [
        Kpi(t("loans.fl.kpi.loans"), num(status.loans)),
        Kpi(t("loans.fl.kpi.open"), num(status.open_applications)),
        Kpi(t("loans.fl.kpi.booked"), num(status.booked_appointments)),
    ],
    per_row=3,
    key=PREFIX + "kpis",
)

checklist_tab, products_tab, book_tab, mine_tab = st.tabs(
    [t("loans.fl.tab.checklist"), t("loans.fl.tab.products"), t("loans.fl.tab.book"), t("loans.fl.tab.mine")]
)

with checklist_tab:
    st.markdown(t("loans.fl.checklist_intro"))
    for code in first_loan.CHECKLIST:
        st.checkbox(t(f"loans.checklist.{code}"), key=f"{PREFIX}check_{code}", help=t(f"loans.checklist.{code}.help"))

with products_tab:
    products = first_loan.first_loan_products(actor=actor, enterprise_id=actor.enterprise_id)
    if products.empty:
        st.info(t("loans.fl.no_products"))
    for p in products.head(12).itertuples():
        with st.container(border=True):
            with st.container(horizontal=True, gap="small"):
                st.markdown(f"**{p.name}**")
                if p.first_loan_friendly:
                    st.badge(t("loans.fl.friendly"), color="green", icon=":material/star:")
            st.caption(t("loans.fl.product_line", institution=p.institution_name, min=wan(p.amount_min),
                         max=wan(p.amount_max), rate_min=num(p.rate_min, 2), rate_max=num(p.rate_max, 2),
                         term_min=p.term_min_months, term_max=p.term_max_months))

with book_tab:
    today = datetime.now(SHANGHAI).date()
    first_day = today + timedelta(days=1)
    while not is_working_day(first_day):
        first_day += timedelta(days=1)
    chosen_day = st.date_input(t("loans.fl.day"), value=first_day, min_value=today,
                               max_value=today + timedelta(days=first_loan.BOOKING_DAYS), key=PREFIX + "day")
    try:
        slots = first_loan.available_slots(actor=actor, day=chosen_day)
    except JinfuError as exc:
        show_error(exc)
        slots = pd.DataFrame()
    if not slots.empty:
        open_slots = slots[slots["bookable"]]
        if open_slots.empty:
            st.info(t("loans.fl.no_slots"))
        else:
            labels = {r.label: t("loans.fl.slot_label", time=r.label, free=r.free) for r in open_slots.itertuples()}
            slot_label = st.pills(t("loans.fl.slot"), options=list(labels), format_func=labels.__getitem__,
                                  key=PREFIX + "slot")
            windows = ["auto"] + (
                open_slots.set_index("label").loc[slot_label, "free_windows"] if slot_label else [])
            window = st.selectbox(t("loans.fl.window"), options=windows,
                                  format_func=lambda w: t("loans.fl.window_auto") if w == "auto"
                                  else t("loans.fl.window_no", no=w), key=PREFIX + "window")
            note = st.text_input(t("loans.fl.note"), max_chars=first_loan.NOTE_MAX, key=PREFIX + "note")
            if st.button(t("loans.fl.book"), type="primary", disabled=slot_label is None, icon=":material/event:",
                         width="stretch", key=PREFIX + "book"):
                booking_key = st.session_state.setdefault(BOOK_KEY, f"appt-{uuid.uuid4().hex}")
                start = open_slots.set_index("label").loc[slot_label, "slot_start"]
                try:
                    out = first_loan.book_appointment(
                        actor=actor, enterprise_id=actor.enterprise_id, slot_start=start,
                        window_no=None if window == "auto" else int(window), note=note,
                        idempotency_key=booking_key)
                except JinfuError as exc:
                    st.session_state.pop(BOOK_KEY, None)
                    show_error(exc)
                else:
                    done(t("loans.fl.booked", window=out.window_no,
                           when=out.slot_start.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")))

with mine_tab:
    mine = first_loan.my_appointments(actor=actor, enterprise_id=actor.enterprise_id)
    if mine.empty:
        st.info(t("loans.fl.no_appointments"))
    for a in mine.itertuples():
        when = a.slot_start.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        with st.container(border=True):
            st.markdown(t("loans.fl.appointment_line", when=when, window=a.window_no,
                          status=t(f"loans.appt_status.{a.status}")))
            if a.guidance_note:
                st.caption(t("loans.fl.guidance", note=a.guidance_note))
            if a.status == "booked" and a.slot_start > pd.Timestamp.now(tz="UTC"):
                if st.button(t("loans.fl.cancel"), key=f"{PREFIX}cancel_{a.id}", icon=":material/event_busy:"):
                    try:
                        first_loan.cancel_appointment(actor=actor, appointment_id=int(a.id))
                    except JinfuError as exc:
                        show_error(exc)
                    else:
                        done(t("loans.fl.cancelled"))
