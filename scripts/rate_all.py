"""Rate every enterprise with the approved model (or only the changed ones) and report the run.

Usage (from the repository root)::

    .venv/bin/python scripts/rate_all.py
    .venv/bin/python scripts/rate_all.py --database-url postgresql://postgres@127.0.0.1/jinfu --as-of 2026-10-31 --json
    .venv/bin/python scripts/rate_all.py --incremental

Progress goes to stderr (tqdm); ``--json`` prints one JSON object on stdout. Bad input, an
unreachable database or no approved model ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
    parser = _OneLineParser(description="Rate every enterprise with the approved rating model.")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the settings)")
    parser.add_argument("--as-of", type=date.fromisoformat, help="rating date YYYY-MM-DD (default: today)")
    parser.add_argument("--incremental", action="store_true",
                        help="re-rate only enterprises whose records arrived after their latest score")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.database_url:
        import os

        os.environ["DATABASE_URL"] = args.database_url
        get_settings.cache_clear()
        reset_engine()
    from tqdm import tqdm

    from core.services import rating_runs

    bar = tqdm(total=100, desc="rating", unit="%", file=sys.stderr, disable=not sys.stderr.isatty() and args.json)

    def progress(fraction: float, stage: str) -> None:
        bar.set_postfix_str(stage)
        bar.update(max(0, round(fraction * 100) - bar.n))

    service = rating_runs.rerate_changed if args.incremental else rating_runs.run_batch_rating
    try:
        with contextlib.redirect_stdout(sys.stderr):
            report = service(actor=SYSTEM_ACTOR, as_of=args.as_of, progress=progress)
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
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(f"{data['mode']} rating as of {data['as_of']}: {data['rated']:,} rated, "
              f"{data['insufficient']:,} with insufficient data {data['insufficient_reasons']}, "
              f"{data['seconds']:.1f} s ({data['enterprises_per_second']:,.0f} enterprises/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
