"""Bank app · 预授信白名单 / Pre-approval white-list: enterprises eligible for one of our products, ranked by fit,
names masked unless the enterprise has consented; exportable; offers pushed to the chosen enterprises."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.bank.header import institution_header
from apps.common.i18n import current_locale, district, num, scale, section, t
from apps.common.widgets import data_table, show_error
from core.errors import JinfuError
from core.models.types import ProductStatus
from core.services import products, whitelist

P = "bank_whitelist_"  # this page's session_state prefix
LENGTHS = (50, 200, 500, 1000)

actor = institution_header("market.wl.title", "market.wl.caption")
en = current_locale() == "en"
state = st.session_state

items = [p for p in products.list_products(actor=actor, institution_id=actor.organization_id)
         if str(p.status) != ProductStatus.withdrawn]
if not items:
    st.info(t("market.wl.no_products"))
    st.stop()
# Published first; first-loan-friendly products reach the most enterprises, so they lead.
items.sort(key=lambda p: (str(p.status) != ProductStatus.published, not p.first_loan_friendly, p.name))
by_id = {p.id: p for p in items}
chosen = st.selectbox(
    t("market.bank.choose"), list(by_id), key=P + "product",
    format_func=lambda i: f"{by_id[i].name_en if en and by_id[i].name_en else by_id[i].name} · "
    f"{t(f'product_status.{by_id[i].status}')}",
)
length = st.segmented_control(t("market.wl.length"), LENGTHS, default=LENGTHS[1], required=True, key=P + "k")

with st.spinner(t("market.wl.loading")):
    ranked = whitelist.product_whitelist(actor=actor, product_id=int(chosen), k=int(length or LENGTHS[1]))

if ranked.empty:
    st.info(t("market.wl.none"))
    st.stop()
consented = int(ranked["consented"].sum())
st.caption(t("market.wl.summary", count=num(len(ranked)), consented=num(consented)))
table = pd.DataFrame({
    t("market.wl.col.rank"): ranked["rank"],
    t("market.wl.col.name"): ranked["enterprise_name"],
    t("market.wl.col.code"): ranked["credit_code"],
    t("market.wl.col.grade"): ranked["grade"].fillna(t("matching.unrated")),
    t("market.wl.col.district"): ranked["district_code"].map(district),
    t("market.wl.col.industry"): ranked["industry_section"].map(section),
    t("market.wl.col.scale"): ranked["scale"].map(scale),
    t("market.wl.col.first_loan"): ~ranked["has_had_loan"].astype(bool),
    t("market.wl.col.fit"): ranked["fit_score"] * 100,
    t("market.wl.col.approval"): ranked["p_approval"] * 100,
    t("market.wl.col.consented"): ranked["consented"],
    t("market.wl.col.offered"): ranked["offered_at"].dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
})
data_table(table, filename=f"whitelist_{chosen}", key=P + "table", column_config={
    t("market.wl.col.fit"): st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f"),
    t("market.wl.col.approval"): st.column_config.NumberColumn(format="%.0f%%"),
    t("market.wl.col.first_loan"): st.column_config.CheckboxColumn(),
    t("market.wl.col.consented"): st.column_config.CheckboxColumn(),
})
st.caption(t("market.wl.masking"))

st.subheader(t("market.wl.push.title"))
if by_id[chosen].status != ProductStatus.published:
    st.info(t("market.wl.push.unpublished"))
    st.stop()
fresh = ranked[ranked["offered_at"].isna()]
labels = dict(zip(ranked["enterprise_id"].astype(int), ranked["rank"].astype(str) + ". " + ranked["enterprise_name"],
                  strict=True))
top = st.number_input(t("market.wl.push.top"), min_value=0, max_value=len(fresh), value=min(10, len(fresh)),
                      key=P + "top", help=t("market.wl.push.top_help"))
picked = st.multiselect(t("market.wl.push.pick"), list(labels), format_func=labels.get, key=P + "pick")
message = st.text_area(t("market.wl.push.message"), value=t("market.wl.push.default", product=by_id[chosen].name),
                       max_chars=500, key=P + "message")
targets = sorted(set(fresh["enterprise_id"].astype(int).head(int(top))) | set(picked))
st.caption(t("market.wl.push.count", count=len(targets)))
if st.button(t("market.wl.push.send"), type="primary", key=P + "send", icon=":material/campaign:",
             disabled=not targets):
    try:
        result = whitelist.push_offers(actor=actor, product_id=int(chosen), enterprise_ids=targets, message=message)
    except JinfuError as exc:
        show_error(exc)
    else:
        st.success(t("market.wl.push.done", sent=result.sent, already=result.already), icon=":material/check_circle:")
