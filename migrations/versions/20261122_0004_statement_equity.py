"""financial statements carry total equity (lets the balance-sheet quality rule run)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("financial_statement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_equity", core.models.types.Money(precision=18, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("financial_statement", schema=None) as batch_op:
        batch_op.drop_column("total_equity")
