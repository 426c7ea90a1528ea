"""Reading department files: CSV (UTF-8, BOM, GBK), Excel, JSON Lines; mapping; file-level errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from core.quality.mapping import MappingConfigError, parse_mapping
from core.quality.reader import ImportFileError, read_department_file

ROOT = Path(__file__).resolve().parents[4]
FILES = ROOT / "tests" / "data" / "imports"
MAPPINGS = ROOT / "data" / "reference" / "import_mappings"


def mapping(name: str):
    return parse_mapping((MAPPINGS / f"{name}.json").read_text(encoding="utf-8"))


def test_every_shipped_mapping_is_valid():
    names = sorted(p.stem for p in MAPPINGS.glob("*.json"))
    assert len(names) >= 6
    for name in names:
        assert mapping(name).name == name


@pytest.mark.parametrize(("filename", "encoding"), [("market_enterprise_gbk.csv", "gbk"),
                                                    ("market_enterprise_utf8_bom.csv", "utf-8-sig")])
def test_gbk_and_bom_csv_read_the_same(filename, encoding):
    parsed = read_department_file((FILES / filename).read_bytes(), filename, mapping("market_enterprise"))
    assert parsed.encoding == encoding
    f = parsed.frame
    assert len(f) == 5 and f["_row"].tolist() == [2, 3, 4, 5, 6]
    assert f.loc[1, "credit_code"] == f.loc[1, "credit_code"].upper()
    assert f["scale"].tolist()[:3] == ["small", "small", "micro"]
    assert f.loc[1, "founded_on"] == pd.Timestamp("2016-05-01")
    # 注册资本(万元): the header suffix sets the unit; full-width ２００ is read
    assert parsed.header_units == {"registered_capital": "wan"}
    assert f.loc[0, "registered_capital"] == Decimal("1000000.00")
    assert f.loc[1, "registered_capital"] == Decimal("2000000.00")
    assert f.loc[2, "registered_capital"] == Decimal("505000.00")
    issues = parsed.issues.set_index("field")
    assert issues.loc["founded_on", "code"] == "impossible" and issues.loc["founded_on", "_row"] == 6
    assert issues.loc["credit_code", "message_key"] == "error.credit_code.check_char"


def test_excel_with_a_unit_column_and_bracketed_negatives():
    parsed = read_department_file((FILES / "finance_statement.xlsx").read_bytes(), "finance_statement.xlsx",
                                  mapping("finance_statement"))
    f = parsed.frame
    assert f["revenue"].tolist()[:2] == [Decimal("5000000.00"), Decimal("5000000.00")]
    assert f.loc[1, "operating_cash_flow"] == Decimal("-400000.00")
    assert f["year"].tolist() == [2025, 2025, 2025]
    assert "total_equity" not in f  # optional column absent: not invented


def test_json_lines_with_ignored_extra_fields_and_month_spellings():
    parsed = read_department_file((FILES / "electricity.jsonl").read_bytes(), "electricity.jsonl",
                                  mapping("electricity"))
    f = parsed.frame
    assert parsed.ignored_columns == ["meter"]
    assert f["period"].tolist() == [pd.Timestamp("2026-09-01"), pd.Timestamp("2026-10-01"), pd.Timestamp("2026-10-01")]
    assert f["value"].tolist() == [5200, 5300, -5]
    assert (f["source"] == "electricity").all() and (f["kind"] == "electricity_kwh").all()


def test_missing_and_extra_columns_are_reported_together():
    content = "统一社会信用代码,企业名称,颜色\nX,Y,red\n".encode()
    with pytest.raises(ImportFileError) as info:
        read_department_file(content, "a.csv", mapping("market_enterprise"))
    problems = info.value.problems
    missing = {p.params["column"] for p in problems if p.code == "missing_column"}
    assert {"行政区划代码", "成立日期", "注册资本", "从业人数"} <= missing
    assert [p.params["column"] for p in problems if p.code == "extra_column"] == ["颜色"]
    assert all(p.message_key.startswith("dq.import.") for p in problems)


def test_wrong_encoding_is_a_clear_file_error():
    content = "统一社会信用代码\n".encode() + b"\x80\x80\xff\n"
    with pytest.raises(ImportFileError) as info:
        read_department_file(content, "a.csv", mapping("market_enterprise"))
    assert info.value.problems[0].code == "encoding"


def test_a_50_mb_file_is_refused_not_truncated():
    big = b"a,b\n" + b"1,2\n" * (50 * 1024 * 1024 // 4)
    with pytest.raises(ImportFileError) as info:
        read_department_file(big, "big.csv", mapping("tax_paid"))
    problem = info.value.problems[0]
    assert problem.code == "too_large" and problem.params["size_mb"] >= 50
    with pytest.raises(ImportFileError) as info:
        read_department_file((FILES / "tax_paid.csv").read_bytes(), "tax_paid.csv", mapping("tax_paid"), max_rows=2)
    assert info.value.problems[0].code == "too_many_rows"


def test_unsupported_format_bad_json_and_corrupt_excel():
    with pytest.raises(ImportFileError) as info:
        read_department_file(b"x", "a.pdf", mapping("tax_paid"))
    assert info.value.problems[0].code == "format"
    with pytest.raises(ImportFileError) as info:
        read_department_file(b'{"a": 1}\nnot json\n', "a.jsonl", mapping("electricity"))
    assert info.value.problems[0].params == {"line": 2}
    with pytest.raises(ImportFileError) as info:
        read_department_file(b"PK\x03\x04garbage", "a.xlsx", mapping("finance_statement"))
    assert info.value.problems[0].code == "unreadable"


def test_unit_column_per_row_and_unreadable_amounts():
    parsed = read_department_file((FILES / "tax_paid.csv").read_bytes(), "tax_paid.csv", mapping("tax_paid"))
    assert parsed.frame["value"].tolist()[:2] == [Decimal("12500.00"), Decimal("12500.00")]
    assert parsed.issues[["_row", "field", "code"]].values.tolist() == [[4, "value", "unparseable"]]


def test_mapping_config_errors_are_clear():
    raw = json.loads((MAPPINGS / "tax_paid.json").read_text(encoding="utf-8"))
    raw["columns"]["所属期"]["type"] = "moon"
    raw["columns"]["实缴税额"]["enum"] = "nope"
    raw["dedupe"]["key"] = ["credit_code", "nonexistent"]
    with pytest.raises(MappingConfigError) as info:
        parse_mapping(raw)
    text = " ".join(info.value.problems)
    assert "moon" in text or "type" in text
    with pytest.raises(MappingConfigError):
        parse_mapping("{not json")
