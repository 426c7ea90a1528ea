"""Audit events and data-access logs are append-only: the ORM guard on both databases, triggers on PostgreSQL.

Retention (网络安全法 Art. 21) means the application never deletes these rows; these tests prove the
three layers: a static scan of the code, the ``before_flush`` / ``do_orm_execute`` guard of every ORM
session, and on PostgreSQL the triggers of migration 0003.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core.auth import SYSTEM_ACTOR
from core.config import get_settings
from core.db import downgrade, session_scope, upgrade
from core.models import AuditEvent, DataAccessLog
from core.models.oversight import AppendOnlyViolationError
from core.services.audit import append_audit, verify_stored_chain
from tests import factories
from tests.conftest import create_pg_database, drop_pg_database, require_postgres

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def rows(db) -> dict[str, int]:
    """One audit event and one access log row; returns their ids."""
    with session_scope() as s:
        event = append_audit(s, actor=SYSTEM_ACTOR, action="test.event", after={"n": 1})
        ent = factories.enterprise(s)
        entry = DataAccessLog(enterprise_id=ent.id, scope="basic", purpose="测试")
        s.add(entry)
        s.flush()
        return {"audit_event": event.id, "data_access_log": entry.id}


def _counts() -> tuple[int, int]:
    with session_scope() as s:
        return len(s.exec(select(AuditEvent)).all()), len(s.exec(select(DataAccessLog)).all())


# -- the ORM guard, on both databases ----------------------------------------------------------------


@pytest.mark.parametrize("model", [AuditEvent, DataAccessLog], ids=["audit_event", "data_access_log"])
def test_an_orm_session_cannot_delete_an_append_only_row(rows, model):
    with pytest.raises(AppendOnlyViolationError) as info, session_scope() as s:
        s.delete(s.get(model, rows[model.__tablename__]))
    assert info.value.params == {"table": model.__tablename__, "operation": "delete"}
    assert _counts() == (1, 1)


def test_an_orm_session_cannot_change_an_audit_event(rows):
    with pytest.raises(AppendOnlyViolationError), session_scope() as s:
        s.get(AuditEvent, rows["audit_event"]).action = "forged"
    with session_scope() as s:
        assert s.get(AuditEvent, rows["audit_event"]).action == "test.event"
        assert verify_stored_chain(s) == (1, None)


def test_an_orm_session_cannot_change_an_access_log_row(rows):
    with pytest.raises(AppendOnlyViolationError), session_scope() as s:
        s.get(DataAccessLog, rows["data_access_log"]).purpose = "改写"
    with session_scope() as s:
        assert s.get(DataAccessLog, rows["data_access_log"]).purpose == "测试"


@pytest.mark.parametrize(
    "statement",
    [
        delete(AuditEvent),
        delete(DataAccessLog),
        update(AuditEvent).values(action="x"),
        update(DataAccessLog).values(scope="x"),
    ],
    ids=["delete-audit", "delete-log", "update-audit", "update-log"],
)
def test_bulk_orm_statements_on_append_only_tables_are_refused(rows, statement):
    with pytest.raises(AppendOnlyViolationError), session_scope() as s:
        s.exec(statement)
    assert _counts() == (1, 1)


def test_reading_an_append_only_row_without_changing_it_is_fine(rows):
    with session_scope() as s:
        event = s.get(AuditEvent, rows["audit_event"])
        event.action = event.action  # a no-op assignment is not a change
        s.add(
            DataAccessLog(
                enterprise_id=s.get(DataAccessLog, rows["data_access_log"]).enterprise_id,
                scope="credit",
                purpose="再次查询",
            )
        )
    assert _counts() == (1, 2)


# -- the triggers, on PostgreSQL -------------------------------------------------------------------

# The triggers exist on PostgreSQL only (SQLite is the single-user embedded default): run these there.
ON_POSTGRES = pytest.mark.parametrize("db", ["postgres"], indirect=True)


@pytest.mark.postgres
@ON_POSTGRES
@pytest.mark.parametrize("table", ["audit_event", "data_access_log"])
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE {table} SET id = id WHERE id = :i",
        "DELETE FROM {table} WHERE id = :i",
        "TRUNCATE {table} CASCADE",
    ],
    ids=["update", "delete", "truncate"],
)
def test_postgres_refuses_changes_to_append_only_tables_even_in_raw_sql(rows, db, table, sql):
    with pytest.raises(DBAPIError) as info, session_scope() as s:
        s.exec(
            text(sql.format(table=table)).bindparams(i=rows[table])
            if ":i" in sql
            else text(sql.format(table=table))
        )
    message = str(info.value.orig)
    assert "append-only" in message and table in message
    assert _counts() == (1, 1)


@pytest.mark.postgres
@ON_POSTGRES
def test_the_table_owner_can_bypass_the_trigger_and_the_chain_still_shows_it(rows, db):
    with session_scope() as s:
        append_audit(s, actor=SYSTEM_ACTOR, action="test.second")
    engine = create_engine(get_settings().database_url)
    try:
        with engine.begin() as conn:  # an attacker holding the owner's rights
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            conn.execute(
                text("UPDATE audit_event SET action = 'forged' WHERE id = :i"), {"i": rows["audit_event"]}
            )
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    finally:
        engine.dispose()
    with session_scope() as s:
        assert verify_stored_chain(s) == (0, rows["audit_event"])


@pytest.mark.postgres
def test_downgrade_removes_the_triggers_and_upgrade_restores_them():
    require_postgres()
    url = create_pg_database("jinfu_guard")
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))

    def triggers() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())

    try:
        upgrade(url)
        expected = {
            f"{t}_{k}" for t in ("audit_event", "data_access_log") for k in ("append_only", "no_truncate")
        }
        assert triggers() == expected
        downgrade(url, "0002")
        assert triggers() == set()
        upgrade(url)
        assert triggers() == expected
    finally:
        engine.dispose()
        drop_pg_database(url)


# -- the code never deletes them --------------------------------------------------------------------

_FORBIDDEN = [
    re.compile(r"delete\(\s*(AuditEvent|DataAccessLog)\b"),
    re.compile(r"(DELETE\s+FROM|TRUNCATE(\s+TABLE)?)\s+\"?(audit_event|data_access_log)\b", re.IGNORECASE),
    re.compile(r"\.query\(\s*(AuditEvent|DataAccessLog)\b[^\n]*\.delete\("),
]


def test_no_application_code_deletes_audit_events_or_access_logs():
    offenders = []
    for folder in ("core", "apps", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for pattern in _FORBIDDEN:
                for match in pattern.finditer(source):
                    line = source.count("\n", 0, match.start()) + 1
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert offenders == []
