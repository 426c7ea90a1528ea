"""Early-warning rule-set versions: the published library, one draft at a time, publish, roll back.

Rules (each tested in ``tests/integration/risk/test_rule_sets.py``):

* **First use** — when no version exists, the shipped ``data/reference/risk_rules/v1.json`` becomes
  ``set_version`` 1, ``published``, and its rules are materialized as ``RiskRule`` rows (one row per
  rule code and rule version), so every signal names the rule row that raised it.
* **Draft** — a regulator with ``risk.manage`` copies the published version into a draft and edits a
  rule's ``params``, ``level`` or ``enabled``. The whole document is validated with
  :func:`core.risk.rules.parse_rule_set` before anything is stored: an out-of-range parameter, an
  unknown parameter or field, a level outside 1–8 refuses the whole edit with a localized message.
  A rule whose params or level differ from the published one carries a new rule version (one above
  every version of that code ever materialized, so a version number never means two parameter sets).
* **Dry run** — :func:`core.services.risk.dry_run_risk_draft` evaluates the draft and the published
  version on current data and stores the diff on the draft.
* **Publish** — the draft becomes ``published``, the previous one ``superseded``, and the draft's rules
  are materialized. **Roll back** — the published version becomes ``rolled_back`` and the most recent
  ``superseded`` one is published again. Every write carries the row ``version`` the form showed
  (optimistic locking) and is audited through ``@use_case``.
* **Performance** — :func:`performance_frame` measures each rule from the handled signals: precision
  (true alarms over true plus false alarms) and the median lead time from raising a signal to the
  default of the loan it concerned.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import Session, col

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import Loan, RiskRule, RiskRuleSet, RiskSignal
from core.models.types import utcnow
from core.risk.levels import colour_of
from core.risk.rules import RiskRuleSet as EngineRuleSet
from core.risk.rules import load_shipped_rule_set, parse_rule_set, rule_set_to_doc
from core.usecase import expect_version, use_case

EDITABLE_FIELDS = ("params", "level", "enabled")
VERSIONED_FIELDS = ("params", "level")  # a change to these gives the rule a new version
NOTE_MAX = 500
PERFORMANCE_COLUMNS = ["rule_code", "signals", "feedback", "true_alarms", "false_alarms", "precision",
                       "defaults_after", "lead_time_days"]


class RiskSetNotFoundError(NotFoundError):
    """No rule-set version with that number."""

    key = "risk.svc.error.set_not_found"


class RiskSetNotDraftError(ConflictError):
    """Only a draft can be edited, dry-run or published."""

    key = "risk.svc.error.not_draft"


class RiskDraftExistsError(ConflictError):
    """A draft exists already: edit, publish or discard it first."""

    key = "risk.svc.error.draft_exists"


class RiskNoPreviousSetError(ConflictError):
    """Nothing to roll back to: no superseded version precedes the published one."""

    key = "risk.svc.error.no_previous"


class RiskRuleInvalidError(InvalidError):
    """An edit is malformed before validation (params not a JSON object, level not 1–8, enabled not a bool).

    Parameter values the rule type refuses (out of range, unknown) raise the engine's
    ``RiskRuleSetError`` with every problem, localized.
    """

    key = "risk.svc.error.rule_invalid"

    def __init__(self, problem: str | None = None, *, field: str | None = None, **params: Any) -> None:
        # ``problem`` picks the message (``risk.svc.error.rule_<problem>``); each names the rule code and
        # the field, and a range names its bounds, so the page shows it in the user's language as is.
        super().__init__(f"risk.svc.error.rule_{problem}" if problem else None, field=field, **params)


class RiskUnknownRuleError(InvalidError):
    key = "risk.svc.error.unknown_rule"


class RiskUnknownFieldError(InvalidError):
    key = "risk.svc.error.unknown_field"


class RiskRuleSetPublic(BaseModel):
    """One rule-set version as services return it."""

    id: int
    set_version: int
    status: str  # draft, published, superseded, rolled_back
    rules: int
    enabled: int
    note: str | None
    dry_run: dict[str, Any] | None
    created_by_id: int | None
    published_by_id: int | None
    published_at: datetime | None
    created_at: datetime
    version: int  # the optimistic-lock counter a form sends back


# ---------------------------------------------------------------------------------------------
# Helpers for callers inside a unit of work
# ---------------------------------------------------------------------------------------------


def parse_document(document: Mapping[str, Any]) -> EngineRuleSet:
    """The stored document as an engine rule set.

    Args:
        document: a rule-set document (JSON object).

    Raises:
        RiskRuleSetError: every problem of the document, localized (nothing is stored by the caller).
    """
    return parse_rule_set(dict(document))


def _document(rule_set: EngineRuleSet, set_version: int) -> dict[str, Any]:
    """The JSON document of ``rule_set`` renumbered as ``set_version``."""
    renumbered = dataclasses.replace(rule_set, set_version=int(set_version))
    return json.loads(json.dumps(rule_set_to_doc(renumbered), default=str))


def materialize(session: Session, rule_set: EngineRuleSet) -> dict[str, int]:
    """Make ``rule_set``'s rules the published ``RiskRule`` rows; return the row id of each rule code.

    A (code, version) row that exists is reused (its ``enabled`` follows the set); rows of rules not in
    the set become ``superseded``.

    Args:
        session: the caller's open session (the caller commits).
        rule_set: the set being published.
    """
    now = utcnow()
    rows = {(r.code, r.rule_version): r for r in session.execute(select(RiskRule)).scalars()}
    wanted = {(spec.code, int(spec.version)) for spec in rule_set.rules}
    ids: dict[str, int] = {}
    for spec in rule_set.rules:
        row = rows.get((spec.code, int(spec.version)))
        if row is None:
            row = RiskRule(code=spec.code, rule_version=int(spec.version), name=spec.name, name_en=spec.name_en,
                           category=spec.category, level=int(spec.level), params=dict(spec.params),
                           enabled=bool(spec.enabled), status="published", published_at=now)
        elif row.status != "published" or row.enabled != bool(spec.enabled):
            row.status, row.enabled, row.published_at = "published", bool(spec.enabled), now
        session.add(row)
    for key, row in rows.items():
        if key not in wanted and row.status == "published":
            row.status = "superseded"
            session.add(row)
    session.flush()
    for (code, version), row in {(r.code, r.rule_version): r for r in session.execute(select(RiskRule)).scalars()}.items():
        if (code, version) in wanted:
            ids[code] = int(row.id)
    return ids


def ensure_published_risk_set(session: Session) -> RiskRuleSet:
    """The published version; on first use the shipped ``v1.json`` becomes version 1, published.

    Args:
        session: the caller's open session (the caller commits).

    Raises:
        RiskSetNotFoundError: versions exist but none is published (never left so by these services).
    """
    row = session.execute(select(RiskRuleSet).where(RiskRuleSet.status == "published")).scalars().first()
    if row is not None:
        return row
    if session.execute(select(RiskRuleSet.id).limit(1)).first() is not None:
        raise RiskSetNotFoundError(set_version="published")
    rule_set = parse_document(load_shipped_rule_set())
    row = RiskRuleSet(set_version=1, status="published", rules=_document(rule_set, 1), note="v1.json",
                      published_at=utcnow())
    session.add(row)
    session.flush()
    materialize(session, parse_document(row.rules))
    return row


def published_rules(session: Session) -> tuple[RiskRuleSet, EngineRuleSet, dict[str, int]]:
    """The published row, its engine rule set and the ``RiskRule`` id of each rule code.

    Args:
        session: the caller's open session.
    """
    row = ensure_published_risk_set(session)
    rule_set = parse_document(row.rules)
    ids = {code: int(i) for code, i in session.execute(
        select(RiskRule.code, RiskRule.id).where(RiskRule.status == "published")).all()}
    if set(rule_set.by_code) - set(ids):
        ids = materialize(session, rule_set)
    return row, rule_set, ids


def rule_set_of(session: Session, set_version: int) -> EngineRuleSet:
    """The engine rule set of one stored version (for message keys of old signals).

    Args:
        session: the caller's open session.
        set_version: the version number.
    """
    return parse_document(load_set(session, set_version).rules)


def load_set(session: Session, set_version: int) -> RiskRuleSet:
    """One stored version.

    Args:
        session: the caller's open session.
        set_version: the version number.

    Raises:
        RiskSetNotFoundError: no such version.
    """
    ensure_published_risk_set(session)
    row = session.execute(select(RiskRuleSet).where(RiskRuleSet.set_version == int(set_version))).scalars().first()
    if row is None:
        raise RiskSetNotFoundError(set_version=set_version)
    return row


def draft_row(session: Session, set_version: int, expected_version: int | None) -> RiskRuleSet:
    """The draft ``set_version`` checked against the form's row version.

    Args:
        session: the caller's open session.
        set_version: the draft's version number.
        expected_version: the row version the form showed (None: do not check).
    """
    row = load_set(session, set_version)
    if row.status != "draft":
        raise RiskSetNotDraftError(set_version=row.set_version, status=row.status)
    expect_version(row, expected_version)
    return row


def public(row: RiskRuleSet) -> RiskRuleSetPublic:
    """The public view of one version row."""
    rules = parse_document(row.rules).rules
    return RiskRuleSetPublic(
        id=int(row.id), set_version=row.set_version, status=row.status, rules=len(rules),
        enabled=sum(bool(r.enabled) for r in rules), note=row.note, dry_run=row.dry_run,
        created_by_id=row.created_by_id, published_by_id=row.published_by_id, published_at=row.published_at,
        created_at=row.created_at, version=row.version)


def _clean_note(note: str | None) -> str | None:
    text = " ".join(str(note or "").split())
    if len(text) > NOTE_MAX or "<" in text or ">" in text:
        raise InvalidError("risk.svc.error.note", field="note", max=NOTE_MAX)
    return text or None


def _edit(spec, change: Mapping[str, Any]):
    """``spec`` with one change applied (params merge into the current ones); shape errors refused."""
    unknown = sorted(set(change) - set(EDITABLE_FIELDS))
    if unknown:
        raise RiskUnknownFieldError(field=unknown[0], code=spec.code, name=", ".join(unknown),
                                    allowed=", ".join(EDITABLE_FIELDS))
    fields: dict[str, Any] = {}
    if "params" in change:
        value = change["params"]
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise RiskRuleInvalidError("params_json", field="params", code=spec.code, reason=exc.msg) from exc
        if not isinstance(value, Mapping):
            raise RiskRuleInvalidError("params_object", field="params", code=spec.code)
        fields["params"] = {**dict(spec.params), **dict(value)}
    if "level" in change:
        level = change["level"]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 8:
            raise RiskRuleInvalidError("level_range", field="level", code=spec.code, value=level, min=1, max=8)
        fields["level"] = int(level)
    if "enabled" in change:
        if not isinstance(change["enabled"], bool):
            raise RiskRuleInvalidError("enabled_type", field="enabled", code=spec.code, value=change["enabled"])
        fields["enabled"] = change["enabled"]
    return dataclasses.replace(spec, **fields)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.oversight)
def risk_rule_set_history(uow, *, actor: Actor) -> list[RiskRuleSetPublic]:
    """Every rule-set version, newest first (the shipped set is published on first use)."""
    ensure_published_risk_set(uow.session)
    rows = uow.session.execute(select(RiskRuleSet).order_by(col(RiskRuleSet.set_version).desc())).scalars()
    return [public(r) for r in rows]


@use_case(permission=Permission.oversight)
def risk_rule_table(uow, *, actor: Actor, set_version: int | None = None) -> pd.DataFrame:
    """Each rule of a version with its parameters and its measured precision and lead time.

    Args:
        set_version: the version (default: the published one).

    Returns:
        DataFrame ``code``, ``version``, ``name``, ``name_en``, ``category``, ``type``, ``level``,
        ``colour``, ``enabled``, ``params`` (dict), ``ttl_days``, and from the handled signals of that
        rule code: ``signals``, ``feedback``, ``true_alarms``, ``false_alarms``, ``precision`` (NaN
        without feedback), ``defaults_after``, ``lead_time_days`` (median; NaN when no loan defaulted
        after a signal). ``attrs`` carries ``set_version``, ``status`` and ``row_version``.
    """
    session = uow.session
    row = ensure_published_risk_set(session) if set_version is None else load_set(session, set_version)
    rules = parse_document(row.rules).rules
    frame = pd.DataFrame([{
        "code": r.code, "version": int(r.version), "name": r.name, "name_en": r.name_en, "category": r.category,
        "type": r.type, "level": int(r.level), "colour": colour_of(int(r.level)), "enabled": bool(r.enabled),
        "params": dict(r.params), "ttl_days": int(r.ttl_days)} for r in rules])
    perf = performance_frame(session).rename(columns={"rule_code": "code"})
    frame = frame.merge(perf, on="code", how="left") if not frame.empty else frame
    for column in ("signals", "feedback", "true_alarms", "false_alarms", "defaults_after"):
        if column in frame:
            frame[column] = frame[column].fillna(0).astype(int)
    frame.attrs.update(set_version=row.set_version, status=row.status, row_version=row.version)
    return frame


def performance_frame(session: Session) -> pd.DataFrame:
    """Per rule code: signals, feedback, precision and median lead time to a later default.

    A signal's loan is its own ``loan_id``, or (an enterprise-level signal) the enterprise's loans at
    the signal's institution (any institution when it has none); the lead time is the days from
    ``raised_at`` to the earliest ``defaulted_at`` after it. Copies of one fact sent to several
    lenders count once for the lead time (per enterprise, rule and day raised).

    Args:
        session: the caller's open session.
    """
    s, ln = RiskSignal.__table__, Loan.__table__
    signals = pd.read_sql(select(s.c.id, s.c.enterprise_id, s.c.loan_id, s.c.institution_id, s.c.rule_code,
                                 s.c.feedback, s.c.raised_at), session.connection())
    if signals.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    counts = signals.groupby("rule_code").agg(
        signals=("id", "size"), feedback=("feedback", lambda f: int(f.isin(["true_alarm", "false_alarm"]).sum())),
        true_alarms=("feedback", lambda f: int((f == "true_alarm").sum())),
        false_alarms=("feedback", lambda f: int((f == "false_alarm").sum())))
    judged = counts["true_alarms"] + counts["false_alarms"]
    counts["precision"] = (counts["true_alarms"] / judged).where(judged > 0)
    defaults = pd.read_sql(select(ln.c.id.label("d_loan"), ln.c.enterprise_id, ln.c.institution_id.label("d_inst"),
                                  ln.c.defaulted_at).where(ln.c.defaulted_at.is_not(None)), session.connection())
    lead = pd.DataFrame(columns=["rule_code", "defaults_after", "lead_time_days"])
    if not defaults.empty:
        signals["raised_at"] = pd.to_datetime(signals["raised_at"], utc=True, format="ISO8601")
        defaults["defaulted_at"] = pd.to_datetime(defaults["defaulted_at"], utc=True, format="ISO8601")
        pairs = signals.merge(defaults, on="enterprise_id")
        own_loan = pairs["loan_id"].notna() & (pairs["loan_id"] == pairs["d_loan"])
        same_bank = pairs["loan_id"].isna() & (pairs["institution_id"].isna()
                                               | (pairs["institution_id"] == pairs["d_inst"]))
        pairs = pairs[(own_loan | same_bank) & (pairs["defaulted_at"] > pairs["raised_at"])]
        if not pairs.empty:
            pairs = pairs.assign(days=(pairs["defaulted_at"] - pairs["raised_at"]).dt.total_seconds() / 86400.0,
                                 day=pairs["raised_at"].dt.date)
            first = pairs.groupby(["enterprise_id", "rule_code", "day", "d_loan"])["days"].min().reset_index()
            first = first.groupby(["enterprise_id", "rule_code", "day"])["days"].min().reset_index()
            lead = first.groupby("rule_code").agg(defaults_after=("days", "size"),
                                                  lead_time_days=("days", "median")).reset_index()
    out = counts.reset_index().merge(lead, on="rule_code", how="left")
    out["defaults_after"] = out["defaults_after"].fillna(0).astype(int)
    out["lead_time_days"] = pd.to_numeric(out["lead_time_days"], errors="coerce").round(1)
    return out[PERFORMANCE_COLUMNS].sort_values("rule_code").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.risk_manage, write=True)
def create_risk_draft(uow, *, actor: Actor, note: str | None = None) -> RiskRuleSetPublic:
    """Copy the published version into a new draft (the next version number).

    Args:
        note: why the draft exists (at most 500 characters).

    Raises:
        RiskDraftExistsError: a draft exists already (one at a time).
    """
    session = uow.session
    clean = _clean_note(note)
    published = ensure_published_risk_set(session)
    existing = session.execute(select(RiskRuleSet).where(RiskRuleSet.status == "draft")).scalars().first()
    if existing is not None:
        raise RiskDraftExistsError(set_version=existing.set_version)
    top = int(session.execute(select(func.max(RiskRuleSet.set_version))).scalar() or 0)
    row = RiskRuleSet(set_version=top + 1, status="draft", rules=_document(parse_document(published.rules), top + 1),
                      note=clean, created_by_id=actor.user_id)
    session.add(row)
    session.flush()
    uow.audit("risk.rule_set.draft", entity_type="risk_rule_set", entity_id=row.id,
              after={"set_version": row.set_version, "from": published.set_version, "note": clean})
    return public(row)


@use_case(permission=Permission.risk_manage, write=True)
def update_risk_draft(
    uow,
    *,
    actor: Actor,
    set_version: int,
    expected_version: int,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
    note: str | None = None,
) -> RiskRuleSetPublic:
    """Edit a draft: a rule's ``params`` (merged into the current ones), ``level`` or ``enabled``.

    The whole edited document is validated before anything is stored; one bad change refuses all.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed (optimistic locking).
        changes: rule code -> any of ``{"params": dict or JSON text, "level": 1–8, "enabled": bool}``.
        note: a new note (None keeps the current one).

    Raises:
        RiskSetNotDraftError, StaleVersionError, RiskUnknownRuleError, RiskUnknownFieldError,
        RiskRuleInvalidError (nothing stored).
    """
    session = uow.session
    row = draft_row(session, set_version, expected_version)
    current = parse_document(row.rules)
    base = parse_document(ensure_published_risk_set(session).rules).by_code
    top = {code: int(v) for code, v in session.execute(
        select(RiskRule.code, func.max(RiskRule.rule_version)).group_by(RiskRule.code)).all()}
    specs = dict(current.by_code)
    changed: dict[str, dict[str, Any]] = {}
    for code, change in (changes or {}).items():
        if str(code) not in specs:
            raise RiskUnknownRuleError(field="code", code=code)
        if not isinstance(change, Mapping):
            raise RiskUnknownFieldError(field=str(code), code=code, name=str(change),
                                        allowed=", ".join(EDITABLE_FIELDS))
        before, after = specs[str(code)], _edit(specs[str(code)], change)
        published = base.get(str(code))
        if published is not None:
            moved = any(getattr(after, f) != getattr(published, f) for f in VERSIONED_FIELDS)
            newest = max(top.get(str(code), 0), int(published.version))
            after = dataclasses.replace(after, version=newest + 1 if moved else int(published.version))
        diff = {f: getattr(after, f) for f in (*EDITABLE_FIELDS, "version") if getattr(after, f) != getattr(before, f)}
        if diff:
            changed[str(code)] = diff
        specs[str(code)] = after
    edited = dataclasses.replace(current, rules=tuple(specs[r.code] for r in current.rules))
    document = _document(parse_document(_document(edited, row.set_version)), row.set_version)  # validated
    if changed:
        row.rules = document  # a new object, so the JSON column is written
        row.dry_run = None  # an earlier dry run no longer describes this draft
    if note is not None:
        row.note = _clean_note(note)
    session.add(row)
    session.flush()
    uow.audit("risk.rule_set.edit", entity_type="risk_rule_set", entity_id=row.id,
              after={"set_version": row.set_version, "changed": changed, "note": row.note})
    return public(row)


@use_case(permission=Permission.risk_manage, write=True)
def publish_risk_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> RiskRuleSetPublic:
    """Publish a draft: the previous published version becomes ``superseded``; its rules are materialized.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed.

    Raises:
        RiskSetNotDraftError, StaleVersionError, RiskRuleInvalidError (the draft no longer validates).
    """
    session = uow.session
    row = draft_row(session, set_version, expected_version)
    rule_set = parse_document(row.rules)
    previous = ensure_published_risk_set(session)
    previous.status = "superseded"
    session.add(previous)
    session.flush()
    row.status, row.published_at, row.published_by_id = "published", utcnow(), actor.user_id
    session.add(row)
    session.flush()
    materialize(session, rule_set)
    uow.audit("risk.rule_set.publish", entity_type="risk_rule_set", entity_id=row.id,
              before={"published": previous.set_version}, after={"published": row.set_version})
    return public(row)


@use_case(permission=Permission.risk_manage, write=True)
def rollback_risk_rule_set(uow, *, actor: Actor, expected_version: int, note: str | None = None
                           ) -> RiskRuleSetPublic:
    """Roll the published version back: it becomes ``rolled_back``; the latest superseded one is published.

    Args:
        expected_version: the published row's version the form showed (optimistic locking).
        note: why (audited; at most 500 characters).

    Raises:
        RiskNoPreviousSetError: no superseded version precedes the published one.
        StaleVersionError: the published version changed since the form read it.
    """
    session = uow.session
    clean = _clean_note(note)
    current = ensure_published_risk_set(session)
    expect_version(current, expected_version)
    previous = session.execute(select(RiskRuleSet).where(
        RiskRuleSet.status == "superseded", RiskRuleSet.set_version < current.set_version)
        .order_by(col(RiskRuleSet.set_version).desc())).scalars().first()
    if previous is None:
        raise RiskNoPreviousSetError(set_version=current.set_version)
    current.status = "rolled_back"
    session.add(current)
    session.flush()
    previous.status, previous.published_at, previous.published_by_id = "published", utcnow(), actor.user_id
    session.add(previous)
    session.flush()
    materialize(session, parse_document(previous.rules))
    uow.audit("risk.rule_set.rollback", entity_type="risk_rule_set", entity_id=previous.id,
              before={"published": current.set_version}, after={"published": previous.set_version, "note": clean})
    return public(previous)


@use_case(permission=Permission.risk_manage, write=True)
def discard_risk_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> None:
    """Delete a draft that will not be published.

    Raises:
        RiskSetNotDraftError, StaleVersionError.
    """
    session = uow.session
    row = draft_row(session, set_version, expected_version)
    uow.audit("risk.rule_set.discard", entity_type="risk_rule_set", entity_id=row.id,
              before={"set_version": row.set_version, "note": row.note})
    session.delete(row)
    session.flush()
