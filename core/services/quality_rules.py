"""Data-quality rule-set versions: the published set, one draft at a time, publish, diff.

The lifecycle is the shared versioned rule document (:class:`core.services.rulesets.RuleSetLifecycle`);
this module declares the data-quality kind of it and its use cases. Rules (each one is tested in
``tests/integration/quality/test_rule_sets.py``):

* **First use** — when no version exists, the shipped ``data/reference/quality_rules/v1.json``
  becomes ``set_version`` 1, ``published`` (:func:`ensure_published_rule_set`, called by every
  service here and by the daily run).
* **Draft** — a regulator with ``quality.manage`` copies the published version into a draft (at most
  one draft at a time), switches rules on and off, and edits a rule's ``params`` (replaced whole, so
  a bound can be removed) and ``severity``. Every edit is validated with
  :func:`core.quality.rules.parse_rule_set` on the whole document; an invalid parameter, an unknown
  rule or an unknown field is refused with a localized message and nothing changes. A rule whose
  params or severity differ from the published version's carries the next rule ``version``, so every
  issue names the rule version that found it.
* **Publish** — the draft becomes ``published`` (its document stamped ``published_on``) and the
  previous published version ``superseded``, in one transaction. Edits and publishing carry the row
  ``version`` the form showed (optimistic locking: a stale form is refused with ``StaleVersionError``).
* **Diff** — rules added, removed and changed (which fields) between any two versions.

Each write appends an audit event (through ``@use_case``) naming the set version and what changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel
from sqlmodel import Session

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import QualityRuleSet
from core.quality.rules import SEVERITY_WEIGHTS, RuleSet, RuleSetError, parse_rule_set
from core.services.rulesets import RuleSetLifecycle, diff_documents
from core.usecase import use_case

SHIPPED_RULE_SET = Path(__file__).resolve().parents[2] / "data" / "reference" / "quality_rules" / "v1.json"
EDITABLE_FIELDS = ("enabled", "params", "severity")
VERSIONED_FIELDS = ("params", "severity")  # a change to these bumps the rule's version
DIFF_FIELDS = ("type", "table", "dimension", "severity", "source", "enabled", "params", "message_key")


class RuleSetNotFoundError(NotFoundError):
    """No rule-set version with that number."""

    key = "dqc.error.rule_set_not_found"


class RuleSetNotDraftError(ConflictError):
    """Only a draft can be edited, published or discarded."""

    key = "dqc.error.not_draft"


class DraftExistsError(ConflictError):
    """A draft already exists: edit, publish or discard it first."""

    key = "dqc.error.draft_exists"


class RuleEditInvalidError(InvalidError):
    """An edit would make the rule set invalid; ``detail`` says which rule and why."""

    key = "dqc.error.rule_invalid"


class UnknownRuleError(InvalidError):
    key = "dqc.error.unknown_rule"


class UnknownRuleFieldError(InvalidError):
    key = "dqc.error.unknown_field"


class RuleSetPublic(BaseModel):
    """One rule-set version as services return it."""

    id: int
    set_version: int
    status: str  # draft, published, superseded
    name: str
    rules: int
    enabled: int
    note: str | None
    created_by_id: int | None
    published_by_id: int | None
    published_at: datetime | None
    created_at: datetime
    version: int  # the optimistic-lock counter a form sends back


class RuleLine(BaseModel):
    """One rule of a version, flat for a table or an editor."""

    code: str
    version: int
    type: str
    table: str
    dimension: str
    severity: str
    source: str
    enabled: bool
    params: dict[str, Any]
    message_key: str
    description: str


class RuleSetDetail(RuleSetPublic):
    """A version with its rules."""

    lines: list[RuleLine]


# ---------------------------------------------------------------------------------------------
# The data-quality kind of versioned rule document
# ---------------------------------------------------------------------------------------------


def _shipped() -> dict[str, Any]:
    return parse_rule_set(SHIPPED_RULE_SET.read_text(encoding="utf-8")).model_dump(mode="json")


def _renumber(document: dict[str, Any], set_version: int) -> dict[str, Any]:
    return {**document, "version": int(set_version)}


def _validate(document: dict[str, Any], set_version: int | None = None) -> dict[str, Any]:
    """The document itself once it parses, or a localized refusal naming the rule and the first problems."""
    try:
        parse_rule_set(document)
    except RuleSetError as exc:
        found = re.search(r"rule ([A-Z]{2,4}-\d{3})", exc.problems[0] if exc.problems else "")
        raise RuleEditInvalidError(field="params", code=found.group(1) if found else "—",
                                   detail="; ".join(exc.problems[:5])) from exc
    return document


def _check_change(code: str, rule: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """The new values of one rule's fields, in the order given; ``params`` replace the current ones."""
    values: dict[str, Any] = {}
    for name, value in change.items():
        if name == "params" and isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise RuleEditInvalidError(field="params", code=code, detail=f"not JSON: {exc.msg}") from exc
        if name == "params" and not isinstance(value, Mapping):
            raise RuleEditInvalidError(field="params", code=code, detail="params must be a JSON object")
        if name == "severity" and value not in SEVERITY_WEIGHTS:
            raise RuleEditInvalidError(field="severity", code=code,
                                       detail=f"severity must be one of {', '.join(SEVERITY_WEIGHTS)}")
        if name == "enabled" and not isinstance(value, bool):
            raise RuleEditInvalidError(field="enabled", code=code, detail="enabled must be true or false")
        values[name] = dict(value) if name == "params" else value
    return values


