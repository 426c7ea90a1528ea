"""Shared test fixtures: fresh migrated databases on SQLite and PostgreSQL, settings reset per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.config import get_settings
from core.db import reset_engine, upgrade

pytest_plugins = ["tests.fixtures.seeded"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin_url() -> str:
    url = make_url(TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg2://", 1))
    return url.render_as_string(hide_password=False)


def postgres_available() -> bool:
    try:
        engine = create_engine(_pg_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False


def require_postgres() -> None:
    """Skip locally when PostgreSQL is absent; under CI its absence is a failure, never a skip."""
    if postgres_available():
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI but {TEST_DATABASE_URL} is unreachable")
    pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}")


def create_pg_database(prefix: str = "jinfu_t") -> str:
    """Create a fresh, uniquely named database on the test server; return its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """Point settings and the engine at ``url`` for one test."""
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    reset_engine()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts from development settings, a private cache and no inherited DATABASE_URL."""
    monkeypatch.setenv("JINFU_ENV", "test")
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.setenv("COOKIE_SECRET", "test-cookie-secret-not-for-production")
    monkeypatch.setenv("CACHE_URL", f"disk:{tmp_path / 'cache'}")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    reset_engine()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Lazily created, migrated databases, one per backend, shared by the session."""
    urls: dict[str, str] = {}
    yield urls
    reset_engine()
    if "postgres" in urls:
        drop_pg_database(urls["postgres"])


def _migrated(backend: str, urls: dict[str, str], tmp: Path) -> str:
    if backend not in urls:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'jinfu-test.db'}"
        else:
            require_postgres()
            url = create_pg_database()
        upgrade(url)
        urls[backend] = url
    return urls[backend]


def truncate_all(url: str) -> None:
    """Empty every table (keeping the schema and alembic_version) between tests."""
    from sqlmodel import SQLModel

    import core.models  # noqa: F401

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # The append-only guard triggers refuse TRUNCATE on the audit tables; the test harness (a
            # superuser) empties them between tests with triggers switched off for this transaction only.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if _has_sqlite_sequence(conn):
                conn.execute(text("DELETE FROM sqlite_sequence"))
    engine.dispose()


def _has_sqlite_sequence(conn) -> bool:
    return bool(conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first())


BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db(request, migrated_urls, tmp_path_factory, monkeypatch) -> Iterator[str]:
    """An empty, migrated database on each backend; the test's services use it. Yields the backend name."""
    tmp = tmp_path_factory.mktemp(f"db-{request.param}")
    url = _migrated(request.param, migrated_urls, tmp)
    use_database(monkeypatch, url)
    try:
        yield request.param
    finally:
        reset_engine()
        truncate_all(url)
