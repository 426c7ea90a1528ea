"""Regulator app · 数据质量 / Data quality: scores by department and dimension with trends, the rules and
their pass rates, the open issues with export, each department's failure report, "run checks now", and
the rule-set versions (draft, enable/disable, edit parameters, publish, diff) for ``quality.manage``.
"""

from __future__ import annotations

import json
from functools import partial

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from apps.common.actor import current_actor
from apps.common.charts import CHART_CONFIG, PALETTE
from apps.common.i18n import current_locale, t
from apps.common.widgets import EXCEL_MIME, Kpi, data_table, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError
from core.quality.mapping import SOURCES
from core.quality.rules import DIMENSIONS, SEVERITY_WEIGHTS
from core.services import quality, quality_rules

PREFIX = "dqc_"
FLASH = PREFIX + "flash"
PAGE_SIZE = 200
LOCAL_TZ = "Asia/Shanghai"

st.title(t("dqc.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.oversight):
    st.info(t("dqc.forbidden"))
    st.stop()
can_manage = actor.can(Permission.quality_manage)
locale = current_locale()


# Labels are computed here, in the script run, and widgets format options with dict lookups.
SOURCE_LABELS = {code: t(f"dq.source.{code}") for code in SOURCES}
DIMENSION_LABELS = {code: t(f"dq.dimension.{code}") for code in DIMENSIONS}
SEVERITY_LABELS = {code: t(f"dq.severity.{code}") for code in SEVERITY_WEIGHTS}
STATUS_LABELS = {code: t(f"dqc.status.{code}") for code in ("evaluated", "not_evaluated", "disabled", "error", "never")}
STATE_LABELS = {code: t(f"dqc.state.{code}") for code in quality.ISSUE_STATES}
LEVEL_LABELS = {code: t(f"dqc.level.{code}") for code in ("overall", "source", "dimension")}
ALL_LABEL = {None: t("dqc.filter.all")}
source_name = SOURCE_LABELS.__getitem__
dimension_name = DIMENSION_LABELS.__getitem__


def rule_name(code: str) -> str:
    return t(f"dq.rule.{code.lower().replace('-', '_')}")


def score_text(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f}"


def done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


def score_bars(frame: pd.DataFrame, label: str) -> go.Figure:
    """Scores as horizontal bars, a missing score shown as an empty bar labelled "—"."""
    fig = go.Figure(go.Bar(x=frame["score"].fillna(0), y=frame[label], orientation="h", marker_color=PALETTE[0],
                           text=frame["score"].map(score_text), textposition="auto"))
    fig.update_layout(height=max(220, 34 * len(frame) + 40), margin={"l": 8, "r": 8, "t": 8, "b": 8},
                      hovermode="closest")
    fig.update_xaxes(range=[min(80.0, float(frame["score"].min(skipna=True) or 80) - 2), 100.5])
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def heatmap(frame: pd.DataFrame) -> go.Figure:
    """Source × dimension scores; empty cells where a department has no rule of that dimension."""
    grid = frame.pivot(index="source", columns="dimension", values="score")
    grid = grid[[d for d in DIMENSION_LABELS.values() if d in grid.columns]]
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=list(grid.columns), y=list(grid.index), colorscale="RdYlGn",
                               zmin=90, zmax=100, text=grid.map(score_text).to_numpy(), texttemplate="%{text}",
                               hoverongaps=False, colorbar={"thickness": 10}))
    fig.update_layout(height=max(260, 30 * len(grid) + 80), margin={"l": 8, "r": 8, "t": 8, "b": 8})
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def trend_lines(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (name, part) in enumerate(frame.groupby("name", sort=True)):
        fig.add_trace(go.Scatter(x=part["as_of"], y=part["score"], name=name, mode="lines+markers",
                                 line={"color": PALETTE[i % len(PALETTE)], "width": 2}, connectgaps=False))
    fig.update_layout(height=320, margin={"l": 8, "r": 8, "t": 8, "b": 8}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0})
    return fig


# ------------------------------------------------------------------------------------ run now
if flash := st.session_state.pop(FLASH, None):
    st.success(flash, icon=":material/check_circle:")
