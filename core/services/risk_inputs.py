"""Early-warning inputs: what the engine reads, loaded in bulk, and the chunked evaluation.

* :func:`load_risk_inputs` reads the engine's frames for a set of enterprises (government records,
  loans, installments, ratings and applications of the last ``LOOKBACK_MONTHS`` months, and the whole
  ownership graph of :func:`load_shareholdings`), restricted in bounded ``IN`` chunks.
* :func:`evaluate_chunks` walks the target enterprises ``CHUNK_SIZE`` at a time; each chunk is loaded
  with the enterprises related to it through shareholdings (:func:`with_related`, ``RELATED_HOPS``
  links), so propagation sees its neighbours, and evaluated for the chunk's own enterprises.
* Shared by the runs (``core.services.risk``), the dry run (``core.services.risk_dry_run``) and the
  signal store: :func:`read_chunked`, :func:`text_of`, :func:`merge_status`, :func:`check_as_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from datetime import time as dtime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.errors import InvalidError
from core.models import (
    Application,
    CreditScore,
    Enterprise,
    GovRecord,
    Loan,
    RepaymentInstallment,
    Shareholding,
)
from core.risk import evaluate as engine
from core.services.scoring import today_local

CHUNK_SIZE = 25_000
IN_CHUNK = 5000  # values per IN (...) list
LOOKBACK_MONTHS = 27  # year-on-year comparisons need a year and a bit of monthly history
RELATED_HOPS = 3
Progress = Callable[[float, str], None] | None


def _months_before(day: date, months: int) -> date:
    total = day.year * 12 + day.month - 1 - months
    return date(total // 12, total % 12 + 1, 1)


def text_of(value: Any) -> str | None:
    """An enum member or value as plain text (None stays None)."""
    return None if value is None else str(getattr(value, "value", value))


def read_chunked(session: Session, stmt, ids: Sequence[Any] | None, column) -> pd.DataFrame:
    """``stmt`` restricted to ``column IN ids`` in bounded chunks (all rows when ``ids`` is None).

    Args:
        session: the caller's session.
        stmt: a SELECT.
        ids: the values of ``column`` to read (None: no restriction).
        column: the column ``ids`` restrict.
    """
    conn = session.connection()
    if ids is None:
        return pd.read_sql(stmt, conn)
    ids = list(ids)
    parts = [pd.read_sql(stmt.where(column.in_(ids[k:k + IN_CHUNK])), conn) for k in range(0, len(ids), IN_CHUNK)]
    return pd.concat(parts, ignore_index=True) if parts else pd.read_sql(stmt.where(column.in_([])), conn)


def _dates(frame: pd.DataFrame, names: Sequence[str], *, utc: bool = False) -> None:
    for name in names:
        frame[name] = pd.to_datetime(frame[name], utc=utc, format="ISO8601", errors="coerce")


def _strings(frame: pd.DataFrame, names: Sequence[str]) -> None:
    for name in names:
        frame[name] = frame[name].map(text_of)


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
    enterprises = read_chunked(
        session, select(e.c.id, e.c.name, e.c.district_code, e.c.industry_section, e.c.scale), ids, e.c.id)
    _strings(enterprises, ["scale"])
    gov = read_chunked(
        session, select(g.c.enterprise_id, g.c.source, g.c.kind, g.c.period, g.c.ref, g.c.value, g.c.text,
                        g.c.detail, g.c.received_at).where(g.c.period >= since, g.c.period <= as_of),
        ids, g.c.enterprise_id)
    _strings(gov, ["source"])
    gov["value"] = pd.to_numeric(gov["value"], errors="coerce").astype(float)
    _dates(gov, ["period"])
    _dates(gov, ["received_at"], utc=True)
    loans = read_chunked(
        session, select(ln.c.id, ln.c.enterprise_id, ln.c.institution_id, ln.c.amount, ln.c.status,
                        ln.c.disbursed_at, ln.c.paused_until, ln.c.outstanding_principal, ln.c.defaulted_at),
        ids, ln.c.enterprise_id)
    _strings(loans, ["status"])
    for money in ("amount", "outstanding_principal"):
        loans[money] = pd.to_numeric(loans[money], errors="coerce").astype(float)
    _dates(loans, ["paused_until"])
    _dates(loans, ["disbursed_at", "defaulted_at"], utc=True)
    loan_ids = [int(i) for i in loans["id"]]
    installments = read_chunked(
        session, select(ins.c.loan_id, ins.c.seq, ins.c.due_date, ins.c.principal_due, ins.c.interest_due,
                        ins.c.paid_amount, ins.c.paid_on, ins.c.days_past_due, ins.c.status)
        .where(ins.c.due_date <= as_of), loan_ids, ins.c.loan_id)
    _strings(installments, ["status"])
    for money in ("principal_due", "interest_due", "paid_amount"):
        installments[money] = pd.to_numeric(installments[money], errors="coerce").astype(float)
    _dates(installments, ["due_date", "paid_on"])
    scores = read_chunked(
        session, select(cs.c.enterprise_id, cs.c.as_of, cs.c.score, cs.c.grade)
        .where(cs.c.as_of >= since, cs.c.as_of <= as_of), ids, cs.c.enterprise_id)
    _strings(scores, ["grade"])
    _dates(scores, ["as_of"])
    applications = read_chunked(
        session, select(ap.c.enterprise_id, ap.c.institution_id, ap.c.submitted_at)
        .where(ap.c.submitted_at >= datetime.combine(since, dtime(), tzinfo=UTC)), ids, ap.c.enterprise_id)
    _dates(applications, ["submitted_at"], utc=True)
    graph = load_shareholdings(session, as_of) if shareholdings is None else shareholdings
    return engine.RiskInputs(enterprises=_plain(enterprises), gov_records=_plain(gov), loans=_plain(loans),
                             installments=_plain(installments), shareholdings=graph, scores=_plain(scores),
                             applications=_plain(applications))


# ---------------------------------------------------------------------------------------------
# Evaluating
# ---------------------------------------------------------------------------------------------


def check_as_of(as_of: date | None) -> date:
    """``as_of`` checked (a date, never in the future), or today in Asia/Shanghai when None."""
    if as_of is None:
        return today_local()
    if not isinstance(as_of, date) or isinstance(as_of, datetime) or as_of > today_local():
        raise InvalidError("risk.svc.error.as_of", field="as_of")
    return as_of


def merge_status(into: dict[str, dict[str, Any]], status: pd.DataFrame) -> None:
    """Add one chunk's ``rule_status`` to ``into`` (rule code → status, hits, error, seconds)."""
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
