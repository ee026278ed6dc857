"""how each side of a connection is named in the other's Slack

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("connection", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "partner_label",
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column(
                "initiator_label",
                sqlmodel.sql.sqltypes.AutoString(length=255),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    # SQLite's own DROP COLUMN (3.35+), not a copy of the table: rows point at `connection`
    # (foreign keys are on), as 0005's downgrade explains
    with op.batch_alter_table("connection", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("initiator_label")
        batch_op.drop_column("partner_label")
