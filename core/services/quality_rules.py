"""Data-quality rule-set versions: the published set, one draft at a time, publish, diff.

Rules (each one is tested in ``tests/integration/quality/test_rule_sets.py``):

* **First use** — when no version exists, the shipped ``data/reference/quality_rules/v1.json``
  becomes ``set_version`` 1, ``published`` (:func:`ensure_published_rule_set`, called by every
  service here and by the daily run).
* **Draft** — a regulator with ``quality.manage`` copies the published version into a draft (at most
  one draft at a time), switches rules on and off, and edits a rule's ``params`` and ``severity``.
  Every edit is validated with :func:`core.quality.rules.parse_rule_set` on the whole document; an
  invalid parameter, an unknown rule or an unknown field is refused with a localized message and
  nothing changes. A rule whose params or severity differ from the published version's carries the
  next rule ``version``, so every issue names the rule version that found it.
* **Publish** — the draft becomes ``published`` and the previous published version ``superseded``,
  in one transaction. Edits and publishing carry the row ``version`` the form showed (optimistic
  locking: a stale form is refused with ``StaleVersionError``).
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
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.errors import ConflictError, InvalidError, NotFoundError
from core.models import QualityRuleSet
from core.models.types import utcnow
from core.quality.rules import SEVERITY_WEIGHTS, RuleSet, RuleSetError, parse_rule_set
from core.usecase import expect_version, use_case

SHIPPED_RULE_SET = Path(__file__).resolve().parents[2] / "data" / "reference" / "quality_rules" / "v1.json"
EDITABLE_FIELDS = ("enabled", "params", "severity")
VERSIONED_FIELDS = ("params", "severity")  # a change to these bumps the rule's version
DIFF_FIELDS = ("type", "table", "dimension", "severity", "source", "enabled", "params", "message_key")
NOTE_MAX = 500


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
# Helpers for callers inside a unit of work
# ---------------------------------------------------------------------------------------------


def ensure_published_rule_set(session: Session) -> QualityRuleSet:
    """The published version; on first use the shipped ``v1.json`` becomes version 1, published.

    Args:
        session: the caller's open session (the caller commits).
    """
    row = session.exec(select(QualityRuleSet).where(QualityRuleSet.status == "published")).first()
    if row is not None:
        return row
    if session.exec(select(QualityRuleSet.id).limit(1)).first() is not None:
        raise RuleSetNotFoundError(set_version="published")
    document = parse_rule_set(SHIPPED_RULE_SET.read_text(encoding="utf-8")).model_dump(mode="json")
    row = QualityRuleSet(set_version=1, status="published", rules=document, note="v1.json",
                         published_at=utcnow())
    session.add(row)
    session.flush()
    return row


def published_rule_set(session: Session) -> tuple[QualityRuleSet, RuleSet]:
    """The published row and its validated rule set (first use seeds it).

    Args:
        session: the caller's open session.
    """
    row = ensure_published_rule_set(session)
    return row, parse_rule_set(row.rules)


def _load(session: Session, set_version: int) -> QualityRuleSet:
    ensure_published_rule_set(session)
    row = session.exec(select(QualityRuleSet).where(QualityRuleSet.set_version == int(set_version))).first()
    if row is None:
        raise RuleSetNotFoundError(set_version=set_version)
    return row


def _draft(session: Session, set_version: int, expected_version: int | None) -> QualityRuleSet:
    row = _load(session, set_version)
    if row.status != "draft":
        raise RuleSetNotDraftError(set_version=row.set_version, status=row.status)
    expect_version(row, expected_version)
    return row


def _public(row: QualityRuleSet) -> RuleSetPublic:
    rules = list((row.rules or {}).get("rules") or [])
    return RuleSetPublic(
        id=int(row.id), set_version=row.set_version, status=row.status, name=str(row.rules.get("name", "")),
        rules=len(rules), enabled=sum(bool(r.get("enabled", True)) for r in rules), note=row.note,
        created_by_id=row.created_by_id, published_by_id=row.published_by_id, published_at=row.published_at,
        created_at=row.created_at, version=row.version,
    )


def _clean_note(note: str | None) -> str | None:
    text = " ".join(str(note or "").split())
    if len(text) > NOTE_MAX or "<" in text or ">" in text:
        raise InvalidError("dqc.error.note", field="note", max=NOTE_MAX)
    return text or None


def _validate(document: dict[str, Any]) -> RuleSet:
    """The document as a rule set, or a localized refusal naming the rule and the first problems."""
    try:
        return parse_rule_set(document)
    except RuleSetError as exc:
        found = re.search(r"rule ([A-Z]{2,4}-\d{3})", exc.problems[0] if exc.problems else "")
        raise RuleEditInvalidError(field="params", code=found.group(1) if found else "—",
                                   detail="; ".join(exc.problems[:5])) from exc


def _apply(document: dict[str, Any], base: dict[str, dict[str, Any]], code: str,
           change: Mapping[str, Any]) -> list[str]:
    """Apply one rule's change in place; return the fields that changed."""
    rules = {r["code"]: r for r in document["rules"]}
    if code not in rules:
        raise UnknownRuleError(field="code", code=code)
    unknown = sorted(set(change) - set(EDITABLE_FIELDS))
    if unknown:
        raise UnknownRuleFieldError(field=unknown[0], code=code, name=", ".join(unknown),
                                    allowed=", ".join(EDITABLE_FIELDS))
    rule = rules[code]
    changed = []
    for name, value in change.items():
        if name == "params" and isinstance(value, str | bytes):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise RuleEditInvalidError(field="params", code=code, detail=f"not JSON: {exc.msg}") from exc
        if name == "params" and not isinstance(value, dict):
            raise RuleEditInvalidError(field="params", code=code, detail="params must be a JSON object")
        if name == "severity" and value not in SEVERITY_WEIGHTS:
            raise RuleEditInvalidError(field="severity", code=code,
                                       detail=f"severity must be one of {', '.join(SEVERITY_WEIGHTS)}")
        if name == "enabled" and not isinstance(value, bool):
            raise RuleEditInvalidError(field="enabled", code=code, detail="enabled must be true or false")
        if rule.get(name) != value:
            rule[name] = value
            changed.append(name)
    published = base.get(code)
    if published is not None:
        moved = any(rule.get(f) != published.get(f) for f in VERSIONED_FIELDS)
        rule["version"] = int(published["version"]) + 1 if moved else int(published["version"])
    return changed


