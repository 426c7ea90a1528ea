"""Build one day of newly arrived records on a seeded database, through the real paths where they exist.

Used by ``scripts/bench_risk_runs.py day`` (the incremental early-warning measure). For ``day`` (today in
Asia/Shanghai; the database seeded as of the day before):

* **Monthly department series** — a random ``share`` (1/22, a working day's part of a month's deliveries)
  of the enterprises has each of its monthly series re-delivered for the latest month with a revised value
  (× U(0.9, 1.1)). Electricity, tax paid and social-insurance headcount go through
  ``scripts/import_file.py`` (the shipped import mappings; the import updates the rows and stamps
  ``received_at``); housing fund, water and gas have no import mapping and are updated directly with
  ``received_at`` = now.
* **Events** — per event kind (judicial cases, penalties, arrears, abnormal operation, registration
  changes, …) a Poisson number with the kind's daily rate over the last 365 days; each copies a random
  event of that kind from that year (same enterprise, value, text and detail) dated ``day`` with a new
  reference, ``received_at`` = now. Inserted directly: the ``judicial_case`` mapping carries no ``detail``
  (the party's role, the cause), which the judicial rules read.
* **Repayments** — through ``record_repayment`` as a bank officer of the lending institution, one call
  (one transaction) each: 96 % of the unpaid installments of active loans due ``day``, 5 % of those due in
  1–3 days (early payers), and 4 % of the overdue loans (1–89 days past due) paying all their arrears.
* **The daily loan sweep** — ``scripts/loan_daily.py --as-of day`` (days past due, overdue / cured /
  defaulted loans, reminders).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update

ROOT = Path(__file__).resolve().parents[1]
MONTHLY_KINDS = ("electricity_kwh", "tax_paid", "si_headcount", "hf_contributors", "water_t", "gas_m3")
IMPORTED = {  # kind -> (import mapping, file suffix, header and how a row is written)
    "electricity_kwh": ("electricity", ".jsonl", None),
    "tax_paid": ("tax_paid", ".csv", ("纳税人识别号", "所属期", "实缴税额", "金额单位")),
    "si_headcount": ("social_insurance_headcount", ".csv", ("统一社会信用代码", "缴费月份", "参保人数")),
}
DECIMALS = {"electricity_kwh": 0, "tax_paid": 2, "si_headcount": 0, "hf_contributors": 0, "water_t": 1, "gas_m3": 0}
YEARLY_KINDS = ("tax_grade",)
PAY_DUE_TODAY, PAY_EARLY, CURE = 0.96, 0.05, 0.04


def _use(url: str) -> None:
    from core.config import get_settings
    from core.db import reset_engine

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()


def _in_chunks(conn, stmt, column, ids, size: int = 5000) -> pd.DataFrame:
    ids = [int(i) for i in ids]
    parts = [pd.read_sql(stmt.where(column.in_(ids[k:k + size])), conn) for k in range(0, len(ids), size)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _import(url: str, source: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "scripts/import_file.py", "--source", source, "--file", str(path),
                           "--json", "--database-url", url], cwd=ROOT, capture_output=True, text=True)
    out: dict[str, Any] = {"source": source, "exit": proc.returncode, "wall_s": round(time.perf_counter() - started, 1)}
    try:
        report = json.loads(proc.stdout)
        out.update({k: report.get(k) for k in ("status", "rows_read", "rows_inserted", "rows_updated",
                                                "rows_unchanged", "rows_rejected", "messages")})
    except json.JSONDecodeError:
        out["stderr"] = proc.stderr[-500:]
    return out


def monthly_deliveries(url: str, *, rng: np.random.Generator, share: float, workdir: Path) -> dict[str, Any]:
    """Re-deliver the latest month of every monthly series for ``share`` of the enterprises."""
    from core.db import session_scope
    from core.models import Enterprise, GovRecord

    e, g = Enterprise.__table__, GovRecord.__table__
    with session_scope() as s:
        conn = s.connection()
        ents = pd.read_sql(select(e.c.id, e.c.credit_code), conn)
        chosen = rng.choice(ents["id"].to_numpy(), size=max(1, round(len(ents) * share)), replace=False)
        latest = dict(s.execute(select(g.c.kind, func.max(g.c.period)).where(g.c.kind.in_(MONTHLY_KINDS))
                                .group_by(g.c.kind)).all())
        rows = _in_chunks(conn, select(g.c.id, g.c.enterprise_id, g.c.kind, g.c.period, g.c.value).where(
            g.c.kind.in_(MONTHLY_KINDS), g.c.period.in_(list(latest.values()))), g.c.enterprise_id, chosen)
    rows = rows[rows["period"].astype(str).str[:10] == rows["kind"].map(lambda k: str(latest[k])[:10])]
    rows = rows.merge(ents.rename(columns={"id": "enterprise_id"}), on="enterprise_id")
    factor = rng.uniform(0.9, 1.1, len(rows))
    rows["new"] = [round(float(v) * f, DECIMALS[k]) for v, f, k in zip(rows["value"], factor, rows["kind"], strict=True)]
    out: dict[str, Any] = {"enterprises_chosen": len(chosen), "records": len(rows),
                           "by_kind": rows["kind"].value_counts().to_dict(), "imports": [], "direct_updates": 0}
    for kind, (source, suffix, header) in IMPORTED.items():
        part = rows[rows["kind"] == kind]
        month = str(latest.get(kind, ""))[:7]
        path = workdir / f"day_{source}{suffix}"
        if suffix == ".jsonl":
            path.write_text("".join(json.dumps({"credit_code": c, "month": month, "kwh": v}) + "\n"
                                    for c, v in zip(part["credit_code"], part["new"], strict=True)), encoding="utf-8")
        else:
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(header)
                for c, v in zip(part["credit_code"], part["new"], strict=True):
                    unit = ["元"] if len(header) > 3 else []
                    writer.writerow([c, month, int(v) if DECIMALS[kind] == 0 else f"{v:.2f}", *unit])
        out["imports"].append({"kind": kind, "file_bytes": path.stat().st_size, **_import(url, source, path)})
        path.unlink()
    direct = rows[~rows["kind"].isin(list(IMPORTED))]
    now = datetime.now(UTC)
    started = time.perf_counter()
    with session_scope() as s:
        stmt = update(g).where(g.c.id == _bind("b_id")).values(value=_bind("b_value"), received_at=now)
        params = [{"b_id": int(i), "b_value": float(v)} for i, v in zip(direct["id"], direct["new"], strict=True)]
        for k in range(0, len(params), 5000):
            s.execute(stmt, params[k:k + 5000])
    out["direct_updates"] = len(direct)
    out["direct_wall_s"] = round(time.perf_counter() - started, 1)
    out["enterprise_ids"] = sorted({int(i) for i in rows["enterprise_id"]})
    return out


def _bind(name: str):
    from sqlalchemy import bindparam

    return bindparam(name)


def events(*, rng: np.random.Generator, day: date) -> dict[str, Any]:
    """New events dated ``day``: per kind a Poisson count at the kind's daily rate of the last year."""
    from core.db import session_scope
    from core.models import GovRecord

    g = GovRecord.__table__
    year_ago = day - timedelta(days=365)
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    enterprises: set[int] = set()
    started = time.perf_counter()
    with session_scope() as s:
        rates = dict(s.execute(select(g.c.kind, func.count()).where(
            g.c.kind.notin_(MONTHLY_KINDS + YEARLY_KINDS), g.c.period >= year_ago, g.c.period < day)
            .group_by(g.c.kind)).all())
        for kind, per_year in sorted(rates.items()):
            n = int(rng.poisson(per_year / 365))
            if n == 0:
                continue
            sample = s.execute(select(g.c.enterprise_id, g.c.source, g.c.kind, g.c.value, g.c.text, g.c.detail)
                               .where(g.c.kind == kind, g.c.period >= year_ago, g.c.period < day)
                               .order_by(func.random()).limit(n)).mappings().all()
            rows = [{**dict(r), "period": day, "ref": f"day{day:%Y%m%d}-{kind[:20]}-{i:04d}", "received_at": now}
                    for i, r in enumerate(sample)]
            s.execute(insert(g), rows)
            counts[kind] = len(rows)
            enterprises |= {int(r["enterprise_id"]) for r in rows}
    return {"by_kind": counts, "records": sum(counts.values()), "enterprise_ids": sorted(enterprises),
            "wall_s": round(time.perf_counter() - started, 1), "daily_rates": {k: round(v / 365, 1) for k, v in rates.items()}}


