"""Bank app · 企业信用报告 / Credit report (一企一档): a consented enterprise, a purpose, then its report and PDF.

Only enterprises whose active grants cover this institution are offered. The report is read when the
officer presses the button (each scope shown writes one access-log row the enterprise sees) and kept
in session state for this enterprise until another one is picked — reruns never read it again.
Scopes the enterprise has not granted show as "not authorised". The PDF is built only when the
download button is pressed, and that download is logged too (scope ``report_pdf``).
"""

from __future__ import annotations

import streamlit as st

from apps.common.actor import current_actor
from apps.common.charts import CHART_CONFIG, sparkline
from apps.common.i18n import current_locale, join, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.errors import JinfuError
from core.services import consent, credit_report, report_pdf, report_view

RESULT = "bank_file_result"

actor = current_actor()
if actor is None or actor.organization_id is None:
    st.info(t("bank.no_institution"))
    st.stop()

locale = current_locale()

st.title(t("report.page.title"))
st.caption(t("report.page.caption"))

search = st.text_input(t("bank.file.search"), key="bank_file_search").strip()
with st.spinner(t("common.loading")):
    granted = credit_report.consented_enterprises(actor=actor, search=search or None)
if granted.empty:
    st.info(t("bank.file.none"), icon=":material/lock:")
    st.stop()

by_id = {int(r.enterprise_id): r for r in granted.itertuples()}
enterprise_id = st.selectbox(
    t("bank.file.enterprise"),
    options=list(by_id),
    format_func=lambda i: f"{by_id[i].name} · {by_id[i].credit_code}",
    key="bank_file_enterprise",
)
chosen = by_id[enterprise_id]
st.caption(
    t(
        "bank.file.granted",
        scopes=join(t(f"bank.file.scope.{s}") for s in chosen.scopes),
        date=report_view.local_date(chosen.expires_at),
    )
)
purpose = st.text_input(
    t("bank.file.purpose"),
    max_chars=consent.PURPOSE_MAX,
    placeholder=t("bank.file.purpose_placeholder"),
    key="bank_file_purpose",
)

result = st.session_state.get(RESULT)
if result is not None and result["enterprise_id"] != enterprise_id:
    del st.session_state[RESULT]
    result = None

if st.button(
    t("report.page.open"),
    type="primary",
    key="bank_file_read",
    icon=":material/description:",
    width="stretch",
):
    try:
        with st.spinner(t("common.loading")):
            report = credit_report.read_credit_report(
                actor=actor, enterprise_id=enterprise_id, purpose=purpose
            )
    except JinfuError as exc:
        show_error(exc)
    else:
        result = {"enterprise_id": enterprise_id, "report": report}
        st.session_state[RESULT] = result

if result is None:
    st.stop()

report: credit_report.CreditReport = result["report"]
tables = report_view.report_tables(report, locale=locale)
st.divider()
st.subheader(report.name)
st.caption(f"{report.credit_code} · {t('report.header.number')} {report.report_number}")
with st.expander(t("report.page.header"), icon=":material/badge:"):
    for name, value in report_view.header_rows(report, locale=locale):
        st.text(t("common.field", label=name, value=value))
    st.caption(t("report.page.logged", ids=", ".join(str(i) for i in report.access_log_ids.values())))
if report.disputed_count:
    st.warning(t("report.dispute_banner", count=report.disputed_count), icon=":material/gavel:")


def make_pdf(report=report, locale=locale, actor=actor) -> bytes:
    """Log the download, then print the PDF (runs only when the button is pressed, off the script thread)."""
    try:
        credit_report.record_report_download(
            actor=actor,
            enterprise_id=report.enterprise_id,
            scopes=report.granted,
            purpose=report.purpose,
            report_number=report.report_number,
        )
    except JinfuError as exc:
        raise RuntimeError(exc.message(locale)) from None
    return report_pdf.render_credit_report_pdf(report, locale=locale)


st.download_button(
    t("report.page.download"),
    data=make_pdf,
    file_name=report.pdf_file_name(),
    mime="application/pdf",
    icon=":material/picture_as_pdf:",
    on_click="ignore",
    type="secondary",
    width="stretch",
    key="bank_file_pdf",
    help=t("report.page.download_help"),
)


def disputed_badge(frame) -> None:
    if frame is not None and "disputed" in frame and frame["disputed"].any():
        st.badge(t("report.disputed"), icon=":material/gavel:", color="orange")


def not_authorised(section: str) -> bool:
    scope = report_view.SECTION_SCOPE[section]
    if scope in report.missing:
        st.info(t("report.not_authorised", scope=t(f"bank.file.scope.{scope}")), icon=":material/lock:")
        return True
    return False


def table(name: str, filename: str) -> None:
    data_table(tables[name], filename=f"{filename}_{report.report_number}", key=f"bank_file_{name}")


