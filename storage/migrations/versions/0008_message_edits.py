"""the outbox's edits: a row may edit (chat.update) the message another row posted

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edit_of", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_edit_of"), ["edit_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_edit_of"))
        batch_op.drop_column("edit_of")
