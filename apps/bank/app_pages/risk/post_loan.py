"""Bank app · 贷后预警 / Post-loan monitoring: the portfolio by days-past-due bucket, the early-warning
signal queue and its handling (acknowledge → investigate → feedback → close), overdue follow-up, and a
borrower's ownership network.

The handling steps carry the version the officer saw, so a signal someone else moved on meanwhile is
refused with the stale-version message instead of being overwritten.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common.actor import current_actor
from apps.common.charts import CHART_CONFIG
from apps.common.i18n import current_locale, num, t, wan
from apps.common.widgets import Kpi, data_table, kpi_cards, show_error
from core.enums import SIGNAL_COLOURS
from core.errors import JinfuError
from core.services import loan_reads, risk_queues, risk_signals, risk_views

PREFIX = "bank_risk_"
FLASH = PREFIX + "flash"
COLOUR_HEX = {"red": "#d92d20", "orange": "#f79009", "yellow": "#eaaa08", "blue": "#1f6feb"}
STATUSES = ("open", "acknowledged", "investigating", "closed")


def message(key: str, detail, fallback: str) -> str:
    """A signal's plain-words message (its rule's text with the fact's parameters), else ``fallback``."""
    text = t(key, **(detail if isinstance(detail, dict) else {}))
    return fallback if text == key else text


actor = current_actor()
if actor is None or actor.organization_id is None:
    st.info(t("bank.no_institution"))
    st.stop()
institution_id = actor.organization_id
locale = current_locale()

