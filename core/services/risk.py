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
* The run's clock: ``as_of`` today stamps the wall-clock time; a past ``as_of`` (replays, demos) stamps
  the end of that day in Asia/Shanghai, so raising, expiry and aging follow the replayed calendar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import or_, select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.errors import InvalidError
from core.models import (
    Application,
    AuditEvent,
    CreditScore,
    Enterprise,
    GovRecord,
    Loan,
    RepaymentInstallment,
    Shareholding,
)
from core.models.types import utcnow
from core.risk import evaluate as engine
from core.risk.levels import aggregate
from core.services.risk_cases import open_large_default_cases
from core.services.risk_rules import draft_row, parse_document, published_rules
from core.services.risk_signals import age_out, persist_hits
from core.services.scoring import LOCAL_TZ, today_local
from core.usecase import use_case

CHUNK_SIZE = 25_000
LOOKBACK_MONTHS = 27  # year-on-year comparisons need a year and a bit of monthly history
NOTIFY_LEVEL = 7
RELATED_HOPS = 3
RUN_ACTIONS = ("risk.run.full", "risk.run.incremental")
Progress = Callable[[float, str], None] | None


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
# Loading
# ---------------------------------------------------------------------------------------------


def _months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def _frame(session: Session, stmt, ids: Sequence[int] | None, column) -> pd.DataFrame:
    """``stmt`` restricted to ``column IN ids`` in bounded chunks (all rows when ``ids`` is None)."""
    conn = session.connection()
    if ids is None:
        return pd.read_sql(stmt, conn)
    parts = [pd.read_sql(stmt.where(column.in_([int(i) for i in ids[k:k + 5000]])), conn)
             for k in range(0, len(ids), 5000)]
    return pd.concat(parts, ignore_index=True) if parts else pd.read_sql(stmt.where(column.in_([-1])), conn)


def _dates(frame: pd.DataFrame, names: Sequence[str], *, utc: bool = False) -> None:
    for name in names:
        frame[name] = pd.to_datetime(frame[name], utc=utc, format="ISO8601", errors="coerce")


def _strings(frame: pd.DataFrame, names: Sequence[str]) -> None:
    for name in names:
        frame[name] = frame[name].map(lambda v: None if v is None else str(getattr(v, "value", v)))


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """String columns as plain ``object`` (pandas 3 infers ``str``, on which an empty ``map`` stays text)."""
    for name in frame.columns:
        if pd.api.types.is_string_dtype(frame[name].dtype) and frame[name].dtype != object:
            frame[name] = frame[name].astype(object)
    return frame


def load_shareholdings(session: Session, as_of: date) -> pd.DataFrame:
    """Every shareholding that started by ``as_of``, ended ones included (the engine reads changes of
    major shareholders; the whole ownership graph is small).

    Args:
        session: the caller's session.
        as_of: the evaluation date.
    """
    sh = Shareholding.__table__
    frame = pd.read_sql(select(sh.c.enterprise_id, sh.c.holder_type, sh.c.holder_enterprise_id, sh.c.holder_name,
                               sh.c.holder_id_number, sh.c.share_pct, sh.c.since, sh.c.until)
                        .where(sh.c.since <= as_of), session.connection())
    frame["share_pct"] = pd.to_numeric(frame["share_pct"], errors="coerce").astype(float)
    frame["holder_enterprise_id"] = pd.to_numeric(frame["holder_enterprise_id"], errors="coerce").astype("Int64")
    _strings(frame, ["holder_type"])
    _dates(frame, ["since", "until"])
    return _plain(frame)


def with_related(shareholdings: pd.DataFrame, ids: Sequence[int], hops: int = RELATED_HOPS) -> list[int]:
    """``ids`` and the enterprises linked to them through enterprise holdings, up to ``hops`` links away.

    Args:
        shareholdings: the frame of :func:`load_shareholdings`.
        ids: the enterprises to start from.
        hops: how many links to follow.
    """
    links = shareholdings.dropna(subset=["holder_enterprise_id"])
    a = links["enterprise_id"].astype(np.int64).to_numpy()
    b = links["holder_enterprise_id"].astype(np.int64).to_numpy()
    found = np.unique(np.asarray(list(ids), dtype=np.int64))
    for _ in range(hops):
        grown = np.union1d(found, np.union1d(b[np.isin(a, found)], a[np.isin(b, found)]))
        if len(grown) == len(found):
            break
        found = grown
    return [int(i) for i in found]


