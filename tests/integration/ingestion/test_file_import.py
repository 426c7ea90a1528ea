"""Importing department files: every format, normalization into stored values, dedupe, upsert, re-import."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ForbiddenError
from core.models import Enterprise, FinancialStatement, GovRecord, ImportBatch, QuarantinedRow, Shareholding
from core.services import ingestion, ingestion_pull
from tests.integration.ingestion.helpers import ANALYST, OPERATOR, counts, data_counts, sample

C14, C27, C3A = "91131102MA0A1B2C14", "91131102MA0A1B2C27", "91131102MA0A1B2C3A"


def run(source: str, filename: str, content: bytes):
    return ingestion.import_department_file(actor=OPERATOR, source=source, filename=filename, content=content)


@pytest.fixture
def registered(db):
    """The three sample enterprises, registered from the market register's GBK file."""
    return run("market_enterprise", "market_enterprise_gbk.csv", sample("market_enterprise_gbk.csv"))


def enterprises() -> dict[str, Enterprise]:
    with session_scope() as s:
        return {e.credit_code: e for e in s.exec(select(Enterprise))}


def records(kind: str) -> dict[tuple[str, date], GovRecord]:
    with session_scope() as s:
        rows = s.exec(select(Enterprise.credit_code, GovRecord).join(Enterprise).where(GovRecord.kind == kind)).all()
        return {(code, r.period): r for code, r in rows}


def test_the_market_register_creates_enterprises_from_gbk_with_units_and_full_width_digits(registered):
    report = registered
    assert (report.status, report.encoding) == ("done", "gbk")
    assert (report.rows_read, report.rows_inserted, report.rows_rejected, report.rows_duplicate) == (5, 3, 1, 1)
    ents = enterprises()
    assert set(ents) == {C14, C27, C3A}
    # 注册资本(万元) header unit, full-width ２００, and the later duplicate row of C14 (updated_on wins)
    assert ents[C27].registered_capital == Decimal("2000000.00")
    assert ents[C3A].registered_capital == Decimal("505000.00")
    assert ents[C14].registered_capital == Decimal("1200000.00") and ents[C14].name.endswith("(更名)")
    assert ents[C27].founded_on == date(2016, 5, 1) and ents[C27].scale == "small"


def test_bom_csv_of_the_same_register_is_identical_data_but_a_different_file(registered):
    before = data_counts()
    report = run("market_enterprise", "market_enterprise_utf8_bom.csv", sample("market_enterprise_utf8_bom.csv"))
    assert report.status == "done" and report.encoding == "utf-8-sig"
    assert (report.rows_inserted, report.rows_updated, report.rows_unchanged) == (0, 0, 3)
    after = data_counts()
    assert after["enterprise"] == before["enterprise"]
    assert after["quarantined_row"] == before["quarantined_row"] + 1  # this batch's own rejected row


def test_csv_with_a_unit_column_stores_yuan(registered):
    report = run("tax_paid", "tax_paid.csv", sample("tax_paid.csv"))
    assert (report.rows_inserted, report.rows_rejected) == (2, 1)
    tax = records("tax_paid")
    assert tax[(C14, date(2026, 9, 1))].value == 12500.0  # 1.25 万元
    assert tax[(C14, date(2026, 10, 1))].value == 12500.0  # 12500 元


def test_json_lines_with_full_width_digits_and_chinese_months(registered):
    report = run("electricity", "electricity.jsonl", sample("electricity.jsonl"))
    assert (report.rows_inserted, report.rows_rejected, report.ignored_columns) == (2, 1, ["meter"])
    kwh = records("electricity_kwh")
    assert kwh[(C14, date(2026, 10, 1))].value == 5300.0  # "５３００", "2026年10月"


