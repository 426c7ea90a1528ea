"""Early-warning rule-set versions: the published library, one draft at a time, publish, roll back.

The lifecycle is the shared versioned rule document (:class:`core.services.rulesets.RuleSetLifecycle`);
this module declares the early-warning kind of it — documents validated by the engine, published
rules materialized as ``RiskRule`` rows — and its use cases. Rules (each tested in
``tests/integration/risk/test_rule_sets.py``):

* **First use** — when no version exists, the shipped library (``data/reference/risk_rules/v<N>.json`` with
  N = ``core.risk.rules.SHIPPED_VERSION``; its note names the file) becomes
  ``set_version`` 1, ``published``, and its rules are materialized as ``RiskRule`` rows (one row per
  rule code and rule version), so every signal names the rule row that raised it.
* **Draft** — a regulator with ``risk.manage`` copies the published version into a draft and edits a
  rule's ``params`` (merged into the current ones), ``level`` or ``enabled``. The whole document is
  validated with :func:`core.risk.rules.parse_rule_set` before anything is stored: an out-of-range
  parameter, an unknown parameter or field, a level outside 1–8 refuses the whole edit with a
  localized message. A rule whose params or level differ from the published one carries a new rule
  version (one above every version of that code ever materialized, so a version number never means
  two parameter sets). An edit clears the draft's stored dry run.
* **Dry run** — :func:`core.services.risk_dry_run.dry_run_risk_draft` evaluates the draft and the
  published version on current data and stores the diff on the draft.
* **Publish** — the draft becomes ``published``, the previous one ``superseded``, and the draft's rules
  are materialized. **Roll back** — the published version becomes ``rolled_back`` and the most recent
  ``superseded`` one is published again. Every write carries the row ``version`` the form showed
  (optimistic locking) and is audited through ``@use_case``.
* **Rule table** — a version's rules with each one's precision and lead time (``risk_performance``).
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
from sqlmodel import Session

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import RiskRule, RiskRuleSet
from core.models.types import utcnow
from core.risk.levels import colour_of
from core.risk.rules import SHIPPED_VERSION, load_shipped_rule_set, parse_rule_set, rule_set_to_doc
from core.risk.rules import RiskRuleSet as EngineRuleSet
from core.services.risk_performance import performance_frame
from core.services.rulesets import RuleSetLifecycle
from core.usecase import use_case

EDITABLE_FIELDS = ("params", "level", "enabled")
VERSIONED_FIELDS = ("params", "level")  # a change to these gives the rule a new version


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
# The early-warning kind of versioned rule document
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


def _normalized(document: dict[str, Any], set_version: int) -> dict[str, Any]:
    """``document`` validated by the engine and written back in its canonical form as ``set_version``."""
    return _document(parse_document(document), set_version)


def _check_change(code: str, rule: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """The new ``params`` (merged into the current ones), ``level`` and ``enabled``; shape errors refused."""
    values: dict[str, Any] = {}
    if "params" in change:
        value = change["params"]
        if isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise RiskRuleInvalidError("params_json", field="params", code=code, reason=exc.msg) from exc
        if not isinstance(value, Mapping):
            raise RiskRuleInvalidError("params_object", field="params", code=code)
        values["params"] = {**dict(rule.get("params") or {}), **dict(value)}
    if "level" in change:
        level = change["level"]
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 8:
            raise RiskRuleInvalidError("level_range", field="level", code=code, value=level, min=1, max=8)
        values["level"] = int(level)
    if "enabled" in change:
        if not isinstance(change["enabled"], bool):
            raise RiskRuleInvalidError("enabled_type", field="enabled", code=code, value=change["enabled"])
        values["enabled"] = change["enabled"]
    return values


def _highest_versions(session: Session) -> dict[str, int]:
    """The highest rule version of each code ever materialized (a rolled-back version may hold it)."""
    return {code: int(v) for code, v in session.execute(
        select(RiskRule.code, func.max(RiskRule.rule_version)).group_by(RiskRule.code)).all()}


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


RULE_SETS = RuleSetLifecycle(
    model=RiskRuleSet, audit_prefix="risk.rule_set", entity_type="risk_rule_set", note_key="risk.svc.error.note",
    shipped=lambda: _normalized(load_shipped_rule_set(), 1), shipped_note=f"v{SHIPPED_VERSION}.json",
    renumber=_normalized, validate=_normalized,
    check_change=_check_change, editable_fields=EDITABLE_FIELDS, versioned_fields=VERSIONED_FIELDS,
    not_found=RiskSetNotFoundError, not_draft=RiskSetNotDraftError, draft_exists=RiskDraftExistsError,
    unknown_rule=RiskUnknownRuleError, unknown_field=RiskUnknownFieldError, no_previous=RiskNoPreviousSetError,
    highest_versions=_highest_versions,
    on_published=lambda session, row: materialize(session, parse_document(row.rules)),
    reset_on_edit=("dry_run",),
)


# ---------------------------------------------------------------------------------------------
# Helpers for callers inside a unit of work
# ---------------------------------------------------------------------------------------------


def published_rules(session: Session) -> tuple[RiskRuleSet, EngineRuleSet, dict[str, int]]:
    """The published row, its engine rule set and the ``RiskRule`` id of each rule code.

    Args:
        session: the caller's open session.
    """
    row = RULE_SETS.ensure_published(session)  # first use publishes the shipped v1
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

    Raises:
        RiskSetNotFoundError: no such version.
    """
    return parse_document(RULE_SETS.load(session, set_version).rules)


def public(row: RiskRuleSet) -> RiskRuleSetPublic:
    """The public view of one version row."""
    rules = parse_document(row.rules).rules
    return RiskRuleSetPublic(
        id=int(row.id), set_version=row.set_version, status=row.status, rules=len(rules),
        enabled=sum(bool(r.enabled) for r in rules), note=row.note, dry_run=row.dry_run,
        created_by_id=row.created_by_id, published_by_id=row.published_by_id, published_at=row.published_at,
        created_at=row.created_at, version=row.version)


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.oversight)
def risk_rule_set_history(uow, *, actor: Actor) -> list[RiskRuleSetPublic]:
    """Every rule-set version, newest first (the shipped set is published on first use)."""
    return [public(r) for r in RULE_SETS.history(uow.session)]


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
    row = RULE_SETS.ensure_published(session) if set_version is None else RULE_SETS.load(session, set_version)
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
    return public(RULE_SETS.create_draft(uow, actor=actor, note=note))


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
        RiskRuleInvalidError, RiskRuleSetError (nothing stored).
    """
    return public(RULE_SETS.update_draft(uow, set_version=set_version, expected_version=expected_version,
                                         changes=changes, note=note))


@use_case(permission=Permission.risk_manage, write=True)
def publish_risk_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> RiskRuleSetPublic:
    """Publish a draft: the previous published version becomes ``superseded``; its rules are materialized.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed.

    Raises:
        RiskSetNotDraftError, StaleVersionError, RiskRuleSetError (the draft no longer validates).
    """
    return public(RULE_SETS.publish(uow, actor=actor, set_version=set_version, expected_version=expected_version))


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
    return public(RULE_SETS.rollback(uow, actor=actor, expected_version=expected_version, note=note))


@use_case(permission=Permission.risk_manage, write=True)
def discard_risk_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> None:
    """Delete a draft that will not be published.

    Raises:
        RiskSetNotDraftError, StaleVersionError.
    """
    RULE_SETS.discard(uow, set_version=set_version, expected_version=expected_version)
