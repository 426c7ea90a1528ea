"""Regulator app · 银企对接台账 / Matchmaking ledger: filters (dates, institution, district, status), SLA KPIs,
the ledger table with CSV/Excel export, the first-loan funnel (hall totals, per window, per institution) and
the institutions' league table. Everything is derived from recorded rows by ``core.services.ledger``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common.actor import current_actor
from apps.common.charts import CHART_CONFIG, PALETTE
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import Kpi, data_table, kpi_cards
from core.auth import Permission
from core.lending.workdays import SHANGHAI
from core.reference import district_name
from core.services import ledger

PREFIX = "reg_ledger_"
STATUSES = ["submitted", "accepted", "due_diligence", "approved", "rejected", "withdrawn", "contract_signed",
            "disbursed", "repaying", "settled", "overdue", "defaulted", "written_off", "pending", "responded",
            "applied", "declined", "expired"]
STAGES = ["visit", "guidance", "application", "first_loan", "repeat_loan"]

st.title(t("loans.ledger.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.oversight):
    st.info(t("loans.ledger.forbidden"))
    st.stop()
st.caption(t("loans.ledger.caption"))
locale = current_locale()


def pct(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def status_label(code: str) -> str:
    return t(f"app_status.{code}") if code in STATUSES[:13] else t(f"loans.lead_status.{code}")


options = ledger.ledger_options(actor=actor)
today = datetime.now(SHANGHAI).date()
with st.expander(t("loans.ledger.filters"), expanded=False, icon=":material/filter_alt:"):
    period = st.date_input(t("loans.ledger.period"), value=(today - timedelta(days=365), today), key=PREFIX + "period")
    institution = st.selectbox(t("loans.ledger.institution"), options=[None, *options["institutions"]],
                               format_func=lambda i: t("loans.ledger.all") if i is None else options["institutions"][i],
                               key=PREFIX + "institution")
    district = st.selectbox(t("loans.ledger.district"), options=[None, *options["districts"]],
                            format_func=lambda d: t("loans.ledger.all") if d is None else district_name(d, locale),
                            key=PREFIX + "district")
    status = st.selectbox(t("loans.ledger.status"), options=[None, *STATUSES],
                          format_func=lambda s: t("loans.ledger.all") if s is None else status_label(s),
                          key=PREFIX + "status")
date_from, date_to = (period[0], period[1]) if isinstance(period, tuple) and len(period) == 2 else (None, None)

with st.spinner(t("common.loading")):
    view = ledger.ledger_view(actor=actor, date_from=date_from, date_to=date_to, institution_id=institution,
                              district_code=district, status=status)
k = view.kpis
kpi_cards(
    [
        Kpi(t("loans.ledger.kpi.needs"), num(k["needs"])),
        Kpi(t("loans.ledger.kpi.pushes"), num(k["pushes"])),
        Kpi(t("loans.ledger.kpi.applications"), num(k["applications"])),
        Kpi(t("loans.ledger.kpi.loans"), num(k["loans"]), help=t("loans.ledger.kpi.first_loans_help",
                                                                    n=k["first_loans"])),
        Kpi(t("loans.ledger.kpi.response_sla"), pct(k["response_sla"]), help=t("loans.ledger.kpi.response_sla_help")),
        Kpi(t("loans.ledger.kpi.decision_sla"), pct(k["decision_sla"]), help=t("loans.ledger.kpi.decision_sla_help")),
        Kpi(t("loans.ledger.kpi.approval_rate"), pct(k["approval_rate"])),
        Kpi(t("loans.ledger.kpi.contacted"), num(k["contacted"])),
    ],
    key=PREFIX + "kpis",
)

ledger_tab, funnel_tab, league_tab = st.tabs(
    [t("loans.ledger.tab.rows"), t("loans.ledger.tab.funnel"), t("loans.ledger.tab.league")]
)
with ledger_tab:
    rows = view.rows.copy()
    rows["channel"] = rows["channel"].map(lambda c: t(f"loans.channel.{c}"))
    for column in ("response_sla", "decision_sla"):
        rows[column] = rows[column].map(lambda v: t(f"loans.sla.{v}") if isinstance(v, str) else "")
    rows["application_status"] = rows["application_status"].map(lambda s: t(f"app_status.{s}") if isinstance(s, str) and s else "")
    rows["lead_status"] = rows["lead_status"].map(lambda s: t(f"loans.lead_status.{s}") if isinstance(s, str) else "")
    rows["decision"] = rows["decision"].map(lambda s: t(f"loans.decision.{s}") if isinstance(s, str) else "")
    rows["district_code"] = rows["district_code"].map(lambda d: district_name(d, locale) if isinstance(d, str) else "")
    time_col = {"timezone": "Asia/Shanghai", "format": "YYYY-MM-DD HH:mm"}
    shown = ["channel", "need_id", "application_id", "enterprise_name", "district_code", "institution_name", "amount",
             "pushed_at", "first_response_due", "responded_at", "response_sla", "lead_status", "application_status",
             "submitted_at", "decided_at", "decision", "reason_code", "decision_text", "decision_sla", "disbursed_at",
             "loan_amount", "is_first_loan", "credit_code", "lead_id", "escalated_at", "response_note",
             "decision_due", "started_at"]
    data_table(
        rows[shown], f"matchmaking-ledger-{today.isoformat()}", key=PREFIX + "table", height=420,
        column_config={
            **{c: st.column_config.TextColumn(t(f"loans.ledger.col.{c}")) for c in (
                "channel", "enterprise_name", "district_code", "institution_name", "response_sla", "lead_status",
                "application_status", "decision", "reason_code", "decision_text", "decision_sla", "credit_code",
                "response_note")},
            **{c: st.column_config.NumberColumn(t(f"loans.ledger.col.{c}"), format="%d") for c in (
                "need_id", "application_id", "lead_id")},
            **{c: st.column_config.NumberColumn(t(f"loans.ledger.col.{c}"), format="%.2f") for c in (
                "amount", "loan_amount")},
            **{c: st.column_config.DatetimeColumn(t(f"loans.ledger.col.{c}"), **time_col) for c in (
                "pushed_at", "first_response_due", "responded_at", "submitted_at", "decided_at", "disbursed_at",
                "escalated_at", "decision_due", "started_at")},
            "is_first_loan": st.column_config.CheckboxColumn(t("loans.ledger.col.is_first_loan")),
        },
    )

with funnel_tab:
    totals = view.funnel.totals
    fig = go.Figure(go.Funnel(y=[t(f"loans.stage.{s}") for s in totals["stage"]], x=totals["count"],
                              textinfo="value+percent initial", marker={"color": PALETTE[: len(totals)]}))
    fig.update_layout(height=320, margin={"l": 8, "r": 8, "t": 36, "b": 8},
                      title={"text": t("loans.ledger.funnel_title"), "font": {"size": 14}, "x": 0})
    st.plotly_chart(fig, config=CHART_CONFIG, width="stretch", key=PREFIX + "funnel")
    stage_cols = {s: st.column_config.NumberColumn(t(f"loans.stage.{s}")) for s in STAGES}
    st.markdown(f"**{t('loans.ledger.by_window')}**")
    by_window = view.funnel.by_window.assign(
        window_no=view.funnel.by_window["window_no"].map(lambda w: t("loans.fl.window_no", no=w)))
    data_table(by_window, "first-loan-funnel-windows", key=PREFIX + "by_window",
               column_config={"window_no": st.column_config.TextColumn(t("loans.ledger.col.window")), **stage_cols})
    st.markdown(f"**{t('loans.ledger.by_institution')}**")
    names = options["institutions"]
    by_inst = view.funnel.by_institution.assign(institution_id=view.funnel.by_institution["institution_id"].map(
        lambda i: t("loans.ledger.not_applied") if pd.isna(i) else names.get(int(i), f"#{i}")))
    data_table(by_inst, "first-loan-funnel-institutions", key=PREFIX + "by_inst",
               column_config={"institution_id": st.column_config.TextColumn(t("loans.ledger.col.institution_name")),
                              **stage_cols})

with league_tab:
    st.caption(t("loans.ledger.league_caption"))
    data_table(
        view.league.drop(columns=["institution_id"]), "league-table", key=PREFIX + "league",
        column_config={
            "institution_name": st.column_config.TextColumn(t("loans.ledger.col.institution_name")),
            "leads": st.column_config.NumberColumn(t("loans.ledger.kpi.pushes")),
            "applications": st.column_config.NumberColumn(t("loans.ledger.kpi.applications")),
            "approved": st.column_config.NumberColumn(t("loans.ledger.col.approved")),
            "approval_rate": st.column_config.NumberColumn(t("loans.ledger.kpi.approval_rate"), format="percent"),
            "median_days_to_decision": st.column_config.NumberColumn(t("loans.ledger.col.median_days"),
                                                                     format="%.1f"),
            "response_sla": st.column_config.NumberColumn(t("loans.ledger.kpi.response_sla"), format="percent"),
            "decision_sla": st.column_config.NumberColumn(t("loans.ledger.kpi.decision_sla"), format="percent"),
        },
    )