st.title(t("riskui.post_loan.title"))
st.caption(t("riskui.post_loan.caption"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")

tab_portfolio, tab_signals, tab_overdue, tab_graph = st.tabs(
    [t("riskui.post_loan.tab.portfolio"), t("riskui.post_loan.tab.signals"), t("riskui.post_loan.tab.overdue"),
     t("riskui.post_loan.tab.graph")]
)

# ------------------------------------------------------------------------------------ portfolio
with tab_portfolio:
    buckets = loan_reads.portfolio_by_bucket(actor=actor, institution_id=institution_id)
    kpi_cards(
        [Kpi(t("riskui.bucket", bucket=r.bucket), num(r.loans), help=wan(r.outstanding)) for r in buckets.itertuples()],
        key=PREFIX + "buckets",
    )
    measure = st.segmented_control(
        t("riskui.post_loan.measure"),
        options=["outstanding", "loans"],
        format_func={m: t(f"riskui.post_loan.measure.{m}") for m in ("outstanding", "loans")}.get,
        default="outstanding",
        required=True,
        key=PREFIX + "measure",
    )
    values = buckets["outstanding"].astype(float) / 10_000 if measure == "outstanding" else buckets["loans"]
    figure = go.Figure(
        go.Bar(
            x=buckets["bucket"],
            y=values,
            marker_color=["#2b8a3e", "#eaaa08", "#f79009", "#d92d20"],
            text=[num(v, 1 if measure == "outstanding" else 0) for v in values],
            textposition="auto",
        )
    )
    figure.update_layout(height=300, margin={"l": 8, "r": 8, "t": 8, "b": 8}, hovermode="closest",
                         yaxis={"title": t(f"riskui.post_loan.axis.{measure}"), "rangemode": "tozero"})
    st.plotly_chart(figure, width="stretch", config=CHART_CONFIG, key=PREFIX + "bucket_chart")
    data_table(
        pd.DataFrame({
            t("riskui.col.bucket"): buckets["bucket"],
            t("riskui.col.loans"): buckets["loans"],
            t("riskui.col.outstanding_wan"): (buckets["outstanding"].astype(float) / 10_000).round(2),
            t("riskui.col.share"): (buckets["share"].astype(float) * 100).round(1),
        }),
        filename="portfolio_dpd",
        key=PREFIX + "bucket_table",
    )

# ------------------------------------------------------------------------------------- signals
with tab_signals:
    status = st.segmented_control(
        t("riskui.filter.status"),
        options=[None, *STATUSES],
        format_func={None: t("riskui.filter.all_open"), **{s: t(f"riskui.status.{s}") for s in STATUSES}}.get,
        default=None,
        key=PREFIX + "status",
    )
    level_min = st.slider(t("riskui.filter.level_min"), 1, 8, 1, key=PREFIX + "level_min")
    signals = risk_queues.institution_signal_queue(actor=actor, status=status, level_min=level_min)
    if signals.empty:
        st.info(t("riskui.signals.none"), icon=":material/verified:")
    else:
        signals = signals.assign(
            rule=signals["rule_name_en" if locale == "en" else "rule_name"].fillna(signals["rule_code"]),
            text=[message(k, d, "") for k, d in zip(signals["message_key"], signals["detail"], strict=True)],
        )
        table = pd.DataFrame({
            t("riskui.col.id"): signals["id"],
            t("riskui.col.colour"): signals["level"].map(lambda lv: t(f"riskui.colour.{SIGNAL_COLOURS[int(lv)]}")),
            t("riskui.col.level"): signals["level"],
            t("riskui.col.enterprise"): signals["enterprise_name"],
            t("riskui.col.rule"): signals["rule"],
            t("riskui.col.message"): signals["text"],
            t("riskui.col.loan"): signals["loan_id"].astype("Int64"),
            t("riskui.col.status"): signals["status"].map(lambda s: t(f"riskui.status.{s}")),
            t("riskui.col.feedback"): signals["feedback"].map(lambda f: t(f"riskui.feedback.{f}") if f else ""),
            t("riskui.col.raised_at"): pd.to_datetime(signals["raised_at"], utc=True).dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M"),
        })
        data_table(table, filename="risk_signals", key=PREFIX + "queue")

        st.subheader(t("riskui.handle.title"))
        rows = {int(r["id"]): r for r in signals.head(500).to_dict("records")}
        chosen = st.selectbox(
            t("riskui.handle.pick"),
            options=list(rows),
            format_func={
                i: f"#{i} · {t('riskui.colour.' + SIGNAL_COLOURS[int(r['level'])])} L{r['level']} · "
                f"{r['enterprise_name']} · {r['rule']}"
                for i, r in rows.items()
            }.get,
            key=PREFIX + "pick",
        )
        signal = rows[chosen]
        colour = SIGNAL_COLOURS[int(signal["level"])]
        with st.container(border=True):
            st.badge(f"{t('riskui.colour.' + colour)} · L{signal['level']}", color=colour if colour != "yellow"
                     else "orange", icon=":material/warning:")
            st.markdown(f"**{signal['enterprise_name']}** · {signal['rule']}")
            if signal["text"]:
                st.write(signal["text"])
            st.caption(t("riskui.handle.status", status=t(f"riskui.status.{signal['status']}")))

        def step(name: str, **kwargs) -> None:
            fn = getattr(risk_signals, name)
            try:
                fn(actor=actor, signal_id=chosen, expected_version=int(signal["version"]), **kwargs)
            except JinfuError as exc:
                show_error(exc)
            else:
                st.session_state[FLASH] = t(f"riskui.handle.done.{name}", id=chosen)
                st.rerun()

        state = signal["status"]
        has_feedback = bool(signal.get("feedback"))
        with st.container(horizontal=True, gap="small"):
            if state == "open" and st.button(t("riskui.handle.acknowledge"), type="primary",
                                             icon=":material/done:", key=PREFIX + "ack"):
                step("acknowledge_signal")
            if state == "acknowledged" and st.button(t("riskui.handle.investigate"), type="primary",
                                                     icon=":material/search:", key=PREFIX + "investigate"):
                step("start_investigation")
            if state in ("acknowledged", "investigating") and has_feedback and st.button(
                t("riskui.handle.close"), icon=":material/task_alt:", key=PREFIX + "close"
            ):
                step("close_signal")
        if state in ("acknowledged", "investigating") and not has_feedback:
            with st.form(PREFIX + f"feedback_{chosen}", border=True):
                outcome = st.radio(
                    t("riskui.handle.outcome"),
                    options=["true_alarm", "false_alarm"],
                    format_func={o: t(f"riskui.feedback.{o}") for o in ("true_alarm", "false_alarm")}.get,
                    key=PREFIX + "outcome",
                    horizontal=True,
                )
                action = st.selectbox(t("riskui.handle.action"), options=list(risk_signals.ACTIONS),
                                      format_func={a: t(f"riskui.action.{a}") for a in risk_signals.ACTIONS}.get,
                                      key=PREFIX + "action")
                note = st.text_area(t("riskui.handle.note"), max_chars=1000, key=PREFIX + "note")
                if st.form_submit_button(t("riskui.handle.feedback"), icon=":material/rate_review:"):
                    step("give_feedback", outcome=outcome, action_taken=action, note=note or None)
        if has_feedback:
            st.caption(t("riskui.handle.feedback_given", outcome=t(f"riskui.feedback.{signal['feedback']}")))

# ------------------------------------------------------------------------------- overdue follow-up
with tab_overdue:
    loans = loan_reads.servicing_loans(actor=actor, institution_id=institution_id, status=["overdue", "defaulted"])
    overdue = loans[loans["days_past_due"] > 0].sort_values("days_past_due", ascending=False) if not loans.empty \
        else loans
    st.caption(t("riskui.overdue.caption"))
    if overdue.empty:
        st.info(t("riskui.overdue.none"), icon=":material/verified:")
    else:
        kpi_cards(
            [
                Kpi(t("riskui.overdue.loans"), num(len(overdue))),
                Kpi(t("riskui.overdue.outstanding"), wan(sum(overdue["outstanding_principal"]))),
                Kpi(t("riskui.overdue.worst"), num(int(overdue["days_past_due"].max()))),
            ],
            per_row=3,
            key=PREFIX + "overdue_kpis",
        )
        data_table(
            pd.DataFrame({
                t("riskui.col.loan"): overdue["id"],
                t("riskui.col.enterprise"): overdue["enterprise_name"],
                t("riskui.col.product"): overdue["product_name"],
                t("riskui.col.outstanding_wan"): overdue["outstanding_principal"].astype(float).div(10_000).round(2),
                t("riskui.col.dpd"): overdue["days_past_due"],
                t("riskui.col.bucket"): overdue["bucket"],
                t("riskui.col.next_due"): overdue["next_due_date"],
                t("riskui.col.paused_until"): overdue["paused_until"],
            }),
            filename="overdue_follow_up",
            key=PREFIX + "overdue_table",
        )

# ---------------------------------------------------------------------------------- ownership
with tab_graph:
    borrowers = risk_views.post_loan_borrowers(actor=actor, institution_id=institution_id)
    if borrowers.empty:
        st.info(t("riskui.graph.no_borrowers"))
    else:
        by_id = {int(r.enterprise_id): r for r in borrowers.itertuples()}

        def borrower_label(i: int) -> str:
            r = by_id[i]
            flag = f" · {t('riskui.colour.' + r.colour)} L{r.max_level}" if r.max_level else ""
            return f"{r.name}{flag}"

        picked = st.selectbox(t("riskui.graph.pick"), options=list(by_id), format_func={i: borrower_label(i) for i in by_id}.get,
                              key=PREFIX + "borrower")
        try:
            with st.spinner(t("common.loading")):
                view = risk_views.borrower_ownership(
                    actor=actor, institution_id=institution_id, enterprise_id=picked, locale=locale
                )
        except JinfuError as exc:
            show_error(exc)
        else:
            if view.circular:
                st.warning(t("riskui.graph.circular", count=len(view.circular),
                             cycles="; ".join(" → ".join(c) for c in view.circular[:3])), icon=":material/sync:")
            st.plotly_chart(view.figure, width="stretch", config=CHART_CONFIG, key=PREFIX + "graph")
            st.markdown(f"**{t('riskui.graph.controllers')}**")
            controllers = view.controllers
            data_table(
                pd.DataFrame({
                    t("riskui.col.holder"): controllers["holder_name"],
                    t("riskui.col.holder_type"): controllers["holder_type"].map(
                        lambda h: t(f"riskui.holder.{h}") if h in ("person", "enterprise") else h),
                    t("riskui.col.cumulative_share"): (controllers["cumulative_share"].astype(float) * 100).round(2),
                }),
                filename=f"controllers_{picked}",
                key=PREFIX + "controllers",
            )
            st.caption(t("riskui.graph.note"))
