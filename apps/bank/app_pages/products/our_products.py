"""Bank app · 我的产品 / Our products: the family's products with status and version; create and edit with
every problem shown next to its field; before publishing, how many platform enterprises are eligible and at
which grades; publish, withdraw, and the version history."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pandas as pd
import streamlit as st

from apps.bank.header import institution_header
from apps.common.charts import CHART_CONFIG, bars
from apps.common.i18n import current_locale, district, num, section, t
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core import reference
from core.errors import JinfuError, ValidationErrors
from core.models.types import GRADE_ORDER, ProductStatus, ProductType, RepaymentMethod, Scale
from core.services import products, whitelist

P = "bank_products_"  # this page's session_state prefix
FIELD_LABELS = {
    "name": "market.form.name", "name_en": "market.form.name_en", "product_type": "market.col.type",
    "amount_min": "market.form.amount_min", "amount_max": "market.form.amount_max",
    "term_min_months": "market.form.term_min", "term_max_months": "market.form.term_max",
    "rate_min": "market.form.rate_min", "rate_max": "market.form.rate_max",
    "repayment_methods": "market.col.repayment", "eligible_districts": "market.form.districts",
    "eligible_industries": "market.form.industries", "eligible_scales": "market.form.scales",
    "min_years_in_business": "market.form.min_years", "min_credit_grade": "market.form.min_grade",
    "tags": "market.form.tags", "description": "market.form.description",
}  # fmt: skip

actor = institution_header("bank.products.title", "bank.products.caption")
en = current_locale() == "en"
state = st.session_state
state.setdefault(P + "new_key", uuid.uuid4().hex)

for note in state.pop(P + "flash", []):
    st.success(note, icon=":material/check_circle:")

with st.spinner(t("common.loading")):
    items = products.list_products(actor=actor, institution_id=actor.organization_id)
frame = products.products_frame(items)
by_id = {p.id: p for p in items}


def field_errors(exc: JinfuError) -> dict[str, str]:
    locale = current_locale()
    if isinstance(exc, ValidationErrors):
        return exc.messages(locale)
    return {exc.field or "_": exc.message(locale)}


def product_form(prefix: str, initial: dict | None = None) -> None:
    """The product's fields (keys ``prefix`` + field); each one's error shown right under it."""
    initial = initial or {}
    problems = state.get(prefix + "errors", {})

    def problem(name: str) -> None:
        if name in problems:
            st.error(problems[name], icon=":material/error:")

    st.text_input(t("market.form.name"), value=initial.get("name", ""), key=prefix + "name", max_chars=80)
    problem("name")
    st.text_input(t("market.form.name_en"), value=initial.get("name_en") or "", key=prefix + "name_en")
    problem("name_en")
    types = [p.value for p in ProductType]
    st.selectbox(t("market.col.type"), types, index=types.index(str(initial.get("product_type", "credit_loan"))),
                 format_func=lambda v: t(f"product_type.{v}"), key=prefix + "product_type")
    problem("product_type")
    for low, high, kind, fmt in (("amount_min", "amount_max", float, "%.2f"),
                                 ("term_min_months", "term_max_months", int, None),
                                 ("rate_min", "rate_max", float, "%.4f")):
        left, right = st.columns(2)
        defaults = {"amount_min": 100_000.0, "amount_max": 3_000_000.0, "term_min_months": 6,
                    "term_max_months": 36, "rate_min": 3.45, "rate_max": 6.0}
        for column, name in ((left, low), (right, high)):
            with column:
                st.number_input(t(FIELD_LABELS[name]), value=kind(initial.get(name, defaults[name])),
                                min_value=kind(0), format=fmt, key=prefix + name,
                                step=kind(10_000) if "amount" in name else (kind(1) if kind is int else 0.05))
                problem(name)
    st.multiselect(t("market.col.repayment"), [m.value for m in RepaymentMethod],
                   default=list(initial.get("repayment_methods", ["equal_installment"])),
                   format_func=lambda v: t(f"repayment.{v}"), key=prefix + "repayment_methods")
    problem("repayment_methods")
    codes = reference.districts()["code"].astype(str).tolist()
    st.multiselect(t("market.form.districts"), codes, default=list(initial.get("eligible_districts", [])),
                   format_func=district, key=prefix + "eligible_districts", help=t("market.form.empty_all"))
    problem("eligible_districts")
    sections = reference.industry_sections()["section"].astype(str).tolist()
    st.multiselect(t("market.form.industries"), sections, default=list(initial.get("eligible_industries", [])),
                   format_func=lambda c: f"{c} {section(c)}", key=prefix + "eligible_industries",
                   help=t("market.form.empty_all"))
    problem("eligible_industries")
    st.multiselect(t("market.form.scales"), [s.value for s in Scale], default=list(initial.get("eligible_scales", [])),
                   format_func=lambda v: t(f"scale.{v}"), key=prefix + "eligible_scales", help=t("market.form.empty_all"))
    problem("eligible_scales")
    st.number_input(t("market.form.min_years"), min_value=0, value=int(initial.get("min_years_in_business", 0)),
                    key=prefix + "min_years_in_business")
    problem("min_years_in_business")
    grades = [None, *GRADE_ORDER]
    st.selectbox(t("market.form.min_grade"), grades, index=grades.index(initial.get("min_credit_grade")),
                 format_func=lambda g: t("market.form.no_grade") if g is None else g, key=prefix + "min_credit_grade")
    st.checkbox(t("market.form.collateral"), value=bool(initial.get("collateral_required")),
                key=prefix + "collateral_required")
    st.checkbox(t("market.form.first_loan"), value=bool(initial.get("first_loan_friendly")),
                key=prefix + "first_loan_friendly")
    st.text_input(t("market.form.tags"), value="，".join(initial.get("tags", [])), key=prefix + "tags",
                  help=t("market.form.tags_help"))
    problem("tags")
    st.text_area(t("market.form.description"), value=initial.get("description") or "", key=prefix + "description")
    problem("description")


def form_values(prefix: str) -> dict:
    values = {name: state.get(prefix + name) for name in products.FORM_FIELDS}
    for name in ("amount_min", "amount_max", "rate_min", "rate_max"):
        if values[name] is not None:
            values[name] = Decimal(str(values[name])).quantize(Decimal("0.01" if "amount" in name else "0.0001"))
    return values


def create() -> None:
    prefix = P + "new_"
    try:
        made = products.create_product(actor=actor, data=form_values(prefix), idempotency_key=state[P + "new_key"])
    except JinfuError as exc:
        state[prefix + "errors"] = field_errors(exc)
        return
    state[prefix + "errors"] = {}
    state[P + "new_key"] = uuid.uuid4().hex
    state[P + "selected"] = made.id
    state[P + "flash"] = [t("market.form.created", name=made.name, version=made.version)]


def save(product_id: int, version: int) -> None:
    prefix = f"{P}edit_{product_id}_"
    try:
        saved = products.update_product(actor=actor, product_id=product_id, changes=form_values(prefix),
                                        expected_version=version)
    except JinfuError as exc:
        state[prefix + "errors"] = field_errors(exc)
        return
    state[prefix + "errors"] = {}
    state[P + "flash"] = [t("market.form.saved", name=saved.name, version=saved.version)]


def move(step, product_id: int, version: int, key: str) -> None:
    try:
        moved = step(actor=actor, product_id=product_id, expected_version=version)
    except JinfuError as exc:
        state[P + "move_error"] = exc
        return
    state[P + "flash"] = [t(key, name=moved.name, version=moved.version)]


listing, create_tab, manage_tab = st.tabs([t("market.bank.tab.list"), t("market.bank.tab.new"),
                                           t("market.bank.tab.manage")])

with listing:
    if frame.empty:
        st.info(t("bank.products.none"))
    else:
        kpi_cards([
            Kpi(t("bank.products.total"), num(len(frame))),
            Kpi(t("bank.products.published"), num((frame["status"] == ProductStatus.published).sum())),
            Kpi(t("bank.products.drafts"), num((frame["status"] == ProductStatus.draft).sum())),
            Kpi(t("bank.products.first_loan"), num(frame["first_loan_friendly"].sum())),
        ])
        table = pd.DataFrame({
            t("bank.col.name"): frame["name_en"].fillna(frame["name"]) if en else frame["name"],
            t("bank.col.type"): frame["product_type"].map(lambda v: t(f"product_type.{v}")),
            t("bank.col.status"): frame["status"].map(lambda v: t(f"product_status.{v}")),
            t("market.col.version"): frame["version"],
            t("bank.col.amount_min"): frame["amount_min"] / 10_000,
            t("bank.col.amount_max"): frame["amount_max"] / 10_000,
            t("bank.col.term"): frame["term_min_months"].astype(str) + "–" + frame["term_max_months"].astype(str),
            t("bank.col.rate"): frame["rate_min"].map(lambda v: f"{v:.2f}") + "–"
            + frame["rate_max"].map(lambda v: f"{v:.2f}"),
            t("bank.col.first_loan"): frame["first_loan_friendly"],
            t("bank.col.code"): frame["code"],
        })
        data_table(table, filename="products", key=P + "table", column_config={
            t("bank.col.amount_min"): st.column_config.NumberColumn(format="%.1f"),
            t("bank.col.amount_max"): st.column_config.NumberColumn(format="%.1f"),
            t("bank.col.first_loan"): st.column_config.CheckboxColumn(),
        })

with create_tab:
    st.caption(t("market.form.new_caption"))
    with st.form(P + "new_form", border=False):
        product_form(P + "new_")
        st.form_submit_button(t("market.form.create"), type="primary", on_click=create, icon=":material/add:",
                              key=P + "create")

with manage_tab:
    if frame.empty:
        st.info(t("bank.products.none"))
        st.stop()
    ids = frame["id"].astype(int).tolist()
    labels = dict(zip(ids, (frame["name_en"].fillna(frame["name"]) if en else frame["name"]), strict=True))
    if state.get(P + "selected") not in ids:
        state[P + "selected"] = ids[0]
    chosen = st.selectbox(t("market.bank.choose"), ids, key=P + "selected",
                          format_func=lambda i: f"{labels[i]} · #{i}")
    row = frame.set_index("id").loc[chosen]
    status, version = str(row["status"]), int(row["version"])
    st.markdown(t("market.bank.state", status=t(f"product_status.{status}"), version=version))
    if (problem := state.pop(P + "move_error", None)) is not None:
        show_error(problem)
    with st.container(horizontal=True, gap="small"):
        st.button(t("market.bank.publish"), key=P + "publish", type="primary", icon=":material/publish:",
                  disabled=status == ProductStatus.published,
                  on_click=move, args=(products.publish_product, chosen, version, "market.bank.published"))
        st.button(t("market.bank.withdraw"), key=P + "withdraw", icon=":material/unpublished:",
                  disabled=status != ProductStatus.published,
                  on_click=move, args=(products.withdraw_product, chosen, version, "market.bank.withdrawn"))

    st.subheader(t("market.preview.title"))
    st.caption(t("market.preview.caption"))
    if st.button(t("market.preview.run"), key=P + "preview", icon=":material/groups:"):
        with st.status(t("market.preview.running"), expanded=False) as progress:
            preview = whitelist.eligibility_preview(actor=actor, product=int(chosen))
            progress.update(label=t("market.preview.done"), state="complete")
        share = preview.eligible / preview.enterprises if preview.enterprises else 0.0
        kpi_cards([
            Kpi(t("market.preview.enterprises"), num(preview.enterprises)),
            Kpi(t("market.preview.eligible"), num(preview.eligible), delta=f"{100 * share:.1f}%"),
        ], per_row=2)
        grades = preview.by_grade.assign(label=preview.by_grade["grade"].map(
            lambda g: t("matching.unrated") if g == whitelist.UNRATED else g))
        st.plotly_chart(bars(grades, "label", "eligible", title=t("market.preview.by_grade")),
                        config=CHART_CONFIG, key=P + "preview_chart")
        if not preview.by_criterion.empty:
            data_table(pd.DataFrame({
                t("market.preview.criterion"): preview.by_criterion["criterion"].map(lambda c: t(f"market.criterion.{c}")),
                t("market.preview.failing"): preview.by_criterion["failing"],
                t("market.preview.only"): preview.by_criterion["only"],
            }), filename="eligibility_preview", key=P + "preview_table")

    st.subheader(t("market.bank.edit"))
    prefix = f"{P}edit_{chosen}_"
    initial = by_id[chosen].model_dump(mode="json", include=set(products.FORM_FIELDS))
    with st.form(prefix + "form", border=False):
        product_form(prefix, initial)
        st.form_submit_button(t("market.form.save"), type="primary", on_click=save, args=(chosen, version),
                              icon=":material/save:", key=P + "save")

    st.subheader(t("market.history.title"))
    current = products.product_history(actor=actor, product_id=int(chosen))
    if current.empty:
        st.info(t("market.history.none"))
    else:
        data_table(pd.DataFrame({
            t("market.col.version"): current["product_version"],
            t("market.history.change"): current["change"].map(lambda c: t(f"market.change.{c}")),
            t("market.history.at"): current["changed_at"],
            t("market.history.by"): current["changed_by"].fillna("—"),
            t("bank.col.status"): current["status"].map(lambda v: t(f"product_status.{v}") if v else "—"),
            t("bank.col.rate"): current["snapshot"].map(lambda s: f"{s.get('rate_min')}–{s.get('rate_max')}"),
            t("bank.col.name"): current["snapshot"].map(lambda s: s.get("name")),
        }), filename="product_history", key=P + "history")
