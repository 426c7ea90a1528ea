"""Row validation: accepted and rejected rows with reasons, and deduplication by credit code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from core.quality.mapping import DedupeSpec, parse_mapping
from core.quality.reader import read_department_file
from core.quality.validate import GateContext, deduplicate, validate_rows
from core.reference import districts, industries

ROOT = Path(__file__).resolve().parents[4]
AS_OF = date(2026, 10, 31)
CTX = GateContext(AS_OF, frozenset(districts()["code"]), dict(zip(industries()["division"], industries()["section"],
                                                                 strict=True)))


def _mapping(name):
    return parse_mapping((ROOT / "data/reference/import_mappings" / f"{name}.json").read_text(encoding="utf-8"))


def test_enterprise_file_splits_into_accepted_rejected_and_duplicates():
    m = _mapping("market_enterprise")
    parsed = read_department_file((ROOT / "tests/data/imports/market_enterprise_gbk.csv").read_bytes(),
                                  "market_enterprise_gbk.csv", m)
    result = validate_rows(parsed.frame, target="enterprise", context=CTX, cell_issues=parsed.issues, dedupe=m.dedupe)
    assert result.counts == {"read": 5, "accepted": 3, "rejected": 1, "duplicates": 1}
    rejected = result.rejected.iloc[0]
    assert rejected["_row"] == 6
    assert set(rejected["reason_codes"].split(";")) >= {"impossible", "invalid"}
    assert "error.credit_code.check_char" in rejected["message_keys"]
    # the same code twice: the later update (row 5, renamed) wins and row 2 is reported superseded
    assert result.accepted.loc[result.accepted["_row"] == 5, "name"].item() == "衡水甲乙食品有限公司(更名)"
    assert result.duplicates[["_row", "kept_row"]].values.tolist() == [[2, 5]]


def _enterprise(**overrides):
    row = {"credit_code": "91131102MA0A1B2C3A", "name": "衡水甲乙食品有限公司", "district_code": "131102",
           "industry_section": "C", "industry_division": "13", "scale": "small",
           "founded_on": pd.Timestamp("2015-03-01"), "registered_capital": 1e6, "employees": 5,
           "legal_rep_name": "张三"}
    row.update(overrides)
    return pd.DataFrame([row])


def test_each_hard_constraint_rejects_with_its_field_and_key():
    cases = {
        "founded_on": (pd.Timestamp("2030-01-01"), "dq.reason.date_range"),
        "registered_capital": (-1.0, "dq.reason.negative"),
        "employees": (-3, "dq.reason.negative"),
        "district_code": ("999999", "dq.reason.unknown_district"),
        "scale": ("giant", "dq.reason.code_list"),
        "name": (None, "dq.reason.required"),
    }
    for field, (value, key) in cases.items():
        result = validate_rows(_enterprise(**{field: value}), target="enterprise", context=CTX)
        assert result.counts["rejected"] == 1, field
        reasons = result.reasons
        assert ((reasons["field"] == field) & (reasons["message_key"] == key)).any(), (field, reasons.to_dict())


def test_a_valid_row_is_accepted():
    result = validate_rows(_enterprise(), target="enterprise", context=CTX)
    assert result.counts["accepted"] == 1 and result.reasons.empty


def test_gov_records_reject_negative_values_and_unknown_grades():
    frame = pd.DataFrame({
        "credit_code": ["91131102MA0A1B2C3A"] * 3, "source": ["electricity", "tax", "tax"],
        "kind": ["electricity_kwh", "tax_grade", "tax_paid"],
        "period": pd.to_datetime(["2026-10-01", "2025-01-01", "2026-10-01"]),
        "value": [-5.0, None, 10.0], "text": [None, "E", None],
    })
    result = validate_rows(frame, target="gov_record", context=CTX)
    assert result.counts["accepted"] == 1
    assert set(result.reasons["code"]) == {"negative", "code_list"}


def test_shareholding_rejects_out_of_range_share_and_enterprise_holder_without_code():
    frame = pd.DataFrame({
        "credit_code": ["91131102MA0A1B2C3A"] * 3, "holder_type": ["person", "enterprise", "person"],
        "holder_name": ["张三", "某公司", "李四"], "share_pct": [0.0, 30.0, 100.0],
        "since": pd.to_datetime(["2020-01-01"] * 3), "holder_credit_code": [None, None, None],
    })
    result = validate_rows(frame, target="shareholding", context=CTX)
    assert result.counts["accepted"] == 1
    assert sorted(result.reasons["code"]) == ["range", "required"]


def test_dedup_keeps_the_last_by_the_configured_order_not_file_order():
    frame = pd.DataFrame({"_row": [2, 3, 4], "credit_code": ["A", "A", "B"],
                          "updated_on": pd.to_datetime(["2026-05-01", "2026-01-01", "2026-01-01"])})
    kept, dups = deduplicate(frame, DedupeSpec(key=["credit_code"], order_by=["updated_on"]))
    assert sorted(kept["_row"]) == [2, 4]
    assert dups.to_dict("records") == [{"_row": 3, "key": "A", "kept_row": 2}]
