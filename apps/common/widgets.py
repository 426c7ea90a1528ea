"""Shared widgets: KPI cards, a table with CSV/Excel export, and the error presenters.

No traceback ever reaches a user: ``run_page`` shows a JinfuError's localized message, and any
other exception as a generic message with a reference that is also written to the server log.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pandas as pd
import streamlit as st

from apps.common.i18n import current_locale, t
from core.errors import DatabaseNotReadyError, JinfuError
from core.services import directory

log = logging.getLogger("jinfu.apps")

EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLACEHOLDER = "—"  # what a table shows in an empty cell (the grid's default is the text "None")
# Text a str() of a missing value leaves behind; a table shows it as an empty cell too.
MISSING_TEXT = frozenset({"None", "nan", "NaN", "NaT", "<NA>"})


@dataclass(frozen=True)
class Kpi:
    """One KPI card: a label, a formatted value and optional help or delta text."""

    label: str
    value: str
    help: str | None = None
    delta: str | None = None


def kpi_cards(items: Sequence[Kpi], per_row: int = 4, *, key: str | None = None) -> None:
    """KPI cards in rows of ``per_row`` equal-height columns; two per row on phone widths (see frame CSS)."""
    key = key or "kpi_" + uuid.uuid5(uuid.NAMESPACE_OID, "|".join(i.label for i in items)).hex[:10]
    with st.container(key=key if key.startswith("kpi_") else f"kpi_{key}"):
        for start in range(0, len(items), per_row):
            row = items[start : start + per_row]
            columns = st.columns(per_row)
            for column, item in zip(columns, row, strict=False):
                with column:
                    st.metric(
                        item.label,
                        item.value,
                        delta=item.delta,
                        help=item.help,
                        border=True,
                        height="stretch",
                    )


def _excel_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.DatetimeTZDtype):
            out[name] = out[name].dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        out.to_excel(writer, index=False, sheet_name="data")
    return buffer.getvalue()


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # UTF-8 with BOM so that Excel on Windows opens Chinese text correctly.
    return frame.to_csv(index=False).encode("utf-8-sig")


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return value != value
    return isinstance(value, str) and value in MISSING_TEXT


def table_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame a table shows and exports: every missing value of a text (object) column — None, NaN,
    NaT, pd.NA or their leftover text such as ``"None"`` — becomes None; other columns keep their NaN/NaT.

    The grid draws every missing value as :data:`PLACEHOLDER`; CSV and Excel files get an empty cell.
    """
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            out[name] = column.astype(object).where(~column.map(_is_missing).astype(bool), None)
    return out


def data_table(
    frame: pd.DataFrame,
    filename: str,
    *,
    column_config: dict | None = None,
    key: str | None = None,
    height: int | str = "auto",
) -> None:
    """A full-width table with CSV and Excel download buttons (files built only when clicked).

    Empty cells show :data:`PLACEHOLDER`, never the text "None"; in the files they are empty.
    """
    if frame.empty:
        st.info(t("common.no_data"))
        return
    snapshot = table_frame(frame)
    st.dataframe(snapshot, hide_index=True, column_config=column_config, width="stretch", height=height, key=key,
                 placeholder=PLACEHOLDER)
    with st.container(horizontal=True, gap="small"):
        st.caption(t("common.rows", count=len(frame)))
        st.download_button(
            t("common.download_csv"),
            data=partial(_csv_bytes, snapshot),
            file_name=f"{filename}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key=f"{key or filename}_csv",
        )
        st.download_button(
            t("common.download_excel"),
            data=partial(_excel_bytes, snapshot),
            file_name=f"{filename}.xlsx",
            mime=EXCEL_MIME,
            icon=":material/table_view:",
            on_click="ignore",
            key=f"{key or filename}_xlsx",
        )


def show_error(error: JinfuError) -> None:
    """A platform error in the user's language."""
    st.error(error.message(current_locale()), icon=":material/error:")


def require_database() -> None:
    """Stop with a friendly full-page message unless the database is migrated and holds data."""
    try:
        directory.ensure_database_ready()
    except DatabaseNotReadyError as exc:
        st.title(t("common.not_ready.title"))
        st.warning(exc.message(current_locale()), icon=":material/database:")
        st.stop()


def run_page(page) -> None:
    """Run the page ``st.navigation`` selected; show errors as messages, never as tracebacks."""
    try:
        page.run()
    except JinfuError as exc:
        show_error(exc)
    except Exception:  # noqa: BLE001 - the last line of defence before the user
        ref = uuid.uuid4().hex[:8]
        log.exception("page failed (ref %s)", ref)
        st.error(t("common.unexpected", ref=ref), icon=":material/error:")
