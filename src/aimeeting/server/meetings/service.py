"""Meetings: create, list, join, read, end (contract §1, DECISIONS.md §4).

Seat rules are enforced inside one write transaction that locks the meeting row
(PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``), so concurrent joins take turns.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Literal, NamedTuple, Protocol

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Forbidden, InvalidInput, NotFound
from aimeeting.server.ids import is_well_formed, new_id, new_meeting_number, utcnow
from aimeeting.server.meetings.schemas import (
    CreateMeetingIn,
    JoinMeetingIn,
    ListType,
    Meeting,
    MeetingDetail,
    MeetingListOut,
    MeetingStatus,
    Pagination,
    Participant,
)

log = logging.getLogger(__name__)

_NUMBER_ATTEMPTS = 20

MediaFlag = Literal["audio_muted", "video_muted", "screen_sharing"]


class MediaState(NamedTuple):
    """A seat's media flags, as ``media_state_changed`` carries them."""

    audio_muted: bool
    video_muted: bool
    screen_sharing: bool


class MeetingListener(Protocol):
    """Told of the REST changes the realtime side must act on (after they are committed)."""

    async def seat_taken(self, meeting_id: str, user_id: str) -> None: ...

    async def meeting_ended(self, meeting_id: str, ended_at: datetime) -> None: ...


