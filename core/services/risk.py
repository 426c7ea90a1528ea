"""Early-warning runs: load the inputs in bulk, evaluate the published rules, persist the signals.

* **Full run** — every enterprise, in id chunks (each chunk loaded with the enterprises related to it
  through shareholdings, so propagation sees its neighbours). **Incremental run** — only the
  enterprises with a government record, loan, installment, rating or application that changed since
  the last run (the last run's start is read from its audit event ``risk.run.*``; without one the run
  is a full run).
* **Persisting** (:func:`persist_hits`): one signal per fact and lending institution — the engine's
  fingerprint of the fact combined with the institution is the row's unique ``fingerprint``, so every
  institution lending to the enterprise (loans active, overdue or defaulted) gets the signal in its
  post-loan queue; an enterprise without lenders gets one signal without institution (the regulator
  and the enterprise still see it). A fact seen again updates ``last_seen_at`` and pushes
  ``expires_at`` out by the rule's ``ttl_days``; a closed signal stays closed. A signal past
  ``expires_at`` that was not seen again ages out (closed, step ``aged_out``). New signals at level
  ``notify_level`` (7) or above notify every regulator organization once per fact.
* **Large defaults** — every defaulted loan whose outstanding principal reaches
  ``large_default_threshold_yuan`` opens one ``LargeDefaultCase``.
* **Safe to repeat** — the same run twice raises nothing new. A rule that fails is reported in
  ``RiskRunReport.rules`` (status ``error``); the other rules complete.
* Loading and chunked evaluation live in ``core.services.risk_inputs``; persisting, aging and notices
  in ``core.services.risk_signal_store``; the dry run of a draft in ``core.services.risk_dry_run``.
* The run's clock: ``as_of`` today stamps the wall-clock time; a past ``as_of`` (replays, demos) stamps
  the end of that day in Asia/Shanghai, so raising, expiry and aging follow the replayed calendar.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.errors import InvalidError
from core.models import Application, AuditEvent, CreditScore, GovRecord, Loan, RepaymentInstallment
from core.models.types import utcnow
from core.services.risk_cases import open_large_default_cases
from core.services.risk_inputs import CHUNK_SIZE, Progress, check_as_of, evaluate_chunks, merge_status
from core.services.risk_rules import published_rules
from core.services.risk_signal_store import NOTIFY_LEVEL, age_out, persist_hits
from core.services.scoring import LOCAL_TZ, today_local
from core.usecase import use_case

RUN_ACTIONS = ("risk.run.full", "risk.run.incremental")


@dataclass
class RiskRunReport:
    """What a run did: enterprises evaluated, signals raised, seen again, aged out; rule by rule."""

    as_of: date
    mode: str  # full | incremental | bootstrap
    set_version: int = 0
    enterprises: int = 0
    hits: int = 0
    raised: int = 0
    seen_again: int = 0
    kept_closed: int = 0
    aged_out: int = 0
    notified: int = 0
    cases_opened: int = 0
    rules: list[dict[str, Any]] = field(default_factory=list)  # rule_code, status, hits, error, seconds
    seconds: float = 0.0
    started_at: datetime | None = None
    enterprise_ids: list[int] = field(default_factory=list)  # incremental: the changed ones (first 200)
    skipped: bool = False

    @property
    def failed_rules(self) -> list[str]:
        return [r["rule_code"] for r in self.rules if r.get("status") == "error"]

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "mode": self.mode, "set_version": self.set_version,
                "enterprises": self.enterprises, "hits": self.hits, "raised": self.raised,
                "seen_again": self.seen_again, "kept_closed": self.kept_closed, "aged_out": self.aged_out,
                "notified": self.notified, "cases_opened": self.cases_opened, "failed_rules": self.failed_rules,
                "rules": self.rules, "seconds": round(self.seconds, 3),
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "enterprise_ids": self.enterprise_ids[:200], "skipped": self.skipped}

# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def run_stamp(as_of: date) -> datetime:
    """The time a run on ``as_of`` stamps on what it raises: now, or the end of a past day (UTC)."""
    if as_of >= today_local():
        return utcnow()
    return datetime.combine(as_of, dtime(23, 59, 59), tzinfo=LOCAL_TZ).astimezone(UTC)


def last_run_started(session: Session) -> datetime | None:
    """When the latest full or incremental run started (from its audit event), or None.

    Args:
        session: the caller's session.
    """
    after = session.execute(select(AuditEvent.after).where(AuditEvent.action.in_(RUN_ACTIONS))
                            .order_by(AuditEvent.id.desc()).limit(1)).scalar()
    if not after or not after.get("started_at"):
        return None
    return datetime.fromisoformat(after["started_at"])


def changed_enterprises(session: Session, *, since: datetime, as_of: date) -> list[int]:
    """Enterprises with a record, loan, installment, rating or application changed after ``since``.

    Installments carry no timestamp: one paid, or falling due, after ``since``'s day counts.

    Args:
        session: the caller's session.
        since: the last run's start (UTC).
        as_of: the evaluation date.
    """
    g, ln, ins = GovRecord.__table__, Loan.__table__, RepaymentInstallment.__table__
    cs, ap = CreditScore.__table__, Application.__table__
    day = since.astimezone(LOCAL_TZ).date()
    statements = [
        select(g.c.enterprise_id).where(g.c.received_at > since),
        select(ln.c.enterprise_id).where(or_(ln.c.updated_at > since, ln.c.created_at > since)),
        select(ln.c.enterprise_id).join(ins, ins.c.loan_id == ln.c.id).where(
            or_(ins.c.paid_on >= day, (ins.c.due_date >= day) & (ins.c.due_date <= as_of))),
        select(cs.c.enterprise_id).where(cs.c.created_at > since),
        select(ap.c.enterprise_id).where(or_(ap.c.submitted_at > since, ap.c.updated_at > since)),
    ]
    found: set[int] = set()
    for stmt in statements:
        found |= {int(i) for i in session.execute(stmt.distinct()).scalars()}
    return sorted(found)


def execute_run(session: Session, *, as_of: date, mode: str, ids: Sequence[int] | None,
                notify_level: int = NOTIFY_LEVEL, progress: Progress = None,
                chunk_size: int = CHUNK_SIZE) -> RiskRunReport:
    """Evaluate, persist, age out and open large-default cases (the caller owns the transaction).

    Args:
        session: the caller's session.
        as_of: the evaluation date.
        mode: ``full``, ``incremental`` or ``bootstrap`` (recorded).
        ids: the target enterprises (None: all).
        notify_level: new signals at this level or above notify the regulator.
        progress: ``callback(fraction, stage)``.
        chunk_size: enterprises per chunk.
    """
    started = time.perf_counter()
    step = progress or (lambda fraction, stage: None)
    report = RiskRunReport(as_of=as_of, mode=mode, started_at=utcnow())
    row, rule_set, rule_ids = published_rules(session)
    report.set_version = row.set_version
    stamp = run_stamp(as_of)
    statuses: dict[str, dict[str, Any]] = {}
    step(0.0, "load")
    for chunk, result in evaluate_chunks(session, rule_set, as_of=as_of, ids=ids, chunk_size=chunk_size,
                                         progress=lambda f, s: step(0.9 * f, s)):
        report.enterprises += len(chunk)
        merge_status(statuses, result.rule_status)
        counts = persist_hits(session, result.hits, rule_set=rule_set, rule_ids=rule_ids,
                              set_version=row.set_version, stamp=stamp, notify_level=notify_level)
        for name, value in counts.items():
            setattr(report, name, getattr(report, name) + value)
    step(0.92, "age")
    report.aged_out = age_out(session, stamp=stamp)
    report.cases_opened = open_large_default_cases(session)
    report.rules = sorted(statuses.values(), key=lambda r: r["rule_code"])
    report.seconds = time.perf_counter() - started
    step(1.0, "done")
    return report


@use_case(permission=Permission.rating_run, write=True)
def run_risk(uow, *, actor: Actor, as_of: date | None = None, incremental: bool = False,
             notify_level: int = NOTIFY_LEVEL, progress: Progress = None) -> RiskRunReport:
    """Run the published early-warning rules: on every enterprise, or only on the changed ones.

    Args:
        as_of: the evaluation date (default: today in Asia/Shanghai; never in the future).
        incremental: only enterprises whose records changed since the last run (a full run when there
            was none).
        notify_level: new signals at this level (1–8) or above notify the regulator.
        progress: optional ``callback(fraction, stage)``.

    Raises:
        InvalidError: ``as_of`` in the future, or ``notify_level`` outside 1–8.
    """
    session = uow.session
    as_of = check_as_of(as_of)
    if isinstance(notify_level, bool) or not isinstance(notify_level, int) or not 1 <= notify_level <= 8:
        raise InvalidError("risk.svc.error.notify_level", field="notify_level")
    since = last_run_started(session) if incremental else None
    if incremental and since is not None:
        ids = changed_enterprises(session, since=since, as_of=as_of)
        report = execute_run(session, as_of=as_of, mode="incremental", ids=ids, notify_level=notify_level,
                             progress=progress)
        report.enterprise_ids = ids[:200]
    else:
        report = execute_run(session, as_of=as_of, mode="full", ids=None, notify_level=notify_level,
                             progress=progress)
    uow.audit(f"risk.run.{report.mode}", entity_type="risk_signal", after=report.as_dict())
    return report


@use_case(permission=Permission.seed, write=True)
def bootstrap_demo_risk(uow, *, actor: Actor, as_of: date | None = None, progress: Progress = None
                        ) -> RiskRunReport:
    """Demo seeding: publish the shipped rule set (v1) and run the full risk run once.

    A database where a run happened already is left alone (the report says ``skipped``).

    Args:
        as_of: the evaluation date (default: today).
        progress: optional ``callback(fraction, stage)``.
    """
    session = uow.session
    as_of = check_as_of(as_of)
    published_rules(session)
    if last_run_started(session) is not None:
        return RiskRunReport(as_of=as_of, mode="bootstrap", skipped=True)
    report = execute_run(session, as_of=as_of, mode="full", ids=None, progress=progress)
    uow.audit("risk.run.full", entity_type="risk_signal", after={**report.as_dict(), "bootstrap": True})
    report.mode = "bootstrap"
    return report
