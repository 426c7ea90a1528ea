"""Enterprise app · 消息通知 / Notifications: the unread count in the title, unread messages first, mark one
or all read. Messages written with a message key are shown in the reader's language."""

from __future__ import annotations

import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, t
from apps.common.widgets import show_error
from core.errors import JinfuError
from core.services import notifications

PREFIX = "ent_inbox_"
PAGE_SIZE = 50

actor = current_actor()
if actor is None:
    st.title(t("loans.inbox.title"))
    st.info(t("ent.no_enterprise"))
    st.stop()

unread = notifications.unread_count(actor=actor)
st.title(t("loans.inbox.title_count", count=unread) if unread else t("loans.inbox.title"))
st.caption(t("loans.inbox.caption"))


def mark(ids: list[int] | None) -> None:
    try:
        notifications.mark_read(actor=actor, notification_ids=ids)
    except JinfuError as exc:
        show_error(exc)
    else:
        st.rerun()


only_unread = st.toggle(t("loans.inbox.only_unread"), key=PREFIX + "unread")
if unread and st.button(t("loans.inbox.mark_all"), icon=":material/done_all:", key=PREFIX + "all"):
    mark(None)
items = notifications.my_notifications(actor=actor, unread_only=only_unread, limit=PAGE_SIZE,
                                       locale=current_locale())
if items.empty:
    st.info(t("loans.inbox.none"), icon=":material/notifications_off:")
    st.stop()
for n in items.itertuples():
    when = n.created_at.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M")
    with st.container(border=True):
        with st.container(horizontal=True, gap="small"):
            if n.unread:
                st.badge(t("loans.inbox.new"), color="red")
            st.markdown(f"**{n.title}**")
        if n.body:
            st.text(n.body)
        with st.container(horizontal=True, gap="small"):
            st.caption(when)
            if n.unread and st.button(t("loans.inbox.mark"), key=f"{PREFIX}read_{n.id}", icon=":material/done:"):
                mark([int(n.id)])
