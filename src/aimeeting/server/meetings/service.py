"""Meetings: create, list, join, read, end (contract §1, DECISIONS.md §4).

Seat rules are enforced inside a write transaction that locks the meeting rows (PostgreSQL
``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``), so concurrent joins take turns. Joins that arrive
together share one such transaction (``batching.Batcher``), judged one by one in arrival order;
so do room entries (``room_entry``) with one read transaction.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple, Protocol, cast

from sqlalchemy import Table, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol import ErrorCode, MeetingStatus
from aimeeting.server.batching import Batcher
from aimeeting.server.db import Database, models
from aimeeting.server.errors import AppError, Forbidden, InvalidInput, NotFound, Unauthorized
from aimeeting.server.ids import Clock, is_well_formed, new_id, new_meeting_number, utcnow
from aimeeting.server.meetings.schemas import (
    CreateMeetingIn,
    JoinMeetingIn,
    ListType,
    Meeting,
    MeetingDetail,
    MeetingListOut,
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


class Seat(NamedTuple):
    """A participants row, without the ORM's bookkeeping (a join storm makes thousands)."""

    id: str
    meeting_id: str
    user_id: str
    joined_at: datetime
    left_at: datetime | None
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool


ParticipantTable = cast(Table, models.Participant.__table__)
HeldSeat = tuple[Seat, str, str | None]  # a seat, its holder's nickname and avatar
_SEAT_COLUMNS = [ParticipantTable.c[name] for name in Seat._fields]


class SeatRequest(NamedTuple):
    number: str
    user_id: str
    data: JoinMeetingIn


class TakenSeat(NamedTuple):
    detail: MeetingDetail  # the meeting as the join left it
    new_seat: bool  # False: the user held a seat already


class EntryRequest(NamedTuple):
    meeting_id: str
    user_id: str


class _Admitted(NamedTuple):
    meeting: models.Meeting
    new_seat: bool


class _Seats:
    """A batch's view of the seats of its meetings, as its joins change them."""

    def __init__(self, rows: list[HeldSeat]) -> None:
        self.held: defaultdict[str, list[Seat]] = defaultdict(list)
        self.names: dict[str, tuple[str, str | None]] = {}  # user id → (nickname, avatar)
        self.new: list[Seat] = []  # to insert
        for seat, nickname, avatar in rows:
            self.held[seat.meeting_id].append(seat)
            self.names[seat.user_id] = (nickname, avatar)


# Joins (and room entries) waiting while a batch is handled go in the next one; bounded so
# that a batch's IN lists stay well within the databases' limits.
MAX_BATCH = 512


