"""Import one department file from the command line, as the system: ``--source NAME --file PATH [--json]``.

Prints the import report (read, inserted, updated, unchanged, rejected, file problems) in words, or as
JSON with ``--json``. Exit status: 0 imported (or the same file already imported), 1 the file was refused
or the import failed (nothing written), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.auth import SYSTEM_ACTOR
from core.config import get_settings
from core.errors import JinfuError
from core.i18n import translate
from core.services import ingestion


def _problems(report: ingestion.ImportReport, locale: str) -> list[str]:
    lines = [translate(p["message_key"], locale, **p.get("params", {})) for p in report.file_problems]
    if report.error:
        lines.append(translate(report.error["key"], locale, **report.error.get("params", {})))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", required=True, help="import mapping name, e.g. market_enterprise, tax_paid")
    parser.add_argument("--file", required=True, type=Path, help="the department's CSV, XLSX or JSONL file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--locale", default="en", choices=["en", "zh_CN"], help="language of the messages")
    parser.add_argument("--database-url", default=None, help="default: DATABASE_URL")
    args = parser.parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        report = ingestion.import_department_file(
            actor=SYSTEM_ACTOR, source=args.source, filename=args.file.name, content=args.file.read_bytes()
        )
    except JinfuError as exc:
        if args.json:
            print(json.dumps({"status": "error", "key": exc.key, "message": exc.message(args.locale)},
                             ensure_ascii=False))
        else:
            print(f"error: {exc.message(args.locale)}", file=sys.stderr)
        return 1
    problems = _problems(report, args.locale)
    if args.json:
        print(json.dumps({**report.model_dump(mode="json"), "messages": problems}, ensure_ascii=False, indent=2))
    else:
        print(
            f"batch {report.batch_id} {report.status}: read {report.rows_read}, inserted {report.rows_inserted}, "
            f"updated {report.rows_updated}, unchanged {report.rows_unchanged}, rejected {report.rows_rejected}, "
            f"duplicates in file {report.rows_duplicate}"
            + (f" (same file as batch {report.duplicate_of})" if report.duplicate_of else "")
        )
        for line in problems:
            print(f"  - {line}")
    return 1 if report.status == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())
