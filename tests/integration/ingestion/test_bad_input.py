"""Bad department files: a clear report naming every problem, and nothing half-written."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from core.db import session_scope
from core.errors import NotFoundError
from core.i18n import translate
from core.models import AuditEvent, Enterprise, ImportBatch
from core.services import ingestion, ingestion_pull
from tests.integration.ingestion.helpers import OPERATOR, data_counts, sample

HEADER = "统一社会信用代码,企业名称,行政区划代码,行业门类,行业大类,企业规模,成立日期,注册资本(万元),从业人数,法定代表人"
GOOD = "91131102MA0A1B2C14,衡水甲乙食品有限公司,131102,C,13,小型,2015-03-01,100,50,张三"
ZERO = {"enterprise": 0, "gov_record": 0, "shareholding": 0, "financial_statement": 0, "quarantined_row": 0}


def run(content: bytes, filename: str = "register.csv", source: str = "market_enterprise"):
    return ingestion.import_department_file(actor=OPERATOR, source=source, filename=filename, content=content)


def problem_keys(report) -> list[str]:
    return [p["message_key"] for p in report.file_problems]


@pytest.mark.parametrize(
    ("content", "filename", "keys"),
    [
        pytest.param(f"{HEADER}\n".encode() + b"\x80\x80\xff\n", "register.csv", ["dq.import.encoding"], id="encoding"),
        pytest.param(f"{HEADER.replace(',法定代表人', '')}\n{GOOD.rsplit(',', 1)[0]}\n".encode(), "register.csv",
                     ["dq.import.missing_column"], id="missing-column"),
        pytest.param(f"{HEADER},备注\n{GOOD},无\n".encode(), "register.csv", ["dq.import.extra_column"], id="extra-column"),
        pytest.param(b"PK\x03\x04 not really a workbook", "register.xlsx", ["dq.import.unreadable"], id="unreadable"),
        pytest.param(f"{HEADER}\n".encode(), "register.csv", ["dq.import.empty_file"], id="empty"),
        pytest.param(b"a,b\n1,2\n", "register.pdf", ["dq.import.format"], id="format"),
    ],
)
def test_a_file_level_problem_fails_the_batch_with_its_message_and_writes_no_row(db, content, filename, keys):
    report = run(content, filename)
    assert report.status == "failed"
    assert problem_keys(report) == keys
    assert data_counts() == ZERO
    for problem in report.file_problems:  # every problem has a translation that fills its placeholders
        text = translate(problem["message_key"], "en", **problem["params"])
        assert text != problem["message_key"] and "{" not in text
    with session_scope() as s:
        assert s.exec(select(ImportBatch.status)).all() == ["failed"]


def test_missing_and_extra_columns_are_reported_together(db):
    content = f"{HEADER.replace(',从业人数', '')},备注\n".encode() + b"x\n"
    report = run(content)
    assert sorted(p["code"] for p in report.file_problems) == ["extra_column", "missing_column"]
    assert report.file_problems[0]["params"]["column"] in ("从业人数", "备注")


def test_a_50_mb_file_is_refused_before_reading(db):
    row = f"{GOOD}\n".encode()
    big = f"{HEADER}\n".encode() + row * (50 * 2**20 // len(row) + 1)
    assert len(big) > 50 * 2**20
    report = run(big)
    assert (report.status, problem_keys(report)) == ("failed", ["dq.import.too_large"])
    assert report.file_problems[0]["params"]["limit_mb"] == 20.0 and report.file_bytes == len(big)
    assert data_counts() == ZERO


def test_bad_rows_are_quarantined_with_every_reason_and_good_rows_still_import(db):
    content = "\n".join([
        HEADER,
        GOOD,
        "91131102MA0A1B2C27,衡水丙丁食品有限公司,131102,C,13,小型,2019-02-30,100,5,李四",  # impossible date
        "91131102MA0A1B2C3A,衡水戊己食品有限公司,131102,C,14,微型,2018-07-01,-5,8,王五",  # negative capital
        "91131102MA0A1B2C4Y,衡水错误代码有限公司,131102,C,13,小型,2020-01-01,10,8,赵六",  # bad check character
        "91131102MA0A1B2C14,衡水甲乙食品有限公司,131102,C,13,小型,2015-03-01,100,51,张三",  # duplicate code
        "91131102MA0A1B2C14,衡水甲乙食品有限公司,999999,C,13,小型,2015-03-01,100,52,张三",  # … unknown district
    ]).encode()
    report = run(content)
    assert (report.rows_read, report.rows_inserted, report.rows_rejected, report.rows_duplicate) == (6, 1, 4, 1)
    rows = ingestion_pull.import_batch_report(actor=OPERATOR, batch_id=report.batch_id).quarantined
    reasons = dict(zip(rows["row_number"], rows["reason_codes"], strict=True))
    assert reasons[3].startswith("impossible") and "negative" in reasons[4] and "invalid" in reasons[5]
    # a rejected row supersedes nothing: of the two valid rows of C14 the later one is stored
    assert reasons[7] == "code_list" and data_counts()["enterprise"] == 1
    with session_scope() as s:
        assert s.exec(select(Enterprise.employees)).one() == 51
    with session_scope() as s:
        duplicates = s.exec(select(ImportBatch)).one().report["duplicates"]
    assert [(d["_row"], d["kept_row"]) for d in duplicates] == [(2, 6)]  # the superseded row is in the report


def test_negative_amounts_and_impossible_periods_in_records_are_quarantined(db):
    run(f"{HEADER}\n{GOOD}\n".encode())
    content = ("纳税人识别号,所属期,实缴税额,金额单位\n"
               "91131102MA0A1B2C14,2026-13,100,元\n"
               "91131102MA0A1B2C14,2026-01,-100,元\n"
               "91131102MA0A1B2C14,2026-02,100,元\n").encode()
    report = ingestion.import_department_file(actor=OPERATOR, source="tax_paid", filename="t.csv", content=content)
    assert (report.rows_inserted, report.rows_rejected) == (1, 2)
    rows = ingestion_pull.import_batch_report(actor=OPERATOR, batch_id=report.batch_id).quarantined
    assert rows["reason_codes"].tolist()[1] == "negative"
    assert data_counts()["gov_record"] == 1


def test_a_database_failure_midway_rolls_everything_back_and_records_the_failed_batch(db, monkeypatch):
    calls = []

    def failing_quarantine(*args, **kwargs):
        calls.append(1)
        raise OperationalError("INSERT INTO quarantined_row", {}, Exception("disk full"))

    monkeypatch.setattr(ingestion, "quarantine_rows", failing_quarantine)
    with pytest.raises(ingestion.ImportFailedError) as info:
        run(sample("market_enterprise_gbk.csv"), "market_enterprise_gbk.csv")
    assert calls == [1]  # the enterprises had been inserted when it failed
    assert data_counts() == ZERO
    assert "nothing was written" in info.value.message("en")
    with session_scope() as s:
        batch = s.exec(select(ImportBatch)).one()
        assert (batch.status, batch.id) == ("failed", info.value.params["batch_id"])
        assert batch.report["error"]["key"] == "ingest.error.database"
        assert s.exec(select(AuditEvent.action)).all() == ["import_failed"]
    # the file is not marked as imported: once the database is back, the same file imports
    monkeypatch.undo()
    assert run(sample("market_enterprise_gbk.csv"), "market_enterprise_gbk.csv").rows_inserted == 3


def test_an_unknown_source_and_an_empty_upload_are_refused(db):
    with pytest.raises(NotFoundError):
        run(b"a\n", source="no_such_source")
    with pytest.raises(ingestion.ImportFileMissingError):
        run(b"")
    with session_scope() as s:
        assert s.exec(select(ImportBatch)).all() == []
