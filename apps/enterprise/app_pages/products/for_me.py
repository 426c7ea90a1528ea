"""Enterprise app · 金融超市 / Financial supermarket: search, filter and sort published products, see what you
are missing, compare up to three side by side, read one product's detail and apply with the consent stated plainly."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, district, explain, num, t
from apps.common.widgets import show_error
from core import reference
from core.config import get_settings
from core.errors import JinfuError, ValidationErrors
from core.models.types import ProductType, utcnow
from core.services import applications, directory, matching, supermarket

PAGE_SIZE = 8
MAX_COMPARE = 3
CONSENT_DAYS = (30, 90, 180, 365)
NON_LENDING = set(matching.NON_LENDING_TYPES)
P = "ent_market_"  # this page's session_state prefix

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()
en = current_locale() == "en"
state = st.session_state
state.setdefault(P + "page", 1)
state.setdefault(P + "compare", [])


def name_of(row) -> str:
    return (row.get("name_en") if en and row.get("name_en") else row.get("name")) or ""


def institution_of(row) -> str:
    english = row.get("institution_name_en")
    return (english if en and english else row.get("institution_name")) or ""


def errors(exc: JinfuError) -> None:
    for message in (exc.messages(current_locale()).values() if isinstance(exc, ValidationErrors) else []):
        st.error(message, icon=":material/error:")
    if not isinstance(exc, ValidationErrors):
        show_error(exc)


st.title(t("market.super.title"))
st.caption(t("market.super.caption"))

with st.spinner(t("common.loading")):
    profile = directory.enterprise_profile(actor=actor, enterprise_id=actor.enterprise_id)
    recs = matching.recommend_products(actor=actor, enterprise_id=actor.enterprise_id, k=50, missing_limit=1000)
missing = {int(p): list(m) for p, m in zip(recs.ineligible["product_id"], recs.ineligible["missing"], strict=True)}
first_loan = not profile.has_had_loan
if first_loan:
    st.info(t("market.super.first_loan_hint"), icon=":material/star:")

# ---- search, sort and filters (filters folded away: the phone shows the results first) ------------
text = st.text_input(t("market.super.search"), placeholder=t("market.super.search_hint"), key=P + "text")
sort = st.segmented_control(
    t("market.super.sort"), options=list(supermarket.SORTS), format_func=lambda s: t(f"market.sort.{s}"),
    default="rate", required=True, key=P + "sort",
)
with st.expander(t("market.super.filters"), icon=":material/tune:"):
    kinds = st.multiselect(t("market.super.f.kinds"), supermarket.INSTITUTION_KINDS,
                           format_func=lambda k: t(f"org_kind.{k}"), key=P + "kinds")
    types = st.multiselect(t("market.super.f.types"), [p.value for p in ProductType],
                           format_func=lambda k: t(f"product_type.{k}"), key=P + "types")
    modes = st.multiselect(t("market.super.f.modes"), supermarket.GUARANTEE_MODES,
                           format_func=lambda k: t(f"market.mode.{k}"), key=P + "modes")
    amount_wan = st.number_input(t("market.super.f.amount"), min_value=0.0, max_value=100_000.0, value=0.0,
                                 step=10.0, help=t("market.super.f.zero_any"), key=P + "amount")
    term = st.number_input(t("market.super.f.term"), min_value=0, max_value=360, value=0, step=6,
                           help=t("market.super.f.zero_any"), key=P + "term")
    max_rate = st.number_input(t("market.super.f.rate"), min_value=0.0, max_value=36.0, value=0.0, step=0.5,
                               help=t("market.super.f.zero_any"), key=P + "rate")
    codes = reference.districts()["code"].astype(str).tolist()
    where = st.selectbox(t("market.super.f.district"), [None, *codes], key=P + "district",
                         format_func=lambda c: t("market.super.f.any") if c is None else district(c))
    friendly_only = st.toggle(t("market.super.f.first_loan"), key=P + "friendly")
    eligible_only = st.toggle(t("market.super.f.eligible"), key=P + "eligible")

filters = {
    "text": text or None, "institution_kinds": kinds, "product_types": types, "guarantee_modes": modes,
    "amount": amount_wan * 10_000 if amount_wan else None, "term_months": int(term) or None,
    "max_rate": max_rate or None, "district": where, "first_loan_only": friendly_only,
}
signature = repr(sorted(filters.items())) + repr((sort, eligible_only))
if state.get(P + "signature") != signature:  # new filters start again at page 1
    state[P + "signature"] = signature
    state[P + "page"] = 1

eligible_ids = None
if eligible_only:
    everything = supermarket.search_products(actor=actor, page_size=supermarket.MAX_PAGE_SIZE)
    eligible_ids = [int(p) for p in everything.items["product_id"] if int(p) not in missing]
try:
    result = supermarket.search_products(
        actor=actor, **filters, product_ids=eligible_ids, sort=sort or "rate", first_loan_first=first_loan,
        page=int(state[P + "page"]), page_size=PAGE_SIZE,
    )
except JinfuError as exc:
    errors(exc)
    st.stop()
state[P + "page"] = result.page


def toggle_compare(product_id: int) -> None:
    chosen = state[P + "compare"]
    if product_id in chosen:
        chosen.remove(product_id)
    elif len(chosen) < MAX_COMPARE:
        chosen.append(product_id)


def choose(product_id: int) -> None:
    state[P + "selected"] = product_id


def product_card(row: dict) -> None:
    """One product: name, badges, terms, numbers, and whether this enterprise qualifies."""
    pid = int(row["product_id"])
    with st.container(border=True):
        st.markdown(f"**{name_of(row)}**  \n{institution_of(row)}")
        with st.container(horizontal=True, gap="small"):
            st.badge(t(f"product_type.{row['product_type']}"), color="gray")
            st.badge(t(f"market.mode.{row['guarantee_mode']}"), color="blue")
            if row["first_loan_friendly"]:
                st.badge(t("ent.products.badge.first_loan"), icon=":material/star:", color="green")
        rate = t("ent.products.rate_value", min=num(row["rate_min"], 2), max=num(row["rate_max"], 2))
        amount = t("ent.products.amount_value", min=num(row["amount_min"] / 10_000),
                   max=num(row["amount_max"] / 10_000))
        term_text = t("ent.products.term_value", min=row["term_min_months"], max=row["term_max_months"])
        approval = "—" if pd.isna(row["approval_rate"]) else f"{100 * row['approval_rate']:.0f}%"
        st.markdown("  \n".join([
            t("common.field", label=t("ent.products.rate"), value=f"**{rate}**"),
            t("common.field", label=t("ent.products.amount"), value=amount),
            t("common.field", label=t("ent.products.term"), value=term_text),
            t("market.super.numbers", count=int(row["applications_90d"]), approval=approval),
        ]))
        if pid in missing:
            with st.expander(t("market.super.missing", count=len(missing[pid])), icon=":material/block:"):
                for item in missing[pid]:
                    st.markdown(f"- {explain(item)}")
        else:
            st.caption(t("market.super.eligible"))
        with st.container(horizontal=True, gap="small"):
            st.button(t("market.super.detail"), key=f"{P}detail_{pid}", on_click=choose, args=(pid,),
                      icon=":material/visibility:")
            chosen = pid in state[P + "compare"]
            st.button(t("market.super.uncompare" if chosen else "market.super.compare"), key=f"{P}cmp_{pid}",
                      on_click=toggle_compare, args=(pid,), icon=":material/compare_arrows:",
                      disabled=not chosen and len(state[P + "compare"]) >= MAX_COMPARE)


def turn(delta: int) -> None:
    state[P + "page"] = max(1, int(state[P + "page"]) + delta)


st.caption(t("market.super.found", total=num(result.total)))
if result.items.empty:
    st.info(t("market.super.none"))
rows = result.items.to_dict("records")
for start in range(0, len(rows), 2):
    for column, row in zip(st.columns(2), rows[start:start + 2], strict=False):
        with column:
            product_card(row)
if result.pages > 1:
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        st.button(t("market.super.prev"), key=P + "prev", on_click=turn, args=(-1,), disabled=result.page <= 1,
                  icon=":material/chevron_left:")
        st.markdown(t("market.super.page", page=result.page, pages=result.pages))
        st.button(t("market.super.next"), key=P + "next", on_click=turn, args=(1,),
                  disabled=result.page >= result.pages, icon=":material/chevron_right:")

# ---- compare up to three side by side --------------------------------------------------------------
if state[P + "compare"]:
    st.subheader(t("market.super.compare_title", count=len(state[P + "compare"])))
    details = [supermarket.product_detail(actor=actor, product_id=pid) for pid in state[P + "compare"]]
    table = {}
    for d in details:
        p = d.product
        label = (p.name_en if en and p.name_en else p.name) + f" #{p.id}"
        table[label] = [
            d.institution_name_en if en and d.institution_name_en else d.institution_name,
            t(f"product_type.{p.product_type}"), t(f"market.mode.{d.guarantee_mode}"),
            t("ent.products.rate_value", min=num(p.rate_min, 2), max=num(p.rate_max, 2)),
            t("ent.products.amount_value", min=num(p.amount_min / 10_000), max=num(p.amount_max / 10_000)),
            t("ent.products.term_value", min=p.term_min_months, max=p.term_max_months),
            t("common.yes") if p.first_loan_friendly else t("common.no"),
            str(d.applications_90d), "—" if d.approval_rate is None else f"{100 * d.approval_rate:.0f}%",
            t("market.super.eligible_short") if p.id not in missing else t("market.super.missing", count=len(missing[p.id])),
        ]
    index = [t(k) for k in ("ent.products.institution", "market.col.type", "market.col.mode", "ent.products.rate",
                            "ent.products.amount", "ent.products.term", "ent.products.col.first_loan",
                            "market.col.apps_90d", "market.col.approval", "market.col.you")]
    st.dataframe(pd.DataFrame(table, index=index), width="stretch")
    st.button(t("market.super.compare_clear"), key=P + "compare_clear",
              on_click=lambda: state[P + "compare"].clear(), icon=":material/clear_all:")

# ---- one product's detail, and apply ---------------------------------------------------------------
selected = state.get(P + "selected")
if selected is not None:
    try:
        detail = supermarket.product_detail(actor=actor, product_id=int(selected))
    except JinfuError as exc:
        errors(exc)
        st.stop()
    p = detail.product
    institution = detail.institution_name_en if en and detail.institution_name_en else detail.institution_name
    st.subheader(t("market.super.detail_title"))
    with st.container(border=True):
        st.markdown(f"### {p.name_en if en and p.name_en else p.name}")
        st.markdown("  \n".join([
            t("common.field", label=t("ent.products.institution"), value=institution),
            t("common.field", label=t("market.col.type"), value=t(f"product_type.{p.product_type}")),
            t("common.field", label=t("market.col.mode"), value=t(f"market.mode.{detail.guarantee_mode}")),
            t("common.field", label=t("ent.products.rate"),
              value=t("ent.products.rate_value", min=num(p.rate_min, 2), max=num(p.rate_max, 2))),
            t("common.field", label=t("ent.products.amount"),
              value=t("ent.products.amount_value", min=num(p.amount_min / 10_000), max=num(p.amount_max / 10_000))),
            t("common.field", label=t("ent.products.term"),
              value=t("ent.products.term_value", min=p.term_min_months, max=p.term_max_months)),
            t("common.field", label=t("market.col.repayment"),
              value=", ".join(t(f"repayment.{m}") for m in p.repayment_methods) or "—"),
            t("market.super.version", version=p.version),
        ]))
        if p.description:
            st.caption(p.description)
        if p.tags:
            with st.container(horizontal=True, gap="small"):
                for tag in p.tags:
                    st.badge(tag, color="violet")
    if p.id in missing:
        st.warning(t("market.super.cannot_apply"), icon=":material/block:")
        for item in missing[p.id]:
            st.markdown(f"- {explain(item)}")
    elif str(p.product_type) in NON_LENDING:
        st.info(t("market.super.enhancement_only"))
    else:
        st.markdown(f"**{t('market.apply.title')}**")
        key_name = f"{P}apply_key_{p.id}"
        state.setdefault(key_name, uuid.uuid4().hex)
        low, high = float(p.amount_min) / 10_000, float(p.amount_max) / 10_000
        amount = st.number_input(t("market.apply.amount"), min_value=0.0, max_value=high,
                                 value=max(low, min(high, 50.0)), step=10.0, key=f"{P}apply_amount_{p.id}")
        months = st.number_input(t("market.apply.term"), min_value=1, max_value=360,
                                 value=max(p.term_min_months, min(p.term_max_months, 12)),
                                 key=f"{P}apply_term_{p.id}")
        days = st.selectbox(t("market.apply.days"), CONSENT_DAYS, index=len(CONSENT_DAYS) - 1,
                            key=f"{P}apply_days_{p.id}", format_func=lambda d: t("market.apply.days_value", days=d))
        until = (utcnow() + timedelta(days=int(days))).astimezone(ZoneInfo(get_settings().display_timezone)).date()
        st.info(t("market.apply.consent", institution=institution, days=days, until=until),
                icon=":material/verified_user:")
        if st.button(t("market.apply.submit"), type="primary", key=f"{P}apply_{p.id}", icon=":material/send:"):
            try:
                made = applications.submit_application(
                    actor=actor, product_id=p.id,
                    amount=(Decimal(str(amount)) * 10_000).quantize(Decimal("0.01")),
                    term_months=int(months), consent_days=int(days), idempotency_key=state[key_name],
                )
            except JinfuError as exc:
                errors(exc)
            else:
                st.success(t("market.apply.done", id=made.id, institution=institution), icon=":material/check_circle:")
