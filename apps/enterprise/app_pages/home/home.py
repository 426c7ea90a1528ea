"""Enterprise app · 首页 / Home: a greeting, what to do next (most urgent first), the key numbers, products
that fit and why, open needs and applications with their next step, due repayments and the latest notices.

One service call (``enterprise_home.home_overview``) reads everything. A new enterprise with nothing yet
is shown how to start (first-loan center, financial supermarket, publish a need). Cards sit in columns
that stack on a phone; there is no wide table.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st
from streamlit.errors import StreamlitAPIException

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, explain, num, t, wan
from apps.common.text import plain
from apps.common.widgets import Kpi, kpi_cards
from core.services import enterprise_home

P = "ent_home_"  # this page's session_state and widget key prefix
MARKET_SELECTED = "ent_market_selected"  # the supermarket page opens this product's detail
SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGES = {
    "products": "app_pages/products/for_me.py",
    "needs": "app_pages/needs/needs.py",
    "my-applications": "app_pages/applications/my_applications.py",
    "my-loans": "app_pages/loans/my_loans.py",
    "first-loan": "app_pages/first_loan/center.py",
    "notifications": "app_pages/notifications/inbox.py",
    "consent": "app_pages/consent/grants.py",
    "my-data": "app_pages/credit/my_data.py",
}
URGENCY_COLOR = {"high": "red", "medium": "orange", "low": "gray"}
TODO_ICON = {"overdue": ":material/warning:", "repayment_due": ":material/event:",
             "document": ":material/upload_file:", "sign_contract": ":material/draw:",
             "consent_expiring": ":material/verified_user:", "dispute_answered": ":material/gavel:"}
TODO_SHOWN = 4  # to-do cards shown; the rest fold into an expander
WHO_COLOR = {"you": "orange", "bank": "blue", "guarantor": "violet"}

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
en = current_locale() == "en"



def pick(chinese: str | None, english: str | None) -> str:
    return (english if en and english else chinese) or ""


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "—" if value is None else value.astimezone(SHANGHAI).strftime(fmt)


def money(value) -> str:
    return "—" if value is None else f"¥{value:,.2f}"


def link(page: str, label: str, icon: str) -> None:
    """A link to another page of the app (a caption where the page is not registered, e.g. under AppTest)."""
    try:
        st.page_link(PAGES[page], label=label, icon=icon)
    except (StreamlitAPIException, KeyError):
        st.caption(f"→ {label}")


def open_product(product_id: int) -> None:
    """Open the supermarket with this product's detail (and its apply form) shown."""
    st.session_state[MARKET_SELECTED] = int(product_id)
    try:
        st.switch_page(PAGES["products"])
    except StreamlitAPIException:
        st.caption(t("home.products.open_hint"))


with st.spinner(t("common.loading")):
    home = enterprise_home.home_overview(actor=actor, enterprise_id=actor.enterprise_id, locale=current_locale())
g = home.greeting

# -- greeting --------------------------------------------------------------------------------------------
st.title(t(f"home.hello.{g.daypart}", name=g.name))
st.caption(t("home.caption", code=g.credit_code, day=home.as_of.isoformat()))
with st.container(horizontal=True, gap="small"):
    if g.grade:
        st.badge(t("home.badge.grade", grade=g.grade, score=g.score), icon=":material/speed:", color="blue")
    else:
        st.badge(t("home.badge.unrated"), icon=":material/speed:", color="gray")
    if g.first_time:
        st.badge(t("home.badge.first_time"), icon=":material/star:", color="green")
    if g.booked_appointments:
        st.badge(t("home.badge.booked", count=g.booked_appointments), icon=":material/event:", color="violet")
    if home.unread:
        st.badge(t("home.badge.unread", count=home.unread), icon=":material/notifications:", color="orange")

