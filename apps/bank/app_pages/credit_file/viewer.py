"""Bank app · 企业信用档案 / Credit file: an enterprise that granted us consent, a purpose, then the masked file.

Only enterprises whose active grants cover this institution are offered. The file is read when the
officer presses the button (each scope read writes one access-log row the enterprise sees), and kept
in session state for this enterprise until another one is picked — reruns never read it again.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from apps.common.actor import current_actor
from apps.common.i18n import current_locale, join, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.errors import JinfuError
from core.services import consent

SHANGHAI = ZoneInfo("Asia/Shanghai")
RESULT = "bank_file_result"
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")

actor = current_actor()
if actor is None or actor.organization_id is None:
    st.info(t("bank.no_institution"))
    st.stop()

en = current_locale() == "en"


def local_date(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d") if value is not None else "—"


def plain(text: str) -> str:
    """Data shown inside Markdown, with Markdown's punctuation escaped."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", text)


def label(key: str, code: str) -> str:
    """A catalog label for a code, or the code itself when the catalog has none."""
    text = t(f"{key}.{code}")
    return code if text == f"{key}.{code}" else text


st.title(t("bank.file.title"))
st.caption(t("bank.file.caption"))

search = st.text_input(t("bank.file.search"), key="bank_file_search").strip()
with st.spinner(t("common.loading")):
    granted = consent.consented_enterprises(actor=actor, search=search or None)
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
        date=local_date(chosen.expires_at),
    )
)
# Labels resolved now: a format_func must not depend on session state when it is called later.
scope_labels = {s: t(f"bank.file.scope.{s}") for s in consent.SCOPES}
scopes = st.multiselect(
    t("bank.file.scopes"),
    options=list(chosen.scopes),
    default=list(chosen.scopes),
    format_func=scope_labels.__getitem__,
    key=f"bank_file_scopes_{enterprise_id}",
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
    t("bank.file.read"), type="primary", key="bank_file_read", icon=":material/search:", width="stretch"
):
    if not scopes:
        st.error(t("bank.file.error.choose_scope"), icon=":material/error:")
    else:
        files = []
        try:
            for scope in scopes:
                files.append(
                    consent.read_credit_file(
                        actor=actor, enterprise_id=enterprise_id, scope=scope, purpose=purpose
                    )
                )
        except JinfuError as exc:
            show_error(exc)
        if files:
            result = {"enterprise_id": enterprise_id, "files": files}
            st.session_state[RESULT] = result

if result is None:
    st.stop()

files = result["files"]
st.divider()
st.markdown(f"**{plain(files[0].name)}** · {files[0].credit_code}")
st.caption(t("bank.file.logged", ids=", ".join(str(f.access_log_id) for f in files)))

for file in files:
    st.subheader(t(f"bank.file.scope.{file.scope}"))
    if file.basic is not None:
        b = file.basic
        kpi_cards(
            [
                Kpi(t("bank.file.f.district"), b.district_name_en if en else b.district_name),
                Kpi(t("bank.file.f.industry"), b.industry_name_en if en else b.industry_name),
                Kpi(t("bank.file.f.scale"), t(f"scale.{b.scale}")),
                Kpi(t("bank.file.f.founded"), b.founded_on.isoformat()),
                Kpi(t("bank.file.f.employees"), num(b.employees)),
                Kpi(t("bank.file.f.capital"), wan(b.registered_capital, 0)),
            ],
            key=f"kpi_bank_file_basic_{enterprise_id}",
        )
        people = [
            ("bank.file.f.legal_rep", b.legal_rep_name),
            ("bank.file.f.legal_rep_id", b.legal_rep_id_number),
            ("bank.file.f.contact", b.contact_name),
            ("bank.file.f.contact_phone", b.contact_phone),
            ("bank.file.f.address", b.address),
        ]
        with st.container(border=True, key=f"bank_file_people_{enterprise_id}"):
            for key, value in people:  # plain text: masked values are full of asterisks
                st.text(t("common.field", label=t(key), value=value or "—"))
        st.caption(t("bank.file.masked_note"))
    if file.gov_summary is not None:
        gov = file.gov_summary
        if gov.empty:
            st.caption(t("bank.file.gov.none"))
        else:
            table = pd.DataFrame(
                {
                    t("bank.file.gov.source"): gov["source"].map(lambda s: label("bank.file.source", s)),
                    t("bank.file.gov.period"): gov["latest_period"].astype(str),
                    t("bank.file.gov.kind"): gov["kind"].map(lambda k: label("bank.file.kind", k)),
                    t("bank.file.gov.value"): gov["value"],
                    t("bank.file.gov.text"): gov["text"],
                    t("bank.file.gov.records"): gov["records"],
                }
            )
            data_table(table, filename="gov_records", key=f"bank_file_gov_{enterprise_id}")
    if file.financials is not None:
        fin = file.financials
        if fin.empty:
            st.caption(t("bank.file.fin.none"))
        else:
            money = ["revenue", "net_profit", "total_assets", "total_liabilities", "operating_cash_flow"]
            keys = ["revenue", "profit", "assets", "liabilities", "cash_flow"]
            table = pd.DataFrame({t("bank.file.fin.year"): fin["year"]})
            for column, key in zip(money, keys, strict=True):
                table[t(f"bank.file.fin.{key}")] = fin[column].astype(float) / 10_000
            data_table(
                table,
                filename="financials",
                key=f"bank_file_fin_{enterprise_id}",
                column_config={
                    t(f"bank.file.fin.{k}"): st.column_config.NumberColumn(format="%.1f") for k in keys
                },
            )
    if file.credit is not None:
        c = file.credit
        kpi_cards(
            [
                Kpi(
                    t("bank.file.credit.score"),
                    str(c.score) if c.score is not None else t("bank.file.credit.no_score"),
                ),
                Kpi(t("bank.file.credit.grade"), c.grade or "—"),
                Kpi(t("bank.file.credit.pd"), f"{num(c.pd * 100, 2)}%" if c.pd is not None else "—"),
                Kpi(t("bank.file.credit.rated_on"), c.rated_on.isoformat() if c.rated_on else "—"),
                Kpi(t("bank.file.credit.loans"), num(c.loans_count)),
                Kpi(t("bank.file.credit.active"), num(c.loans_active)),
                Kpi(t("bank.file.credit.outstanding"), wan(c.outstanding)),
                Kpi(t("bank.file.credit.defaulted"), t("common.yes") if c.ever_defaulted else t("common.no")),
            ],
            key=f"kpi_bank_file_credit_{enterprise_id}",
        )