class MeetingService:
    def __init__(self, db: Database, *, max_participants: int, expiry_seconds: float) -> None:
        self.db = db
        self.max_participants = max_participants
        self.expiry = timedelta(seconds=expiry_seconds)
        self.listeners: list[MeetingListener] = []  # the rooms; the summaries
        # Concurrent joins share one write transaction (group commit), as chat does.
        self._seats: Batcher[SeatRequest, TakenSeat] = Batcher(self._take_seats, MAX_BATCH)
        self._entries: Batcher[EntryRequest, MeetingDetail] = Batcher(self._read_entries, MAX_BATCH)
        self._clock = Clock()

    # -- reading ------------------------------------------------------------------------

    def status_of(
        self, meeting: models.Meeting, now: datetime
    ) -> tuple[MeetingStatus, datetime | None]:
        """The status as the API shows it: a waiting meeting past its expiry reads as ended."""
        if meeting.status == MeetingStatus.WAITING and now >= meeting.created_at + self.expiry:
            return MeetingStatus.ENDED, meeting.created_at + self.expiry
        return MeetingStatus(meeting.status), meeting.ended_at

    def _fields(self, meeting: models.Meeting, now: datetime) -> dict[str, Any]:
        """The contract's ``Meeting`` fields of a row."""
        status, ended_at = self.status_of(meeting, now)
        return {
            "id": meeting.id,
            "meeting_number": meeting.meeting_number,
            "title": meeting.title,
            "creator_id": meeting.creator_id,
            "status": status,
            "started_at": meeting.started_at,
            "ended_at": ended_at,
            "created_at": meeting.created_at,
        }

    def _out(self, meeting: models.Meeting, now: datetime) -> Meeting:
        return Meeting(**self._fields(meeting, now))

    def _detail_from(
        self, meeting: models.Meeting, seats: Iterable[HeldSeat], now: datetime
    ) -> MeetingDetail:
        """The detail of a meeting whose held seats (oldest first) are ``seats``."""
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
            for seat, nickname, avatar in seats
        ]
        return MeetingDetail(
            **self._fields(meeting, now),
            participants=participants,
            participant_count=len(participants),
        )

    async def _detail(
        self, session: AsyncSession, meeting: models.Meeting, now: datetime
    ) -> MeetingDetail:
        return self._detail_from(meeting, await self._held_seats(session, [meeting.id]), now)

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
        if not is_well_formed("meeting", meeting_id):
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        return await self._entries.submit(EntryRequest(meeting_id, user_id))

    async def _read_entries(self, requests: list[EntryRequest]) -> list[MeetingDetail | AppError]:
        """The room entries of one batch, read in one transaction (the entry Batcher's
        ``handle``): under a busy event loop every round trip to the database waits a whole
        turn of the loop, so a join storm's entries share theirs."""
        async with self.db.read() as session:
            rows = await session.scalars(
                select(models.Meeting).where(
                    models.Meeting.id.in_(sorted({r.meeting_id for r in requests}))
                )
            )
            meetings = {meeting.id: meeting for meeting in rows}
            seats = _Seats(await self._held_seats(session, list(meetings)))
            now = utcnow()
            details = {id_: self._detail_of(m, seats, now) for id_, m in meetings.items()}
            outcomes: list[MeetingDetail | AppError] = []
            for request in requests:
                try:
                    outcomes.append(await self._entry(session, request, meetings, details))
                except AppError as refused:
                    outcomes.append(refused)
        return outcomes

    async def _entry(
        self,
        session: AsyncSession,
        request: EntryRequest,
        meetings: dict[str, models.Meeting],
        details: dict[str, MeetingDetail],
    ) -> MeetingDetail:
        meeting = meetings.get(request.meeting_id)
        if meeting is None:
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        detail = details[meeting.id]
        seated = any(seat.user_id == request.user_id for seat in detail.participants)
        # A seat holder may see the meeting; only others need the visibility query.
        if not seated and not await self._can_see(session, meeting, request.user_id):
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        if detail.status == MeetingStatus.ENDED:
            raise InvalidInput(ErrorCode.MEETING_ENDED)
        if not seated:
            raise Forbidden({"room_id": "join the meeting over REST first"})
        return detail

    async def ended_at(self, meeting_id: str) -> datetime | None:
        """When the meeting ended, or None while it goes on."""
        async with self.db.read() as session:
            meeting = await session.get(models.Meeting, meeting_id)
        if meeting is None:
            return None
        status, ended_at = self.status_of(meeting, utcnow())
        return ended_at if status == MeetingStatus.ENDED else None

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
                .where(
                    models.Participant.left_at.is_(None),
                    models.Meeting.status != MeetingStatus.ENDED,
                )
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
                status=MeetingStatus.WAITING,
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
        taken = await self._seats.submit(SeatRequest(number, user_id, data))
        if taken.new_seat:
            log.info("seat taken", extra={"meeting_id": taken.detail.id, "user_id": user_id})
            for listener in self.listeners:
                await listener.seat_taken(taken.detail.id, user_id)
        return taken.detail

    async def _take_seats(self, requests: list[SeatRequest]) -> list[TakenSeat | AppError]:
        """The joins of one batch in one write transaction (the seat Batcher's ``handle``).

        The batch's meetings are locked first, in id order, so that two nodes' batches never
        deadlock; then the seat rules are applied request by request, in arrival order, each
        against the seats as the requests before it left them. A refused join writes nothing
        and refuses nobody else."""
        async with self.db.write() as session:
            meetings = await self._lock_meetings(session, {r.number for r in requests})
            seats = _Seats(await self._held_seats(session, [m.id for m in meetings.values()]))
            await self._learn_names(session, seats, {r.user_id for r in requests})
            now = utcnow()
            outcomes: list[_Admitted | AppError] = []
            for request in requests:
                try:
                    admitted = self._admit(request, meetings.get(request.number), seats, now)
                except AppError as refused:
                    outcomes.append(refused)
                else:
                    outcomes.append(admitted)
            await self._write_seats(session, seats)
        return [
            TakenSeat(self._detail_of(o.meeting, seats, now), o.new_seat)
            if isinstance(o, _Admitted)
            else o
            for o in outcomes
        ]

    @staticmethod
    async def _lock_meetings(session: AsyncSession, numbers: set[str]) -> dict[str, models.Meeting]:
        rows = await session.scalars(
            select(models.Meeting)
            .where(models.Meeting.meeting_number.in_(sorted(numbers)))
            .order_by(models.Meeting.id)
            .with_for_update()
        )
        return {meeting.meeting_number: meeting for meeting in rows}

    @staticmethod
    async def _held_seats(session: AsyncSession, meeting_ids: list[str]) -> list[HeldSeat]:
        """The seats held now in these meetings, with their holders' names, oldest first."""
        if not meeting_ids:
            return []
        rows = await session.execute(
            select(*_SEAT_COLUMNS, models.User.nickname, models.User.avatar)
            .join(models.User, models.User.id == models.Participant.user_id)
            .where(
                models.Participant.meeting_id.in_(meeting_ids),
                models.Participant.left_at.is_(None),
            )
            .order_by(models.Participant.joined_at, models.Participant.id)
        )
        return [(Seat(*row[:-2]), row[-2], row[-1]) for row in rows]

    def _admit(
        self,
        request: SeatRequest,
        meeting: models.Meeting | None,
        seats: _Seats,
        now: datetime,
    ) -> _Admitted:
        """One join, by the rules of DECISIONS §4; raises the refusal."""
        if request.user_id not in seats.names:  # a token outliving its user (a reset database)
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        if meeting is None:
            raise NotFound(ErrorCode.MEETING_NOT_FOUND)
        status, _ = self.status_of(meeting, now)
        if status == MeetingStatus.ENDED:
            if meeting.status == MeetingStatus.WAITING:  # expired unused: as if it never was
                raise NotFound(ErrorCode.MEETING_NOT_FOUND)
            raise InvalidInput(ErrorCode.MEETING_ENDED)
        held = seats.held[meeting.id]
        if any(seat.user_id == request.user_id for seat in held):
            return _Admitted(meeting, new_seat=False)  # joining again changes nothing
        if len(held) >= self.max_participants:
            raise InvalidInput(ErrorCode.MEETING_FULL)
        seat = Seat(
            id=new_id("part"),
            meeting_id=meeting.id,
            user_id=request.user_id,
            joined_at=self._clock.next(),  # distinct: the seats keep the order they were taken
            left_at=None,
            audio_muted=request.data.audio_muted,
            video_muted=request.data.video_muted,
            screen_sharing=False,  # a share starts over WebSocket, never at join
        )
        held.append(seat)
        seats.new.append(seat)
        if meeting.status == MeetingStatus.WAITING:
            # written on flush
            meeting.status, meeting.started_at = MeetingStatus.ACTIVE, seat.joined_at
        return _Admitted(meeting, new_seat=True)

    @staticmethod
    async def _learn_names(session: AsyncSession, seats: _Seats, user_ids: set[str]) -> None:
        """The names of the joining users not seated already (for the details answered)."""
        unknown = user_ids - seats.names.keys()
        if not unknown:
            return
        names = await session.execute(
            select(models.User.id, models.User.nickname, models.User.avatar).where(
                models.User.id.in_(sorted(unknown))
            )
        )
        for user_id, nickname, avatar in names:
            seats.names[user_id] = (nickname, avatar)

    @staticmethod
    async def _write_seats(session: AsyncSession, seats: _Seats) -> None:
        """Insert the batch's new seats in one statement."""
        if seats.new:
            rows = [seat._asdict() for seat in seats.new]
            await session.execute(insert(ParticipantTable), rows)

    def _detail_of(self, meeting: models.Meeting, seats: _Seats, now: datetime) -> MeetingDetail:
        held = ((seat, *seats.names[seat.user_id]) for seat in seats.held[meeting.id])
        return self._detail_from(meeting, held, now)

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
            if self.status_of(meeting, now)[0] == MeetingStatus.ENDED:
                return None  # ending again is a no-op
            meeting.status, meeting.ended_at = MeetingStatus.ENDED, now
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