# -- to do -----------------------------------------------------------------------------------------------
def todo_text(item) -> str:
    params = {k: plain(v) for k, v in item.params.items()}
    return f":{URGENCY_COLOR[item.urgency]}-badge[{t(f'home.urgency.{item.urgency}')}] {t(item.key, **params)}"


st.subheader(t("home.todo.title"))
if not home.todo:
    st.success(t("home.todo.none"), icon=":material/task_alt:")
first, rest = home.todo[:TODO_SHOWN], home.todo[TODO_SHOWN:]
for start in range(0, len(first), 2):
    for column, item in zip(st.columns(2), first[start:start + 2], strict=False):
        with column, st.container(border=True, height="stretch"):
            st.markdown(todo_text(item))
            link(item.page, t(f"home.todo.go.{item.kind}"), TODO_ICON[item.kind])
if rest:
    with st.expander(t("home.todo.more", count=len(rest)), icon=":material/checklist:"):
        for item in rest:
            st.markdown(todo_text(item))
            link(item.page, t(f"home.todo.go.{item.kind}"), TODO_ICON[item.kind])

# -- key numbers -----------------------------------------------------------------------------------------
dated = [r for r in home.reminders if r.next_due_date is not None]
nearest = min(dated, key=lambda r: r.next_due_date) if dated else None
yours = sum(1 for a in home.applications if a.who_acts == "you")
kpi_cards(
    [
        Kpi(t("home.kpi.grade"), g.grade or t("home.kpi.unrated"),
            help=t("home.kpi.grade_help", score=g.score, day=g.rated_on.isoformat()) if g.grade else None),
        Kpi(t("home.kpi.needs"), num(len(home.needs))),
        Kpi(t("home.kpi.applications_yours", yours=yours) if yours else t("home.kpi.applications"),
            num(len(home.applications)), help=t("home.kpi.apps_help")),
        Kpi(t("home.kpi.next_due_in", days=nearest.days_left) if nearest else t("home.kpi.next_due"),
            nearest.next_due_date.strftime("%m-%d") if nearest else "—",
            help=t("home.kpi.due_help", day=nearest.next_due_date.isoformat(), amount=money(nearest.next_due_amount))
            if nearest else None),
    ],
    key=P + "kpis",
)

# -- how to start (a new enterprise) ---------------------------------------------------------------------
if home.is_new:
    st.info(t("home.start.title"), icon=":material/rocket_launch:")
    with st.container(border=True):
        st.markdown("\n".join(f"{i}. {t(f'home.start.step{i}')}" for i in (1, 2, 3)))
        with st.container(horizontal=True, gap="small"):
            link("first-loan", t("home.start.first_loan"), ":material/emoji_people:")
            link("products", t("home.start.products"), ":material/shopping_bag:")
            link("needs", t("home.start.needs"), ":material/campaign:")

# -- recommended products ---------------------------------------------------------------------------------
st.subheader(t("home.products.title"))
if not home.recommended:
    st.caption(t("home.products.none"))
else:
    st.caption(t("home.products.caption", count=home.eligible_total))
for start in range(0, len(home.recommended), 3):
    for column, p in zip(st.columns(3), home.recommended[start:start + 3], strict=False):
        with column, st.container(border=True, height="stretch"):
            friendly = f" :green-badge[:material/star: {t('ent.products.badge.first_loan')}]" if p.first_loan_friendly else ""
            st.markdown(f"**{plain(pick(p.name, p.name_en))}**{friendly}  \n"
                        f":gray[{plain(pick(p.institution_name, p.institution_name_en))}]")
            st.markdown(" · ".join([
                f"**{t('ent.products.rate_value', min=num(p.rate_min, 2), max=num(p.rate_max, 2))}**",
                t("ent.products.amount_value", min=num(p.amount_min / 10_000), max=num(p.amount_max / 10_000)),
                t("ent.products.term_value", min=p.term_min_months, max=p.term_max_months),
            ]))
            st.markdown(f":green[:material/thumb_up:] {t(p.why_key, **p.why_params)}")
            with st.expander(t("home.products.reasons", count=len(p.reasons))):
                st.markdown("\n".join(f"- {explain(r)}" for r in p.reasons))
            if st.button(t("home.products.open"), key=f"{P}open_{p.product_id}", icon=":material/arrow_forward:",
                         type="primary", width="stretch"):
                open_product(p.product_id)