labels = [
    (":material/lock: " if report_view.SECTION_SCOPE[s] in report.missing else "") + t(f"report.section.{s}")
    for s in report_view.SECTIONS
]
tab_basic, tab_owner, tab_gov, tab_fin, tab_rating, tab_loans = st.tabs(labels)

with tab_basic:
    if not not_authorised("basic"):
        b = report.basic
        if b.disputed:
            st.badge(t("report.disputed"), icon=":material/gavel:", color="orange")
        kpi_cards(
            [
                Kpi(t("bank.file.f.district"), b.district_name_en if locale == "en" else b.district_name),
                Kpi(t("bank.file.f.industry"), b.industry_name_en if locale == "en" else b.industry_name),
                Kpi(t("bank.file.f.scale"), t(f"scale.{b.scale}")),
                Kpi(t("bank.file.f.founded"), report_view.local_date(b.founded_on)),
                Kpi(t("bank.file.f.employees"), num(b.employees)),
                Kpi(t("bank.file.f.capital"), wan(b.registered_capital, 0)),
            ],
            key="kpi_bank_file_basic",
        )
        people = [
            ("bank.file.f.legal_rep", b.legal_rep_name),
            ("bank.file.f.legal_rep_id", b.legal_rep_id_number),
            ("bank.file.f.contact", b.contact_name),
            ("bank.file.f.contact_phone", b.contact_phone),
            ("bank.file.f.address", b.address),
        ]
        with st.container(border=True, key="bank_file_people"):
            for key, value in people:  # plain text: masked values are full of asterisks
                st.text(t("common.field", label=t(key), value=value or "—"))
        st.caption(t("bank.file.masked_note"))

with tab_owner:
    if not not_authorised("ownership"):
        disputed_badge(report.ownership.shareholders)
        st.markdown(f"**{t('report.own.holders')}**")
        table("shareholders", "shareholders")
        st.markdown(f"**{t('report.own.holdings')}**")
        table("holdings", "holdings")

with tab_gov:
    if not not_authorised("gov"):
        disputed_badge(report.gov.events)
        st.markdown(f"**{t('report.gov.summary')}**")
        table("gov_summary", "gov_summary")
        st.markdown(f"**{t('report.gov.series')}**")
        series = report.gov.series
        kinds = [k for k in series.columns if k != "month" and series[k].notna().any()]
        if not kinds:
            st.caption(t("common.no_data"))
        for start in range(0, len(kinds), 2):
            columns = st.columns(2)
            for column, kind in zip(columns, kinds[start : start + 2], strict=False):
                with column:
                    title = report_view.label("bank.file.kind", kind, locale)
                    st.plotly_chart(
                        sparkline(series, "month", kind, title=title, height=180),
                        config=CHART_CONFIG,
                        width="stretch",
                        key=f"bank_file_series_{kind}",
                    )
        st.markdown(f"**{t('report.gov.events_title')}**")
        table("gov_events", "gov_events")

with tab_fin:
    if not not_authorised("financials"):
        disputed_badge(report.financials)
        st.caption(t("report.fin.unit"))
        table("financials", "financials")

with tab_rating:
    if not not_authorised("rating"):
        r = report.rating
        kpi_cards(
            [
                Kpi(
                    t("bank.file.credit.score"),
                    str(r.score) if r.score is not None else t("bank.file.credit.no_score"),
                ),
                Kpi(t("bank.file.credit.grade"), r.grade or "—"),
                Kpi(t("report.rating.pd"), f"{num(r.pd * 100, 2)}%" if r.pd is not None else "—"),
                Kpi(t("bank.file.credit.rated_on"), report_view.local_date(r.rated_on)),
            ],
            key="kpi_bank_file_rating",
        )
        if r.model_name:
            st.caption(t("report.page.model", model=f"{r.model_name} {r.model_version or ''}".strip()))
        if len(r.trend) > 1:
            st.plotly_chart(
                sparkline(r.trend, "as_of", "score", title=t("report.rating.trend"), height=220),
                config=CHART_CONFIG,
                width="stretch",
                key="bank_file_score_trend",
            )
        st.markdown(f"**{t('report.rating.reasons')}**")
        table("reasons", "reasons")
        st.markdown(f"**{t('report.rating.history')}**")
        table("score_trend", "score_trend")

with tab_loans:
    if not not_authorised("loans"):
        h = report.loans
        kpi_cards(
            [
                Kpi(t("bank.file.credit.loans"), num(h.loans_count)),
                Kpi(t("bank.file.credit.active"), num(h.loans_active)),
                Kpi(t("bank.file.credit.outstanding"), wan(h.outstanding)),
                Kpi(t("report.loans.worst_dpd"), num(h.worst_dpd)),
            ],
            key="kpi_bank_file_loans",
        )
        st.caption(t("report.loans.note"))
        st.markdown(f"**{t('report.loans.applications')}**")
        table("applications", "applications")
        st.markdown(f"**{t('report.loans.loans')}**")
        table("loans", "loans")
