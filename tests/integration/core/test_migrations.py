"""Alembic migrations upgrade and downgrade on both databases, and match the models exactly."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import core.models  # noqa: F401
from core.db import alembic_config, downgrade, upgrade
from tests.conftest import create_pg_database, drop_pg_database, require_postgres


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mig.db'}"
        return
    require_postgres()
    url = create_pg_database("jinfu_mig")
    try:
        yield url
    finally:
        drop_pg_database(url)


def _tables(url: str) -> set[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(empty_url):
    upgrade(empty_url)
    assert set(SQLModel.metadata.tables) <= _tables(empty_url)
    downgrade(empty_url, "base")
    assert _tables(empty_url) <= {"alembic_version"}
    upgrade(empty_url)  # and back up again: the cycle is repeatable
    assert set(SQLModel.metadata.tables) <= _tables(empty_url)


def test_migrated_schema_matches_the_models(empty_url):
    upgrade(empty_url)
    engine = create_engine(empty_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_render_offline_sql_for_postgres():
    # A reviewer or DBA can read the exact DDL before it runs.
    import io

    buffer = io.StringIO()
    cfg = alembic_config("postgresql+psycopg2://u@localhost/x")
    cfg.output_buffer = buffer
    command.upgrade(cfg, "head", sql=True)
    assert "CREATE TABLE enterprise" in buffer.getvalue()

def _counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one() for t in tables}
    finally:
        engine.dispose()


def test_a_populated_sqlite_database_migrates_down_and_up_without_losing_rows(seeded_url, tmp_path):
    """Batch mode rebuilds referenced tables (application, loan …); the rows and their links survive."""
    import shutil

    source = seeded_url.removeprefix("sqlite:///")
    copy = tmp_path / "populated.db"
    shutil.copyfile(source, copy)
    url = f"sqlite:///{copy}"
    tables = ("application", "application_event", "loan", "repayment_installment", "consent_grant")
    before = _counts(url, tables)
    assert before["application"] > 0 and before["repayment_installment"] > 0
    downgrade(url, "0004")
    upgrade(url)
    assert _counts(url, tables) == before
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        paid = conn.exec_driver_sql(
            "SELECT count(*) FROM repayment_installment WHERE paid_amount > 0 AND "
            "abs(principal_paid + interest_paid - paid_amount) > 0.001"
        ).scalar_one()
    engine.dispose()
    assert paid == 0  # the data step split every earlier payment into interest and principal
