"""Fill a database with the deterministic Hengshui demo data set.

Usage (from the repository root)::

    .venv/bin/python scripts/seed_demo.py --scale demo
    .venv/bin/python scripts/seed_demo.py --database-url postgresql://postgres@127.0.0.1/jinfu --scale large
    .venv/bin/python scripts/seed_demo.py --force --json

After the data load it trains, approves and runs the first rating (skip with ``--no-rating``) and then
publishes the shipped early-warning rule set and runs it once, so the post-loan queues hold signals
(skip with ``--no-risk``; ``--no-rating`` skips both).

``--as-of`` sets the data set's "today" (``YYYY-MM-DD`` or ``today`` in Asia/Shanghai; default the fixed
reproducible day ``core.seed.DEFAULT_AS_OF``): a demo for visitors wants ``today``, so that due dates, SLA clocks
and bookings lie around the real date rather than in the past (``make run`` and ``make seed`` pass
``--as-of $SEED_AS_OF``, default ``today``); benchmarks and tests keep the fixed day.

It applies the Alembic migrations first, then seeds. A database that already holds the demo data is
left untouched unless ``--force`` is given. Bad input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import ArgumentError, OperationalError

from core.config import get_settings
from core.db import upgrade
from core.seed import DEFAULT_AS_OF, SCALES, seed_database
from core.seed.loader import masked, normalise_url


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line (and exit code 2), without the usage block."""

    def error(self, message: str):  # type: ignore[override]
        print(f"error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def _as_of(text: str) -> date:
    """``today`` (Asia/Shanghai) or an ISO date."""
    if text.strip().lower() == "today":
        return datetime.now(ZoneInfo("Asia/Shanghai")).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD or 'today'): {text!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(description="Seed the Jinfu database with deterministic demo data.")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: DATABASE_URL from the settings)")
    parser.add_argument("--scale", choices=list(SCALES), default="demo",
                        help="data set size: " + ", ".join(f"{k} ({v.n_enterprises:,} enterprises)"
                                                             for k, v in SCALES.items()))
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    parser.add_argument("--as-of", type=_as_of, default=DEFAULT_AS_OF,
                        help=f"the data set's today: YYYY-MM-DD or 'today' (default {DEFAULT_AS_OF.isoformat()})")
    parser.add_argument("--force", action="store_true", help="wipe every table and reload when data exists")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("--no-rating", action="store_true",
                        help="skip the first rating (train, approve as the system and rate once); implies --no-risk")
    parser.add_argument("--no-risk", action="store_true",
                        help="skip the first early-warning run (publish the shipped rule set and run it once)")
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _bootstrap_rating(url: str, as_of: date) -> dict:
    """Train, approve (as the system) and run the first rating on the freshly seeded demo data."""
    import contextlib
    import os

    from core.auth.actor import SYSTEM_ACTOR
    from core.db import reset_engine
    from core.errors import JinfuError

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    from core.services.rating_runs import bootstrap_demo_rating

    try:
        with contextlib.redirect_stdout(sys.stderr):
            return bootstrap_demo_rating(actor=SYSTEM_ACTOR, as_of=as_of).as_dict()
    except JinfuError as exc:  # the data load stands; say why the first rating did not run
        return {"error": exc.message("en")}


def _bootstrap_risk(as_of: date) -> dict:
    """Publish the shipped early-warning rule set and run it once, after the first rating (same database)."""
    import contextlib

    from core.auth.actor import SYSTEM_ACTOR
    from core.errors import JinfuError
    from core.services.risk import bootstrap_demo_risk

    try:
        with contextlib.redirect_stdout(sys.stderr):
            report = bootstrap_demo_risk(actor=SYSTEM_ACTOR, as_of=as_of).as_dict()
    except JinfuError as exc:  # the data load and the rating stand; say why the risk run did not
        return {"error": exc.message("en")}
    report.pop("rules", None)  # per-rule rows belong to the run's own report, not the seed summary
    report.pop("enterprise_ids", None)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = normalise_url(args.database_url or get_settings().database_url)
    try:
        shown = masked(url)
    except ArgumentError:
        return _fail(f"not a database URL: {url!r}")
    try:
        upgrade(url)
        report = seed_database(url, scale=args.scale, seed=args.seed, progress=not args.no_progress,
                               force=args.force, as_of=args.as_of)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        return _fail(f"cannot connect to the database at {shown}: {reason}")
    except ModuleNotFoundError as exc:
        return _fail(f"no driver for {shown}: {exc}")
    rating = None
    if not report.skipped and not args.no_rating:
        rating = _bootstrap_rating(url, args.as_of)
    risk = None
    if rating is not None and "error" not in rating and not args.no_risk:
        risk = _bootstrap_risk(args.as_of)  # signals come from rules over the rated data (the rating drop rules)
    peak = _peak_rss_mb()
    if args.json:
        extra = {"rating": rating} if rating is not None else {}
        if risk is not None:
            extra["risk"] = risk
        print(json.dumps({**report.as_dict(), **extra, "peak_rss_mb": round(peak, 1)}, ensure_ascii=False))
        return 0
    if report.skipped:
        print(f"{shown}: {report.message}")
        return 0
    width = max(len(t) for t in report.rows)
    print(f"Seeded {shown} (scale={report.scale}, seed={report.seed})")
    for table_name, count in report.rows.items():
        print(f"  {table_name:<{width}}  {count:>12,}")
    print(f"  {'total':<{width}}  {report.total_rows:>12,}")
    print(f"{report.seconds:.1f} s, {report.rows_per_second:,.0f} rows/s, peak RSS {peak:,.0f} MB")
    if rating is not None:
        print(f"Rated {rating.get('rated', 0):,} enterprises ({rating.get('insufficient', 0):,} with insufficient "
              f"data) in {rating.get('seconds', 0):.1f} s" if "error" not in rating else f"Rating skipped: {rating['error']}")
    if risk is not None:
        print(f"Early warning: {risk.get('raised', 0):,} signals on {risk.get('enterprises', 0):,} enterprises "
              f"(rule set v{risk.get('set_version', 0)}) in {risk.get('seconds', 0):.1f} s"
              if "error" not in risk else f"Early warning skipped: {risk['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
