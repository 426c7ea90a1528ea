"""Run the daily loan sweep once: days past due, overdue / cured / defaulted loans and repayment reminders.

Usage (from the repository root)::

    .venv/bin/python scripts/loan_daily.py                        # today (Asia/Shanghai), DATABASE_URL
    .venv/bin/python scripts/loan_daily.py --as-of 2026-10-31 --json
    .venv/bin/python scripts/loan_daily.py --database-url postgresql://postgres@127.0.0.1/jinfu

Runs as the ``system`` actor, so the run is audited like any other. Re-running a day changes nothing
more and sends no reminder twice. The result goes to stdout, as one JSON object with ``--json``. Bad
input or a refused run ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date

from sqlalchemy.exc import OperationalError

from core.auth import SYSTEM_ACTOR
from core.config import get_settings
from core.db import reset_engine
from core.errors import JinfuError


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(description="Run the daily loan sweep (days past due, transitions, reminders) once.")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the settings)")
    parser.add_argument("--as-of", type=_day, help="the day of the run, YYYY-MM-DD (default: today)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
        reset_engine()
    from core.services.loan_sweep import loan_daily_sweep

    started = time.perf_counter()
    try:
        result = loan_daily_sweep(actor=SYSTEM_ACTOR, as_of=args.as_of)
    except JinfuError as exc:
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        print(f"error: cannot use the database: {reason}", file=sys.stderr)
        return 2
    out = {**result.as_dict(), "seconds": round(time.perf_counter() - started, 3)}
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        print(f"loan sweep as of {out['as_of']}: {out['loans_checked']} loans checked ({out['paused']} paused), "
              f"{out['became_overdue']} became overdue, {out['cured']} cured, {out['defaulted']} defaulted, "
              f"{out['installments_updated']} installments updated, {out['reminders']} reminders "
              f"in {out['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
