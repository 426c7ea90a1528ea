"""Enterprise app · 融资需求 / Financing needs: publish a need, see who received each one and their clocks.

The form keeps its idempotency key in session state and renews it only when an input changes, so a
double-click (or publishing the same inputs again) stores one need. Field errors appear under their fields.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, explain, num, t, wan
from apps.common.widgets import show_error
from core.errors import JinfuError, ValidationErrors
from core.services import matching, needs

KEY = "ent_needs_idempotency_key"
FLASH = "ent_needs_flash"
FIELDS = ("amount", "term_months", "purpose", "max_rate", "dispatch_limit")
SHOWN = 10

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()

en = current_locale() == "en"


def new_key() -> None:
    st.session_state[KEY] = uuid.uuid4().hex


def yuan(wan_value) -> Decimal | str | None:
    """The form's 万元 as yuan (bad text is passed on for the service to refuse with its message)."""
    if wan_value is None:
        return None
    try:
        return Decimal(str(wan_value)) * 10_000
    except InvalidOperation:
        return str(wan_value)


def sla_badge(row) -> None:
    if row.status not in needs.ACTIVE_LEAD_STATUSES:
        st.badge(t("matching.sla.done"), color="gray")
    elif row.overdue:
        st.badge(t("matching.sla.overdue"), icon=":material/alarm:", color="red")
    elif row.days_left == 0:
        st.badge(t("matching.sla.today"), icon=":material/schedule:", color="orange")
    else:
        st.badge(t("matching.sla.left", days=row.days_left), icon=":material/schedule:", color="green")


def local(value) -> str:
    return "—" if value is None or pd.isna(value) else value.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d")


if KEY not in st.session_state:
    new_key()

st.title(t("matching.needs.title"))
st.caption(t("matching.needs.caption"))
if FLASH in st.session_state:
    st.success(st.session_state.pop(FLASH), icon=":material/check_circle:")

# -- publish form ----------------------------------------------------------------------------------
st.subheader(t("matching.needs.form.title"))
slots: dict[str, object] = {}
with st.container(border=True):
    amount = st.number_input(t("matching.needs.form.amount"), min_value=0.0, value=None, step=10.0,
                             key="ent_needs_amount", on_change=new_key)
    slots["amount"] = st.empty()
    term = st.number_input(t("matching.needs.form.term"), min_value=1, max_value=360, value=12, step=1,
                           key="ent_needs_term", on_change=new_key)
    slots["term_months"] = st.empty()
    purpose = st.text_input(t("matching.needs.form.purpose"), max_chars=200,
                            placeholder=t("matching.needs.form.purpose_placeholder"), key="ent_needs_purpose",
                            on_change=new_key)
    slots["purpose"] = st.empty()
    max_rate = st.number_input(t("matching.needs.form.max_rate"), min_value=0.0, value=None, step=0.1,
                               format="%.2f", key="ent_needs_max_rate", on_change=new_key)
    slots["max_rate"] = st.empty()
    collateral = st.toggle(t("matching.needs.form.collateral"), key="ent_needs_collateral", on_change=new_key)
    limit = st.slider(t("matching.needs.form.limit"), min_value=1, max_value=10, value=3,
                      key="ent_needs_limit", on_change=new_key)
    slots["dispatch_limit"] = st.empty()
    if st.button(t("matching.needs.form.submit"), type="primary", key="ent_needs_submit", width="stretch",
                 icon=":material/campaign:"):
        form = {"amount": yuan(amount), "term_months": int(term), "purpose": purpose,
                "max_rate": None if max_rate is None else Decimal(str(max_rate)),
                "accepts_collateral": bool(collateral), "dispatch_limit": int(limit)}
        try:
            published = needs.publish_need(actor=actor, need=form, idempotency_key=st.session_state[KEY])
        except ValidationErrors as exc:
            for error in exc.errors:
                slots.get(error.field, st).error(error.message(current_locale()), icon=":material/error:")
        except JinfuError as exc:
            if exc.field in slots:
                slots[exc.field].error(exc.message(current_locale()), icon=":material/error:")
            else:
                show_error(exc)
        else:
            count = len(published.leads)
            message = (t("matching.needs.published", id=published.need.id, count=count) if count
                       else t("matching.needs.published_none", id=published.need.id))
            st.session_state[FLASH] = message  # the key stays: pressing again with the same inputs stores nothing
            st.rerun()

# -- my needs --------------------------------------------------------------------------------------
st.subheader(t("matching.needs.mine"))
with st.spinner(t("common.loading")):
    mine = needs.list_my_needs(actor=actor, enterprise_id=actor.enterprise_id)
if mine.needs.empty:
    st.info(t("matching.needs.none"), icon=":material/campaign:")
    st.stop()

for index, need in enumerate(mine.needs.head(SHOWN).itertuples()):
    header = t("matching.needs.header", id=need.need_id, amount=wan(need.amount, 0), term=need.term_months)
    with st.expander(header, expanded=index == 0, icon=":material/request_quote:"):
        with st.container(horizontal=True, gap="small"):
            st.badge(t(f"matching.need_status.{need.status}"), color="blue")
            st.badge(t("matching.needs.received_by", count=need.n_leads), color="gray")
        st.caption(t("matching.needs.purpose_line", purpose=need.purpose))
        leads = mine.leads[mine.leads["need_id"] == need.need_id]
        if leads.empty:
            st.caption(t("matching.needs.no_leads"))
        for lead in leads.itertuples():
            with st.container(border=True):
                name = lead.institution_name_en if en and lead.institution_name_en else lead.institution_name
                st.markdown(f"**{name}**")
                with st.container(horizontal=True, gap="small"):
                    st.badge(t(f"matching.status.{lead.status}"),
                             color="green" if lead.status == "responded" else "gray")
                    st.badge(t(f"matching.channel.{lead.channel}"), color="blue")
                    sla_badge(lead)
                st.caption(t("matching.needs.due", first=local(lead.first_response_due),
                             decision=local(lead.decision_due)))
                if lead.response_note:
                    st.caption(t("matching.needs.response", note=lead.response_note))
        if need.status == "published" and st.toggle(t("matching.needs.recommend"), key=f"ent_needs_rec_{need.need_id}"):
            rec = matching.recommend_products(actor=actor, enterprise_id=actor.enterprise_id,
                                              need_id=int(need.need_id), k=5, missing_limit=5)
            if not rec.eligible.empty:
                st.dataframe(pd.DataFrame({
                    t("matching.needs.col.product"): rec.eligible["product_name_en" if en else "product_name"]
                    .fillna(rec.eligible["product_name"]),
                    t("matching.needs.col.rate"): rec.eligible["rate_min"].map(lambda v: num(v, 2)),
                    t("matching.needs.col.approval"): rec.eligible["p_approval"].map(lambda p: f"{100 * p:.0f}%"),
                    t("matching.needs.col.why"): rec.eligible["reasons"].map(
                        lambda rs: "；".join(explain(r) for r in rs) if not en else "; ".join(explain(r) for r in rs)),
                }), hide_index=True, width="stretch")
            if not rec.ineligible.empty:
                st.caption(t("matching.needs.missing_title"))
                st.dataframe(pd.DataFrame({
                    t("matching.needs.col.product"): rec.ineligible["product_name_en" if en else "product_name"]
                    .fillna(rec.ineligible["product_name"]),
                    t("matching.needs.col.missing"): rec.ineligible["missing"].map(
                        lambda ms: "; ".join(explain(m) for m in ms)),
                }), hide_index=True, width="stretch")
