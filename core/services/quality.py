"""The daily data-quality run, its issues and scores, trends, and the department failure reports.

Rules (each one is tested under ``tests/integration/quality/``):

* **Run** — :func:`run_quality_checks` loads the four tables the rules read in bulk
  (``pandas.read_sql`` on the unit of work's connection, no per-row ORM), evaluates the published
  rule set (:func:`core.quality.rules.run_rules`), and writes one ``QualityRun``, the new
  ``DataQualityIssue`` rows (bulk insert) and ``QualityScore`` rows per overall, source department,
  dimension, source × dimension and rule — score NULL when nothing in the group was evaluated. A
  rule that raises is recorded with status ``error`` and the others complete.
* **Issues** — an issue is one failing record of one rule, keyed by (``rule_code``, ``record_ref``);
  ``run_id`` names the run that first found it. A later run that evaluates the rule and no longer
  finds the record sets ``resolved_at`` to that run's ``started_at``; a rule that did not run
  (disabled, not evaluated, error) resolves nothing.
* **Same day** — re-running an ``as_of`` that already has a run replaces it: the old run's scores
  and first-found issues are removed and the issues it resolved reopened before the new run is
  applied, so a day never has duplicate issues. Runs go forward: an ``as_of`` before the latest
  run is refused (``QualityRunOutOfOrderError``).
* **Reads** (``oversight.read``) — the latest scores with the change since the previous run, trends
  per group, the issue list, and one department's open failures as CSV or Excel in the reader's
  language, for the department to fix at the source.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Date, DateTime, Numeric, delete, func, insert, update
from sqlmodel import col, select

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError
from core.i18n import normalize_locale, translate
from core.models import (
    DataQualityIssue,
    Enterprise,
    FinancialStatement,
    GovRecord,
    QualityRun,
    QualityScore,
    Shareholding,
)
from core.models.types import utcnow
from core.quality.mapping import SOURCES
from core.quality.rules import DIMENSIONS, Reference, RunResult, run_rules
from core.quality.scoring import SEVERITY_ORDER, score_card, trend
from core.reference import districts, industries, industry_sections
from core.services.quality_rules import published_rule_set
from core.usecase import use_case

Progress = Callable[[int, int, str], None]  # (done, total, stage) with stage load / rules / write
TABLE_MODELS = {"enterprise": Enterprise, "shareholding": Shareholding, "gov_record": GovRecord,
                "financial_statement": FinancialStatement}
LEVELS = ("overall", "source", "dimension", "source_dimension", "rule")
ISSUE_STATES = ("open", "resolved", "all")
REPORT_FORMATS = ("csv", "xlsx")
RULE_CHUNK = 10  # rules per engine call, so progress moves as the rules run
REF_MAX, DETAIL_MAX = 120, 1000
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class QualityRunOutOfOrderError(ConflictError):
    """A run for a day before the latest run's day would rewrite issue history."""

    key = "dqc.error.run_out_of_order"


class QualityRunPublic(BaseModel):
    """One quality run as services return it."""

    run_id: str
    as_of: date
    rule_set_version: int
    status: str
    rules_evaluated: int
    rules_not_evaluated: int  # enabled rules that did not run: inputs missing, or an error
    rules_disabled: int
    rules_error: int
    issues_found: int
    new_issues: int
    resolved_issues: int
    overall_score: float | None
    started_at: datetime
    finished_at: datetime | None


class QualityOverview(BaseModel):
    """The latest run, the one before, its scores with their change, its rules, open issues."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    run: QualityRunPublic | None
    previous: QualityRunPublic | None
    open_issues: int
    scores: pd.DataFrame  # level, key, score, score_previous, delta, direction, checked, failed, rules_*
    rules: pd.DataFrame  # the published rules with the latest run's status and pass rate
    open_by_source: pd.DataFrame  # source, open


class IssuePage(BaseModel):
    """One page of issues and the total matching the filters."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    total: int
    page: int
    page_size: int
    rows: pd.DataFrame


