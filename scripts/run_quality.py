"""Run the daily data-quality checks once: the published rule set over the platform's data.

Usage (from the repository root)::

    .venv/bin/python scripts/run_quality.py                       # today (Asia/Shanghai), DATABASE_URL
    .venv/bin/python scripts/run_quality.py --as-of 2026-10-31 --json
    .venv/bin/python scripts/run_quality.py --database-url postgresql://postgres@127.0.0.1/jinfu

Runs as the ``system`` actor (which holds ``quality.manage``), so the run is audited like any other.
Re-running a day replaces that day's run. A progress bar goes to stderr (``--no-progress`` hides it);
the result goes to stdout, as one JSON object with ``--json``. Bad input or a refused run ends with one
line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date

from sqlalchemy.exc import OperationalError
from tqdm import tqdm

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
    parser = _OneLineParser(description="Run the data-quality rules once and store the run, issues and scores.")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the settings)")
    parser.add_argument("--as-of", type=_day, help="the day the run is for, YYYY-MM-DD (default: today)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
        reset_engine()
    from core.services.quality import run_quality_checks

    bar = None if args.no_progress else tqdm(total=1, unit="step", file=sys.stderr, desc="quality")

    def progress(done: int, total: int, stage: str) -> None:
        if bar is not None:
            bar.total = total
            bar.set_description(f"quality · {stage}")
            bar.update(done - bar.n)

    try:
        run = run_quality_checks(actor=SYSTEM_ACTOR, as_of=args.as_of, progress=progress)
    except JinfuError as exc:
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        print(f"error: cannot use the database: {reason}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(run.model_dump(mode="json"), ensure_ascii=False))
    else:
        score = "—" if run.overall_score is None else f"{run.overall_score:.2f}"
        print(f"quality run {run.run_id} as of {run.as_of}: score {score}, rules evaluated {run.rules_evaluated}, "
              f"not evaluated {run.rules_not_evaluated}, disabled {run.rules_disabled}, "
              f"issues found {run.issues_found} ({run.new_issues} new, {run.resolved_issues} resolved)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