def test_excel_statements_store_decimal_yuan_from_wan(registered):
    report = run("finance_statement", "finance_statement.xlsx", sample("finance_statement.xlsx"))
    assert (report.rows_inserted, report.rows_rejected) == (2, 1)
    with session_scope() as s:
        rows = {r.enterprise_id: r for r in s.exec(select(FinancialStatement))}
    ents = enterprises()
    assert rows[ents[C14].id].revenue == Decimal("5000000.00")  # 500 万元
    assert rows[ents[C27].id].operating_cash_flow == Decimal("-400000.00")  # (400000) 元
    assert ents[C3A].id not in rows  # negative revenue: quarantined


def test_dedupe_by_credit_code_inside_one_file_keeps_the_last_row(registered):
    content = "纳税人识别号,所属期,实缴税额,金额单位\n" + "".join(
        f"{C27},2026-08,{amount},元\n" for amount in (100, 200, 300))
    report = run("tax_paid", "dupes.csv", content.encode())
    assert (report.rows_read, report.rows_inserted, report.rows_duplicate) == (3, 1, 2)
    assert records("tax_paid")[(C27, date(2026, 8, 1))].value == 300.0


def _tax_file(values: dict[str, float]) -> bytes:
    lines = ["纳税人识别号,所属期,实缴税额,金额单位"]
    lines += [f"{code},2026-0{month},{value},元" for (code, month), value in values.items()]
    return ("\n".join(lines) + "\n").encode()


def test_a_second_file_with_one_changed_row_updates_one_and_leaves_the_rest(registered):
    base = {(C14, m): 1000.0 + m for m in range(1, 6)}
    first = run("tax_paid", "tax-1.csv", _tax_file(base))
    assert first.rows_inserted == 5
    stamps = {k: r.received_at for k, r in records("tax_paid").items()}
    changed = dict(base)
    changed[(C14, 3)] = 9999.0
    second = run("tax_paid", "tax-2.csv", _tax_file(changed))
    assert (second.rows_inserted, second.rows_updated, second.rows_unchanged) == (0, 1, 4)
    after = records("tax_paid")
    assert after[(C14, date(2026, 3, 1))].value == 9999.0
    assert after[(C14, date(2026, 3, 1))].received_at > stamps[(C14, date(2026, 3, 1))]  # re-rating sees it
    assert after[(C14, date(2026, 4, 1))].received_at == stamps[(C14, date(2026, 4, 1))]  # not written


def test_a_changed_enterprise_is_updated_with_a_new_version(registered):
    version = enterprises()[C27].version
    text = sample("market_enterprise_utf8_bom.csv").decode("utf-8-sig").replace(",60,李四", ",61,李四")
    report = run("market_enterprise", "register-2.csv", text.encode("utf-8"))
    assert (report.rows_updated, report.rows_unchanged) == (1, 2)
    ent = enterprises()[C27]
    assert ent.employees == 61 and ent.version == version + 1


def test_reimporting_the_same_file_is_a_duplicate_and_writes_no_data(registered):
    first = run("tax_paid", "tax_paid.csv", sample("tax_paid.csv"))
    before = counts()
    again = run("tax_paid", "renamed.csv", sample("tax_paid.csv"))
    after = counts()
    assert again.status == "duplicate" and again.duplicate_of == first.batch_id
    assert (again.rows_inserted, again.rows_rejected) == (first.rows_inserted, first.rows_rejected)
    assert {k: after[k] - before[k] for k in after} == {
        "enterprise": 0, "gov_record": 0, "shareholding": 0, "financial_statement": 0, "quarantined_row": 0,
        "import_batch": 1, "audit_event": 1,
    }
    report = ingestion_pull.import_batch_report(actor=OPERATOR, batch_id=again.batch_id)
    assert len(report.quarantined) == 1  # the first import's quarantined row


def test_a_record_for_an_unknown_enterprise_is_quarantined_with_a_clear_reason(db):
    report = run("tax_paid", "tax_paid.csv", sample("tax_paid.csv"))
    assert (report.rows_inserted, report.rows_rejected) == (0, 3)
    assert data_counts()["gov_record"] == 0
    rows = ingestion_pull.import_batch_report(actor=OPERATOR, batch_id=report.batch_id, locale="en").quarantined
    assert rows["reason_codes"].str.contains("unknown_enterprise").sum() == 2  # the third is unparseable too
    assert "No enterprise with this credit code" in rows["reasons"].iloc[0]


