"""Audit guard: on PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE on the append-only tables.

``audit_event`` (the SHA-256 chained audit trail) and ``data_access_log`` (every read of a credit
file under consent) are kept, never changed nor deleted (网络安全法 Art. 21: at least six months; the
platform keeps them indefinitely). A row trigger refuses UPDATE and DELETE, a statement trigger
refuses TRUNCATE, each raising a clear error naming the table.

Only someone with the table owner's rights can get past this (``ALTER TABLE … DISABLE TRIGGER``, or
a superuser's ``session_replication_role = replica``); that is why the hash chain and
``scripts/verify_audit.py`` remain the real tamper evidence. Run the application under a role that
does not own the tables where that matters (docs/operations.md).

SQLite: nothing to do. SQLite is the single-user embedded default (development, demos, one-host
trials); whoever can open the file can rewrite it, so there the ORM guard in
``core.models.oversight`` and the hash chain are the protection.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDED_TABLES = ("audit_event", "data_access_log")
FUNCTION = "jinfu_refuse_append_only_change"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'jinfu: % on table % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events and data-access logs are kept and never changed or deleted '
                     '(retention, 网络安全法 Art. 21). See docs/operations.md.';
END;
$$
"""


def _is_postgres() -> bool:
    return op.get_context().dialect.name == "postgresql"


def upgrade() -> None:
    if not _is_postgres():
        return
    op.execute(CREATE_FUNCTION)
    for table in GUARDED_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    if not _is_postgres():
        return
    for table in GUARDED_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
