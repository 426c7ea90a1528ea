"""Early-warning signal store: persisting a run's hits, propagated signals, notices, aging out.

* **Persisting** (:func:`persist_hits`, called by the runs in ``core.services.risk``): one signal per
  fact and lending institution — the engine's fingerprint of the fact combined with the institution
  is the row's unique ``fingerprint``, so every institution with a live loan (active, overdue or
  defaulted) to the enterprise gets the signal in its post-loan queue, propagated related-party
  signals included (a propagated signal names the stored signal of its source fact); an enterprise
  without lenders gets one signal without institution (the regulator and the enterprise still see
  it). A fact seen again updates ``last_seen_at`` and pushes ``expires_at`` out by the rule's
  ``ttl_days``; a closed signal stays closed.
* **Notices** — new signals at the run's ``notify_level`` or above notify every regulator
  organization once per fact.
* **Aging** — :func:`age_out` closes signals past ``expires_at`` that were not seen again (step
  ``aged_out``).

Every function receives the caller's session; the run that calls them owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlmodel import Session

from core.models import Enterprise, Loan, Organization, RiskSignal, RiskSignalEvent
from core.models.types import OrgKind
from core.services.notifications import existing_keys, notify
from core.services.risk_inputs import read_chunked, text_of

NOTIFY_LEVEL = 7
LENDING = ("active", "overdue", "defaulted")
DEFAULT_TTL_DAYS = 90


def signal_fingerprint(fact: str, institution_id: Any) -> str:
    """The stored fingerprint: the engine's fact fingerprint for one institution (0: none)."""
    inst = 0 if institution_id is None or pd.isna(institution_id) else int(institution_id)
    return hashlib.sha256(f"{fact}|{inst}".encode()).hexdigest()


def lenders_of(session: Session, enterprise_ids: Sequence[int]) -> pd.DataFrame:
    """``enterprise_id``, ``institution_id``: every institution with a live loan to each enterprise.

    Args:
        session: the caller's session.
        enterprise_ids: the enterprises.
    """
    ln = Loan.__table__
    frame = read_chunked(session, select(ln.c.enterprise_id, ln.c.institution_id).where(ln.c.status.in_(LENDING)),
                         sorted({int(i) for i in enterprise_ids}), ln.c.enterprise_id)
    return frame.drop_duplicates().astype({"enterprise_id": "int64", "institution_id": "int64"})


def _existing(session: Session, fingerprints: Sequence[str]) -> pd.DataFrame:
    s = RiskSignal.__table__
    frame = read_chunked(session, select(s.c.id, s.c.fingerprint, s.c.status), list(fingerprints), s.c.fingerprint)
    frame["status"] = frame["status"].map(text_of)
    return frame


def _jsonable(value: Any) -> dict[str, Any]:
    return json.loads(json.dumps(dict(value or {}), default=str, ensure_ascii=False))


