"""invitations by e-mail: whether the partner is reached by e-mail, and the admin's address
for Reply-To

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invitation", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("by_email", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("reply_to", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("invitation", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("reply_to")
        batch_op.drop_column("by_email")