def repayments(*, rng: np.random.Generator, day: date) -> dict[str, Any]:
    """One day of repayments through ``record_repayment``, as a bank officer of each lending institution."""
    from core.auth.actor import Actor
    from core.db import session_scope
    from core.errors import JinfuError
    from core.models import Loan, RepaymentInstallment

    try:
        from core.services.loan_repayments import record_repayment
    except ImportError:  # older layout
        from core.services.loans import record_repayment
    ln, ins = Loan.__table__, RepaymentInstallment.__table__
    owed = ins.c.principal_due + ins.c.interest_due - func.coalesce(ins.c.principal_paid, 0) - func.coalesce(
        ins.c.interest_paid, 0)
    open_loan = (ln.c.paused_until.is_(None) | (ln.c.paused_until < day))
    with session_scope() as s:
        conn = s.connection()
        soon = pd.read_sql(select(ln.c.id.label("loan_id"), ln.c.enterprise_id, ln.c.institution_id, ins.c.due_date,
                                  owed.label("owed")).join(ins, ins.c.loan_id == ln.c.id).where(
            ln.c.status == "active", open_loan, ins.c.status != "paid", ins.c.due_date >= day,
            ins.c.due_date <= day + timedelta(days=3)), conn)
        arrears = pd.read_sql(select(ln.c.id.label("loan_id"), ln.c.enterprise_id, ln.c.institution_id,
                                     func.sum(owed).label("owed"), func.max(ins.c.days_past_due).label("dpd"))
                              .join(ins, ins.c.loan_id == ln.c.id).where(
            ln.c.status == "overdue", open_loan, ins.c.status != "paid", ins.c.due_date < day)
            .group_by(ln.c.id, ln.c.enterprise_id, ln.c.institution_id), conn)
    soon["due_date"] = pd.to_datetime(soon["due_date"]).dt.date
    p = np.where(soon["due_date"] == day, PAY_DUE_TODAY, PAY_EARLY)
    pay = soon[rng.random(len(soon)) < p].drop_duplicates("loan_id")
    arrears = arrears[(arrears["dpd"] >= 1) & (arrears["dpd"] < 90)]
    cure = arrears[rng.random(len(arrears)) < CURE]
    todo = pd.concat([pay.assign(why="due"), cure.assign(why="cure")], ignore_index=True)
    done, refused = 0, {}
    started = time.perf_counter()
    for row in todo.itertuples(index=False):
        officer = Actor(user_id=None, label="bench-bank-officer", roles=frozenset({"bank_officer"}),
                        organization_id=int(row.institution_id))
        amount = Decimal(str(row.owed)).quantize(Decimal("0.01"))
        try:
            record_repayment(actor=officer, loan_id=int(row.loan_id), amount=amount, paid_on=day,
                             idempotency_key=f"bench-day-{day:%Y%m%d}-{int(row.loan_id)}-{row.why}")
            done += 1
        except JinfuError as exc:
            refused[exc.key] = refused.get(exc.key, 0) + 1
    wall = time.perf_counter() - started
    return {"due_in_window": len(soon), "due_today": int((soon["due_date"] == day).sum()),
            "overdue_loans_1_89": len(arrears), "attempted": len(todo), "recorded": done, "refused": refused,
            "wall_s": round(wall, 1), "ms_per_repayment": round(1000 * wall / max(len(todo), 1), 1),
            "enterprise_ids": sorted({int(i) for i in todo["enterprise_id"]})}