def persist_hits(session: Session, hits: pd.DataFrame, *, rule_set, rule_ids: dict[str, int], set_version: int,
                 stamp: datetime, notify_level: int = NOTIFY_LEVEL) -> dict[str, int]:
    """Upsert the signals of ``hits`` (one per fact and lending institution); return the counts.

    Args:
        session: the caller's session (the caller commits).
        hits: the engine's ``RiskResult.hits``.
        rule_set: the engine rule set that produced them (ttl of each rule).
        rule_ids: ``RiskRule`` id of each rule code.
        set_version: the published set's version.
        stamp: the run's time.
        notify_level: new signals at this level or above notify the regulator.
    """
    counts = {"hits": 0, "raised": 0, "seen_again": 0, "kept_closed": 0, "notified": 0}
    if hits is None or hits.empty:
        return counts
    hits = hits.drop_duplicates("fingerprint")
    counts["hits"] = len(hits)
    lenders = lenders_of(session, hits["enterprise_id"].astype(int).unique().tolist())
    rows = hits.assign(enterprise_id=hits["enterprise_id"].astype("int64")).merge(lenders, on="enterprise_id",
                                                                                    how="left")
    rows["db_fingerprint"] = [signal_fingerprint(f, i) for f, i in zip(rows["fingerprint"], rows["institution_id"],
                                                                       strict=True)]
    ttl = {code: int(getattr(spec, "ttl_days", DEFAULT_TTL_DAYS) or DEFAULT_TTL_DAYS)
           for code, spec in rule_set.by_code.items()}
    rows["ttl_days"] = rows["rule_code"].map(ttl).fillna(DEFAULT_TTL_DAYS).astype(int)
    found = _existing(session, rows["db_fingerprint"].tolist()).set_index("fingerprint")
    status = rows["db_fingerprint"].map(found["status"]) if len(found) else pd.Series(None, index=rows.index)
    seen = rows[status.notna() & (status != "closed")]
    counts["kept_closed"] = int((status == "closed").sum())
    s = RiskSignal.__table__
    for days, group in seen.groupby("ttl_days"):
        ids = [int(i) for i in group["db_fingerprint"].map(found["id"])]
        for k in range(0, len(ids), 5000):
            session.execute(s.update().where(s.c.id.in_(ids[k:k + 5000]), or_(s.c.last_seen_at.is_(None),
                                                                                s.c.last_seen_at < stamp))
                            .values(last_seen_at=stamp, expires_at=stamp + timedelta(days=int(days))))
    counts["seen_again"] = len(seen)
    new = rows[status.isna()]
    source_ids = {fp: int(i) for fp, i in zip(rows["fingerprint"], rows["db_fingerprint"].map(found["id"]),
                                              strict=True) if pd.notna(i)} if len(found) else {}
    propagated = new["propagated_from"].notna() if "propagated_from" in new else pd.Series(False, index=new.index)
    raised: list[dict[str, Any]] = []
    for part in (new[~propagated], new[propagated]):
        if part.empty:
            continue
        records = [{
            "enterprise_id": int(r["enterprise_id"]),
            "loan_id": None if pd.isna(r["loan_id"]) else int(r["loan_id"]),
            "institution_id": None if pd.isna(r["institution_id"]) else int(r["institution_id"]),
            "rule_id": rule_ids.get(str(r["rule_code"])), "rule_code": str(r["rule_code"]),
            "rule_version": int(r["rule_version"]), "level": int(r["level"]), "colour": str(r["colour"]),
            "detail": _jsonable(r["detail"]), "fingerprint": r["db_fingerprint"], "set_version": int(set_version),
            "source_signal_id": source_ids.get(r.get("propagated_from")) if pd.notna(r.get("propagated_from"))
            else None,
            "last_seen_at": stamp, "expires_at": stamp + timedelta(days=int(r["ttl_days"])), "status": "open",
            "raised_at": stamp, "version": 1, "updated_at": stamp,
        } for r in part.to_dict("records")]
        for k in range(0, len(records), 2000):
            session.execute(s.insert(), records[k:k + 2000])
        stored = _existing(session, part["db_fingerprint"].tolist()).set_index("fingerprint")["id"]
        ids = part["db_fingerprint"].map(stored)
        for fact, i in zip(part["fingerprint"], ids, strict=True):
            source_ids.setdefault(fact, int(i))
        raised.extend({"signal_id": int(i), "fact": fact, "level": int(level), "enterprise_id": int(e),
                       "rule_code": str(code)}
                      for i, fact, level, e, code in zip(ids, part["fingerprint"], part["level"],
                                                         part["enterprise_id"], part["rule_code"], strict=True))
    if raised:
        ev = RiskSignalEvent.__table__
        events = [{"signal_id": r["signal_id"], "step": "raised", "from_status": None, "to_status": "open",
                   "actor_user_id": None, "note": None, "occurred_at": stamp} for r in raised]
        for k in range(0, len(events), 5000):
            session.execute(ev.insert(), events[k:k + 5000])
    counts["raised"] = len(raised)
    counts["notified"] = _notify_regulators(session, [r for r in raised if r["level"] >= notify_level])
    return counts


def _notify_regulators(session: Session, raised: list[dict[str, Any]]) -> int:
    """One inbox notification per high-level fact and regulator organization (never twice)."""
    if not raised:
        return 0
    regulators = [int(i) for i in session.execute(select(Organization.id).where(
        Organization.kind == OrgKind.regulator)).scalars()]
    first = {}
    for r in raised:
        first.setdefault(r["fact"], r)
    wanted = {f"risk:{fact[:48]}:{org}": (r, org) for fact, r in first.items() for org in regulators}
    done = existing_keys(session, wanted)
    names = dict(session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_(sorted({r["enterprise_id"] for r in first.values()})))).all()) if wanted else {}
    sent = 0
    for key, (r, org) in wanted.items():
        if key in done:
            continue
        notify(session, kind="risk.signal", title_key="risk.svc.notify.signal.title",
               params={"enterprise": str(names.get(r["enterprise_id"], r["enterprise_id"])), "level": r["level"],
                       "rule": r["rule_code"]},
               organization_id=org, dedupe_key=key,
               payload={"signal_id": r["signal_id"], "enterprise_id": r["enterprise_id"]})
        sent += 1
    return sent


def age_out(session: Session, *, stamp: datetime) -> int:
    """Close every signal past ``expires_at`` that was not seen again; record step ``aged_out``.

    Args:
        session: the caller's session (the caller commits).
        stamp: the run's time.
    """
    s, ev = RiskSignal.__table__, RiskSignalEvent.__table__
    rows = session.execute(select(s.c.id, s.c.status).where(s.c.status != "closed", s.c.expires_at.is_not(None),
                                                             s.c.expires_at < stamp)).all()
    if not rows:
        return 0
    ids = [int(r.id) for r in rows]
    for k in range(0, len(ids), 5000):
        session.execute(s.update().where(s.c.id.in_(ids[k:k + 5000]))
                        .values(status="closed", closed_at=stamp, version=s.c.version + 1))
    events = [{"signal_id": int(r.id), "step": "aged_out", "from_status": str(getattr(r.status, "value", r.status)),
               "to_status": "closed", "actor_user_id": None, "note": None, "occurred_at": stamp} for r in rows]
    for k in range(0, len(events), 5000):
        session.execute(ev.insert(), events[k:k + 5000])
    return len(ids)
