"""Bulk loading of generated demo frames: SQLite through Core executemany, PostgreSQL through COPY.

The loader streams chunk after chunk from :func:`core.seed.generator.iter_frames`, so memory stays
bounded by one chunk of enterprises. Everything is written in one transaction; a database that
already holds the demo data (the operator organization is the marker) is left alone unless
``force`` is given, in which case every table is emptied first. After a PostgreSQL load the id
sequences are moved past the loaded ids and the tables are analysed. One ``seed_demo`` audit event
starts the audit chain.
"""

from __future__ import annotations

import io
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import JSON, Boolean, Date, Numeric, column, insert, table, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, SQLModel

import core.models  # noqa: F401  (complete metadata)
from core.auth import SYSTEM_ACTOR
from core.db import build_engine
from core.models.types import Money, UTCDateTime
from core.seed.generator import (
    DEFAULT_AS_OF,
    MONEY_COLUMNS,
    OPERATOR_CODE,
    TABLE_ORDER,
    DemoGenerator,
    iter_frames,
)

SQLITE_BATCH = 5_000


@dataclass
class SeedReport:
    """What one seeding run did: rows written per table, timing, and whether it was skipped."""

    url: str
    backend: str
    scale: str
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    skipped: bool = False
    message: str = ""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        return {"url": self.url, "backend": self.backend, "scale": self.scale, "seed": self.seed,
                "rows": self.rows, "total_rows": self.total_rows, "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rows_per_second, 1), "skipped": self.skipped,
                "message": self.message}