if can_manage and st.button(t("dqc.run.button"), icon=":material/play_arrow:", key=PREFIX + "run"):
    with st.status(t("dqc.run.running"), expanded=True) as status:
        bar = st.progress(0.0, text=t("dqc.run.stage.load"))

        def progress(step: int, total: int, stage: str) -> None:
            bar.progress(min(step / max(total, 1), 1.0), text=t(f"dqc.run.stage.{stage}", done=step, total=total))

        try:
            result = quality.run_quality_checks(actor=actor, progress=progress)
        except JinfuError as exc:
            status.update(label=t("dqc.run.failed"), state="error")
            show_error(exc)
        else:
            status.update(label=t("dqc.run.finished"), state="complete")
            done(t("dqc.run.done", as_of=result.as_of.isoformat(), score=score_text(result.overall_score),
                   new=result.new_issues, resolved=result.resolved_issues))

overview = quality.quality_overview(actor=actor)
run = overview.run
if run is None:
    st.info(t("dqc.no_run"), icon=":material/info:")
else:
    when = pd.Timestamp(run.finished_at or run.started_at).tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    st.caption(t("dqc.last_run", as_of=run.as_of.isoformat(), version=run.rule_set_version, time=when))
    previous = overview.previous
    delta = None
    if previous is not None and run.overall_score is not None and previous.overall_score is not None:
        delta = f"{run.overall_score - previous.overall_score:+.2f}"
    kpi_cards([
        Kpi(t("dqc.kpi.overall"), score_text(run.overall_score), help=t("dqc.kpi.overall_help"), delta=delta),
        Kpi(t("dqc.kpi.open"), f"{overview.open_issues:,}", help=t("dqc.kpi.open_help")),
        Kpi(t("dqc.kpi.evaluated"), f"{run.rules_evaluated}"),
        Kpi(t("dqc.kpi.not_evaluated"), f"{run.rules_not_evaluated}",
            help=t("dqc.kpi.not_evaluated_help", disabled=run.rules_disabled, error=run.rules_error)),
    ], key=PREFIX + "kpis")

tab_scores, tab_rules, tab_issues, tab_sets = st.tabs(
    [t("dqc.tab.scores"), t("dqc.tab.rules"), t("dqc.tab.issues"), t("dqc.tab.rule_sets")])

# ------------------------------------------------------------------------------------ scores
with tab_scores:
    scores = overview.scores
    if scores.empty:
        st.info(t("dqc.scores.none"))
    else:
        by_source = scores[scores["level"] == "source"].assign(name=lambda f: f["key"].map(source_name))
        by_dim = scores[scores["level"] == "dimension"].assign(name=lambda f: f["key"].map(dimension_name))
        st.subheader(t("dqc.scores.by_source"))
        st.plotly_chart(score_bars(by_source.sort_values("score", na_position="last"), "name"),
                        config=CHART_CONFIG, width="stretch", key=PREFIX + "chart_source")
        st.subheader(t("dqc.scores.by_dimension"))
        st.plotly_chart(score_bars(by_dim.sort_values("score", na_position="last"), "name"),
                        config=CHART_CONFIG, width="stretch", key=PREFIX + "chart_dimension")
        cells = scores[scores["level"] == "source_dimension"]["key"].str.split("|", expand=True)
        if not cells.empty:
            grid = pd.DataFrame({"source": cells[0].map(source_name), "dimension": cells[1].map(dimension_name),
                                 "score": scores.loc[cells.index, "score"]})
            st.subheader(t("dqc.scores.heatmap"))
            st.plotly_chart(heatmap(grid), config=CHART_CONFIG, width="stretch", key=PREFIX + "chart_heatmap")
        table = pd.DataFrame({
            t("dqc.col.group"): by_source["name"].tolist() + by_dim["name"].tolist(),
            t("dqc.col.score"): by_source["score"].tolist() + by_dim["score"].tolist(),
            t("dqc.col.change"): by_source["delta"].tolist() + by_dim["delta"].tolist(),
            t("dqc.col.checked"): by_source["checked"].tolist() + by_dim["checked"].tolist(),
            t("dqc.col.failed"): by_source["failed"].tolist() + by_dim["failed"].tolist(),
            t("dqc.col.not_evaluated"): by_source["rules_not_evaluated"].tolist()
            + by_dim["rules_not_evaluated"].tolist(),
        })
        data_table(table, filename="quality-scores", key=PREFIX + "scores_table")

        st.subheader(t("dqc.trend.title"))
        level = st.segmented_control(t("dqc.trend.level"), options=["overall", "source", "dimension"],
                                     format_func=LEVEL_LABELS.__getitem__, default="source",
                                     key=PREFIX + "trend_level") or "source"
        history = quality.quality_trend(actor=actor, level=level)
        names = {"source": source_name, "dimension": dimension_name}.get(level, lambda k: t("dqc.level.overall"))
        history = history.assign(name=history["key"].map(names))
        if history["run_id"].nunique() < 2:
            st.caption(t("dqc.trend.one_run"))
        st.plotly_chart(trend_lines(history), config=CHART_CONFIG, width="stretch", key=PREFIX + "chart_trend")