def _public(run: QualityRun) -> QualityRunPublic:
    counts = (run.summary or {}).get("counts", {})
    issues = (run.summary or {}).get("issues", {})
    return QualityRunPublic(
        run_id=run.run_id, as_of=run.as_of, rule_set_version=run.rule_set_version, status=run.status,
        rules_evaluated=run.rules_evaluated, rules_not_evaluated=run.rules_not_evaluated,
        rules_disabled=int(counts.get("disabled", 0)), rules_error=int(counts.get("error", 0)),
        issues_found=run.issues_found, new_issues=int(issues.get("new", 0)),
        resolved_issues=int(issues.get("resolved", 0)), overall_score=run.overall_score,
        started_at=run.started_at, finished_at=run.finished_at,
    )


def local_today() -> date:
    """Today in the platform's time zone (the default ``as_of`` of a run)."""
    return datetime.now(LOCAL_TZ).date()


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def load_frames(connection) -> dict[str, pd.DataFrame]:
    """The four tables as model-shaped frames (dates as ``datetime64[s]``, money as float yuan).

    Args:
        connection: an open SQLAlchemy connection (the unit of work's).
    """
    frames = {}
    for name, model in TABLE_MODELS.items():
        table = model.__table__
        columns = [c for c in table.columns if not isinstance(c.type, JSON) and c.name not in ("version",)]
        frame = pd.read_sql(select(*columns), connection)
        for c in columns:
            kind = getattr(c.type, "impl", c.type)
            if isinstance(kind, DateTime):
                frame[c.name] = pd.to_datetime(frame[c.name], utc=True, errors="coerce", format="mixed")
            elif isinstance(kind, Date):
                frame[c.name] = pd.to_datetime(frame[c.name], errors="coerce").astype("datetime64[s]")
            elif isinstance(kind, Numeric):
                frame[c.name] = pd.to_numeric(frame[c.name].astype(object), errors="coerce").astype("float64")
        frames[name] = frame
    return frames


def _evaluate(rule_set, frames, as_of: date, progress: Progress | None, offset: int, total: int) -> RunResult:
    reference = Reference.from_frames(districts(), industries(), industry_sections())
    failures, summaries = [], []
    for start in range(0, len(rule_set.rules), RULE_CHUNK):
        part = rule_set.model_copy(update={"rules": rule_set.rules[start:start + RULE_CHUNK]})
        result = run_rules(part, frames, as_of=as_of, reference=reference)
        failures.append(result.failures)
        summaries.append(result.summary)
        if progress:
            progress(offset + start + len(part.rules), total, "rules")
    return RunResult(rule_set.name, rule_set.version, as_of,
                     pd.concat(failures, ignore_index=True), pd.concat(summaries, ignore_index=True))


def _undo(session, old: QualityRun) -> None:
    """Take back one run: its scores, the issues it found first, the resolutions it made."""
    session.execute(delete(QualityScore).where(col(QualityScore.run_id) == old.run_id))
    session.execute(delete(DataQualityIssue).where(col(DataQualityIssue.run_id) == old.run_id))
    session.execute(update(DataQualityIssue).where(col(DataQualityIssue.resolved_at) == old.started_at)
                    .values(resolved_at=None))
    session.delete(old)
    session.flush()


