"""Regulator app · 数据导入 / Data imports: upload a department's file, pull a department API, read the report.

The operator picks the source department (its column mapping), uploads a CSV, Excel or JSON Lines file
and runs the import with a progress bar; the report shows what was read, inserted, updated, left
unchanged and rejected, the rejected rows with every reason, and the files to send back to the
department. API sources are pulled with one button each; the history lists every batch.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from apps.common import charts
from apps.common.actor import current_actor
from apps.common.i18n import current_locale, num, t
from apps.common.widgets import EXCEL_MIME, Kpi, data_table, kpi_cards, show_error
from core.auth import Permission
from core.errors import JinfuError
from core.i18n import translate
from core.services import ingestion, ingestion_pull, ingestion_sources

PREFIX = "ingest_imports_"
SHOWN = PREFIX + "batch"  # the batch whose report is shown
UPLOAD_TYPES = ["csv", "xlsx", "jsonl"]
FEED_SETTINGS = {"tax_paid_api": "GOV_API_TAX_PAID_URL"}

locale = current_locale()
st.title(t("ingest.title"))
actor = current_actor()
if actor is None or not actor.can(Permission.data_import):
    st.info(t("ingest.forbidden"))
    st.stop()
st.caption(t("ingest.caption"))


def source_label(name: str, loc: str = locale) -> str:
    """A source's name in ``loc`` (bound when the page runs, so a widget's labels never switch language)."""
    label = translate(f"ingest.source.{name}", loc)
    return name if label == f"ingest.source.{name}" else label


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return t("ingest.size.mb", size=num(size / 2**20, 1))
    return t("ingest.size.kb", size=num(max(size, 1) / 1024, 1))


def run_with_progress(label: str, call) -> None:
    """Run one import under a status box with a progress bar; remember its batch for the report."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)

        def progress(fraction: float, stage: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t(stage))

        try:
            report = call(progress)
        except JinfuError as exc:
            status.update(label=t("ingest.run.failed"), state="error", expanded=True)
            show_error(exc)
            return
        st.session_state[SHOWN] = report.batch_id
        state = "error" if report.status == "failed" else "complete"
        status.update(label=t(f"ingest.run.{report.status}", batch=report.batch_id), state=state, expanded=False)


def problem_text(problem: dict) -> str:
    return t(problem["message_key"], **problem.get("params", {}))


def show_report(batch_id: int) -> None:
    """The report of one batch: outcome, counts, reasons chart, quarantined rows and the files to send back."""
    result = ingestion_pull.import_batch_report(actor=actor, batch_id=batch_id, locale=locale)
    report = result.report
    st.subheader(t("ingest.report.title", batch=report.batch_id))
    st.caption(t("ingest.report.meta", source=source_label(report.source), file=report.filename or "—",
                 size=size_text(report.file_bytes), channel=t(f"ingest.channel.{report.channel}")))
    if report.status == "duplicate":
        st.info(t("ingest.report.duplicate", first=report.duplicate_of), icon=":material/content_copy:")
    elif report.status == "failed":
        st.error(t("ingest.report.failed"), icon=":material/error:")
        for problem in report.file_problems:
            st.markdown(f"- {problem_text(problem)}")
        if report.error:
            st.markdown(f"- {t(report.error['key'], **report.error.get('params', {}))}")
        return
    kpi_cards(
        [
            Kpi(t("ingest.kpi.read"), num(report.rows_read)),
            Kpi(t("ingest.kpi.inserted"), num(report.rows_inserted)),
            Kpi(t("ingest.kpi.updated"), num(report.rows_updated)),
            Kpi(t("ingest.kpi.unchanged"), num(report.rows_unchanged)),
            Kpi(t("ingest.kpi.rejected"), num(report.rows_rejected)),
            Kpi(t("ingest.kpi.duplicate"), num(report.rows_duplicate), help=t("ingest.kpi.duplicate_help")),
        ],
        per_row=6,
        key=PREFIX + "kpis",
    )
    if report.ignored_columns:
        st.caption(t("ingest.report.ignored", columns=t("common.list_sep").join(report.ignored_columns)))
    rows = result.quarantined
    if rows.empty:
        st.success(t("ingest.report.no_rejects"), icon=":material/check_circle:")
        return
    st.markdown(f"**{t('ingest.quarantine.title')}**")
    codes = rows["reason_codes"].str.split(";").explode().value_counts().rename_axis("code").reset_index()
    codes["label"] = codes["code"].map(lambda c: t(f"ingest.code.{c}") if t(f"ingest.code.{c}") != f"ingest.code.{c}"
                                       else c)
    st.plotly_chart(charts.bars(codes, "label", "count", horizontal=True, height=60 + 28 * len(codes)),
                    width="stretch", config=charts.CHART_CONFIG, key=PREFIX + "chart")
    data_table(
        pd.DataFrame({
            t("ingest.col.row"): rows["row_number"],
            t("ingest.col.credit_code"): rows["credit_code"],
            t("ingest.col.reasons"): rows["reasons"],
        }),
        filename=f"quarantine-{report.batch_id}-view",
        key=PREFIX + "quarantine",
    )
    st.caption(t("ingest.quarantine.send_back"))
    with st.container(horizontal=True, gap="small"):
        for fmt, mime, icon in (("csv", "text/csv", ":material/download:"), ("xlsx", EXCEL_MIME, ":material/table_view:")):
            st.download_button(
                t(f"ingest.quarantine.download_{fmt}"),
                data=lambda fmt=fmt: ingestion_pull.quarantine_export(actor=actor, batch_id=report.batch_id, fmt=fmt,
                                                                      locale=locale),
                file_name=f"{report.source}-{report.batch_id}-rejected.{fmt}",
                mime=mime,
                icon=icon,
                on_click="ignore",
                key=f"{PREFIX}export_{fmt}",
            )


