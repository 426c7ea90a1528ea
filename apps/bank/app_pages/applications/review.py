"""Bank app · 审批 / Review: pick an application of my institution family, then work it — accept, start due
diligence, request and download documents, open the credit report, the officer's proposal with the
due-diligence checklist, and (for holders of applications.decide) the manager's decision with reason codes.

The version of the application when it was first shown is kept in session state and sent with every
action: if someone else changed it meanwhile, the service refuses and the page says so (with a reload
button) instead of overwriting their work.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

import streamlit as st
from streamlit.errors import StreamlitAPIException

from apps.bank.header import institution_header
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError, StaleVersionError, ValidationErrors
from core.services import application_detail, applications, directory, documents, enhancement, review

SHANGHAI = ZoneInfo("Asia/Shanghai")
FLASH = "bank_review_flash"
SEEN = "bank_review_seen"  # application id → the version shown first
STAGES = {
    "todo": ["submitted", "accepted", "due_diligence"],
    "approved": ["approved"],
    "closed": ["rejected", "withdrawn"],
}
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")
CREDIT_REPORT_PAGE = "app_pages/credit_file/viewer.py"


def local(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value is not None else "—"


def plain(text: object) -> str:
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))


def status_label(status: str | None) -> str:
    return t(f"app_status.{status}") if status else ""


def fail(exc: JinfuError) -> None:
    if isinstance(exc, ValidationErrors):
        for message in exc.messages(current_locale()).values():
            st.error(message, icon=":material/error:")
    elif isinstance(exc, StaleVersionError):
        st.warning(t("review.stale"), icon=":material/sync_problem:")
    else:
        show_error(exc)


def act(call, message: str) -> None:
    """Run one service call; on success show ``message`` after a rerun with fresh data."""
    try:
        call()
    except JinfuError as exc:
        fail(exc)
    else:
        st.session_state[FLASH] = message
        st.session_state.get(SEEN, {}).pop(app_id, None)
        st.rerun()


actor = institution_header("review.title", "review.caption")
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

stage = st.segmented_control(
    t("review.stage"), options=list(STAGES), format_func=lambda s: t(f"review.stage.{s}"), default="todo",
    required=True, key="bank_review_stage",
)
# Products (and so applications) belong to head offices: branch staff work their whole family's applications.
home = directory.get_organization(actor=actor, organization_id=actor.organization_id)
queue = applications.list_applications(actor=actor, institution_id=home.parent_id or home.id,
                                       status=STAGES[stage or "todo"], limit=500)
labels = {
    int(r.id): f"#{r.id} · {r.enterprise_name} · {wan(r.amount_requested)} · {status_label(r.status)}"
    for r in queue.itertuples()
}
previous = st.session_state.get("bank_review_app")
if isinstance(previous, int) and previous not in labels:
    # The application open on screen moved to another stage (perhaps by someone else): keep it in view.
    try:
        moved = application_detail.application_review(actor=actor, application_id=previous)
    except JinfuError:
        pass
    else:
        labels = {previous: f"#{previous} · {moved.enterprise_name} · {wan(moved.amount_requested)} · "
                            f"{status_label(moved.status)}", **labels}
if not labels:
    st.info(t("review.none"), icon=":material/inbox:")
    st.stop()

wanted = st.query_params.get("application")
preselect = list(labels).index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in labels else 0
app_id = st.selectbox(t("review.pick"), options=list(labels), format_func=labels.__getitem__, index=preselect,
                      key="bank_review_app")

with st.spinner(t("common.loading")):
    a = application_detail.application_review(actor=actor, application_id=app_id)
seen: dict[int, int] = st.session_state.setdefault(SEEN, {})
version = seen.setdefault(a.id, a.version)
decider = actor.can(Permission.applications_decide)

# -- the application --------------------------------------------------------------------------------
st.subheader(t("review.heading", id=a.id))
st.markdown(f"**{plain(a.enterprise_name)}**")
st.caption(f"{a.credit_code} · {plain(a.product_name)} · {plain(a.institution_name)}")
kpi_cards(
    [
        Kpi(t("review.kpi.amount"), wan(a.amount_requested)),
        Kpi(t("review.kpi.term"), t("review.term_months", months=a.term_months)),
        Kpi(t("review.kpi.status"), status_label(a.status)),
        Kpi(t("review.kpi.officer"), a.officer_name or "—"),
    ],
    key="bank_review_kpis",
)
st.info(t(a.next_step), icon=":material/directions:")
if version != a.version:
    st.warning(t("review.changed"), icon=":material/sync_problem:")
    if st.button(t("review.reload"), key="bank_review_reload", icon=":material/refresh:"):
        seen[a.id] = a.version
        st.rerun()

if st.button(t("review.open_report"), key="bank_review_report", icon=":material/description:"):
    st.session_state["bank_file_enterprise"] = a.enterprise_id
    try:
        st.switch_page(CREDIT_REPORT_PAGE)
    except StreamlitAPIException:
        st.info(t("review.report_hint"))

# -- stage actions ----------------------------------------------------------------------------------
if "accept" in a.actions:
    if st.button(t("review.accept"), type="primary", key="bank_review_accept", icon=":material/how_to_reg:",
                 width="stretch"):
        act(partial(review.accept_application, actor=actor, application_id=a.id, expected_version=version),
            t("review.accepted", id=a.id))

if "start_due_diligence" in a.actions:
    start_note = st.text_input(t("review.start_note"), key="bank_review_start_note", max_chars=500)
    if st.button(t("review.start"), type="primary", key="bank_review_start", icon=":material/travel_explore:",
                 width="stretch"):
        act(partial(review.start_due_diligence, actor=actor, application_id=a.id, expected_version=version,
                    note=start_note), t("review.started", id=a.id))

if a.status == "due_diligence":
    with st.container(border=True):
        st.markdown(f"**{t('review.proposal.title')}**")
        if a.proposed_action:
            st.caption(t("review.proposal.current", who=a.proposed_by_name or "—", at=local(a.proposed_at),
                         action=t(f"review.proposal.action.{a.proposed_action}")))
        st.markdown(t("review.checklist.title"))
        checked = [
            c for c in review.CHECKLIST
            if st.checkbox(t(f"review.checklist.{c}"), value=c in a.checklist, key=f"bank_review_check_{c}")
        ]
        choice = st.segmented_control(
            t("review.proposal.action"), options=["approve", "reject"],
            format_func=lambda x: t(f"review.proposal.action.{x}"), default="approve", required=True,
            key="bank_review_proposal_action",
        )
        amount = rate = term = reason = None
        if choice == "approve":
            amount = st.number_input(
                t("review.proposal.amount"), min_value=0.0, max_value=float(a.amount_requested),
                value=float(a.proposed_amount or a.amount_requested), step=10_000.0, format="%.2f",
                key="bank_review_amount",
            )
            rate = st.number_input(
                t("review.proposal.rate", min=num(a.product_rate_min, 2), max=num(a.product_rate_max, 2)),
                min_value=0.0, max_value=36.0, value=float(a.proposed_rate or a.product_rate_min), step=0.05,
                format="%.2f", key="bank_review_rate",
            )
            term = st.number_input(
                t("review.proposal.term", min=a.product_term_min, max=a.product_term_max), min_value=1,
                max_value=360, value=int(a.proposed_term or a.term_months), key="bank_review_term",
            )
        else:
            reason = st.selectbox(t("review.reason_code"), options=list(review.REASON_CODES),
                                  format_func=lambda c: t(f"review.reason.{c}"), key="bank_review_reason")
        note = st.text_area(t("review.proposal.note"), value=a.proposal_note or "", key="bank_review_note",
                            max_chars=1000, height=90)
        if st.button(t("review.proposal.submit"), type="primary", key="bank_review_propose",
                     icon=":material/send:", width="stretch"):
            act(partial(review.propose_decision, actor=actor, application_id=a.id, expected_version=version,
                        action=choice, checklist=checked, amount=None if amount is None else f"{amount:.2f}",
                        rate=None if rate is None else f"{rate:.4f}", term_months=term, reason_code=reason,
                        note=note), t("review.proposed", id=a.id))

    if decider and a.proposed_action:
        with st.container(border=True):
            st.markdown(f"**{t('review.decision.title')}**")
            if a.proposed_action == "approve":
                st.markdown(t("review.decision.summary_approve", amount=wan(a.proposed_amount),
                              rate=num(a.proposed_rate, 2), months=a.proposed_term or a.term_months))
            else:
                reason_label = t(f"review.reason.{a.proposed_reason_code}") if a.proposed_reason_code else "—"
                st.markdown(t("review.decision.summary_reject", reason=reason_label))
            if a.proposal_note:
                st.caption(plain(a.proposal_note))
            st.caption(t("review.decision.checklist", done=len(a.checklist), total=len(review.CHECKLIST)))
            if a.proposed_by_id == actor.user_id:
                st.warning(t("review.decision.own"), icon=":material/person_off:")
            else:
                decision_reason = st.selectbox(
                    t("review.reason_code"), options=list(review.REASON_CODES),
                    index=(list(review.REASON_CODES).index(a.proposed_reason_code)
                           if a.proposed_reason_code in review.REASON_CODES else 0),
                    format_func=lambda c: t(f"review.reason.{c}"), key="bank_review_decision_reason",
                )
                decision_note = st.text_input(t("review.decision.note"), key="bank_review_decision_note",
                                              max_chars=1000)
                waiting = any(x.status == "pending" for x in a.enhancements)
                if waiting:
                    st.caption(t("review.decision.waiting"))
                with st.container(horizontal=True, gap="small"):
                    approve = st.button(t("review.decision.approve"), type="primary", key="bank_review_approve",
                                        icon=":material/check:", disabled=a.proposed_action != "approve" or waiting)
                    reject = st.button(t("review.decision.reject"), key="bank_review_reject",
                                       icon=":material/close:")
                if approve:
                    act(partial(review.decide_application, actor=actor, application_id=a.id,
                                expected_version=version, action="approve", note=decision_note),
                        t("review.approved", id=a.id))
                if reject:
                    act(partial(review.decide_application, actor=actor, application_id=a.id,
                                expected_version=version, action="reject", reason_code=decision_reason,
                                note=decision_note), t("review.rejected", id=a.id))

# -- documents ---------------------------------------------------------------------------------------
st.subheader(t("review.docs.title"))
for d in a.documents:
    with st.container(border=True):
        st.markdown(plain(d.request_note))
        if d.status == "uploaded":
            st.caption(t("review.docs.uploaded", name=plain(d.filename), at=local(d.uploaded_at)))
            st.download_button(
                t("review.docs.download"),
                data=partial(lambda i: documents.download_document(actor=actor, document_id=i).content, d.id),
                file_name=d.filename or "document",
                mime=d.content_type or "application/octet-stream",
                on_click="ignore",
                icon=":material/download:",
                key=f"bank_review_download_{d.id}",
            )
        else:
            st.caption(t("review.docs.waiting", at=local(d.requested_at)))
if not a.documents:
    st.caption(t("review.docs.none"))
if a.status in STAGES["todo"]:
    request_note = st.text_input(t("review.docs.request_note"), key="bank_review_request_note", max_chars=500,
                                 placeholder=t("review.docs.request_placeholder"))
    if st.button(t("review.docs.request"), key="bank_review_request", icon=":material/note_add:"):
        act(partial(documents.request_document, actor=actor, application_id=a.id, note=request_note),
            t("review.docs.requested"))

# -- credit enhancement ------------------------------------------------------------------------------
st.subheader(t("review.enh.title_short"))
for x in a.enhancements:
    st.caption(t("review.enh.line", product=plain(x.product_name), provider=plain(x.provider_name),
                 pct=num(x.coverage_pct), status=t(f"review.enh.status.{x.status}")))
if not a.enhancements:
    st.caption(t("review.enh.none"))
offers = {o.product_id: o for o in a.enhancement_offers if o.product_id not in {x.product_id for x in a.enhancements}}
if offers:
    with st.expander(t("review.enh.attach"), icon=":material/shield:"):
        chosen = st.selectbox(t("review.enh.product"), options=list(offers),
                              format_func=lambda i: f"{offers[i].name} · {offers[i].provider_name}",
                              key="bank_review_enh_product")
        coverage = st.number_input(t("review.enh.coverage"), min_value=1, max_value=100, value=80,
                                   key="bank_review_enh_cov")
        if st.button(t("review.enh.attach_submit"), key="bank_review_enh_submit"):
            act(partial(enhancement.attach_enhancement_for_application, actor=actor, application_id=a.id,
                        product_id=chosen, coverage_pct=coverage), t("review.enh.attached"))

# -- timeline ----------------------------------------------------------------------------------------
st.subheader(t("review.timeline.title"))
lines = []
for item in a.timeline:
    if item.kind in ("submitted", "transition"):
        text = t("review.timeline.moved", status=status_label(item.to_status))
    else:
        text = t(f"review.timeline.{item.kind}")
    who = f" · {plain(item.by)}" if item.by else ""
    note = f" — {plain(item.note)}" if item.note and item.kind != "proposal" else ""
    lines.append(f"- `{local(item.at)}` {text}{who}{note}")
st.markdown("\n".join(lines))
