"""Engine factory (SQLite or PostgreSQL from DATABASE_URL) and the ``session_scope()`` unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

from core.config import PROJECT_ROOT, get_settings, normalize_database_url
from core.errors import DatabaseNotReadyError


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def build_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> Engine:
    """A new engine for ``url``: WAL and foreign keys on SQLite, pre-ping pooling on PostgreSQL."""
    url = normalize_database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )


_ENGINES: dict[str, Engine] = {}


def get_engine() -> Engine:
    """The process-wide engine for the configured DATABASE_URL (one per URL)."""
    settings = get_settings()
    engine = _ENGINES.get(settings.database_url)
    if engine is None:
        engine = build_engine(
            settings.database_url, echo=settings.database_echo, pool_size=settings.database_pool_size
        )
        _ENGINES[settings.database_url] = engine
    return engine


def reset_engine() -> None:
    """Dispose every engine this process opened (tests and scripts switching databases)."""
    while _ENGINES:
        _, engine = _ENGINES.popitem()
        engine.dispose()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One unit of work: commit everything on success, roll everything back on any error."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    """The Alembic configuration of this project, pointed at ``url`` (default: settings)."""
    from alembic.config import Config

    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    target = normalize_database_url(url) if url else get_settings().database_url
    cfg.set_main_option("sqlalchemy.url", target.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return head or ""


def check_schema(engine: Engine | None = None) -> None:
    """Raise DatabaseNotReadyError (saying what to run) unless the schema is at the latest migration."""
    engine = engine or get_engine()
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise DatabaseNotReadyError("error.database_not_migrated")
            current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except OperationalError as exc:
        raise DatabaseNotReadyError("error.database_unreachable", detail=str(exc.orig)[:200]) from exc
    if current != head_revision():
        raise DatabaseNotReadyError("error.database_not_migrated")


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)