# ---------------------------------------------------------------------------------------------
# Reads
# ---------------------------------------------------------------------------------------------


@use_case(permission=Permission.oversight)
def list_rule_sets(uow, *, actor: Actor) -> list[RuleSetPublic]:
    """Every rule-set version, newest first (the shipped set is seeded on first use)."""
    ensure_published_rule_set(uow.session)
    rows = uow.session.exec(select(QualityRuleSet).order_by(col(QualityRuleSet.set_version).desc()))
    return [_public(r) for r in rows]


@use_case(permission=Permission.oversight)
def rule_set_detail(uow, *, actor: Actor, set_version: int | None = None) -> RuleSetDetail:
    """One version with its rules (default: the published one).

    Args:
        set_version: the version number; None for the published version.

    Raises:
        RuleSetNotFoundError: no such version.
    """
    session = uow.session
    row = ensure_published_rule_set(session) if set_version is None else _load(session, set_version)
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
    old = {r["code"]: r for r in _load(session, from_version).rules.get("rules", [])}
    new = {r["code"]: r for r in _load(session, to_version).rules.get("rules", [])}
    rows = []
    for code in sorted(set(old) | set(new)):
        a, b = old.get(code), new.get(code)
        if a is None or b is None:
            kept = b if a is None else a
            rows.append({"rule_code": code, "change": "added" if a is None else "removed", "fields": "",
                         "before": "" if a is None else json.dumps(kept, ensure_ascii=False, sort_keys=True),
                         "after": "" if b is None else json.dumps(kept, ensure_ascii=False, sort_keys=True)})
            continue
        fields = [f for f in DIFF_FIELDS if a.get(f) != b.get(f)]
        if fields:
            rows.append({"rule_code": code, "change": "changed", "fields": ", ".join(fields),
                         "before": json.dumps({f: a.get(f) for f in fields}, ensure_ascii=False, sort_keys=True),
                         "after": json.dumps({f: b.get(f) for f in fields}, ensure_ascii=False, sort_keys=True)})
    return pd.DataFrame(rows, columns=["rule_code", "change", "fields", "before", "after"])


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
    session = uow.session
    clean = _clean_note(note)
    published = ensure_published_rule_set(session)
    existing = session.exec(select(QualityRuleSet).where(QualityRuleSet.status == "draft")).first()
    if existing is not None:
        raise DraftExistsError(set_version=existing.set_version)
    top = session.exec(select(QualityRuleSet.set_version).order_by(col(QualityRuleSet.set_version).desc())).first()
    document = json.loads(json.dumps(published.rules))
    document["version"] = int(top) + 1
    document["published_on"] = None
    row = QualityRuleSet(set_version=int(top) + 1, status="draft", rules=document, note=clean,
                         created_by_id=actor.user_id)
    session.add(row)
    session.flush()
    uow.audit("quality.rule_set.draft", entity_type="quality_rule_set", entity_id=row.id,
              after={"set_version": row.set_version, "from": published.set_version, "note": clean})
    return _public(row)


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
    session = uow.session
    row = _draft(session, set_version, expected_version)
    base = {r["code"]: r for r in ensure_published_rule_set(session).rules.get("rules", [])}
    document = json.loads(json.dumps(row.rules))
    changed: dict[str, list[str]] = {}
    for code, change in (changes or {}).items():
        if not isinstance(change, Mapping):
            raise UnknownRuleFieldError(field=str(code), code=code, name=str(change),
                                        allowed=", ".join(EDITABLE_FIELDS))
        fields = _apply(document, base, str(code), change)
        if fields:
            changed[str(code)] = fields
    _validate(document)
    before = {c: {f: r.get(f) for f in EDITABLE_FIELDS} for c, r in
              ((r["code"], r) for r in row.rules.get("rules", [])) if c in changed}
    if changed:
        row.rules = document  # a new object, so the JSON column is written
    if note is not None:
        row.note = _clean_note(note)
    session.add(row)
    session.flush()
    uow.audit("quality.rule_set.edit", entity_type="quality_rule_set", entity_id=row.id, before=before,
              after={"set_version": row.set_version, "changed": changed, "note": row.note})
    return _public(row)


