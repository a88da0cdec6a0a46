"""meeting_assistants, transcript_segments, meeting_summaries (docs/assistant.md, extension)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_assistants",
        sa.Column("meeting_id", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("invited_by", sa.String(length=50), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "language IN ('en', 'zh', 'auto')", name=op.f("ck_meeting_assistants_language")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_assistants_meeting_id_meetings")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"], ["users.id"], name=op.f("fk_meeting_assistants_invited_by_users")
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_meeting_assistants")),
    )
    with op.batch_alter_table("meeting_assistants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_assistants_active"), ["active"], unique=False)

    op.create_table(
        "transcript_segments",
        sa.Column("id", sa.String(length=50), nullable=False),
        sa.Column("meeting_id", sa.String(length=50), nullable=False),
        sa.Column("user_id", sa.String(length=50), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_transcript_segments_meeting_id_meetings"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_transcript_segments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_segments")),
    )
    with op.batch_alter_table("transcript_segments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transcript_segments_meeting_id_created_at_id"),
            ["meeting_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "meeting_summaries",
        sa.Column("meeting_id", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'ready')", name=op.f("ck_meeting_summaries_status")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"], ["meetings.id"], name=op.f("fk_meeting_summaries_meeting_id_meetings")
        ),
        sa.PrimaryKeyConstraint("meeting_id", name=op.f("pk_meeting_summaries")),
    )


def downgrade() -> None:
    op.drop_table("meeting_summaries")
    with op.batch_alter_table("transcript_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transcript_segments_meeting_id_created_at_id"))
    op.drop_table("transcript_segments")
    with op.batch_alter_table("meeting_assistants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_assistants_active"))
    op.drop_table("meeting_assistants")
