"""participants.screen_sharing (DECISIONS §9, extension)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN on SQLite and PostgreSQL alike (no batch copy of the table); the server
    # default makes the seats that exist already read as not sharing.
    op.add_column(
        "participants",
        sa.Column("screen_sharing", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("participants", schema=None) as batch_op:
        batch_op.drop_column("screen_sharing")
