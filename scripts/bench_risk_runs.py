"""Measure the early-warning runs at city scale: the full run and the incremental run on one day's records.

Usage (from the repository root; a scratch PostgreSQL database; ``--json`` prints one JSON object)::

    createdb -h 127.0.0.1 -U postgres jinfu_large_bench
    URL=postgresql://postgres@127.0.0.1:5432/jinfu_large_bench
    nice .venv/bin/python scripts/bench_risk_runs.py prepare --database-url $URL --scale large --json
    .venv/bin/python scripts/bench_risk_runs.py snapshot --database-url $URL --name jinfu_large_bench_seeded
    .venv/bin/python scripts/bench_risk_runs.py full --database-url $URL --repeat 3 --json
    .venv/bin/python scripts/bench_risk_runs.py day --database-url $URL --json
    .venv/bin/python scripts/bench_risk_runs.py snapshot --database-url $URL --name jinfu_large_bench_day
    .venv/bin/python scripts/bench_risk_runs.py incremental --database-url $URL --from-snapshot jinfu_large_bench_day \
        --repeat 2 --json
    .venv/bin/python scripts/bench_risk_runs.py drop --database-url $URL --name jinfu_large_bench_day

``prepare`` seeds the demo data **as of yesterday** (Asia/Shanghai), runs the first rating and the daily loan
sweep of that day on it (the seed leaves some long-matured unpaid loans ``overdue``, which the first sweep
defaults), without the first risk run: the records of "today" then arrive after the data set's end, through
the real paths and with the real clock (change detection compares ``received_at`` / ``updated_at`` with the
last run's wall-clock start, and a record received today is visible only to a run as of today). ``sizes``
prints the row counts the measures depend on.

``full`` runs ``scripts/risk_run.py --full --as-of <data day> --json`` in a child process ``--repeat`` times
on the same database (the first run on a fresh database raises the signals, every later one must raise 0);
``--from-snapshot NAME`` runs each repeat on a fresh copy of snapshot ``NAME`` instead (each one a first run).
``day`` builds one day of newly arrived records (``scripts/bench_risk_day.py``). ``incremental`` runs
``scripts/risk_run.py --incremental`` as of today the same two ways. ``snapshot`` / ``drop`` copy a
database (``CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY``) and drop one.

Every measure records wall time, the child's CPU time and peak RSS (``wait4``), the CPU time of the PostgreSQL
backends serving it (sampled from ``/proc`` each second: the server must run on the same host), the run's own
report (rule rows summed, the five slowest kept), the commit and a hash of the early-warning sources, and the
load average before and after: the machine is shared, so read the load with the time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def today_local() -> date:
    """Today in Asia/Shanghai (the platform's business day)."""
    return datetime.now(LOCAL_TZ).date()


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def code_fingerprint() -> dict[str, Any]:
    """The commit and a hash of the early-warning sources as they are on disk (they may hold uncommitted edits)."""
    import hashlib

    files = sorted([*ROOT.glob("core/risk/*.py"), *ROOT.glob("core/services/risk*.py")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "core/risk", "core/services"], cwd=ROOT,
                           capture_output=True, text=True)
    return {"head": head.stdout.strip(), "risk_sources_sha256": digest.hexdigest()[:16],
            "risk_files_uncommitted": sum(1 for line in dirty.stdout.splitlines() if "risk" in line)}


class ServerCpu:
    """CPU seconds of the PostgreSQL backends serving database ``name`` (same host: read from ``/proc``)."""

    def __init__(self, url: str, name: str):
        import threading

        self.url, self.name, self.ticks = url, name, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        from sqlalchemy import text

        try:
            conn = _admin(self.url)
        except Exception:  # noqa: BLE001 - a measure that cannot be taken is left out, not fatal
            return
        with conn:
            while not self.stop.wait(1.0):
                pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"),
                                    {"n": self.name}).scalars().all()
                for pid in pids:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.ticks[pid] = max(self.ticks.get(pid, 0), int(fields[11]) + int(fields[12]))

    def __enter__(self) -> ServerCpu:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float | None:
        return round(sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK"), 1) if self.ticks else None


def measured(argv: list[str], *, db_url: str | None = None) -> dict[str, Any]:
    """Run ``argv`` as a child process: wall time, CPU time, peak RSS (``wait4``), exit code, stdout; with
    ``db_url``, also the CPU time of the database server's backends for that database (sampled each second)."""
    load_before = load_average()
    server = ServerCpu(db_url, _db_name(db_url)) if db_url else None
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with server or contextlib.nullcontext():
            started = time.perf_counter()
            child = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return {"exit": child.returncode, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "server_cpu_s": server.seconds if server else None,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "load_before": load_before,
            "load_after": load_average(), "stdout": stdout, "stderr": stderr[-1500:]}


# ---------------------------------------------------------------------------------------- databases


def _admin(url: str):
    """A connection to the server's ``postgres`` database in autocommit (CREATE / DROP DATABASE)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from core.seed.loader import normalise_url

    admin = make_url(normalise_url(url)).set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT").connect()


def _db_name(url: str) -> str:
    from sqlalchemy.engine import make_url

    return str(make_url(url).database)


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def snapshot(url: str, name: str, *, source: str | None = None) -> dict[str, Any]:
    """Copy database ``source`` (default: the one of ``url``) to ``name`` (replacing it)."""
    from sqlalchemy import text

    source = source or _db_name(url)
    started = time.perf_counter()
    with _admin(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}" STRATEGY FILE_COPY'))
        size = conn.execute(text("SELECT pg_size_pretty(pg_database_size(:n))"), {"n": name}).scalar()
    return {"snapshot": name, "of": source, "size": size, "wall_s": round(time.perf_counter() - started, 1)}


def drop(url: str, name: str) -> dict[str, Any]:
    """Drop database ``name``."""
    from sqlalchemy import text

    with _admin(url) as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    return {"dropped": name}


def data_sizes(url: str) -> dict[str, Any]:
    """Row counts the measures depend on, and the database size."""
    from sqlalchemy import create_engine, text

    from core.seed.loader import normalise_url

    tables = ("enterprise", "gov_record", "loan", "repayment_installment", "shareholding", "credit_score",
              "application", "risk_signal")
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
        out["enterprise_holdings"] = conn.execute(text(
            "SELECT count(*) FROM shareholding WHERE holder_enterprise_id IS NOT NULL")).scalar()
        out["data_day"] = str(conn.execute(text("SELECT max(as_of) FROM credit_score")).scalar())
        out["database_size"] = conn.execute(text("SELECT pg_size_pretty(pg_database_size(current_database()))")).scalar()
    engine.dispose()
    return out


# ---------------------------------------------------------------------------------------- steps


def prepare(url: str, *, scale: str, seed: int, as_of: date) -> dict[str, Any]:
    """Migrate, seed ``scale`` as of ``as_of`` and run the first rating (no risk run)."""
    from core.config import get_settings
    from core.db import reset_engine, upgrade
    from core.seed import seed_database

    out: dict[str, Any] = {"as_of": as_of.isoformat(), "load_before": load_average()}
    started = time.perf_counter()
    upgrade(url)
    report = seed_database(url, scale=scale, seed=seed, progress=False, as_of=as_of)
    out["seed"] = {**report.as_dict(), "wall_s": round(time.perf_counter() - started, 1)}
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    from core.auth.actor import SYSTEM_ACTOR
    from core.services.rating_runs import bootstrap_demo_rating

    started = time.perf_counter()
    rating = bootstrap_demo_rating(actor=SYSTEM_ACTOR, as_of=as_of).as_dict()
    rating.pop("enterprise_ids", None)
    out["rating"] = {**rating, "wall_s": round(time.perf_counter() - started, 1)}
    from scripts.bench_risk_day import sweep

    out["loan_sweep"] = sweep(url, as_of)  # the nightly sweep of the data day, as before any risk run
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load_after"] = load_average()
    return out


def risk_run(url: str, *, mode: str, as_of: date, profile: Path | None = None) -> dict[str, Any]:
    """One measured ``scripts/risk_run.py`` child; its report without the per-rule rows."""
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += ["scripts/risk_run.py", f"--{mode}", "--as-of", as_of.isoformat(), "--json", "--database-url", url]
    result = measured(argv, db_url=url)
    stdout = result.pop("stdout")
    try:
        report = json.loads(stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        report = {"unparsed": stdout[-500:]}
    rules = report.pop("rules", [])
    report["rules_seconds_total"] = round(sum(float(r.get("seconds") or 0) for r in rules), 1)
    slowest = sorted(rules, key=lambda r: -float(r.get("seconds") or 0))[:5]
    report.pop("enterprise_ids", None)
    if result["exit"] == 0:
        result.pop("stderr")
    return {"mode": mode, "as_of": as_of.isoformat(), "code": code_fingerprint(), **result, "report": report,
            "slowest_rules": [{k: r.get(k) for k in ("rule_code", "hits", "seconds")} for r in slowest]}


def runs(url: str, *, mode: str, as_of: date, repeat: int, from_snapshot: str | None,
         profile_dir: Path | None) -> list[dict[str, Any]]:
    """``repeat`` measured runs: in place, or each on a fresh copy of ``from_snapshot``."""
    out = []
    for n in range(1, repeat + 1):
        target, copy = url, None
        if from_snapshot:
            copy = f"{_db_name(url)}_run"
            made = snapshot(url, copy, source=from_snapshot)
            target = _with_db(url, copy)
        profile = profile_dir / f"{mode}_{n}.prof" if profile_dir else None
        result = {"repeat": n, "database": _db_name(target), **risk_run(target, mode=mode, as_of=as_of,
                                                                          profile=profile)}
        if copy:
            result["copy_wall_s"] = made["wall_s"]
            drop(url, copy)
        out.append(result)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["prepare", "snapshot", "drop", "full", "day", "incremental", "sizes"])
    parser.add_argument("--database-url", required=True, help="the scratch PostgreSQL database")
    parser.add_argument("--scale", default="large", help="prepare: demo data scale (default large)")
    parser.add_argument("--seed", type=int, default=42, help="prepare: generator seed; day: 42 + this")
    parser.add_argument("--data-day", type=date.fromisoformat,
                        help="full: the data set's day (default: the latest rating date, else yesterday)")
    parser.add_argument("--repeat", type=int, default=2, help="full / incremental: measured runs")
    parser.add_argument("--from-snapshot", help="full / incremental: run each repeat on a fresh copy of this")
    parser.add_argument("--name", help="snapshot / drop: the database to create or drop")
    parser.add_argument("--profile-dir", type=Path, help="full / incremental: write cProfile output here")
    parser.add_argument("--json", action="store_true", help="print one JSON object (the default prints it indented)")
    args = parser.parse_args(argv)
    url = args.database_url
    today = today_local()
    if args.step == "prepare":
        result: Any = prepare(url, scale=args.scale, seed=args.seed, as_of=today - timedelta(days=1))
    elif args.step == "snapshot":
        result = snapshot(url, args.name)
    elif args.step == "drop":
        result = drop(url, args.name)
    elif args.step == "sizes":
        result = data_sizes(url)
    elif args.step == "day":
        from scripts.bench_risk_day import build_day

        with tempfile.TemporaryDirectory() as work:
            result = {"load_before": load_average(),
                      **build_day(url, day=today, seed=args.seed + 42, workdir=Path(work)),
                      "load_after": load_average()}
    else:
        sizes = data_sizes(url if not args.from_snapshot else _with_db(url, args.from_snapshot))
        if args.step == "incremental":
            day = today
        elif args.data_day:
            day = args.data_day
        else:
            day = date.fromisoformat(sizes["data_day"]) if sizes["data_day"] != "None" else today - timedelta(days=1)
        if args.profile_dir:
            args.profile_dir.mkdir(parents=True, exist_ok=True)
        result = {"sizes": sizes, "runs": runs(url, mode=args.step, as_of=day, repeat=args.repeat,
                                               from_snapshot=args.from_snapshot, profile_dir=args.profile_dir)}
    print(json.dumps(result, ensure_ascii=False, default=str, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