def sweep(url: str, day: date) -> dict[str, Any]:
    """The daily loan sweep for ``day`` through its script."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "scripts/loan_daily.py", "--as-of", day.isoformat(), "--json",
                           "--database-url", url], cwd=ROOT, capture_output=True, text=True)
    out: dict[str, Any] = {"exit": proc.returncode, "wall_s": round(time.perf_counter() - started, 1)}
    try:
        out.update(json.loads(proc.stdout))
    except json.JSONDecodeError:
        out["stderr"] = proc.stderr[-500:]
    return out


def build_day(url: str, *, day: date, seed: int = 1, share: float = 1 / 22, workdir: Path) -> dict[str, Any]:
    """Everything of one day (see the module docstring); counts, timings and the enterprises touched."""
    _use(url)
    rng = np.random.default_rng(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"day": day.isoformat(), "seed": seed, "share": round(share, 4)}
    report["monthly"] = monthly_deliveries(url, rng=rng, share=share, workdir=workdir)
    report["events"] = events(rng=rng, day=day)
    report["repayments"] = repayments(rng=rng, day=day)
    report["sweep"] = sweep(url, day)
    touched: set[int] = set()
    for part in ("monthly", "events", "repayments"):
        touched |= set(report[part].pop("enterprise_ids"))
    report["enterprises_touched_by_records"] = len(touched)
    report["gov_records"] = report["monthly"]["records"] + report["events"]["records"]
    return report