@use_case(permission=Permission.quality_manage, write=True)
def publish_rule_set(uow, *, actor: Actor, set_version: int, expected_version: int) -> RuleSetPublic:
    """Publish a draft; the previously published version becomes ``superseded``.

    Args:
        set_version: the draft's version number.
        expected_version: the row version the form showed.

    Raises:
        RuleSetNotDraftError, StaleVersionError, RuleEditInvalidError (the draft no longer validates).
    """
    session = uow.session
    row = _draft(session, set_version, expected_version)
    _validate(row.rules)
    previous = ensure_published_rule_set(session)
    previous.status = "superseded"
    session.add(previous)
    session.flush()
    now = utcnow()
    document = dict(row.rules)
    document["published_on"] = now.date().isoformat()
    row.rules = document
    row.status = "published"
    row.published_at = now
    row.published_by_id = actor.user_id
    session.add(row)
    session.flush()
    uow.audit("quality.rule_set.publish", entity_type="quality_rule_set", entity_id=row.id,
              before={"published": previous.set_version}, after={"published": row.set_version})
    return _public(row)


@use_case(permission=Permission.quality_manage, write=True)
def discard_rule_set_draft(uow, *, actor: Actor, set_version: int, expected_version: int) -> None:
    """Delete a draft that will not be published.

    Raises:
        RuleSetNotDraftError, StaleVersionError.
    """
    session = uow.session
    row = _draft(session, set_version, expected_version)
    uow.audit("quality.rule_set.discard", entity_type="quality_rule_set", entity_id=row.id,
              before={"set_version": row.set_version, "note": row.note})
    session.delete(row)
    session.flush()