class MeetingService:
    def __init__(self, db: Database, *, max_participants: int, expiry_seconds: float) -> None:
        self.db = db
        self.max_participants = max_participants
        self.expiry = timedelta(seconds=expiry_seconds)
        self.listeners: list[MeetingListener] = []  # the rooms; the summaries

    # -- reading ------------------------------------------------------------------------

    def status_of(
        self, meeting: models.Meeting, now: datetime
    ) -> tuple[MeetingStatus, datetime | None]:
        """The status as the API shows it: a waiting meeting past its expiry reads as ended."""
        if meeting.status == "waiting" and now >= meeting.created_at + self.expiry:
            return "ended", meeting.created_at + self.expiry
        status: MeetingStatus = meeting.status  # type: ignore[assignment]
        return status, meeting.ended_at

    def _out(self, meeting: models.Meeting, now: datetime) -> Meeting:
        status, ended_at = self.status_of(meeting, now)
        return Meeting(
            id=meeting.id,
            meeting_number=meeting.meeting_number,
            title=meeting.title,
            creator_id=meeting.creator_id,
            status=status,
            started_at=meeting.started_at,
            ended_at=ended_at,
            created_at=meeting.created_at,
        )

    async def _detail(
        self, session: AsyncSession, meeting: models.Meeting, now: datetime
    ) -> MeetingDetail:
        rows = await session.execute(
            select(models.Participant, models.User.nickname, models.User.avatar)
            .join(models.User, models.User.id == models.Participant.user_id)
            .where(
                models.Participant.meeting_id == meeting.id, models.Participant.left_at.is_(None)
            )
            .order_by(models.Participant.joined_at, models.Participant.id)
        )
        participants = [
            Participant(
                user_id=seat.user_id,
                nickname=nickname,
                avatar=avatar,
                joined_at=seat.joined_at,
                audio_muted=seat.audio_muted,
                video_muted=seat.video_muted,
                screen_sharing=seat.screen_sharing,
            )
            for seat, nickname, avatar in rows
        ]
        return MeetingDetail(
            **self._out(meeting, now).model_dump(),
            participants=participants,
            participant_count=len(participants),
        )

    @staticmethod
    async def _can_see(session: AsyncSession, meeting: models.Meeting, user_id: str) -> bool:
        if meeting.creator_id == user_id:
            return True
        ever_joined = select(models.Participant.id).where(
            models.Participant.meeting_id == meeting.id, models.Participant.user_id == user_id
        )
        return bool(await session.scalar(select(exists(ever_joined))))

    async def _visible(
        self, session: AsyncSession, meeting_id: str, user_id: str, *, lock: bool = False
    ) -> models.Meeting:
        """The meeting if ``user_id`` may see it; else 40402, so that existence isn't leaked."""
        if not is_well_formed("meeting", meeting_id):
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        meeting = await session.get(models.Meeting, meeting_id, with_for_update=lock)
        if meeting is None or not await self._can_see(session, meeting, user_id):
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        return meeting

    async def get(self, meeting_id: str, user_id: str) -> MeetingDetail:
        async with self.db.read() as session:
            meeting = await self._visible(session, meeting_id, user_id)
            return await self._detail(session, meeting, utcnow())

    async def check_visible(self, meeting_id: str, user_id: str) -> None:
        """40402 unless ``user_id`` may see the meeting."""
        async with self.db.read() as session:
            await self._visible(session, meeting_id, user_id)

    async def room_entry(self, meeting_id: str, user_id: str) -> MeetingDetail:
        """The meeting a user may enter as a room (DECISIONS §5): visible (else 40402), not
        ended (40005), and the user holds a seat (40301)."""
        detail = await self.get(meeting_id, user_id)
        if detail.status == "ended":
            raise InvalidInput(ErrorCode.MEETING_ENDED)
        if all(seat.user_id != user_id for seat in detail.participants):
            raise Forbidden({"room_id": "join the meeting over REST first"})
        return detail

    async def ended_at(self, meeting_id: str) -> datetime | None:
        """When the meeting ended, or None while it goes on."""
        async with self.db.read() as session:
            meeting = await session.get(models.Meeting, meeting_id)
        if meeting is None:
            return None
        status, ended_at = self.status_of(meeting, utcnow())
        return ended_at if status == "ended" else None

    async def holds_seat(self, meeting_id: str, user_id: str) -> bool:
        """Whether the user holds a seat in the meeting now."""
        held = select(models.Participant.id).where(
            models.Participant.meeting_id == meeting_id,
            models.Participant.user_id == user_id,
            models.Participant.left_at.is_(None),
        )
        async with self.db.read() as session:
            return bool(await session.scalar(select(exists(held))))

    async def members(self, meeting_id: str) -> dict[str, str]:
        """Everyone who ever held a seat in the meeting, and its creator: user id → nickname."""
        took_seat = select(models.Participant.user_id).where(
            models.Participant.meeting_id == meeting_id
        )
        creator = select(models.Meeting.creator_id).where(models.Meeting.id == meeting_id)
        async with self.db.read() as session:
            rows = await session.execute(
                select(models.User.id, models.User.nickname)
                .where(models.User.id.in_(took_seat.union(creator)))
                .order_by(models.User.id)
            )
            return {user_id: nickname for user_id, nickname in rows}

    async def held_seats(self) -> list[tuple[str, str]]:
        """(meeting id, user id) of every seat held in a meeting that is not over."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(models.Participant.meeting_id, models.Participant.user_id)
                .join(models.Meeting, models.Meeting.id == models.Participant.meeting_id)
                .where(models.Participant.left_at.is_(None), models.Meeting.status != "ended")
            )
            return [(meeting_id, user_id) for meeting_id, user_id in rows]

    async def list_meetings(
        self, user_id: str, kind: ListType, page: int, limit: int
    ) -> MeetingListOut:
        if kind == "my":
            condition = models.Meeting.creator_id == user_id
        else:
            condition = exists(
                select(models.Participant.id).where(
                    models.Participant.meeting_id == models.Meeting.id,
                    models.Participant.user_id == user_id,
                )
            )
        query = select(models.Meeting).where(condition)
        async with self.db.read() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
            meetings = await session.scalars(
                query.order_by(models.Meeting.created_at.desc(), models.Meeting.id.desc())
                .limit(limit)
                .offset((page - 1) * limit)
            )
            now = utcnow()
            items = [self._out(meeting, now) for meeting in meetings]
        pagination = Pagination(
            page=page, limit=limit, total=total, total_pages=math.ceil(total / limit)
        )
        return MeetingListOut(meetings=items, pagination=pagination)

    # -- writing ------------------------------------------------------------------------

    async def create(self, creator_id: str, data: CreateMeetingIn) -> Meeting:
        for _ in range(_NUMBER_ATTEMPTS):
            meeting = models.Meeting(
                id=new_id("meeting"),
                meeting_number=new_meeting_number(),
                title=data.title or None,
                creator_id=creator_id,
                status="waiting",
                created_at=utcnow(),
            )
            try:
                async with self.db.write() as session:
                    session.add(meeting)
            except IntegrityError:  # the number was taken: numbers are unique for ever
                log.warning("meeting number collision, retrying")
                continue
            log.info("meeting created", extra={"meeting_id": meeting.id, "user_id": creator_id})
            return self._out(meeting, meeting.created_at)
        raise RuntimeError("no free meeting number found")

    async def join(self, number: str, user_id: str, data: JoinMeetingIn) -> MeetingDetail:
        detail, new_seat = await self._take_seat(number, user_id, data)
        if new_seat:
            for listener in self.listeners:
                await listener.seat_taken(detail.id, user_id)
        return detail

    async def _take_seat(
        self, number: str, user_id: str, data: JoinMeetingIn
    ) -> tuple[MeetingDetail, bool]:
        async with self.db.write() as session:
            meeting = await session.scalar(
                select(models.Meeting)
                .where(models.Meeting.meeting_number == number)
                .with_for_update()
            )
            now = utcnow()
            if meeting is None:
                raise NotFound(ErrorCode.MEETING_NOT_FOUND)
            status, _ = self.status_of(meeting, now)
            if status == "ended":
                if meeting.status == "waiting":  # expired unused: as if it never was
                    raise NotFound(ErrorCode.MEETING_NOT_FOUND)
                raise InvalidInput(ErrorCode.MEETING_ENDED)
            holders = list(
                await session.scalars(
                    select(models.Participant.user_id).where(
                        models.Participant.meeting_id == meeting.id,
                        models.Participant.left_at.is_(None),
                    )
                )
            )
            new_seat = user_id not in holders
            if new_seat:
                if len(holders) >= self.max_participants:
                    raise InvalidInput(ErrorCode.MEETING_FULL)
                session.add(
                    models.Participant(
                        id=new_id("part"),
                        meeting_id=meeting.id,
                        user_id=user_id,
                        joined_at=now,
                        audio_muted=data.audio_muted,
                        video_muted=data.video_muted,
                        screen_sharing=False,  # a share starts over WebSocket, never at join
                    )
                )
                if meeting.status == "waiting":
                    meeting.status, meeting.started_at = "active", now
                await session.flush()
                log.info("seat taken", extra={"meeting_id": meeting.id, "user_id": user_id})
            return await self._detail(session, meeting, now), new_seat

    async def release_seat(self, meeting_id: str, user_id: str) -> int | None:
        """Free the user's seat; the seats still held after it, or None if they held none."""
        held = (
            models.Participant.meeting_id == meeting_id,
            models.Participant.left_at.is_(None),
        )
        async with self.db.write() as session:
            released = await session.execute(
                update(models.Participant)
                .where(*held, models.Participant.user_id == user_id)
                .values(left_at=utcnow())
            )
            if not released.rowcount:  # type: ignore[attr-defined]
                return None
            count = await session.scalar(select(func.count()).where(*held))
        log.info("seat released", extra={"meeting_id": meeting_id, "user_id": user_id})
        return count or 0

    async def set_media(
        self, meeting_id: str, user_id: str, flag: MediaFlag, value: bool
    ) -> MediaState | None:
        """Set one media flag of the user's seat; all its flags after, or None if no seat."""
        async with self.db.write() as session:
            seat = await session.scalar(
                select(models.Participant).where(
                    models.Participant.meeting_id == meeting_id,
                    models.Participant.user_id == user_id,
                    models.Participant.left_at.is_(None),
                )
            )
            if seat is None:
                return None
            setattr(seat, flag, value)
            return MediaState(seat.audio_muted, seat.video_muted, seat.screen_sharing)

    async def end(self, meeting_id: str, user_id: str) -> None:
        ended_at = await self._end(meeting_id, user_id)
        if ended_at is not None:
            for listener in self.listeners:
                await listener.meeting_ended(meeting_id, ended_at)

    async def _end(self, meeting_id: str, user_id: str) -> datetime | None:
        async with self.db.write() as session:
            meeting = await self._visible(session, meeting_id, user_id, lock=True)
            if meeting.creator_id != user_id:
                raise Forbidden()
            now = utcnow()
            if self.status_of(meeting, now)[0] == "ended":
                return None  # ending again is a no-op
            meeting.status, meeting.ended_at = "ended", now
            await session.execute(
                update(models.Participant)
                .where(
                    models.Participant.meeting_id == meeting.id,
                    models.Participant.left_at.is_(None),
                )
                .values(left_at=now)
            )
        log.info("meeting ended", extra={"meeting_id": meeting_id, "user_id": user_id})
        return now
