"""Enterprise app · 可申请产品 / Products for me: published products it could apply for, and what it misses."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, explain, num, t
from core.services import products

CARDS_SHOWN = 6  # the best matches as cards; the rest in a table

actor = current_actor()
if actor is None or actor.enterprise_id is None:
    st.info(t("ent.no_enterprise"))
    st.stop()

st.title(t("ent.products.title"))
st.caption(t("ent.products.intro"))

with st.spinner(t("common.loading")):
    matches = products.eligible_products_for(actor=actor, enterprise_id=actor.enterprise_id)
if not matches:
    st.info(t("ent.products.none"))
    st.stop()

en = current_locale() == "en"
first_loan_only = st.toggle(t("ent.products.filter_first_loan"), key="ent_products_first_loan_only")
if first_loan_only:
    matches = [m for m in matches if m.product.first_loan_friendly]


def product_card(match: products.ProductMatch) -> None:
    """One product as a bordered card: name, badges, rate/amount/term, institution, what is missing."""
    product = match.product
    with st.container(border=True):
        name = product.name_en if en and product.name_en else product.name
        st.markdown(f"**{name}**")
        with st.container(horizontal=True, gap="small"):
            st.badge(t(f"product_type.{product.product_type.value}"), color="gray")
            if product.first_loan_friendly:
                st.badge(t("ent.products.badge.first_loan"), icon=":material/star:", color="green")
            if product.collateral_required:
                st.badge(t("ent.products.badge.collateral"), color="orange")
            else:
                st.badge(t("ent.products.badge.credit"), color="blue")
        institution = (
            match.institution_name_en if en and match.institution_name_en else match.institution_name
        )
        rate = t("ent.products.rate_value", min=num(product.rate_min, 2), max=num(product.rate_max, 2))
        amount = t(
            "ent.products.amount_value",
            min=num(product.amount_min / 10000),
            max=num(product.amount_max / 10000),
        )
        term = t("ent.products.term_value", min=product.term_min_months, max=product.term_max_months)
        st.markdown(
            "  \n".join(
                [
                    t("common.field", label=t("ent.products.rate"), value=f"**{rate}**"),
                    t("common.field", label=t("ent.products.amount"), value=amount),
                    t("common.field", label=t("ent.products.term"), value=term),
                    t("common.field", label=t("ent.products.institution"), value=institution),
                ]
            )
        )
        if match.missing:
            st.markdown(f"*{t('ent.products.missing')}*")
            for missing in match.missing:
                st.markdown(f"- {explain(missing)}")


def card_grid(items: list[products.ProductMatch], per_row: int = 3) -> None:
    for start in range(0, len(items), per_row):
        for column, match in zip(st.columns(per_row), items[start : start + per_row], strict=False):
            with column:
                product_card(match)


def compact_table(items: list[products.ProductMatch]) -> None:
    """The remaining eligible products as one sortable table (a long wall of cards helps nobody)."""
    frame = pd.DataFrame(
        {
            t("ent.products.col.name"): [
                m.product.name_en if en and m.product.name_en else m.product.name for m in items
            ],
            t("ent.products.institution"): [
                m.institution_name_en if en and m.institution_name_en else m.institution_name for m in items
            ],
            t("ent.products.col.rate"): [f"{m.product.rate_min:.2f}–{m.product.rate_max:.2f}" for m in items],
            t("ent.products.col.amount"): [
                f"{num(m.product.amount_min / 10000)}–{num(m.product.amount_max / 10000)}" for m in items
            ],
            t("ent.products.col.term"): [
                f"{m.product.term_min_months}–{m.product.term_max_months}" for m in items
            ],
            t("ent.products.col.first_loan"): [m.product.first_loan_friendly for m in items],
        }
    )
    st.dataframe(frame, hide_index=True, width="stretch")


eligible = [m for m in matches if m.eligible]
ineligible = [m for m in matches if not m.eligible]

st.subheader(t("ent.products.eligible", count=len(eligible)))
if eligible:
    card_grid(eligible[:CARDS_SHOWN])
    if len(eligible) > CARDS_SHOWN:
        with st.expander(t("ent.products.more", count=len(eligible) - CARDS_SHOWN)):
            compact_table(eligible[CARDS_SHOWN:])
else:
    st.info(t("ent.products.none_eligible"))

if ineligible:
    with st.expander(t("ent.products.ineligible", count=len(ineligible)), expanded=not eligible):
        card_grid(ineligible)