# ------------------------------------------------------------------------------------ rules
with tab_rules:
    rules = overview.rules.copy()
    rules["status"] = rules["status"].fillna("never")
    f_source, f_dimension = st.columns(2)
    with f_source:
        pick_sources = st.multiselect(t("dqc.filter.source"), options=list(SOURCES), format_func=source_name,
                                      key=PREFIX + "rules_source")
    with f_dimension:
        pick_dims = st.multiselect(t("dqc.filter.dimension"), options=list(DIMENSIONS), format_func=dimension_name,
                                   key=PREFIX + "rules_dimension")
    pick_status = st.multiselect(t("dqc.filter.status"), options=["evaluated", "not_evaluated", "disabled", "error",
                                                                 "never"],
                                 format_func=STATUS_LABELS.__getitem__, key=PREFIX + "rules_status")
    shown = rules[rules["source"].isin(pick_sources or SOURCES) & rules["dimension"].isin(pick_dims or DIMENSIONS)
                  & (rules["status"].isin(pick_status) if pick_status else rules["status"].notna())]
    data_table(pd.DataFrame({
        t("dqc.col.code"): shown["rule_code"], t("dqc.col.rule"): shown["rule_code"].map(rule_name),
        t("dqc.col.source"): shown["source"].map(source_name),
        t("dqc.col.dimension"): shown["dimension"].map(dimension_name),
        t("dqc.col.severity"): shown["severity"].map(SEVERITY_LABELS),
        t("dqc.col.status"): shown["status"].map(STATUS_LABELS),
        t("dqc.col.pass_rate"): pd.to_numeric(shown["pass_rate"], errors="coerce") * 100,
        t("dqc.col.checked"): shown["checked"], t("dqc.col.failed"): shown["failed"],
        t("dqc.col.reason"): shown["reason"].fillna(""),
    }), filename="quality-rules", key=PREFIX + "rules_table", column_config={
        t("dqc.col.pass_rate"): st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.2f%%")})

# ------------------------------------------------------------------------------------ issues
with tab_issues:
    i_source, i_dimension, i_state = st.columns(3)
    with i_source:
        issue_source = st.selectbox(t("dqc.filter.source"), options=[None, *SOURCES],
                                    format_func={**ALL_LABEL, **SOURCE_LABELS}.__getitem__,
                                    key=PREFIX + "issues_source")
    with i_dimension:
        issue_dim = st.selectbox(t("dqc.filter.dimension"), options=[None, *DIMENSIONS],
                                 format_func={**ALL_LABEL, **DIMENSION_LABELS}.__getitem__,
                                 key=PREFIX + "issues_dimension")
    with i_state:
        issue_state = st.selectbox(t("dqc.filter.state"), options=list(quality.ISSUE_STATES),
                                   format_func=STATE_LABELS.__getitem__, key=PREFIX + "issues_state")
    issue_rule = st.text_input(t("dqc.filter.rule"), max_chars=10, key=PREFIX + "issues_rule").strip()
    page_no = st.number_input(t("dqc.filter.page"), min_value=1, value=1, step=1, key=PREFIX + "issues_page")
    found = quality.quality_issues(actor=actor, source=issue_source, dimension=issue_dim, status=issue_state,
                                   rule=issue_rule or None, page=int(page_no), page_size=PAGE_SIZE)
    st.caption(t("dqc.issues.total", total=found.total, page=int(page_no),
                 pages=max(1, -(-found.total // PAGE_SIZE))))
    rows = found.rows
    data_table(pd.DataFrame({
        t("dqc.col.source"): rows["source"].map(source_name), t("dqc.col.code"): rows["rule_code"],
        t("dqc.col.rule"): rows["rule_code"].map(rule_name),
        t("dqc.col.severity"): rows["severity"].map(SEVERITY_LABELS),
        t("dqc.col.credit_code"): rows["credit_code"], t("dqc.col.enterprise"): rows["enterprise_name"],
        t("dqc.col.record"): rows["record_ref"], t("dqc.col.detail"): rows["detail"],
        t("dqc.col.detected"): rows["detected_at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None),
        t("dqc.col.resolved"): rows["resolved_at"].dt.tz_convert(LOCAL_TZ).dt.tz_localize(None),
    }), filename="quality-issues", key=PREFIX + "issues_table")

    st.subheader(t("dqc.report.title"))
    st.caption(t("dqc.report.caption"))
    report_source = st.selectbox(t("dqc.filter.source"), options=list(SOURCES), format_func=source_name,
                                 key=PREFIX + "report_source")
    report = partial(quality.department_failure_report, actor=actor, source=report_source, locale=locale)
    with st.container(horizontal=True, gap="small"):
        st.download_button(t("dqc.report.csv"), data=partial(report, fmt="csv"), on_click="ignore",
                           file_name=f"quality-{report_source}.csv", mime="text/csv", icon=":material/download:",
                           key=PREFIX + "report_csv")
        st.download_button(t("dqc.report.xlsx"), data=partial(report, fmt="xlsx"), on_click="ignore",
                           file_name=f"quality-{report_source}.xlsx", mime=EXCEL_MIME, icon=":material/table_view:",
                           key=PREFIX + "report_xlsx")

# ------------------------------------------------------------------------------------ rule sets
with tab_sets:
    versions = quality_rules.list_rule_sets(actor=actor)
    data_table(pd.DataFrame({
        t("dqc.col.set_version"): [v.set_version for v in versions],
        t("dqc.col.set_status"): [t(f"dqc.set_status.{v.status}") for v in versions],
        t("dqc.col.enabled"): [f"{v.enabled}/{v.rules}" for v in versions],
        t("dqc.col.note"): [v.note or "" for v in versions],
        t("dqc.col.published_at"): [pd.Timestamp(v.published_at).tz_convert(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
                                    if v.published_at else "—" for v in versions],
    }), filename="quality-rule-sets", key=PREFIX + "sets_table")
    draft = next((v for v in versions if v.status == "draft"), None)
    published = next((v for v in versions if v.status == "published"), None)

    if can_manage and draft is None:
        with st.form(PREFIX + "draft_form", border=True):
            note = st.text_input(t("dqc.draft.note"), max_chars=500, key=PREFIX + "draft_note")
            if st.form_submit_button(t("dqc.draft.create"), icon=":material/edit_note:"):
                try:
                    made = quality_rules.create_rule_set_draft(actor=actor, note=note or None)
                except JinfuError as exc:
                    show_error(exc)
                else:
                    done(t("dqc.draft.created", version=made.set_version))
    elif can_manage and draft is not None:
        st.subheader(t("dqc.draft.title", version=draft.set_version))
        detail = quality_rules.rule_set_detail(actor=actor, set_version=draft.set_version)
        lines = pd.DataFrame([line.model_dump() for line in detail.lines])
        editor = pd.DataFrame({"code": lines["code"], "name": lines["code"].map(rule_name),
                               "source": lines["source"].map(source_name), "enabled": lines["enabled"]})
        edited = st.data_editor(editor, hide_index=True, width="stretch", height=360, disabled=["code", "name", "source"],
                                column_config={"code": t("dqc.col.code"), "name": t("dqc.col.rule"),
                                               "source": t("dqc.col.source"),
                                               "enabled": st.column_config.CheckboxColumn(t("dqc.col.enabled"))},
                                key=PREFIX + f"editor_{draft.set_version}_{draft.version}")
        toggled = {c: {"enabled": bool(e)} for c, e, before in
                   zip(edited["code"], edited["enabled"], editor["enabled"], strict=True) if bool(e) != bool(before)}
        if st.button(t("dqc.draft.save_toggles", count=len(toggled)), disabled=not toggled, icon=":material/save:",
                     key=PREFIX + "save_toggles"):
            try:
                quality_rules.update_rule_set_draft(actor=actor, set_version=draft.set_version,
                                                    expected_version=draft.version, changes=toggled)
            except JinfuError as exc:
                show_error(exc)
            else:
                done(t("dqc.draft.saved", count=len(toggled)))

        by_code = {line.code: line for line in detail.lines}
        rule_labels = {c: f"{c} · {rule_name(c)}" for c in by_code}
        code = st.selectbox(t("dqc.draft.pick_rule"), options=list(by_code), format_func=rule_labels.__getitem__,
                            key=PREFIX + "edit_code")
        line = by_code[code]
        with st.form(PREFIX + f"rule_form_{code}_{draft.version}", border=True):
            st.caption(t("dqc.draft.rule_caption", type=line.type, table=line.table, version=line.version))
            severity = st.selectbox(t("dqc.col.severity"), options=list(SEVERITY_WEIGHTS),
                                    index=list(SEVERITY_WEIGHTS).index(line.severity),
                                    format_func=SEVERITY_LABELS.__getitem__, key=PREFIX + f"sev_{code}")
            params = st.text_area(t("dqc.draft.params"), value=json.dumps(line.params, ensure_ascii=False, indent=2),
                                  height=180, help=t("dqc.draft.params_help"), key=PREFIX + f"params_{code}")
            if st.form_submit_button(t("dqc.draft.save_rule"), icon=":material/save:"):
                try:
                    quality_rules.update_rule_set_draft(actor=actor, set_version=draft.set_version,
                                                        expected_version=draft.version,
                                                        changes={code: {"severity": severity, "params": params}})
                except JinfuError as exc:
                    show_error(exc)
                else:
                    done(t("dqc.draft.rule_saved", code=code))

        with st.container(horizontal=True, gap="small"):
            publish = st.button(t("dqc.draft.publish"), type="primary", icon=":material/publish:",
                                key=PREFIX + "publish")
            discard = st.button(t("dqc.draft.discard"), icon=":material/delete:", key=PREFIX + "discard")
        if publish or discard:
            try:
                if publish:
                    quality_rules.publish_rule_set(actor=actor, set_version=draft.set_version,
                                                   expected_version=draft.version)
                else:
                    quality_rules.discard_rule_set_draft(actor=actor, set_version=draft.set_version,
                                                         expected_version=draft.version)
            except JinfuError as exc:
                show_error(exc)
            else:
                done(t("dqc.draft.published" if publish else "dqc.draft.discarded", version=draft.set_version))

    st.subheader(t("dqc.diff.title"))
    numbers = [v.set_version for v in versions]
    if len(numbers) < 2:
        st.caption(t("dqc.diff.one_version"))
    else:
        d_from, d_to = st.columns(2)
        with d_from:
            older = st.selectbox(t("dqc.diff.from"), options=numbers, index=1, key=PREFIX + "diff_from")
        with d_to:
            newer = st.selectbox(t("dqc.diff.to"), options=numbers, index=0, key=PREFIX + "diff_to")
        diff = quality_rules.diff_rule_sets(actor=actor, from_version=older, to_version=newer)
        if diff.empty:
            st.caption(t("dqc.diff.same"))
        else:
            data_table(pd.DataFrame({
                t("dqc.col.code"): diff["rule_code"], t("dqc.col.rule"): diff["rule_code"].map(rule_name),
                t("dqc.col.change_kind"): diff["change"].map(lambda c: t(f"dqc.diff.{c}")),
                t("dqc.col.fields"): diff["fields"], t("dqc.col.before"): diff["before"],
                t("dqc.col.after"): diff["after"],
            }), filename=f"quality-rules-v{older}-v{newer}", key=PREFIX + "diff_table")
