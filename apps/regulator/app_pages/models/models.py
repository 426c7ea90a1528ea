"""Regulator app · 评级模型 / Rating models: the indicator system, scorecard versions with their metrics and
PSI, a side-by-side comparison, and the actions — train (models.manage), approve or retire
(models.approve, maker-checker), run the batch rating (rating.run) — plus the grade distribution.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common import charts
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import data_table, show_error
from core.auth import Permission
from core.errors import JinfuError
from core.services import rating_runs, scoring_models, scoring_monitor

PREFIX = "models_"
FLASH = PREFIX + "flash"
PSI_LINES = (0.10, 0.25)

st.title(t("models.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.oversight):
    st.info(t("models.forbidden"))
    st.stop()
en = current_locale() == "en"
st.caption(t("models.caption"))
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")


def done(key: str, **params) -> None:
    st.session_state[FLASH] = t(key, **params)
    st.rerun()


def plot(figure: go.Figure, key: str, height: int = 320) -> None:
    figure.update_layout(height=height, margin={"l": 8, "r": 8, "t": 32, "b": 8},
                         legend={"orientation": "h", "y": 1.08, "x": 0}, colorway=charts.PALETTE)
    st.plotly_chart(figure, width="stretch", config=charts.CHART_CONFIG, key=PREFIX + key)


def band_text(band: str | None) -> str:
    return "—" if not band else t(f"models.band.{band}")


def rounded(series: pd.Series, digits: int = 3) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").round(digits)


def label_of(row) -> str:
    return f"{row['name']} {row['model_version']} · {t('models.status.' + row['status'])}"


tab_ind, tab_versions, tab_compare, tab_rating = st.tabs(
    [t("models.tab.indicators"), t("models.tab.versions"), t("models.tab.compare"), t("models.tab.rating")])

# ------------------------------------------------------------------------------ indicator system
with tab_ind:
    table = scoring_monitor.indicator_table(actor=actor)
    st.subheader(t("models.indicators.title"))
    st.caption(t("models.indicators.version", version=table.attrs.get("version", "")))
    table["name"] = table["name_en"] if en else table["name_zh"]
    upper = table[table["level"] <= 2]
    names = dict(zip(upper["code"], upper["name"], strict=True))
    figure = go.Figure(go.Sunburst(
        ids=upper["code"], labels=upper["name"], parents=upper["parent"].map(lambda p: p or ""),
        values=upper["effective_weight"], branchvalues="total",
        hovertemplate="%{label}: %{value:.1%}<extra></extra>"))
    plot(figure, "sunburst", height=380)
    shown = table.assign(parent=table["parent"].map(lambda p: names.get(p, p) if p else "—"),
                         weight=(table["weight"] * 100).round(1),
                         effective_weight=(table["effective_weight"] * 100).round(2))
    data_table(shown[["level", "code", "name", "parent", "weight", "effective_weight", "feature"]].rename(columns={
        "level": t("models.col.level"), "code": t("models.col.code"), "name": t("models.col.name"),
        "parent": t("models.col.parent"), "weight": t("models.col.weight"),
        "effective_weight": t("models.col.effective_weight"), "feature": t("models.col.feature")}),
        "indicator-system", key=PREFIX + "indicators")

# ------------------------------------------------------------------------------ versions and actions
models = scoring_models.list_models(actor=actor)
with tab_versions:
    st.subheader(t("models.versions.title"))
    if models.empty:
        st.info(t("models.versions.empty"))
    else:
        view = pd.DataFrame({
            t("models.col.version"): models["name"] + " " + models["model_version"],
            t("models.col.segment"): models["segment"],
            t("models.col.status"): models["status"].map(lambda s: t(f"models.status.{s}")),
            "AUC": rounded(models["auc"]), "KS": rounded(models["ks"]), "Gini": rounded(models["gini"]),
            t("models.col.rows"): models["rows"], t("models.col.bads"): models["bads"],
            "PSI": rounded(models["psi"]), t("models.col.psi_band"): models["psi_band"].map(band_text),
            t("models.col.trained"): pd.to_datetime(models["trained_at"], utc=True).dt.tz_convert("Asia/Shanghai")
            .dt.strftime("%Y-%m-%d %H:%M"),
            t("models.col.trained_by"): models["trained_by"].fillna("—"),
            t("models.col.approved_by"): models["approved_by"].fillna("—"),
            t("models.col.approved_at"): pd.to_datetime(models["approved_at"], utc=True)
            .dt.tz_convert("Asia/Shanghai").dt.strftime("%Y-%m-%d %H:%M").fillna("—"),
        })
        data_table(view, "rating-models", key=PREFIX + "versions")

    if actor.can(Permission.models_manage):
        st.subheader(t("models.train.title"))
        st.caption(t("models.train.caption"))
        weight = st.slider(t("models.train.card_weight"), 0.0, 1.0, 0.5, 0.05, key=PREFIX + "card_weight")
        if st.button(t("models.train.button"), key=PREFIX + "train", icon=":material/model_training:"):
            with st.status(t("models.train.running"), expanded=True) as status:
                try:
                    made = scoring_models.train_model(
                        actor=actor, card_weight=float(weight),
                        progress=lambda f, stage: status.update(label=t(f"models.stage.{stage}")))
                except JinfuError as exc:
                    status.update(label=t("models.train.failed"), state="error")
                    show_error(exc)
                else:
                    status.update(label=t("models.train.done"), state="complete")
                    done("models.train.success", version=made.model_version, auc=num(made.auc, 3))

    if actor.can(Permission.models_approve) and not models.empty:
        st.subheader(t("models.approve.title"))
        st.caption(t("models.approve.caption"))
        rows = {int(r["id"]): r for r in models.to_dict("records")}
        open_ids = [i for i, r in rows.items() if r["status"] != "retired"]
        if open_ids:
            chosen = st.selectbox(t("models.approve.pick"), open_ids, format_func=lambda i: label_of(rows[i]),
                                  key=PREFIX + "pick")
            row = rows[int(chosen)]
            version = st.session_state.setdefault(f"{PREFIX}seen_{chosen}", int(row["version"]))
            approve_col, retire_col = st.columns(2)
            with approve_col:
                if row["status"] == "draft" and st.button(t("models.approve.button"), key=PREFIX + "approve",
                                                          type="primary", icon=":material/verified:"):
                    try:
                        scoring_models.approve_model(actor=actor, model_id=int(chosen), version=version)
                    except JinfuError as exc:
                        st.session_state.pop(f"{PREFIX}seen_{chosen}", None)  # the next try reads afresh
                        show_error(exc)
                    else:
                        st.session_state.pop(f"{PREFIX}seen_{chosen}", None)
                        done("models.approve.success", version=row["model_version"])
            with retire_col:
                if st.button(t("models.retire.button"), key=PREFIX + "retire", icon=":material/archive:"):
                    try:
                        scoring_models.retire_model(actor=actor, model_id=int(chosen), version=version)
                    except JinfuError as exc:
                        st.session_state.pop(f"{PREFIX}seen_{chosen}", None)
                        show_error(exc)
                    else:
                        st.session_state.pop(f"{PREFIX}seen_{chosen}", None)
                        done("models.retire.success", version=row["model_version"])

# ------------------------------------------------------------------------------ comparison
with tab_compare:
    st.subheader(t("models.compare.title"))
    if len(models) < 2:
        st.info(t("models.compare.need_two"))
    else:
        rows = {int(r["id"]): r for r in models.to_dict("records")}
        ids = list(rows)
        left_col, right_col = st.columns(2)
        with left_col:
            left = st.selectbox(t("models.compare.left"), ids, index=1, format_func=lambda i: label_of(rows[i]),
                                key=PREFIX + "left")
        with right_col:
            right = st.selectbox(t("models.compare.right"), ids, index=0, format_func=lambda i: label_of(rows[i]),
                                 key=PREFIX + "right")
        cmp = scoring_monitor.compare_models(actor=actor, left_id=int(left), right_id=int(right))
        left_name, right_name = cmp.left.model_version, cmp.right.model_version
        metrics = cmp.metrics.assign(metric=cmp.metrics["metric"].map(lambda m: t(f"models.metric.{m}")))
        data_table(metrics.rename(columns={"metric": t("models.col.metric"), "left": left_name,
                                           "right": right_name}), "model-comparison", key=PREFIX + "cmp_metrics")
        head = cmp.metrics.set_index("metric").loc[["auc", "ks", "gini"]]
        figure = go.Figure([go.Bar(name=left_name, x=["AUC", "KS", "Gini"], y=head["left"]),
                            go.Bar(name=right_name, x=["AUC", "KS", "Gini"], y=head["right"])])
        figure.update_layout(barmode="group", title=t("models.compare.metrics_chart"))
        plot(figure, "cmp_bars")
        figure = go.Figure([go.Scatter(name=left_name, x=cmp.scores["bin_from"], y=cmp.scores["left"],
                                       mode="lines", fill="tozeroy", line_shape="hvh"),
                            go.Scatter(name=right_name, x=cmp.scores["bin_from"], y=cmp.scores["right"],
                                       mode="lines", fill="tozeroy", line_shape="hvh")])
        figure.update_layout(title=t("models.compare.scores_chart"), yaxis_tickformat=".0%")
        plot(figure, "cmp_scores")
        st.subheader(t("models.compare.psi_title"))
        if cmp.feature_psi.empty:
            st.info(t("models.compare.psi_empty"))
        else:
            psi = cmp.feature_psi
            figure = go.Figure([go.Bar(name=left_name, y=psi["feature"], x=psi["left"], orientation="h"),
                                go.Bar(name=right_name, y=psi["feature"], x=psi["right"], orientation="h")])
            for line, colour in zip(PSI_LINES, ("#e8590c", "#c92a2a"), strict=True):
                figure.add_vline(x=line, line_dash="dash", line_color=colour)
            figure.update_layout(barmode="group", title=t("models.compare.psi_chart"))
            plot(figure, "cmp_psi", height=max(320, 18 * len(psi)))
        iv = cmp.iv.assign(left=rounded(cmp.iv["left"], 4), right=rounded(cmp.iv["right"], 4)).rename(columns={"feature": t("models.col.feature"), "left": f"IV {left_name}",
                                    "right": f"IV {right_name}"})
        data_table(iv, "model-iv", key=PREFIX + "cmp_iv")

# ------------------------------------------------------------------------------ rating
with tab_rating:
    st.subheader(t("models.rating.title"))
    dist = rating_runs.rating_distribution(actor=actor)
    if dist.attrs.get("as_of") is None:
        st.info(t("models.rating.empty"))
    else:
        st.caption(t("models.rating.as_of", date=str(dist.attrs["as_of"]), count=num(int(dist["count"].sum()))))
        figure = go.Figure(go.Bar(x=dist["grade"], y=dist["count"], text=dist["count"], marker_color=charts.PALETTE[0]))
        figure.update_layout(title=t("models.rating.chart"))
        plot(figure, "grades")
    if actor.can(Permission.rating_run):
        if st.button(t("models.rating.run"), key=PREFIX + "run", icon=":material/play_arrow:"):
            bar = st.progress(0.0, text=t("models.stage.load"))
            try:
                out = rating_runs.run_batch_rating(
                    actor=actor, progress=lambda f, stage: bar.progress(min(max(f, 0.0), 1.0),
                                                                        text=t(f"models.stage.{stage}")))
            except JinfuError as exc:
                show_error(exc)
            else:
                done("models.rating.success", rated=num(out.rated), insufficient=num(out.insufficient),
                     seconds=num(out.seconds, 1))