if home.near_miss is not None:
    m = home.near_miss
    with st.container(border=True):
        st.markdown(f":orange[:material/lightbulb:] {t('home.near.title', name=plain(pick(m.name, m.name_en)))}")
        st.markdown("\n".join(f"- {explain(r)}" for r in m.missing))
        if st.button(t("home.near.open"), key=f"{P}near_{m.product_id}", icon=":material/visibility:"):
            open_product(m.product_id)
link("products", t("home.products.all"), ":material/shopping_bag:")

# -- needs and applications --------------------------------------------------------------------------------
needs_col, apps_col = st.columns(2)
with needs_col:
    st.subheader(t("home.needs.title"))
    if not home.needs:
        st.caption(t("home.needs.none"))
    for n in home.needs:
        with st.container(border=True):
            st.markdown(t("home.needs.head", id=n.need_id, amount=wan(n.amount, 0), term=n.term_months))
            st.caption(plain(n.purpose))
            st.markdown(t("home.needs.reach", institutions=n.institutions, responses=n.responses))
            if n.overdue:
                st.badge(t("home.needs.late"), icon=":material/alarm:", color="red")
            elif n.earliest_due is not None:
                st.badge(t("home.needs.clock", day=local(n.earliest_due, "%m-%d %H:%M"), days=n.earliest_days_left),
                         icon=":material/schedule:", color="green")
    link("needs", t("home.needs.go"), ":material/campaign:")
with apps_col:
    st.subheader(t("home.apps.title"))
    if not home.applications:
        st.caption(t("home.apps.none"))
    for a in home.applications:
        with st.container(border=True):
            st.markdown(f"**#{a.application_id} {plain(a.product_name)}**  \n{plain(a.institution_name)} · "
                        f"{wan(a.amount_requested, 0)} · {t(f'app_status.{a.status}')}")
            st.badge(t(f"home.who.{a.who_acts}"), color=WHO_COLOR.get(a.who_acts, "blue"),
                     icon=":material/directions:")
            st.markdown(t(a.next_step))
            for note in a.document_notes:
                st.caption(t("home.apps.document", note=plain(note)))
    link("my-applications", t("home.apps.go"), ":material/timeline:")

# -- due reminders and notifications -----------------------------------------------------------------------
due_col, notes_col = st.columns(2)
with due_col:
    st.subheader(t("home.due.title"))
    if not home.reminders:
        st.caption(t("home.due.none"))
    for r in home.reminders:
        with st.container(border=True):
            st.markdown(f"**#{r.loan_id} {plain(r.product_name)}**  \n{plain(r.institution_name)}")
            if r.overdue_amount > 0:
                st.warning(t("home.due.overdue", amount=money(r.overdue_amount), days=r.days_past_due,
                             count=r.overdue_installments), icon=":material/warning:")
            if r.next_due_date is not None:
                st.markdown(t("home.due.next", day=r.next_due_date.isoformat(), amount=money(r.next_due_amount),
                              days=r.days_left))
            st.caption(t("home.due.outstanding", amount=wan(r.outstanding_principal)))
    link("my-loans", t("home.due.go"), ":material/payments:")
with notes_col:
    st.subheader(t("home.notes.title", count=home.unread))
    if not home.notifications:
        st.caption(t("home.notes.none"))
    for note in home.notifications:
        dot = ":orange[:material/fiber_manual_record:] " if note.unread else ""
        st.markdown(f"{dot}{plain(note.title)}  \n:gray[{local(note.created_at)}]")
    link("notifications", t("home.notes.go"), ":material/notifications:")
