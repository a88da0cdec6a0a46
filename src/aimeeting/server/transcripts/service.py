"""Final captions stored as transcript segments, read in the order they were stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, exists, select

from aimeeting.server.db import Database, models
from aimeeting.server.ids import Clock, new_id
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.pages import beyond, cursor_row
from aimeeting.server.transcripts.schemas import TranscriptPage, TranscriptSegment

_ORDER = (models.TranscriptSegment.created_at, models.TranscriptSegment.id)


@dataclass(frozen=True, slots=True)
class Caption:
    """A final caption to store: what ``user_id`` said between two Unix-millisecond times."""

    meeting_id: str
    user_id: str
    text: str
    start_ms: int
    end_ms: int


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


class TranscriptService:
    def __init__(self, db: Database, meetings: MeetingService) -> None:
        self.db = db
        self.meetings = meetings
        # Stored order is reading order: (created_at, id), strictly increasing per process (a
        # meeting's captions all come from the one assistant connection, on one node).
        self._clock = Clock()

    async def add(self, caption: Caption) -> str:
        """Store a final caption; its segment id."""
        segment = models.TranscriptSegment(
            id=new_id("seg"),
            meeting_id=caption.meeting_id,
            user_id=caption.user_id,
            text=caption.text,
            start_at=from_ms(caption.start_ms),
            end_at=from_ms(caption.end_ms),
            created_at=self._clock.next(),
        )
        async with self.db.write() as session:
            session.add(segment)
        return segment.id

    async def has_any(self, meeting_id: str) -> bool:
        said = select(models.TranscriptSegment.id).where(
            models.TranscriptSegment.meeting_id == meeting_id
        )
        async with self.db.read() as session:
            return bool(await session.scalar(select(exists(said))))

    async def page(
        self, meeting_id: str, user_id: str, after: str | None, limit: int
    ) -> TranscriptPage:
        """Oldest first, for whoever may see the meeting (else 40402); ``after`` a segment id
        of this meeting to page on (else 40004)."""
        await self.meetings.check_visible(meeting_id, user_id)
        query = self._query(meeting_id)
        async with self.db.read() as session:
            if after is not None:
                cursor = await cursor_row(
                    session,
                    models.TranscriptSegment,
                    after,
                    prefix="seg",
                    meeting_id=meeting_id,
                    field="after",
                    what="segment",
                )
                query = query.where(beyond(models.TranscriptSegment, cursor, later=True))
            rows = (await session.execute(query.limit(limit + 1))).all()
        items = [_out(segment, nickname) for segment, nickname in rows]
        return TranscriptPage(items=items[:limit], has_more=len(items) > limit)

    async def all(self, meeting_id: str) -> list[TranscriptSegment]:
        """The whole transcript, oldest first (for the summary)."""
        async with self.db.read() as session:
            rows = (await session.execute(self._query(meeting_id))).all()
        return [_out(segment, nickname) for segment, nickname in rows]

    @staticmethod
    def _query(meeting_id: str) -> Select[models.TranscriptSegment, str]:
        return (
            select(models.TranscriptSegment, models.User.nickname)
            .join(models.User, models.User.id == models.TranscriptSegment.user_id)
            .where(models.TranscriptSegment.meeting_id == meeting_id)
            .order_by(*_ORDER)
        )


def _out(segment: models.TranscriptSegment, nickname: str) -> TranscriptSegment:
    return TranscriptSegment(
        id=segment.id,
        user_id=segment.user_id,
        nickname=nickname,
        text=segment.text,
        start=segment.start_at,
        end=segment.end_at,
    )
