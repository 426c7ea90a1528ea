"""Run the published early-warning rules (full or incremental) and report the run.

Usage (from the repository root)::

    .venv/bin/python scripts/risk_run.py --full
    .venv/bin/python scripts/risk_run.py --incremental
    .venv/bin/python scripts/risk_run.py --full --as-of 2026-10-31 --json --database-url postgresql://postgres@127.0.0.1/jinfu

Progress goes to stderr (tqdm); ``--json`` prints one JSON object on stdout (the run report, rule by
rule). Bad input or an unreachable database ends with one line on stderr and exit code 2; a run in
which some rule failed still completes and exits 0 (the report names the failed rules).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from datetime import date

from sqlalchemy.exc import OperationalError

from core.auth.actor import SYSTEM_ACTOR
from core.config import get_settings
from core.db import reset_engine
from core.errors import JinfuError


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (exit code 2)."""

    def error(self, message: str):  # type: ignore[override]
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(description="Run the published early-warning rules and persist the signals.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="evaluate every enterprise (the default)")
    mode.add_argument("--incremental", action="store_true",
                      help="evaluate only enterprises whose records changed since the last run")
    parser.add_argument("--as-of", type=date.fromisoformat, help="evaluation date YYYY-MM-DD (default: today)")
    parser.add_argument("--notify-level", type=int, default=7,
                        help="new signals at this level (1-8) or above notify the regulator (default 7)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the settings)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
        reset_engine()
    from tqdm import tqdm

    from core.services.risk import run_risk

    bar = tqdm(total=100, desc="risk run", unit="%", file=sys.stderr, disable=not sys.stderr.isatty() and args.json)

    def progress(fraction: float, stage: str) -> None:
        bar.set_postfix_str(stage)
        bar.update(max(0, round(fraction * 100) - bar.n))

    try:
        with contextlib.redirect_stdout(sys.stderr):
            report = run_risk(actor=SYSTEM_ACTOR, as_of=args.as_of, incremental=args.incremental,
                              notify_level=args.notify_level, progress=progress)
    except OperationalError as exc:
        bar.close()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        print(f"error: cannot reach the database: {reason}", file=sys.stderr)
        return 2
    except JinfuError as exc:
        bar.close()
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return 2
    bar.close()
    data = report.as_dict()
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str))
    else:
        failed = f", failed rules: {', '.join(data['failed_rules'])}" if data["failed_rules"] else ""
        print(f"{data['mode']} risk run as of {data['as_of']} (rule set v{data['set_version']}): "
              f"{data['enterprises']:,} enterprises, {data['hits']:,} hits, {data['raised']:,} new signals, "
              f"{data['seen_again']:,} seen again, {data['aged_out']:,} aged out, {data['notified']:,} regulator "
              f"notices, {data['cases_opened']:,} large-default cases, {data['seconds']:.1f} s{failed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