RULE_SETS = RuleSetLifecycle(
    model=QualityRuleSet, audit_prefix="quality.rule_set", entity_type="quality_rule_set",
    note_key="dqc.error.note", shipped=_shipped, renumber=_renumber, validate=_validate,
    check_change=_check_change, editable_fields=EDITABLE_FIELDS, versioned_fields=VERSIONED_FIELDS,
    not_found=RuleSetNotFoundError, not_draft=RuleSetNotDraftError, draft_exists=DraftExistsError,
    unknown_rule=UnknownRuleError, unknown_field=UnknownRuleFieldError, published_on_key="published_on",
)


# ---------------------------------------------------------------------------------------------
# Helpers for callers inside a unit of work
# ---------------------------------------------------------------------------------------------


def ensure_published_rule_set(session: Session) -> QualityRuleSet:
    """The published version; on first use the shipped ``v1.json`` becomes version 1, published.

    Args:
        session: the caller's open session (the caller commits).
    """
    return RULE_SETS.ensure_published(session)


def published_rule_set(session: Session) -> tuple[QualityRuleSet, RuleSet]:
    """The published row and its validated rule set (first use seeds it).

    Args:
        session: the caller's open session.
    """
    row = ensure_published_rule_set(session)
    return row, parse_rule_set(row.rules)


def _public(row: QualityRuleSet) -> RuleSetPublic:
    rules = list((row.rules or {}).get("rules") or [])
    return RuleSetPublic(
        id=int(row.id), set_version=row.set_version, status=row.status, name=str(row.rules.get("name", "")),
        rules=len(rules), enabled=sum(bool(r.get("enabled", True)) for r in rules), note=row.note,
        created_by_id=row.created_by_id, published_by_id=row.published_by_id, published_at=row.published_at,
        created_at=row.created_at, version=row.version,
    )


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.oversight)
def list_rule_sets(uow, *, actor: Actor) -> list[RuleSetPublic]:
    """Every rule-set version, newest first (the shipped set is seeded on first use)."""
    return [_public(r) for r in RULE_SETS.history(uow.session)]


@use_case(permission=Permission.oversight)
def rule_set_detail(uow, *, actor: Actor, set_version: int | None = None) -> RuleSetDetail:
    """One version with its rules (default: the published one).

    Args:
        set_version: the version number; None for the published version.

    Raises:
        RuleSetNotFoundError: no such version.
    """
    session = uow.session
    row = RULE_SETS.ensure_published(session) if set_version is None else RULE_SETS.load(session, set_version)
    lines = [RuleLine(**{"description": "", "enabled": True, "params": {}, **r})
             for r in (row.rules or {}).get("rules", [])]
    return RuleSetDetail(**_public(row).model_dump(), lines=lines)


@use_case(permission=Permission.oversight)
def diff_rule_sets(uow, *, actor: Actor, from_version: int, to_version: int) -> pd.DataFrame:
    """Rules added, removed and changed from one version to another.

    Args:
        from_version: the older version (e.g. the published one).
        to_version: the newer version (e.g. the draft).

    Returns:
        One row per difference: ``rule_code``, ``change`` (added, removed, changed), ``fields``
        (comma-separated changed fields), ``before`` and ``after`` (JSON of the changed fields).
    """
    session = uow.session
    return diff_documents(RULE_SETS.load(session, from_version).rules, RULE_SETS.load(session, to_version).rules,
                          DIFF_FIELDS)


# ---------------------------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.quality_manage, write=True)
def create_rule_set_draft(uow, *, actor: Actor, note: str | None = None) -> RuleSetPublic:
    """Copy the published version into a new draft (the next version number).

    Args:
        note: why the draft exists (at most 500 characters).

    Raises:
        DraftExistsError: a draft already exists (at most one at a time).
    """
    return _public(RULE_SETS.create_draft(uow, actor=actor, note=note))


@use_case(permission=Permission.quality_manage, write=True)
def update_rule_set_draft(
    uow,
    *,
    actor: Actor,
    set_version: int,
    expected_version: int,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
    note: str | None = None,
) -> RuleSetPublic:
    """Edit a draft: switch rules on or off, change a rule's ``params`` or ``severity``, its note.

    The whole edit is validated before anything is stored; one bad change refuses them all.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed (optimistic locking).
        changes: rule code -> ``{"enabled": bool, "params": dict or JSON text, "severity": str}``
            (any subset of those fields).
        note: a new note (None keeps the current one).

    Raises:
        RuleSetNotDraftError: the version is not a draft.
        StaleVersionError: the draft changed since the form read it.
        UnknownRuleError, UnknownRuleFieldError, RuleEditInvalidError: a bad change (nothing stored).
    """
    return _public(RULE_SETS.update_draft(uow, set_version=set_version, expected_version=expected_version,
                                          changes=changes, note=note))


@use_case(permission=Permission.quality_manage, write=True)
def publish_rule_set(uow, *, actor: Actor, set_version: int, expected_version: int) -> RuleSetPublic:
    """Publish a draft; the previously published version becomes ``superseded``.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed.

    Raises:
        RuleSetNotDraftError, StaleVersionError, RuleEditInvalidError (the draft no longer validates).
    """
    return _public(RULE_SETS.publish(uow, actor=actor, set_version=set_version, expected_version=expected_version))


@use_case(permission=Permission.quality_manage, write=True)
def discard_rule_set_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> None:
    """Delete a draft that will not be published.

    Raises:
        RuleSetNotDraftError, StaleVersionError.
    """
    RULE_SETS.discard(uow, set_version=set_version, expected_version=expected_version)
