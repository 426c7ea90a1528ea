"""Enterprise app · 数据授权 / Data consent: active grants with revoke, a grant form, and who read the file.

The grant form keeps its idempotency key in session state and changes it only when an input changes
(or after a revocation), so a double-click — two reruns with the same inputs — creates one grant.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, join, t
from apps.common.text import plain
from apps.common.widgets import data_table, show_error
from core.errors import JinfuError, ValidationErrors
from core.services import consent, directory

SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = "ent_consent_idempotency_key"
FLASH = "ent_consent_flash"

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()

en = current_locale() == "en"


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value is not None else "—"



def scopes_text(scopes: list[str]) -> str:
    return join(t(f"ent.consent.scope.{s}") for s in scopes)


def institution_name(c: consent.ConsentPublic) -> str:
    return c.institution_name_en if en and c.institution_name_en else c.institution_name


def purpose_text(c: consent.ConsentPublic) -> str:
    if c.application_id is not None:
        return t("ent.consent.from_application", id=c.application_id)
    return c.purpose


def new_key() -> None:
    st.session_state[KEY] = uuid.uuid4().hex


if KEY not in st.session_state:
    new_key()

st.title(t("ent.consent.title"))
st.caption(t("ent.consent.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    grants = consent.list_consents(actor=actor)
active = [c for c in grants if c.status == "active"]
past = [c for c in grants if c.status != "active"]

# -- active grants -------------------------------------------------------------------------------
st.subheader(t("ent.consent.active"))
if not active:
    st.info(t("ent.consent.none"), icon=":material/lock:")
for c in active:
    with st.container(border=True):
        st.markdown(f"**{plain(institution_name(c))}**")
        with st.container(horizontal=True, gap="small"):
            for scope in c.scopes:
                st.badge(t(f"ent.consent.scope.{scope}"), color="blue")
            st.badge(t("ent.consent.expires", date=local(c.expires_at, "%Y-%m-%d")), color="gray")
        st.caption(t("ent.consent.purpose_line", purpose=purpose_text(c)))
        if st.button(t("ent.consent.revoke"), key=f"ent_consent_revoke_{c.id}", icon=":material/block:"):
            try:
                consent.revoke_consent(actor=actor, consent_id=c.id)
            except JinfuError as exc:
                show_error(exc)
            else:
                new_key()  # granting the same again afterwards is a new grant
                st.session_state[FLASH] = t("ent.consent.revoked", institution=institution_name(c))
                st.rerun()

# -- grant form ----------------------------------------------------------------------------------
st.subheader(t("ent.consent.form.title"))
institutions = {i.id: i for i in directory.list_institutions(actor=actor)}
with st.container(border=True):
    institution_id = st.selectbox(
        t("ent.consent.form.institution"),
        options=list(institutions),
        format_func=lambda i: (
            institutions[i].name_en if en and institutions[i].name_en else institutions[i].name
        ),
        index=None,
        placeholder=t("ent.consent.form.institution_placeholder"),
        key="ent_consent_institution",
        on_change=new_key,
    )
    # Labels resolved now: a format_func must not depend on session state when it is called later.
    scope_labels = {s: t(f"ent.consent.scope.{s}") for s in consent.SCOPES}
    scopes = st.multiselect(
        t("ent.consent.form.scopes"),
        options=list(consent.SCOPES),
        format_func=scope_labels.__getitem__,
        placeholder=t("ent.consent.form.scopes_placeholder"),
        help=t("ent.consent.scope_help"),
        key="ent_consent_scopes",
        on_change=new_key,
    )
    purpose = st.text_input(
        t("ent.consent.form.purpose"),
        max_chars=consent.PURPOSE_MAX,
        placeholder=t("ent.consent.form.purpose_placeholder"),
        key="ent_consent_purpose",
        on_change=new_key,
    )
    days = st.number_input(
        t("ent.consent.form.days"),
        min_value=1,
        max_value=consent.MAX_DAYS,
        value=90,
        step=1,
        help=t("ent.consent.form.days_help", max=consent.MAX_DAYS),
        key="ent_consent_days",
        on_change=new_key,
    )
    if st.button(t("ent.consent.form.submit"), type="primary", key="ent_consent_submit", width="stretch"):
        try:
            granted = consent.grant_consent(
                actor=actor,
                institution_id=institution_id,
                scopes=scopes,
                purpose=purpose,
                days=int(days),
                idempotency_key=st.session_state[KEY],
            )
        except ValidationErrors as exc:
            for message in exc.messages(current_locale()).values():
                st.error(message, icon=":material/error:")
        except JinfuError as exc:
            show_error(exc)
        else:
            st.session_state[FLASH] = t(
                "ent.consent.granted", institution=institution_name(granted), date=local(granted.expires_at)
            )
            st.rerun()

if past:
    with st.expander(t("ent.consent.history")):
        history = pd.DataFrame(
            {
                t("ent.consent.col.institution"): [institution_name(c) for c in past],
                t("ent.consent.col.scopes"): [scopes_text(c.scopes) for c in past],
                t("ent.consent.col.purpose"): [purpose_text(c) for c in past],
                t("ent.consent.col.granted_at"): [local(c.granted_at) for c in past],
                t("ent.consent.col.expires_at"): [local(c.revoked_at or c.expires_at) for c in past],
                t("ent.consent.col.status"): [t(f"ent.consent.status.{c.status}") for c in past],
            }
        )
        data_table(history, filename="consents", key="ent_consent_history")

# -- access log ----------------------------------------------------------------------------------
st.subheader(t("ent.consent.log.title"))
st.caption(t("ent.consent.log.caption"))
log = consent.data_access_log(actor=actor)
if log.empty:
    st.info(t("ent.consent.log.none"), icon=":material/visibility_off:")
else:
    names = log["institution_name_en"].where(log["institution_name_en"].notna(), log["institution_name"])
    table = pd.DataFrame(
        {
            t("ent.consent.col.time"): log["accessed_at"].dt.tz_convert("Asia/Shanghai"),
            t("ent.consent.col.institution"): names if en else log["institution_name"],
            t("ent.consent.col.reader"): log["reader"],
            t("ent.consent.col.scope"): log["scope"].map(lambda s: t(f"ent.consent.scope.{s}")),
            t("ent.consent.col.purpose"): log["purpose"],
            t("ent.consent.col.consent"): log["consent_id"],
        }
    )
    data_table(
        table,
        filename="data_access_log",
        key="ent_consent_log",
        column_config={t("ent.consent.col.time"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
