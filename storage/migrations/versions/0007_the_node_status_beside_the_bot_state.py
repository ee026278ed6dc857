"""what a real node says of a connection beside the bot's state

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("node_status", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    # SQLite's own DROP COLUMN (3.35+), not a copy of the table: rows point at `connection`
    # (foreign keys are on), as 0005's downgrade explains
    with op.batch_alter_table("connection", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("node_status")