def load_risk_inputs(session: Session, *, as_of: date, enterprise_ids: Sequence[int] | None = None,
                     shareholdings: pd.DataFrame | None = None) -> engine.RiskInputs:
    """The engine's inputs for ``enterprise_ids`` (None: every enterprise), read in bulk.

    Args:
        session: the caller's session.
        as_of: the evaluation date (records after it are left out).
        enterprise_ids: the enterprises to load.
        shareholdings: the ownership graph if the caller loaded it already.
    """
    e, g, ln, ins = (Enterprise.__table__, GovRecord.__table__, Loan.__table__, RepaymentInstallment.__table__)
    cs, ap = CreditScore.__table__, Application.__table__
    since = _months_before(as_of, LOOKBACK_MONTHS)
    ids = None if enterprise_ids is None else sorted({int(i) for i in enterprise_ids})
    enterprises = _frame(session, select(e.c.id, e.c.name, e.c.district_code, e.c.industry_section, e.c.scale),
                         ids, e.c.id)
    _strings(enterprises, ["scale"])
    gov = _frame(session, select(g.c.enterprise_id, g.c.source, g.c.kind, g.c.period, g.c.ref, g.c.value, g.c.text,
                                 g.c.detail, g.c.received_at).where(g.c.period >= since, g.c.period <= as_of), ids, g.c.enterprise_id)
    _strings(gov, ["source"])
    gov["value"] = pd.to_numeric(gov["value"], errors="coerce").astype(float)
    _dates(gov, ["period"])
    _dates(gov, ["received_at"], utc=True)
    loans = _frame(session, select(ln.c.id, ln.c.enterprise_id, ln.c.institution_id, ln.c.amount, ln.c.status,
                                   ln.c.disbursed_at, ln.c.paused_until, ln.c.outstanding_principal,
                                   ln.c.defaulted_at), ids, ln.c.enterprise_id)
    _strings(loans, ["status"])
    for money in ("amount", "outstanding_principal"):
        loans[money] = pd.to_numeric(loans[money], errors="coerce").astype(float)
    _dates(loans, ["paused_until"])
    _dates(loans, ["disbursed_at", "defaulted_at"], utc=True)
    loan_ids = [int(i) for i in loans["id"]]
    installments = _frame(session, select(ins.c.loan_id, ins.c.seq, ins.c.due_date, ins.c.principal_due,
                                          ins.c.interest_due, ins.c.paid_amount, ins.c.paid_on, ins.c.days_past_due,
                                          ins.c.status).where(ins.c.due_date <= as_of), loan_ids, ins.c.loan_id)
    _strings(installments, ["status"])
    for money in ("principal_due", "interest_due", "paid_amount"):
        installments[money] = pd.to_numeric(installments[money], errors="coerce").astype(float)
    _dates(installments, ["due_date", "paid_on"])
    scores = _frame(session, select(cs.c.enterprise_id, cs.c.as_of, cs.c.score, cs.c.grade)
                    .where(cs.c.as_of >= since, cs.c.as_of <= as_of), ids, cs.c.enterprise_id)
    _strings(scores, ["grade"])
    _dates(scores, ["as_of"])
    applications = _frame(session, select(ap.c.enterprise_id, ap.c.institution_id, ap.c.submitted_at)
                          .where(ap.c.submitted_at >= datetime.combine(since, dtime(), tzinfo=UTC)),
                          ids, ap.c.enterprise_id)
    _dates(applications, ["submitted_at"], utc=True)
    graph = load_shareholdings(session, as_of) if shareholdings is None else shareholdings
    return engine.RiskInputs(enterprises=_plain(enterprises), gov_records=_plain(gov), loans=_plain(loans),
                             installments=_plain(installments), shareholdings=graph, scores=_plain(scores),
                             applications=_plain(applications))


# ---------------------------------------------------------------------------------------------
# Evaluating
# ---------------------------------------------------------------------------------------------


