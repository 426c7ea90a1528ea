"""The import command line: a report in words or JSON, and an exit status a scheduler can act on."""

from __future__ import annotations

import json

from scripts import import_file
from tests.integration.ingestion.helpers import FILES, data_counts


def test_the_cli_imports_a_file_and_prints_the_report_as_json(db, capsys):
    assert import_file.main(["--source", "market_enterprise", "--file", str(FILES / "market_enterprise_gbk.csv"),
                             "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["rows_inserted"], report["rows_rejected"]) == ("done", 3, 1)
    assert data_counts()["enterprise"] == 3
    assert import_file.main(["--source", "market_enterprise", "--file", str(FILES / "market_enterprise_gbk.csv")]) == 0
    assert "same file as batch 1" in capsys.readouterr().out


def test_the_cli_fails_with_the_problem_in_words(db, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("统一社会信用代码,备注\n1,2\n".encode())
    assert import_file.main(["--source", "tax_paid", "--file", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "Required column 所属期 (for period) is missing" in out
    assert import_file.main(["--source", "nope", "--file", str(bad)]) == 1
    assert import_file.main(["--source", "tax_paid", "--file", str(tmp_path / "absent.csv")]) == 2
