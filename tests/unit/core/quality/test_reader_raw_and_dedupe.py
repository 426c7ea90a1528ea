"""Reader and dedupe additions for ingestion: the department's own cells are kept; optional order columns."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.quality.mapping import DedupeSpec, parse_mapping
from core.quality.reader import read_department_file
from core.quality.validate import deduplicate

ROOT = Path(__file__).resolve().parents[4]


def mapping(name: str):
    return parse_mapping((ROOT / "data/reference/import_mappings" / f"{name}.json").read_text(encoding="utf-8"))


def test_the_reader_keeps_the_cells_as_sent_with_their_line_numbers():
    parsed = read_department_file((ROOT / "tests/data/imports/electricity.jsonl").read_bytes(), "e.jsonl",
                                  mapping("electricity"))
    raw = parsed.raw
    assert list(raw.columns) == ["_row", "credit_code", "month", "kwh", "meter"]  # ignored columns too
    assert raw.loc[1, "kwh"] == "５３００" and raw.loc[1, "month"] == "2026年10月"
    assert raw["_row"].tolist() == parsed.frame["_row"].tolist()


def test_dedupe_without_the_optional_order_column_keeps_the_last_row_in_file_order():
    frame = pd.DataFrame({"_row": [2, 3, 4], "credit_code": ["A", "A", "B"]})
    kept, duplicates = deduplicate(frame, DedupeSpec(key=["credit_code"], order_by=["updated_on"]))
    assert kept["_row"].tolist() == [3, 4]
    assert duplicates[["_row", "kept_row"]].to_dict("records") == [{"_row": 2, "kept_row": 3}]