def _merge_status(into: dict[str, dict[str, Any]], status: pd.DataFrame) -> None:
    for row in status.to_dict("records"):
        code = str(row["rule_code"])
        now = into.setdefault(code, {"rule_code": code, "status": str(row["status"]), "hits": 0, "error": None,
                                     "seconds": 0.0})
        now["hits"] += int(row.get("hits") or 0)
        now["seconds"] = round(now["seconds"] + float(row.get("seconds") or 0.0), 4)
        if row["status"] == "error":
            now["status"], now["error"] = "error", str(row.get("error") or "")[:300]


def evaluate_chunks(session: Session, rule_set, *, as_of: date, ids: Sequence[int] | None,
                    progress: Progress = None, chunk_size: int = CHUNK_SIZE):
    """Evaluate ``rule_set`` over ``ids`` (None: every enterprise) chunk by chunk; yield each result.

    Args:
        session: the caller's session.
        rule_set: the engine rule set.
        as_of: the evaluation date.
        ids: the target enterprises.
        progress: ``callback(fraction, stage)``.
        chunk_size: target enterprises per chunk.
    """
    step = progress or (lambda fraction, stage: None)
    if ids is None:
        ids = [int(i) for i in session.execute(select(Enterprise.__table__.c.id).order_by(Enterprise.__table__.c.id))
               .scalars()]
    ids = sorted({int(i) for i in ids})
    graph = load_shareholdings(session, as_of)
    chunks = [ids[k:k + chunk_size] for k in range(0, len(ids), max(1, int(chunk_size)))]
    for n, chunk in enumerate(chunks, start=1):
        inputs = load_risk_inputs(session, as_of=as_of, enterprise_ids=with_related(graph, chunk), shareholdings=graph)
        yield chunk, engine.evaluate(inputs, rule_set, as_of=as_of, enterprise_ids=chunk)
        step(n / len(chunks), "evaluate")


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


def run_stamp(as_of: date) -> datetime:
    """The time a run on ``as_of`` stamps on what it raises: now, or the end of a past day (UTC)."""
    if as_of >= today_local():
        return utcnow()
    return datetime.combine(as_of, dtime(23, 59, 59), tzinfo=LOCAL_TZ).astimezone(UTC)


def _check_as_of(as_of: date | None) -> date:
    if as_of is None:
        return today_local()
    if not isinstance(as_of, date) or isinstance(as_of, datetime) or as_of > today_local():
        raise InvalidError("risk.svc.error.as_of", field="as_of")
    return as_of


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
        _merge_status(statuses, result.rule_status)
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
    as_of = _check_as_of(as_of)
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
    as_of = _check_as_of(as_of)
    published_rules(session)
    if last_run_started(session) is not None:
        return RiskRunReport(as_of=as_of, mode="bootstrap", skipped=True)
    report = execute_run(session, as_of=as_of, mode="full", ids=None, progress=progress)
    uow.audit("risk.run.full", entity_type="risk_signal", after={**report.as_dict(), "bootstrap": True})
    report.mode = "bootstrap"
    return report


# ---------------------------------------------------------------------------------------------
# Dry run of a draft
# ---------------------------------------------------------------------------------------------

DIFF_COLUMNS = ["enterprise_id", "enterprise_name", "change", "level_before", "level_after", "colour_before",
                "colour_after", "rules_before", "rules_after"]
DRY_RUN_ROWS = 500  # rows of the diff kept on the draft


@dataclass
class DryRunResult:
    """How a draft would flag enterprises compared with the published version."""

    set_version: int
    against_version: int
    as_of: date
    newly_flagged: int
    no_longer_flagged: int
    level_changed: int
    unchanged: int
    frame: pd.DataFrame  # DIFF_COLUMNS; change is newly_flagged | no_longer_flagged | level_up | level_down
    rules: list[dict[str, Any]]
    version: int  # the draft row's version after the result was stored