# The register first: records and statements are accepted only for registered enterprises.
sources = sorted(ingestion_sources.list_import_sources(actor=actor), key=lambda s: (s.target != "enterprise", s.name))
by_name = {s.name: s for s in sources}
upload_tab, pull_tab, history_tab = st.tabs([t("ingest.tab.upload"), t("ingest.tab.pull"), t("ingest.tab.history")])

with upload_tab:
    source = st.selectbox(t("ingest.field.source"), options=list(by_name), format_func=source_label,
                          key=PREFIX + "source")
    st.caption(t(f"ingest.target.{by_name[source].target}"))
    upload = st.file_uploader(t("ingest.field.file"), type=UPLOAD_TYPES, key=PREFIX + "file",
                              help=t("ingest.field.file_help"))
    if upload is not None:
        st.caption(t("ingest.file.chosen", name=upload.name, size=size_text(upload.size)))
    if st.button(t("ingest.run.button"), type="primary", icon=":material/upload:", disabled=upload is None,
                 key=PREFIX + "run"):
        content = upload.getvalue()
        run_with_progress(
            t("ingest.run.running", name=upload.name),
            lambda progress: ingestion.import_department_file(
                actor=actor, source=source, filename=upload.name, content=content, progress=progress),
        )

with pull_tab:
    feeds = [s for s in sources if s.pullable]
    if not feeds:
        st.info(t("ingest.pull.none"))
    for feed in feeds:
        with st.container(border=True):
            st.markdown(f"**{source_label(feed.name)}**")
            if not feed.configured:
                st.caption(t("ingest.pull.not_configured", setting=FEED_SETTINGS.get(feed.name, "—")))
            if st.button(t("ingest.pull.button"), icon=":material/cloud_download:", disabled=not feed.configured,
                         key=f"{PREFIX}pull_{feed.name}"):
                run_with_progress(
                    t("ingest.pull.running", source=source_label(feed.name)),
                    lambda progress, name=feed.name: ingestion_pull.pull_department(
                        actor=actor, source=name, progress=progress),
                )

with history_tab:
    batches = ingestion_pull.list_import_batches(actor=actor, limit=200)
    if not batches.empty:
        st.selectbox(
            t("ingest.history.pick"), options=batches["id"].tolist(), key=SHOWN,
            format_func=lambda b, rows=batches.set_index("id"): translate(
                "ingest.history.option", locale, batch=b, source=source_label(rows.at[b, "source"]),
                status=translate(f"ingest.status.{rows.at[b, 'status']}", locale)),
        )
    data_table(
        pd.DataFrame({
            t("ingest.col.batch"): batches["id"],
            t("ingest.col.source"): batches["source"].map(source_label),
            t("ingest.col.channel"): batches["channel"].map(lambda c: t(f"ingest.channel.{c}")),
            t("ingest.col.file"): batches["filename"],
            t("ingest.col.status"): batches["status"].map(lambda s: t(f"ingest.status.{s}")),
            t("ingest.kpi.read"): batches["rows_read"],
            t("ingest.kpi.inserted"): batches["rows_inserted"],
            t("ingest.kpi.updated"): batches["rows_updated"],
            t("ingest.kpi.unchanged"): batches["rows_unchanged"],
            t("ingest.kpi.rejected"): batches["rows_rejected"],
            t("ingest.col.started"): batches["started_at"].dt.tz_convert("Asia/Shanghai"),
        }),
        filename="import-batches",
        key=PREFIX + "history",
        column_config={t("ingest.col.started"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )

if st.session_state.get(SHOWN):
    st.divider()
    try:
        show_report(int(st.session_state[SHOWN]))
    except JinfuError as exc:
        show_error(exc)
