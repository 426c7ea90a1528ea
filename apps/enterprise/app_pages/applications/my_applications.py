"""Enterprise app · 我的申请 / My applications: each application as a timeline with its next step in words,
document requests answered by upload, a guarantee or insurance to attach, and withdraw with confirmation.

Uploads are filtered by type in the browser and checked again by the service (magic bytes, extension,
declared type, size); files are never shown back as HTML. The version each application had when it
was first shown is kept in session state, so a withdrawal after the bank moved it is refused with a
"someone else changed it" message instead of overwriting.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, kpi_cards, show_error
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.services import application_detail, applications, documents, enhancement

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLASH = "ent_apps_flash"
SEEN = "ent_apps_seen"  # application id → the version shown first
OPEN = {"submitted", "accepted", "due_diligence"}
STATUS_COLOR = {"approved": "green", "rejected": "red", "withdrawn": "gray", "overdue": "orange",
                "defaulted": "red", "written_off": "gray", "settled": "green"}
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()


def local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value is not None else "—"


def plain(text: object) -> str:
    """Data shown inside Markdown, with Markdown's punctuation escaped."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


def status_label(status: str | None) -> str:
    return t(f"app_status.{status}") if status else ""


def timeline_line(item: application_detail.TimelineItem) -> str:
    if item.kind in ("submitted", "transition"):
        text = t("review.timeline.moved", status=status_label(item.to_status))
    else:
        text = t(f"review.timeline.{item.kind}")
    note = f" — {plain(item.note)}" if item.note else ""
    return f"`{local(item.at)}` {text}{note}"


def fail(exc: JinfuError) -> None:
    if isinstance(exc, ValidationErrors):
        for message in exc.messages(current_locale()).values():
            st.error(message, icon=":material/error:")
    elif isinstance(exc, StaleVersionError):
        st.warning(t("review.stale"), icon=":material/sync_problem:")
    else:
        show_error(exc)


def done(message: str) -> None:
    st.session_state[FLASH] = message
    st.session_state.get(SEEN, {}).clear()  # show the new versions
    st.rerun()


st.title(t("review.my.title"))
st.caption(t("review.my.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    items = application_detail.my_applications(actor=actor)
if not items:
    st.info(t("review.my.none"), icon=":material/inbox:")
    st.stop()

seen: dict[int, int] = st.session_state.setdefault(SEEN, {})
for a in items:
    seen.setdefault(a.id, a.version)

open_items = [a for a in items if a.status in OPEN]
waiting = sum(1 for a in items for d in a.documents if d.status == "requested" and a.status in OPEN)
kpi_cards(
    [
        Kpi(t("review.my.kpi.total"), num(len(items))),
        Kpi(t("review.my.kpi.open"), num(len(open_items))),
        Kpi(t("review.my.kpi.documents"), num(waiting)),
        Kpi(t("review.my.kpi.approved"), num(sum(1 for a in items if a.approved_amount is not None))),
    ],
    key="ent_apps_kpis",
)

for index, a in enumerate(items):
    header = f"#{a.id} · {a.product_name} · {wan(a.amount_requested)} · {status_label(a.status)}"
    with st.expander(header, expanded=index == 0 or a.status in OPEN, icon=":material/timeline:"):
        with st.container(horizontal=True, gap="small"):
            st.badge(status_label(a.status), color=STATUS_COLOR.get(a.status, "blue"))
            st.badge(a.institution_name, color="gray", icon=":material/account_balance:")
            st.badge(t("review.term_months", months=a.term_months), color="gray")
        st.info(t(a.next_step), icon=":material/directions:")
        if seen.get(a.id) != a.version:
            st.warning(t("review.changed"), icon=":material/sync_problem:")
            if st.button(t("review.reload"), key=f"ent_apps_reload_{a.id}", icon=":material/refresh:"):
                seen[a.id] = a.version
                st.rerun()
        if a.status == "rejected":
            reason = t(f"review.reason.{a.decision_reason_code}") if a.decision_reason_code else "—"
            st.markdown(t("review.my.rejected_because", reason=reason))
            if a.decision_text:
                st.caption(plain(a.decision_text))
        if a.approved_amount is not None:
            st.success(
                t("review.my.approved_terms", amount=wan(a.approved_amount), rate=num(a.approved_rate, 2),
                  months=a.term_months),
                icon=":material/verified:",
            )

        st.markdown(f"**{t('review.timeline.title')}**")
        st.markdown("\n".join(f"- {timeline_line(item)}" for item in a.timeline))

        # -- document requests ---------------------------------------------------------------------
        if a.documents:
            st.markdown(f"**{t('review.docs.title')}**")
        for d in a.documents:
            with st.container(border=True):
                st.markdown(plain(d.request_note))
                if d.status == "uploaded":
                    st.caption(t("review.docs.uploaded", name=plain(d.filename), at=local(d.uploaded_at)))
                if a.status not in OPEN:
                    continue
                upload = st.file_uploader(
                    t("review.docs.choose"),
                    type=["pdf", "png", "jpg", "jpeg"],
                    help=t("review.docs.help", mb=documents.max_upload_bytes() // documents.MB),
                    key=f"ent_apps_file_{d.id}",
                )
                if st.button(t("review.docs.upload"), key=f"ent_apps_upload_{d.id}", disabled=upload is None,
                             icon=":material/upload:"):
                    try:
                        documents.upload_document(actor=actor, document_id=d.id, filename=upload.name,
                                                  content=upload.getvalue(), declared_type=upload.type)
                    except JinfuError as exc:
                        fail(exc)
                    else:
                        done(t("review.docs.done", name=upload.name))

        if a.status not in OPEN:
            continue

        # -- credit enhancement --------------------------------------------------------------------
        for x in a.enhancements:
            st.caption(t("review.enh.line", product=plain(x.product_name), provider=plain(x.provider_name),
                         pct=num(x.coverage_pct), status=t(f"review.enh.status.{x.status}")))
        offers = {o.product_id: o for o in a.enhancement_offers
                  if o.product_id not in {x.product_id for x in a.enhancements}}
        if offers:
            with st.popover(t("review.enh.attach"), icon=":material/shield:", width="stretch"):
                st.caption(t("review.enh.attach_help"))
                chosen = st.selectbox(
                    t("review.enh.product"), options=list(offers),
                    format_func=lambda i, o=offers: f"{o[i].name} · {o[i].provider_name} · {num(o[i].fee_rate, 2)}%",
                    key=f"ent_apps_enh_product_{a.id}",
                )
                coverage = st.number_input(t("review.enh.coverage"), min_value=1, max_value=100, value=80,
                                           key=f"ent_apps_enh_cov_{a.id}")
                if st.button(t("review.enh.attach_submit"), key=f"ent_apps_enh_submit_{a.id}", type="primary"):
                    try:
                        enhancement.attach_enhancement(actor=actor, application_id=a.id, product_id=chosen,
                                                       coverage_pct=coverage)
                    except JinfuError as exc:
                        fail(exc)
                    else:
                        done(t("review.enh.attached"))

        # -- withdraw ------------------------------------------------------------------------------
        if "withdraw" in a.actions:
            confirm = st.checkbox(t("review.my.withdraw_confirm"), key=f"ent_apps_confirm_{a.id}")
            if st.button(t("review.my.withdraw"), key=f"ent_apps_withdraw_{a.id}", disabled=not confirm,
                         icon=":material/undo:"):
                try:
                    applications.withdraw_application(actor=actor, application_id=a.id,
                                                      expected_version=seen.get(a.id, a.version))
                except JinfuError as exc:
                    fail(exc)
                else:
                    done(t("review.my.withdrawn", id=a.id))