def flag_diff(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per enterprise, how the flagged set changes from ``before`` hits to ``after`` hits.

    Args:
        before: hits of the published set.
        after: hits of the draft.

    Returns:
        ``enterprise_id``, ``change``, ``level_before``, ``level_after``, ``colour_before``,
        ``colour_after``, ``rules_before``, ``rules_after`` (only enterprises whose flag or level moved).
    """
    a = aggregate(before).set_index("enterprise_id") if len(before) else pd.DataFrame()
    b = aggregate(after).set_index("enterprise_id") if len(after) else pd.DataFrame()
    cols = ["max_level", "colour", "rule_codes"]
    a = a.reindex(columns=cols)
    b = b.reindex(columns=cols)
    both = a.merge(b, how="outer", left_index=True, right_index=True, suffixes=("_before", "_after"))
    lb, la = both["max_level_before"], both["max_level_after"]
    change = np.select([lb.isna() & la.notna(), lb.notna() & la.isna(), la > lb, la < lb],
                       ["newly_flagged", "no_longer_flagged", "level_up", "level_down"], "unchanged")
    out = pd.DataFrame({
        "enterprise_id": both.index.astype(int), "change": change,
        "level_before": lb.astype("Int64").to_numpy(), "level_after": la.astype("Int64").to_numpy(),
        "colour_before": both["colour_before"].to_numpy(), "colour_after": both["colour_after"].to_numpy(),
        "rules_before": both["rule_codes_before"].map(_codes).to_numpy(),
        "rules_after": both["rule_codes_after"].map(_codes).to_numpy()})
    return out.sort_values(["change", "enterprise_id"]).reset_index(drop=True)


def _codes(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    return ",".join(sorted(str(v) for v in value))


@use_case(permission=Permission.risk_manage, write=True)
def dry_run_risk_draft(uow, *, actor: Actor, set_version: int, as_of: date | None = None) -> DryRunResult:
    """Evaluate a draft and the published version on current data; store and return the diff.

    Args:
        set_version: the draft's version number.
        as_of: the evaluation date (default: today).

    Raises:
        RiskSetNotDraftError: the version is not a draft.
    """
    session = uow.session
    as_of = _check_as_of(as_of)
    draft = draft_row(session, set_version, None)
    published, current, _ = published_rules(session)
    candidate = parse_document(draft.rules)
    hits = {"before": [], "after": []}
    statuses: dict[str, dict[str, Any]] = {}
    for name, rule_set in (("before", current), ("after", candidate)):
        for _, result in evaluate_chunks(session, rule_set, as_of=as_of, ids=None):
            hits[name].append(result.hits)
            if name == "after":
                _merge_status(statuses, result.rule_status)
    frames = {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame(columns=["enterprise_id", "level"])
              for k, v in hits.items()}
    diff = flag_diff(frames["before"], frames["after"])
    counts = diff["change"].value_counts()
    moved = diff[diff["change"] != "unchanged"].copy()
    names = dict(session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_([int(i) for i in moved["enterprise_id"].head(5000)]))).all())
    moved.insert(1, "enterprise_name", moved["enterprise_id"].map(names))
    moved = moved[DIFF_COLUMNS].reset_index(drop=True)
    result = DryRunResult(
        set_version=draft.set_version, against_version=published.set_version, as_of=as_of,
        newly_flagged=int(counts.get("newly_flagged", 0)), no_longer_flagged=int(counts.get("no_longer_flagged", 0)),
        level_changed=int(counts.get("level_up", 0) + counts.get("level_down", 0)),
        unchanged=int(counts.get("unchanged", 0)), frame=moved,
        rules=sorted(statuses.values(), key=lambda r: r["rule_code"]), version=draft.version)
    summary = {"against": published.set_version, "as_of": as_of.isoformat(), "newly_flagged": result.newly_flagged,
               "no_longer_flagged": result.no_longer_flagged, "level_changed": result.level_changed,
               "unchanged": result.unchanged, "failed_rules": [r["rule_code"] for r in result.rules
                                                               if r["status"] == "error"]}
    stored = moved.head(DRY_RUN_ROWS).astype(object).where(moved.head(DRY_RUN_ROWS).notna(), None)
    draft.dry_run = {**summary, "rows": stored.to_dict("records")}
    session.add(draft)
    session.flush()
    result.version = draft.version
    uow.audit("risk.rule_set.dry_run", entity_type="risk_rule_set", entity_id=draft.id, after=summary)
    return result
