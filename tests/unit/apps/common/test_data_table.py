"""The shared table widget under AppTest: empty cells never show the text "None", and files keep them empty."""

from __future__ import annotations

import io

import pandas as pd
from streamlit.testing.v1 import AppTest

from apps.common import widgets


def table_page() -> None:
    import numpy as np
    import pandas as pd

    from apps.common.widgets import data_table

    frame = pd.DataFrame({
        "name": ["甲公司", None, "丙公司", "None"],
        "note": [np.nan, "已联系", None, "nan"],
        "amount": [1.5, np.nan, 3.0, None],
        "when": pd.to_datetime(["2026-10-01 09:00", None, "2026-10-03 10:30", None], utc=True),
        "count": pd.array([1, None, 3, 4], dtype="Int64"),
    })
    data_table(frame, "demo-table", key="t")


def _shown() -> tuple[pd.DataFrame, str]:
    at = AppTest.from_function(table_page).run(timeout=30)
    assert not at.exception
    element = at.dataframe[0]
    return element.value, element.proto.placeholder


def test_missing_values_are_shown_as_a_dash_never_as_none():
    shown, placeholder = _shown()
    assert placeholder == widgets.PLACEHOLDER == "—"
    texts = shown[["name", "note"]].astype(object)
    assert not texts.isin(["None", "nan", "NaN", "NaT", "<NA>"]).any().any()
    # Missing cells reach the grid as missing (drawn as the placeholder), present ones unchanged.
    assert shown["name"].isna().tolist() == [False, True, False, True]
    assert shown["note"].isna().tolist() == [True, False, True, True]
    assert shown["amount"].isna().tolist() == [False, True, False, True]
    assert shown["when"].isna().tolist() == [False, True, False, True]
    assert shown.loc[0, "name"] == "甲公司" and shown.loc[1, "note"] == "已联系" and shown.loc[2, "amount"] == 3.0


def test_exports_leave_missing_cells_empty():
    frame = pd.DataFrame({"name": ["甲公司", None, "None"], "amount": [1.5, float("nan"), 2.0],
                          "when": pd.to_datetime(["2026-10-01 09:00", None, None], utc=True)})
    shown = widgets.table_frame(frame)
    csv = widgets._csv_bytes(shown).decode("utf-8-sig").splitlines()
    assert csv == ["name,amount,when", "甲公司,1.5,2026-10-01 09:00:00+00:00", ",,", ",2.0,"]
    excel = pd.read_excel(io.BytesIO(widgets._excel_bytes(shown)), dtype=object)
    assert excel["name"].isna().tolist() == [False, True, True]
    assert excel["amount"].isna().tolist() == [False, True, False]
    assert excel["when"].isna().tolist() == [False, True, True]
    assert "None" not in excel.astype(str).where(excel.notna(), "").to_string()


def test_the_shown_frame_is_a_copy():
    frame = pd.DataFrame({"name": [None, "None"], "n": [1.0, None]})
    before = frame.copy()
    shown = widgets.table_frame(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert shown["name"].isna().all() and not before["name"].isna().all()