def _reconcile(session, result: RunResult, run_id: str, now: datetime, enterprise_ids) -> dict[str, int]:
    """Insert new issues, resolve the ones the evaluated rules no longer find; return the counts."""
    f = result.failures.copy()
    f["record_ref"] = f["record_ref"].astype("string").str.slice(0, REF_MAX)
    f["detail"] = f["detail"].astype("string").str.slice(0, DETAIL_MAX)
    f = f.drop_duplicates(["rule_code", "record_ref"])
    open_ = pd.read_sql(select(DataQualityIssue.id, DataQualityIssue.rule_code, DataQualityIssue.record_ref)
                        .where(col(DataQualityIssue.resolved_at).is_(None)), session.connection())
    open_["record_ref"] = open_["record_ref"].astype("string")
    key = ["rule_code", "record_ref"]
    seen = open_.merge(f[key], on=key, how="left", indicator=True)
    evaluated = result.summary.loc[result.summary["status"] == "evaluated", "rule_code"]
    gone = seen.loc[(seen["_merge"] == "left_only") & seen["rule_code"].isin(evaluated), "id"].astype(int).tolist()
    new = f.merge(open_[key], on=key, how="left", indicator=True)
    new = new[new["_merge"] == "left_only"]
    ent = pd.Series(pd.array(new["enterprise_id"], dtype="Int64"))
    ent = ent.where(ent.isin(enterprise_ids), pd.NA)
    rows = [
        {"source": s, "rule_code": c, "rule_version": int(v), "dimension": d, "severity": sev,
         "enterprise_id": None if pd.isna(e) else int(e), "record_ref": None if pd.isna(r) else str(r),
         "detail": None if pd.isna(t) else str(t), "run_id": run_id, "detected_at": now}
        for s, c, v, d, sev, e, r, t in zip(new["source"], new["rule_code"], new["rule_version"],
                                            new["dimension"], new["severity"], ent, new["record_ref"],
                                            new["detail"], strict=True)
    ]
    if rows:
        session.execute(insert(DataQualityIssue), rows)
    for start in range(0, len(gone), 1000):
        session.execute(update(DataQualityIssue).where(col(DataQualityIssue.id).in_(gone[start:start + 1000]))
                        .values(resolved_at=now))
    return {"new": len(rows), "resolved": len(gone), "open": len(open_) - len(gone) + len(rows)}