def test_shareholdings_resolve_person_and_enterprise_holders(registered):
    content = (
        "统一社会信用代码,股东类型,股东名称,股东统一社会信用代码,持股比例,持股日期\n"
        f"{C14},自然人,张三,,60,2015-03-01\n"
        f"{C14},企业法人,衡水丙丁食品有限公司,{C27},40,2016-01-01\n"
        f"{C27},企业法人,不存在的公司,91131102MA0A1B2C4Y,10,2016-01-01\n"
    ).encode()
    report = run("market_shareholding", "holders.csv", content)
    assert (report.rows_inserted, report.rows_rejected) == (2, 1)
    with session_scope() as s:
        holdings = {h.holder_name: h for h in s.exec(select(Shareholding))}
    assert holdings["张三"].share_pct == Decimal("60.0000")
    assert holdings["衡水丙丁食品有限公司"].holder_enterprise_id == enterprises()[C27].id
    assert run("market_shareholding", "holders-again.csv", content + b"\n").rows_unchanged == 2


def test_quarantine_export_gives_the_original_columns_and_the_reasons(registered):
    report = run("tax_paid", "tax_paid.csv", sample("tax_paid.csv"))
    zh = ingestion_pull.quarantine_export(actor=OPERATOR, batch_id=report.batch_id, fmt="csv")
    assert zh.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(zh), encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == ["原文件行号", "纳税人识别号", "所属期", "实缴税额", "金额单位", "问题说明"]
    assert table.loc[0, "实缴税额"] == "abc" and table.loc[0, "原文件行号"] == "4"
    assert "无法识别该值" in table.loc[0, "问题说明"] and "实缴税额" in table.loc[0, "问题说明"]
    en = ingestion_pull.quarantine_export(actor=OPERATOR, batch_id=report.batch_id, fmt="xlsx", locale="en")
    sheet = pd.read_excel(io.BytesIO(en), dtype=str)
    assert sheet.columns[0] == "Row in file" and sheet.columns[-1] == "Problems"
    assert "实缴税额: The value cannot be read. (value: abc)" in sheet.loc[0, "Problems"]


def test_batches_are_listed_newest_first_and_only_the_operator_imports(registered):
    run("tax_paid", "tax_paid.csv", sample("tax_paid.csv"))
    batches = ingestion_pull.list_import_batches(actor=OPERATOR)
    assert batches["source"].tolist() == ["tax_paid", "market_enterprise"]
    with pytest.raises(ForbiddenError):
        ingestion.import_department_file(actor=ANALYST, source="tax_paid", filename="t.csv",
                                         content=sample("tax_paid.csv"))


def test_progress_is_reported_from_start_to_done(registered):
    seen: list[tuple[float, str]] = []
    ingestion.import_department_file(actor=OPERATOR, source="tax_paid", filename="t.csv",
                                     content=sample("tax_paid.csv"), progress=lambda f, s: seen.append((f, s)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and seen[-1] == (1.0, "ingest.stage.done")
    assert {"ingest.stage.read", "ingest.stage.validate", "ingest.stage.write"} <= {s for _, s in seen}


def test_the_batch_row_records_the_report(registered):
    with session_scope() as s:
        batch = s.exec(select(ImportBatch)).one()
        assert (batch.status, batch.channel, batch.rows_read, batch.rows_accepted) == ("done", "file", 5, 3)
        assert batch.report["encoding"] == "gbk" and batch.report["timings"]["total"] > 0
        assert batch.finished_at - batch.started_at < timedelta(minutes=10)
        assert s.exec(select(QuarantinedRow)).one().reasons[0]["key"] == "error.credit_code.check_char"