def normalise_url(url: str) -> str:
    """``postgres://`` and bare ``postgresql://`` mean psycopg2, as in the settings."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# ----------------------------------------------------------------------------- encoding
def _column_kinds(table_name: str) -> dict[str, str]:
    kinds = {}
    for col in SQLModel.metadata.tables[table_name].columns:
        t = col.type
        if isinstance(t, UTCDateTime):
            kind = "datetime"
        elif isinstance(t, Money):
            kind = "money"
        elif isinstance(t, Date):
            kind = "date"
        elif isinstance(t, JSON) or getattr(t, "impl", None) is not None and isinstance(t.impl, JSON):
            kind = "json"
        elif isinstance(t, Boolean):
            kind = "bool"
        elif isinstance(t, Numeric):
            kind = "numeric"
        else:
            kind = "plain"
        kinds[col.name] = kind
    return kinds


def _json_values(series: pd.Series) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v))
            else json.dumps(v, ensure_ascii=False, default=str) for v in series.tolist()]


def _money_text(cents: pd.Series) -> pd.Series:
    """Int cents -> the text of the Decimal (``"-12.30"``); NA stays None."""
    valid = cents.notna()
    c = cents[valid].astype(np.int64).to_numpy()
    a = np.abs(c)
    txt = (np.where(c < 0, "-", "") + (a // 100).astype(str).astype(object) + "." +
           pd.Series(a % 100).astype(str).str.zfill(2).to_numpy(dtype=object))
    out = pd.Series([None] * len(cents), index=cents.index, dtype=object)
    out[valid] = txt
    return out


def _check_columns(table_name: str, df: pd.DataFrame, kinds: dict[str, str]) -> None:
    unknown = [c for c in df.columns if c not in kinds]
    if unknown:
        raise ValueError(f"frame for {table_name} has columns the table lacks: {unknown}")


def _sqlite_records(table_name: str, df: pd.DataFrame) -> list[dict]:
    kinds = _column_kinds(table_name)
    _check_columns(table_name, df, kinds)
    out: dict[str, pd.Series] = {}
    money = set(MONEY_COLUMNS.get(table_name, ()))
    for name in df.columns:
        s = df[name]
        kind = kinds[name]
        if name in money:
            out[name] = _money_text(s)
        elif kind == "datetime":
            values = s.dt.tz_convert("UTC").dt.tz_localize(None) if s.dt.tz is not None else s
            txt = values.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
            out[name] = txt.astype(object).where(values.notna(), None)
        elif kind == "date":
            txt = s.dt.strftime("%Y-%m-%d")
            out[name] = txt.astype(object).where(s.notna(), None)
        elif kind == "json":
            out[name] = pd.Series(_json_values(s), index=s.index, dtype=object)
        elif kind == "bool":
            out[name] = s.astype(int)
        else:
            out[name] = s.astype(object).where(s.notna(), None)
    frame = pd.DataFrame(out)
    return frame.to_dict("records")


def _arrow_table(table_name: str, df: pd.DataFrame) -> pa.Table:
    kinds = _column_kinds(table_name)
    _check_columns(table_name, df, kinds)
    money = set(MONEY_COLUMNS.get(table_name, ()))
    arrays, names = [], []
    for name in df.columns:
        s = df[name]
        kind = kinds[name]
        if name in money:
            # Cents / 100 has at most 15 significant digits, so its shortest text is the exact decimal.
            arr = pa.array(s.astype("Float64") / 100, type=pa.float64(), from_pandas=True)
        elif kind == "datetime":
            values = s.dt.tz_convert("UTC") if s.dt.tz is not None else s.dt.tz_localize("UTC")
            arr = pa.array(values, type=pa.timestamp("s", tz="UTC"), from_pandas=True)
        elif kind == "date":
            arr = pa.array(s.to_numpy().astype("datetime64[D]"), type=pa.date32(), from_pandas=True)
        elif kind == "json":
            arr = pa.array(_json_values(s), type=pa.string())
        elif kind == "bool":
            arr = pa.array(s.astype(bool), type=pa.bool_())
        elif s.dtype == object:
            arr = pa.array(s.where(s.notna(), None).tolist(), type=pa.string())
        else:
            arr = pa.array(s, from_pandas=True)
        arrays.append(arr)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


# ----------------------------------------------------------------------------- writers
class _Writer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.rows: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)

    def write(self, table_name: str, df: pd.DataFrame) -> None:
        raise NotImplementedError


class _SQLiteWriter(_Writer):
    def __init__(self, engine: Engine, conn: Connection) -> None:
        super().__init__(engine)
        self.conn = conn

    def write(self, table_name: str, df: pd.DataFrame) -> None:
        if df.empty:
            return
        records = _sqlite_records(table_name, df)
        target = table(table_name, *[column(c) for c in df.columns])
        for i in range(0, len(records), SQLITE_BATCH):
            self.conn.execute(insert(target), records[i: i + SQLITE_BATCH])
        self.rows[table_name] += len(df)


class _PostgresWriter(_Writer):
    def __init__(self, engine: Engine, raw) -> None:
        super().__init__(engine)
        self.raw = raw
        self.cursor = raw.cursor()

    def write(self, table_name: str, df: pd.DataFrame) -> None:
        if df.empty:
            return
        tbl = _arrow_table(table_name, df)
        buf = io.BytesIO()
        pacsv.write_csv(tbl, buf, write_options=pacsv.WriteOptions(include_header=False))
        buf.seek(0)
        cols = ", ".join(f'"{c}"' for c in df.columns)
        self.cursor.copy_expert(f'COPY "{table_name}" ({cols}) FROM STDIN WITH (FORMAT csv)', buf)
        self.rows[table_name] += len(df)


# ----------------------------------------------------------------------------- orchestration
def _is_seeded(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM organization WHERE code = :c"), {"c": OPERATOR_CODE}).first() is not None


def _has_rows(conn: Connection) -> bool:
    return conn.execute(text("SELECT 1 FROM organization LIMIT 1")).first() is not None


def _wipe(conn: Connection, backend: str) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    if backend == "postgresql":
        # --force on a demo database: the append-only guard (migration 0003) is lifted by the table
        # owner for this one transaction, then restored.
        guarded = ("audit_event", "data_access_log")
        for t in guarded:
            conn.execute(text(f'ALTER TABLE "{t}" DISABLE TRIGGER USER'))
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        for t in guarded:
            conn.execute(text(f'ALTER TABLE "{t}" ENABLE TRIGGER USER'))
    else:
        for t in tables:
            conn.execute(text(f'DELETE FROM "{t}"'))


def _reset_sequences(conn: Connection) -> None:
    for t in SQLModel.metadata.sorted_tables:
        if "id" not in t.columns:
            continue
        conn.execute(text(
            f"SELECT setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM \"{t.name}\"), 1), "
            f"(SELECT MAX(id) FROM \"{t.name}\") IS NOT NULL)"
        ))


def _drop_foreign_keys(conn: Connection) -> list[tuple[str, str, str]]:
    """Drop every foreign key of the schema (re-added, and so validated in bulk, after the load).

    Row-by-row foreign-key triggers make COPY slow, and their cached plans, made while the tables
    were empty, can turn into sequential scans: validating once at the end is much faster.
    """
    fks = conn.execute(text(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND connamespace = current_schema()::regnamespace ORDER BY conname"
    )).all()
    for tbl, name, _ in fks:
        conn.execute(text(f'ALTER TABLE {tbl} DROP CONSTRAINT "{name}"'))
    return [tuple(row) for row in fks]


def _drop_secondary_indexes(conn: Connection) -> list[tuple]:
    """Drop unique constraints and plain indexes (not primary keys); rebuilt in bulk after the load.

    Returns (table, name, constraint definition or None) with the index definition for plain indexes.
    """
    rows = conn.execute(text(
        "SELECT i.indrelid::regclass::text, c.relname, con.conname, "
        "pg_get_constraintdef(con.oid), pg_get_indexdef(i.indexrelid) "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype = 'u' "
        "WHERE NOT i.indisprimary AND c.relnamespace = current_schema()::regnamespace "
        "AND i.indrelid::regclass::text <> 'alembic_version'"
    )).all()
    dropped = []
    for tbl, index_name, con_name, con_def, index_def in rows:
        if con_name:
            conn.execute(text(f'ALTER TABLE {tbl} DROP CONSTRAINT "{con_name}"'))
            dropped.append((tbl, con_name, con_def))
        else:
            conn.execute(text(f'DROP INDEX "{index_name}"'))
            dropped.append((tbl, index_name, None, index_def))
    return dropped


def _restore_indexes(conn: Connection, dropped: list) -> None:
    for item in dropped:
        if item[2] is not None:
            conn.execute(text(f'ALTER TABLE {item[0]} ADD CONSTRAINT "{item[1]}" {item[2]}'))
        else:
            conn.execute(text(item[3]))


def _restore_foreign_keys(conn: Connection, fks: list[tuple[str, str, str]]) -> None:
    for tbl, name, definition in fks:
        conn.execute(text(f'ALTER TABLE {tbl} ADD CONSTRAINT "{name}" {definition}'))


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="seeding", disable=not (enabled and sys.stderr.isatty()),
                file=sys.stderr)


def load(
    url: str,
    *,
    scale: str = "demo",
    seed: int = 42,
    n_enterprises: int | None = None,
    as_of: date = DEFAULT_AS_OF,
    progress: bool = True,
    force: bool = False,
) -> SeedReport:
    """Generate and write the demo data set into the migrated database at ``url``.

    Args:
        url: SQLAlchemy URL of a database already at the latest migration.
        scale: a key of ``SCALES``.
        seed: the random seed; the same scale and seed always give the same data.
        n_enterprises: override of the scale's enterprise count (tests).
        as_of: the generator's "today".
        progress: show a tqdm bar (only when stderr is a terminal).
        force: empty every table first when the database already holds data.

    Returns:
        A SeedReport; ``skipped`` is true when the database already held the demo data.
    """
    url = normalise_url(url)
    engine = build_engine(url)
    backend = engine.dialect.name
    report = SeedReport(url=masked(url), backend=backend, scale=scale, seed=seed)
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            seeded, has_rows = _is_seeded(conn), _has_rows(conn)
        if (seeded or has_rows) and not force:
            report.skipped = True
            report.message = ("the database already holds the demo data; nothing was written (use --force to reload)"
                              if seeded else "the database already holds data that is not demo data; "
                                             "nothing was written (use --force to wipe it and reload)")
            return report
        total_chunks = DemoGenerator(scale, seed, n_enterprises=n_enterprises, as_of=as_of).chunk_count() + 1
        frames_iter = iter_frames(scale, seed, n_enterprises=n_enterprises, as_of=as_of)
        with _progress(total_chunks, progress) as bar:
            if backend == "postgresql":
                rows = _load_postgres(engine, frames_iter, bar, wipe=seeded or has_rows)
            else:
                rows = _load_sqlite(engine, frames_iter, bar, wipe=seeded or has_rows)
        report.rows = rows
        with Session(engine) as session:
            from core.services.audit import append_audit

            append_audit(session, actor=SYSTEM_ACTOR, action="seed_demo", entity_type="database",
                         after={"scale": scale, "seed": seed, "as_of": as_of.isoformat(),
                                "rows": report.rows})
            session.commit()
        report.message = f"seeded {report.total_rows:,} rows"
    finally:
        report.seconds = time.perf_counter() - started
        engine.dispose()
    return report


def _load_sqlite(engine: Engine, frames_iter: Iterable[dict[str, pd.DataFrame]], bar, *, wipe: bool) -> dict[str, int]:
    with engine.begin() as conn:
        if wipe:
            _wipe(conn, "sqlite")
        writer = _SQLiteWriter(engine, conn)
        for frames in frames_iter:
            for name in TABLE_ORDER:
                if name in frames:
                    writer.write(name, frames[name])
            bar.update(1)
    return writer.rows


def _load_postgres(engine: Engine, frames_iter: Iterable[dict[str, pd.DataFrame]], bar, *, wipe: bool) -> dict[str, int]:
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        with conn.begin():
            if wipe:
                _wipe(conn, "postgresql")
            fks = _drop_foreign_keys(conn)
            indexes = _drop_secondary_indexes(conn)
            writer = _PostgresWriter(engine, raw)
            for frames in frames_iter:
                for name in TABLE_ORDER:
                    if name in frames:
                        writer.write(name, frames[name])
                bar.update(1)
            _restore_indexes(conn, indexes)
            _restore_foreign_keys(conn, fks)
            _reset_sequences(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return writer.rows