def _none(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _score_rows(result: RunResult, run_id: str, as_of: date) -> tuple[list[dict[str, Any]], float | None]:
    card = score_card(result)
    rows: list[dict[str, Any]] = []

    def add(level: str, frame: pd.DataFrame, key_of) -> None:
        for rec in frame.to_dict("records"):
            rows.append({"run_id": run_id, "as_of": as_of, "level": level, "key": key_of(rec)[:60],
                         "score": _none(rec["score"]), "checked": int(rec["checked"]), "failed": int(rec["failed"]),
                         "rules_evaluated": int(rec["rules_evaluated"]),
                         "rules_not_evaluated": int(rec["rules_not_evaluated"]) + int(rec["rules_error"])})

    s = card.by_rule
    by_rule = s.assign(rules_evaluated=s["pass_rate"].notna().astype(int),
                       rules_not_evaluated=(s["status"] == "not_evaluated").astype(int),
                       rules_error=(s["status"] == "error").astype(int))
    overall = pd.DataFrame([{"score": card.overall, "checked": s["checked"].sum(), "failed": s["failed"].sum(),
                             "rules_evaluated": by_rule["rules_evaluated"].sum(),
                             "rules_not_evaluated": by_rule["rules_not_evaluated"].sum(),
                             "rules_error": by_rule["rules_error"].sum()}])
    add("overall", overall, lambda r: "all")
    add("source", card.by_source, lambda r: str(r["source"]))
    add("dimension", card.by_dimension, lambda r: str(r["dimension"]))
    add("source_dimension", card.by_source_dimension, lambda r: f"{r['source']}|{r['dimension']}")
    add("rule", by_rule, lambda r: str(r["rule_code"]))
    return rows, _none(card.overall)


@use_case(permission=Permission.quality_manage, write=True)
def run_quality_checks(uow, *, actor: Actor, as_of: date | None = None,
                       progress: Progress | None = None) -> QualityRunPublic:
    """Run the published rule set over the platform's data; write the run, its issues and scores.

    Args:
        as_of: the day the run is for (default: today in Asia/Shanghai); re-running a day replaces it.
        progress: optional ``(done, total, stage)`` callback (a progress bar); stages load, rules, write.

    Raises:
        InvalidError: ``as_of`` is not a date.
        QualityRunOutOfOrderError: a run for a later day exists.
    """
    session = uow.session
    if as_of is None:
        as_of = local_today()
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise InvalidError("dqc.error.as_of", field="as_of")
    latest = session.exec(select(QualityRun).order_by(col(QualityRun.as_of).desc())).first()
    if latest is not None and latest.as_of > as_of:
        raise QualityRunOutOfOrderError(as_of=as_of.isoformat(), latest=latest.as_of.isoformat())
    started = utcnow()
    set_row, rule_set = published_rule_set(session)
    total = len(TABLE_MODELS) + len(rule_set.rules) + 1
    if progress:
        progress(0, total, "load")
    frames = load_frames(session.connection())
    if progress:
        progress(len(TABLE_MODELS), total, "load")
    result = _evaluate(rule_set, frames, as_of, progress, len(TABLE_MODELS), total)
    for old in session.exec(select(QualityRun).where(QualityRun.as_of == as_of)).all():
        _undo(session, old)
    run_id = f"dq-{as_of:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    issues = _reconcile(session, result, run_id, started, frames["enterprise"]["id"])
    scores, overall = _score_rows(result, run_id, as_of)
    session.execute(insert(QualityScore), scores)
    status = result.summary["status"]
    counts = {s: int((status == s).sum()) for s in ("evaluated", "not_evaluated", "disabled", "error")}
    lines = result.summary[["rule_code", "rule_version", "status", "reason", "checked", "failed", "elapsed_ms"]]
    run = QualityRun(
        run_id=run_id, as_of=as_of, rule_set_version=set_row.set_version, status="done",
        rules_evaluated=counts["evaluated"], rules_not_evaluated=counts["not_evaluated"] + counts["error"],
        issues_found=len(result.failures), overall_score=overall, started_at=started, finished_at=utcnow(),
        summary={"counts": counts, "issues": issues, "rules": lines.astype(object).to_dict("records"),
                 "rows": {name: len(frame) for name, frame in frames.items()}},
    )
    session.add(run)
    session.flush()
    if progress:
        progress(total, total, "write")
    uow.audit("quality.run", entity_type="quality_run", entity_id=run_id,
              after={"as_of": as_of.isoformat(), "rule_set_version": set_row.set_version, "counts": counts,
                     "issues": issues, "overall": overall})
    return _public(run)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


def _latest_runs(session, n: int = 2) -> list[QualityRun]:
    return list(session.exec(select(QualityRun).order_by(col(QualityRun.as_of).desc()).limit(n)))


def _scores(session, run_id: str) -> pd.DataFrame:
    q = select(QualityScore.level, QualityScore.key, QualityScore.score, QualityScore.checked, QualityScore.failed,
               QualityScore.rules_evaluated, QualityScore.rules_not_evaluated).where(QualityScore.run_id == run_id)
    frame = pd.read_sql(q, session.connection())
    frame["score"] = frame["score"].astype("float64")
    return frame


@use_case(permission=Permission.oversight)
def quality_overview(uow, *, actor: Actor) -> QualityOverview:
    """The latest run's scores per group with the change since the run before, its rules, open issues."""
    session = uow.session
    runs = _latest_runs(session)
    _, rule_set = published_rule_set(session)
    rules = pd.DataFrame([r.model_dump(exclude={"params", "description"}) for r in rule_set.rules])
    rules = rules.rename(columns={"code": "rule_code", "version": "rule_version"})
    empty_scores = pd.DataFrame(columns=["level", "key", "score", "score_previous", "delta", "direction", "checked",
                                         "failed", "rules_evaluated", "rules_not_evaluated"])
    open_q = (select(DataQualityIssue.source, func.count().label("open"))
              .where(col(DataQualityIssue.resolved_at).is_(None)).group_by(DataQualityIssue.source))
    open_by_source = pd.read_sql(open_q, session.connection())
    if not runs:
        for c in ("status", "reason", "checked", "failed", "pass_rate"):
            rules[c] = None
        return QualityOverview(run=None, previous=None, open_issues=int(open_by_source["open"].sum()),
                               scores=empty_scores, rules=rules, open_by_source=open_by_source)
    current = _scores(session, runs[0].run_id)
    previous = _scores(session, runs[1].run_id) if len(runs) > 1 else current.iloc[0:0]
    moved = trend(previous, current, ["level", "key"])
    scores = moved[moved["direction"] != "gone"].merge(current.drop(columns="score"), on=["level", "key"])
    lines = pd.DataFrame(runs[0].summary.get("rules", []))
    if lines.empty:
        lines = pd.DataFrame(columns=["rule_code", "status", "reason", "checked", "failed"])
    lines = lines.drop(columns=[c for c in ("rule_version", "elapsed_ms") if c in lines])
    rules = rules.merge(lines, on="rule_code", how="left")
    checked = pd.to_numeric(rules["checked"], errors="coerce")
    rate = 1 - pd.to_numeric(rules["failed"], errors="coerce") / checked.where(checked > 0)
    rules["pass_rate"] = rate.where(rules["status"] == "evaluated").round(4)
    return QualityOverview(run=_public(runs[0]), previous=_public(runs[1]) if len(runs) > 1 else None,
                           open_issues=int(open_by_source["open"].sum()), scores=scores, rules=rules,
                           open_by_source=open_by_source)


@use_case(permission=Permission.oversight)
def quality_trend(uow, *, actor: Actor, level: str, key: str | None = None, runs: int = 60) -> pd.DataFrame:
    """Scores of one level (or one group of it) over the latest runs, oldest first.

    Args:
        level: overall, source, dimension, source_dimension or rule.
        key: one group (e.g. ``tax``); None for every group of the level.
        runs: how many of the latest runs (1–366).
    """
    if level not in LEVELS:
        raise InvalidError("dqc.error.level", field="level")
    if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= 366:
        raise InvalidError("dqc.error.runs", field="runs", max=366)
    session = uow.session
    recent = [r.run_id for r in _latest_runs(session, runs)]
    q = (select(QualityScore.as_of, QualityScore.run_id, QualityScore.level, QualityScore.key, QualityScore.score)
         .where(QualityScore.level == level, col(QualityScore.run_id).in_(recent or [""])))
    if key is not None:
        q = q.where(QualityScore.key == key)
    frame = pd.read_sql(q.order_by(QualityScore.as_of, QualityScore.key), session.connection())
    frame["as_of"] = pd.to_datetime(frame["as_of"]).dt.date
    frame["score"] = frame["score"].astype("float64")
    return frame


def _issue_query(source, rule, dimension, status):
    q = select(DataQualityIssue.id, DataQualityIssue.source, DataQualityIssue.rule_code, DataQualityIssue.rule_version,
               DataQualityIssue.dimension, DataQualityIssue.severity, DataQualityIssue.enterprise_id,
               Enterprise.credit_code, Enterprise.name.label("enterprise_name"), DataQualityIssue.record_ref,
               DataQualityIssue.detail, DataQualityIssue.run_id, DataQualityIssue.detected_at,
               DataQualityIssue.resolved_at).outerjoin(Enterprise, Enterprise.id == DataQualityIssue.enterprise_id)
    conditions = []
    if source is not None:
        if source not in SOURCES:
            raise InvalidError("dqc.error.source", field="source")
        conditions.append(DataQualityIssue.source == source)
    if rule:
        conditions.append(DataQualityIssue.rule_code == str(rule).strip().upper())
    if dimension is not None:
        if dimension not in DIMENSIONS:
            raise InvalidError("dqc.error.dimension", field="dimension")
        conditions.append(DataQualityIssue.dimension == dimension)
    if status not in ISSUE_STATES:
        raise InvalidError("dqc.error.status", field="status")
    if status == "open":
        conditions.append(col(DataQualityIssue.resolved_at).is_(None))
    elif status == "resolved":
        conditions.append(col(DataQualityIssue.resolved_at).is_not(None))
    return q.where(*conditions), conditions


def _issue_frame(frame: pd.DataFrame) -> pd.DataFrame:
    for c in ("detected_at", "resolved_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True, errors="coerce", format="mixed")
    frame["enterprise_id"] = frame["enterprise_id"].astype("Int64")
    return frame


@use_case(permission=Permission.oversight)
def quality_issues(uow, *, actor: Actor, source: str | None = None, rule: str | None = None,
                   dimension: str | None = None, status: str = "open", page: int = 1,
                   page_size: int = 100) -> IssuePage:
    """Issues, most severe first, filtered and paged.

    Args:
        source: a department (``tax`` …) or None for all.
        rule: a rule code (``TAX-003``) or None.
        dimension: a dimension or None.
        status: open, resolved or all.
        page: 1-based page number.
        page_size: 1–1000 rows per page.
    """
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidError("dqc.error.page", field="page")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 1000:
        raise InvalidError("dqc.error.page", field="page_size")
    q, conditions = _issue_query(source, rule, dimension, status)
    session = uow.session
    total = session.exec(select(func.count()).select_from(DataQualityIssue).where(*conditions)).one()
    order = [DataQualityIssue.source, DataQualityIssue.rule_code, DataQualityIssue.record_ref, DataQualityIssue.id]
    frame = _issue_frame(pd.read_sql(q.order_by(*order).offset((page - 1) * page_size).limit(page_size),
                                     session.connection()))
    frame = frame.sort_values("severity", key=lambda s: s.map(SEVERITY_ORDER), kind="stable").reset_index(drop=True)
    return IssuePage(total=int(total), page=page, page_size=page_size, rows=frame)


REPORT_COLUMNS = ("source", "credit_code", "enterprise_name", "record_ref", "rule_code", "rule", "dimension",
                  "severity", "field", "value", "detail", "detected_at")


def department_failures(frame: pd.DataFrame, locale: str) -> pd.DataFrame:
    """Open issues as report rows with localized rule, dimension and severity names (pure).

    Args:
        frame: rows of the issue query (see :func:`quality_issues`), one per failure.
        locale: the reader's language.
    """
    detail = frame["detail"].astype("string").fillna("")
    parts = detail.str.extract(r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>\S*)")
    names = {k: translate(f"dq.rule.{k.lower().replace('-', '_')}", locale) for k in frame["rule_code"].unique()}
    out = pd.DataFrame({
        "source": frame["source"].map(lambda s: translate(f"dq.source.{s}", locale)),
        "credit_code": frame["credit_code"], "enterprise_name": frame["enterprise_name"],
        "record_ref": frame["record_ref"], "rule_code": frame["rule_code"], "rule": frame["rule_code"].map(names),
        "dimension": frame["dimension"].map(lambda d: translate(f"dq.dimension.{d}", locale)),
        "severity": frame["severity"].map(lambda s: translate(f"dq.severity.{s}", locale)),
        "field": parts["field"].fillna(""), "value": parts["value"].fillna(""), "detail": detail,
        "detected_at": frame["detected_at"].dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%d %H:%M"),
        "_sev": frame["severity"].map(SEVERITY_ORDER),
    })
    out = out.sort_values(["_sev", "rule_code", "credit_code", "record_ref"], kind="stable", na_position="last")
    out = out.drop(columns="_sev").reset_index(drop=True)
    return out.rename(columns={c: translate(f"dqc.report.col.{c}", locale) for c in REPORT_COLUMNS})


@use_case(permission=Permission.oversight)
def department_failure_report(uow, *, actor: Actor, source: str, fmt: str = "csv",
                              locale: str | None = None) -> bytes:
    """One department's open failures, one row per failing record, as CSV (UTF-8 with BOM) or Excel.

    Args:
        source: the department (``tax``, ``market`` …).
        fmt: ``csv`` or ``xlsx``.
        locale: the language of the headers and messages (default: the actor's).
    """
    if source not in SOURCES:
        raise InvalidError("dqc.error.source", field="source")
    if fmt not in REPORT_FORMATS:
        raise InvalidError("dqc.error.format", field="fmt")
    q, _ = _issue_query(source, None, None, "open")
    frame = _issue_frame(pd.read_sql(q, uow.session.connection()))
    report = department_failures(frame, normalize_locale(locale or actor.locale))
    if fmt == "csv":
        return report.to_csv(index=False).encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        report.to_excel(writer, index=False, sheet_name=source[:31])
    return buffer.getvalue()

