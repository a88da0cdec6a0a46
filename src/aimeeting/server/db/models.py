"""Tables: the contract's §5 (users, meetings, participants) plus what DECISIONS.md needs."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from aimeeting.protocol import MeetingStatus


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(255))
    nickname: Mapped[str] = mapped_column(String(50))
    avatar: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# 'waiting', 'active', 'ended': the text of migration 0001's constraint, built from the enum.
_STATUSES = ", ".join(f"'{status.value}'" for status in MeetingStatus)


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status"),
        Index(None, "creator_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    meeting_number: Mapped[str] = mapped_column(String(9), unique=True)
    title: Mapped[str | None] = mapped_column(String(100))
    creator_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Participant(Base):
    """One row per seat taken: a rejoin after leaving is a new row, so history is kept."""

    __tablename__ = "participants"
    __table_args__ = (
        # At most one held seat (left_at IS NULL) per user and meeting, enforced by the database.
        Index(
            "uq_participants_held_seat",
            "meeting_id",
            "user_id",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
        Index(None, "user_id", "meeting_id"),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    audio_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    video_muted: Mapped[bool] = mapped_column(Boolean, default=False)
    screen_sharing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ChatMessage(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index(None, "meeting_id", "created_at", "id"),
        # A (sender, client_msg_id) pair is stored once: the SDK's retry key.
        Index("uq_messages_sender_client_msg_id", "sender_id", "client_msg_id", unique=True),
    )

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"))
    sender_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    content: Mapped[str] = mapped_column(Text)
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RevokedSession(Base):
    """Sessions ended by logout; a row may go once every token of the session has expired."""

    __tablename__ = "revoked_sessions"

    session_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginFailure(Base):
    """Consecutive wrong passwords per email, known account or not (no enumeration by lockout)."""

    __tablename__ = "login_failures"

    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MeetingAssistant(Base):
    """The assistant's invitation to a meeting (docs/assistant.md): one row per meeting, kept
    when dismissed (``active`` false), so that a second invitation is an update."""

    __tablename__ = "meeting_assistants"
    __table_args__ = (CheckConstraint("language IN ('en', 'zh', 'auto')", name="language"),)

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    language: Mapped[str] = mapped_column(String(8))
    invited_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TranscriptSegment(Base):
    """A final caption. Read in the order stored, (created_at, id), like chat history."""

    __tablename__ = "transcript_segments"
    __table_args__ = (Index(None, "meeting_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))  # the speaker
    text: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MeetingSummary(Base):
    """Written once a meeting with a transcript ends; ``content`` is the summary as JSON text."""

    __tablename__ = "meeting_summaries"
    __table_args__ = (CheckConstraint("status IN ('pending', 'ready')", name="status"),)

    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    content: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
