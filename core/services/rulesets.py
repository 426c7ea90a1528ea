"""The versioned rule document: one published version, one draft at a time, publish, roll back, diff.

The data-quality rule set (``core.services.quality_rules``) and the early-warning rule library
(``core.services.risk_rules``) are the same thing at two places: a table of versions
(``QualityRuleSet`` / ``RiskRuleSet``), each row holding the whole rule document as JSON, its
``status`` (``draft``, ``published``, ``superseded``, ``rolled_back``) and an optimistic-lock
``version``. :class:`RuleSetLifecycle` holds that lifecycle once, parametrized by the table, the
per-kind document validator and edit checker, the error classes (their i18n keys) and the audit
names; each service declares one instance and keeps its own ``@use_case`` functions, which call it.

* **First use** (:meth:`RuleSetLifecycle.ensure_published`) — with no version stored, the shipped
  document becomes ``set_version`` 1, ``published`` (its note names the shipped file, e.g. ``v1.json``).
* **Draft** — a copy of the published version under the next number; at most one draft exists.
* **Edit** (:meth:`RuleSetLifecycle.update_draft`) — changes per rule code; an unknown code, an
  unknown field or a malformed value is refused, then the whole edited document is validated; one bad
  change refuses them all and nothing is stored. A rule whose versioned fields differ from the
  published rule's carries the next rule version (above every version of that code ever published
  when the kind says which), otherwise the published rule's version.
* **Publish** — the draft becomes ``published``, the previous one ``superseded``. **Roll back** — the
  published version becomes ``rolled_back``, the latest ``superseded`` one before it is published
  again. **Discard** deletes a draft.
* **Diff** (:func:`diff_documents`) — rules added, removed and changed (which fields) between two
  documents.

Every write checks the row ``version`` the form showed and appends one audit event
``<audit_prefix>.draft|edit|publish|rollback|discard``. The caller's ``@use_case`` owns the
transaction; nothing here commits.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlmodel import Session

from core.auth import Actor
from core.errors import InvalidError
from core.models.types import utcnow
from core.usecase import UnitOfWork, expect_version

NOTE_MAX = 500
SHIPPED_NOTE = "v1.json"
DIFF_COLUMNS = ["rule_code", "change", "fields", "before", "after"]


@dataclass(frozen=True)
class RuleSetLifecycle:
    """One kind of versioned rule document and how its versions move.

    Attributes:
        model: the version table (``QualityRuleSet``, ``RiskRuleSet``).
        audit_prefix: audit actions are ``<audit_prefix>.draft`` … (``quality.rule_set``).
        entity_type: the audit events' entity type (``quality_rule_set``).
        note_key: i18n key of the refusal of a note that is too long or holds markup.
        shipped: the shipped document, validated, as version 1.
        renumber: ``(document, set_version)`` → the document numbered ``set_version``, in the kind's
            current form (a new draft's copy; the draft and published documents an edit compares).
        validate: ``(document, set_version)`` → the validated document to store; raises the kind's
            localized error with every problem.
        check_change: ``(code, rule, change)`` → the new values of one rule's editable fields
            (``rule`` is the draft's rule; field names already checked); raises a localized error.
        editable_fields: the fields an edit may change.
        versioned_fields: a change to these gives the rule a new version.
        not_found, not_draft, draft_exists, unknown_rule, unknown_field: the kind's error classes.
        no_previous: the error of a rollback with nothing to roll back to (None: no rollback).
        highest_versions: ``session`` → the highest rule version of each code ever published, when
            a rolled-back version may hold a higher one than the published set (None: the published).
        on_published: ``(session, row)`` after a row became published (seeded, published, rolled
            back to), e.g. to materialize its rules.
        published_on_key: a document field stamped with the publishing day (None: none).
        reset_on_edit: row attributes set to None when an edit changes the rules (a stale dry run).
        shipped_note: the note of the first, shipped version (the file it came from).
    """

    model: type[Any]
    audit_prefix: str
    entity_type: str
    note_key: str
    shipped: Callable[[], dict[str, Any]]
    renumber: Callable[[dict[str, Any], int], dict[str, Any]]
    validate: Callable[[dict[str, Any], int], dict[str, Any]]
    check_change: Callable[[str, dict[str, Any], Mapping[str, Any]], dict[str, Any]]
    editable_fields: tuple[str, ...]
    versioned_fields: tuple[str, ...]
    not_found: type[Exception]
    not_draft: type[Exception]
    draft_exists: type[Exception]
    unknown_rule: type[Exception]
    unknown_field: type[Exception]
    no_previous: type[Exception] | None = None
    highest_versions: Callable[[Session], Mapping[str, int]] | None = None
    on_published: Callable[[Session, Any], None] | None = None
    published_on_key: str | None = None
    reset_on_edit: tuple[str, ...] = ()
    shipped_note: str = SHIPPED_NOTE

    # ------------------------------------------------------------------------------ reading rows

    def ensure_published(self, session: Session) -> Any:
        """The published row; on first use the shipped document becomes version 1, published.

        Args:
            session: the caller's open session (the caller commits).

        Raises:
            not_found: versions exist but none is published (never left so by these services).
        """
        model = self.model
        row = session.execute(select(model).where(model.status == "published")).scalars().first()
        if row is not None:
            return row
        if session.execute(select(model.id).limit(1)).first() is not None:
            raise self.not_found(set_version="published")
        row = model(set_version=1, status="published", rules=self.shipped(), note=self.shipped_note, published_at=utcnow())
        session.add(row)
        session.flush()
        if self.on_published is not None:
            self.on_published(session, row)
        return row

    def load(self, session: Session, set_version: int) -> Any:
        """One stored version (first use seeds the shipped one).

        Args:
            session: the caller's open session.
            set_version: the version number.

        Raises:
            not_found: no such version.
        """
        self.ensure_published(session)
        model = self.model
        row = session.execute(select(model).where(model.set_version == int(set_version))).scalars().first()
        if row is None:
            raise self.not_found(set_version=set_version)
        return row

    def draft(self, session: Session, set_version: int, expected_version: int | None) -> Any:
        """The draft ``set_version`` checked against the form's row version.

        Args:
            session: the caller's open session.
            set_version: the draft's version number.
            expected_version: the row version the form showed (None: do not check).

        Raises:
            not_found, not_draft, StaleVersionError.
        """
        row = self.load(session, set_version)
        if row.status != "draft":
            raise self.not_draft(set_version=row.set_version, status=row.status)
        expect_version(row, expected_version)
        return row

    def history(self, session: Session) -> list[Any]:
        """Every version row, newest first (first use seeds the shipped one).

        Args:
            session: the caller's open session.
        """
        self.ensure_published(session)
        model = self.model
        return list(session.execute(select(model).order_by(model.set_version.desc())).scalars())

    def clean_note(self, note: str | None) -> str | None:
        """``note`` on one line, or None; refused when too long or holding markup."""
        text = " ".join(str(note or "").split())
        if len(text) > NOTE_MAX or "<" in text or ">" in text:
            raise InvalidError(self.note_key, field="note", max=NOTE_MAX)
        return text or None

    # ------------------------------------------------------------------------------ writes

    def create_draft(self, uow: UnitOfWork, *, actor: Actor, note: str | None) -> Any:
        """Copy the published version into a new draft numbered one above every version.

        Raises:
            draft_exists: a draft exists already (one at a time); InvalidError: a bad note.
        """
        session, model = uow.session, self.model
        clean = self.clean_note(note)
        published = self.ensure_published(session)
        existing = session.execute(select(model).where(model.status == "draft")).scalars().first()
        if existing is not None:
            raise self.draft_exists(set_version=existing.set_version)
        number = int(session.execute(select(func.max(model.set_version))).scalar() or 0) + 1
        document = self.renumber(copy.deepcopy(published.rules), number)
        if self.published_on_key is not None:
            document[self.published_on_key] = None
        row = model(set_version=number, status="draft", rules=document, note=clean, created_by_id=actor.user_id)
        session.add(row)
        session.flush()
        uow.audit(f"{self.audit_prefix}.draft", entity_type=self.entity_type, entity_id=row.id,
                  after={"set_version": row.set_version, "from": published.set_version, "note": clean})
        return row

    def update_draft(self, uow: UnitOfWork, *, set_version: int, expected_version: int,
                     changes: Mapping[str, Mapping[str, Any]] | None, note: str | None) -> Any:
        """Apply ``changes`` (rule code → field → value) and ``note`` to a draft, all or nothing.

        Raises:
            not_draft, StaleVersionError, unknown_rule, unknown_field, the kind's validation errors
            (nothing stored).
        """
        session = uow.session
        row = self.draft(session, set_version, expected_version)
        base_row = self.ensure_published(session)
        # Both documents in the kind's current form, so a rule is compared field by field as the engine reads it.
        published = {r["code"]: r for r in self.renumber(copy.deepcopy(base_row.rules), base_row.set_version)
                     .get("rules", [])}
        highest = dict(self.highest_versions(session)) if self.highest_versions is not None else {}
        document = self.renumber(copy.deepcopy(row.rules), row.set_version)
        rules = {r["code"]: r for r in document.get("rules", [])}
        allowed = ", ".join(self.editable_fields)
        changed: dict[str, dict[str, Any]] = {}
        before: dict[str, dict[str, Any]] = {}
        for key, change in (changes or {}).items():
            code = str(key)
            rule = rules.get(code)
            if rule is None:
                raise self.unknown_rule(field="code", code=code)
            if not isinstance(change, Mapping):
                raise self.unknown_field(field=code, code=code, name=str(change), allowed=allowed)
            unknown = sorted(set(change) - set(self.editable_fields))
            if unknown:
                raise self.unknown_field(field=unknown[0], code=code, name=", ".join(unknown), allowed=allowed)
            values = self.check_change(code, rule, change)
            base = published.get(code)
            if base is not None:
                moved = any(values.get(f, rule.get(f)) != base.get(f) for f in self.versioned_fields)
                newest = max(int(highest.get(code, 0)), int(base["version"]))
                values["version"] = newest + 1 if moved else int(base["version"])
            diff = {f: v for f, v in values.items() if rule.get(f) != v}
            if diff:
                before[code] = {f: rule.get(f) for f in diff}
                changed[code] = diff
                rule.update(diff)
        document = self.validate(document, row.set_version)
        if changed:
            row.rules = document  # a new object, so the JSON column is written
            for name in self.reset_on_edit:
                setattr(row, name, None)
        if note is not None:
            row.note = self.clean_note(note)
        session.add(row)
        session.flush()
        uow.audit(f"{self.audit_prefix}.edit", entity_type=self.entity_type, entity_id=row.id, before=before,
                  after={"set_version": row.set_version, "changed": changed, "note": row.note})
        return row

    def _make_published(self, session: Session, row: Any, actor: Actor) -> None:
        now = utcnow()
        if self.published_on_key is not None:
            row.rules = {**row.rules, self.published_on_key: now.date().isoformat()}
        row.status, row.published_at, row.published_by_id = "published", now, actor.user_id
        session.add(row)
        session.flush()
        if self.on_published is not None:
            self.on_published(session, row)

    def publish(self, uow: UnitOfWork, *, actor: Actor, set_version: int, expected_version: int) -> Any:
        """Publish a draft (validated again); the published version becomes ``superseded``.

        Raises:
            not_draft, StaleVersionError, the kind's validation errors (the draft no longer validates).
        """
        session = uow.session
        row = self.draft(session, set_version, expected_version)
        self.validate(row.rules, row.set_version)
        previous = self.ensure_published(session)
        previous.status = "superseded"
        session.add(previous)
        session.flush()
        self._make_published(session, row, actor)
        uow.audit(f"{self.audit_prefix}.publish", entity_type=self.entity_type, entity_id=row.id,
                  before={"published": previous.set_version}, after={"published": row.set_version})
        return row

    def rollback(self, uow: UnitOfWork, *, actor: Actor, expected_version: int, note: str | None) -> Any:
        """The published version becomes ``rolled_back``; the latest superseded one before it is published.

        Raises:
            no_previous: nothing to roll back to; StaleVersionError: the published row moved on.
        """
        if self.no_previous is None:
            raise TypeError(f"{self.entity_type} has no rollback")
        session, model = uow.session, self.model
        clean = self.clean_note(note)
        current = self.ensure_published(session)
        expect_version(current, expected_version)
        previous = session.execute(select(model).where(model.status == "superseded",
                                                       model.set_version < current.set_version)
                                   .order_by(model.set_version.desc())).scalars().first()
        if previous is None:
            raise self.no_previous(set_version=current.set_version)
        current.status = "rolled_back"
        session.add(current)
        session.flush()
        self._make_published(session, previous, actor)
        uow.audit(f"{self.audit_prefix}.rollback", entity_type=self.entity_type, entity_id=previous.id,
                  before={"published": current.set_version}, after={"published": previous.set_version, "note": clean})
        return previous

    def discard(self, uow: UnitOfWork, *, set_version: int, expected_version: int) -> None:
        """Delete a draft that will not be published.

        Raises:
            not_draft, StaleVersionError.
        """
        session = uow.session
        row = self.draft(session, set_version, expected_version)
        uow.audit(f"{self.audit_prefix}.discard", entity_type=self.entity_type, entity_id=row.id,
                  before={"set_version": row.set_version, "note": row.note})
        session.delete(row)
        session.flush()


def diff_documents(old: Mapping[str, Any], new: Mapping[str, Any], fields: tuple[str, ...]) -> pd.DataFrame:
    """Rules added, removed and changed from document ``old`` to document ``new``.

    Args:
        old: the older rule document.
        new: the newer rule document.
        fields: the rule fields compared.

    Returns:
        One row per difference: ``rule_code``, ``change`` (added, removed, changed), ``fields``
        (comma-separated changed fields), ``before`` and ``after`` (JSON of the changed fields, or of
        the whole rule when added or removed).
    """
    a_rules = {r["code"]: r for r in old.get("rules", [])}
    b_rules = {r["code"]: r for r in new.get("rules", [])}
    rows = []
    for code in sorted(set(a_rules) | set(b_rules)):
        a, b = a_rules.get(code), b_rules.get(code)
        if a is None or b is None:
            kept = json.dumps(b if a is None else a, ensure_ascii=False, sort_keys=True)
            rows.append({"rule_code": code, "change": "added" if a is None else "removed", "fields": "",
                         "before": "" if a is None else kept, "after": "" if b is None else kept})
            continue
        changed = [f for f in fields if a.get(f) != b.get(f)]
        if changed:
            rows.append({"rule_code": code, "change": "changed", "fields": ", ".join(changed),
                         "before": json.dumps({f: a.get(f) for f in changed}, ensure_ascii=False, sort_keys=True),
                         "after": json.dumps({f: b.get(f) for f in changed}, ensure_ascii=False, sort_keys=True)})
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)
