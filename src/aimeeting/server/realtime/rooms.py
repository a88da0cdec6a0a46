"""Rooms: presence, seats, media state, chat and signaling over WebSocket (DECISIONS.md §4-§5).

The database holds the seats (the REST views read them); the hub knows who is connected where.
Changes to a room's membership take the room's lock, so that a join, a leave, a drop, the end
of the grace and the end of the meeting never interleave.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from aimeeting.protocol import CloseCode, ErrorCode, MediaAction, ServerMessage
from aimeeting.protocol.wire import (
    MediaStateChangedData,
    MeetingEndedData,
    RoomStateData,
    UserJoinedData,
    UserLeftData,
    WebRTCSignalData,
)
from aimeeting.server.auth.throttle import RateLimiter
from aimeeting.server.chat.service import ChatService, NewMessage
from aimeeting.server.errors import AppError, Forbidden, InvalidInput, Unavailable
from aimeeting.server.meetings.schemas import MeetingDetail
from aimeeting.server.meetings.service import MediaFlag, MeetingService
from aimeeting.server.realtime.chat import ChatRelay, ChatTurns
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import EntryKind, Hub
from aimeeting.server.realtime.locks import RoomLocks
from aimeeting.server.realtime.member import Member
from aimeeting.server.realtime.presence import ReconnectGrace
from aimeeting.server.realtime.schemas import (
    ChatMessageIn,
    MediaControlIn,
    RoomIn,
    WebRTCSignalIn,
)
from aimeeting.server.schemas import format_timestamp

log = logging.getLogger(__name__)

CATCH_UP_LIMIT = 2000  # missed chat a room's members here get live after an outage, at most
# After Redis is back, a seat whose grace ran out while it was away is kept this long still
# (or the grace, if shorter): its member could not enter the room meanwhile.
REJOIN_AFTER_OUTAGE = 5.0

# What each media_control action sets on the seat.
_MEDIA_FLAGS: dict[MediaAction, MediaFlag] = {
    MediaAction.MUTE_AUDIO: "audio_muted",
    MediaAction.MUTE_VIDEO: "video_muted",
    MediaAction.SCREEN_SHARE: "screen_sharing",
}


class RoomService:
    def __init__(
        self,
        hub: Hub,
        meetings: MeetingService,
        chat: ChatService,
        *,
        grace: ReconnectGrace,
        locks: RoomLocks,
        chat_limiter: RateLimiter,
        chat_turns: ChatTurns,
    ) -> None:
        self.hub = hub
        self.meetings = meetings
        self.grace = grace
        self.relay = ChatRelay(chat, hub, chat_turns)
        self.chat_limiter = chat_limiter
        self._locks = locks
        # Graces that could not begin (Redis away): (room, user) → (was in room, since when).
        self._owed: dict[tuple[str, str], tuple[bool, float]] = {}
        grace.listener = self

    async def start(self) -> None:
        await self.hub.start()
        await self.reconcile()
        await self.grace.start()

    async def stop(self) -> None:
        await self.grace.stop()
        await self.hub.stop()

    async def reconcile(self) -> None:
        """Every held seat whose user is in no room and has no grace gets one: its user may
        come back. At start-up, and on several nodes after Redis lost its state. A grace this
        node owes since Redis went away counts from then (``_settle_owed``)."""
        for (room_id, user_id), (was_in_room, since) in list(self._owed.items()):
            async with self._room(room_id):
                await self._settle_owed(room_id, user_id, was_in_room=was_in_room, since=since)
            self._owed.pop((room_id, user_id), None)
        for room_id, user_id in await self.meetings.held_seats():
            async with self._room(room_id):
                await self._watch_seat(room_id, user_id, was_in_room=True)

    async def catch_up(self) -> int:
        """After this node could not hear the others (Redis away): hand each room's members
        here what they missed, the chat stored meanwhile (in history's order, each message
        once) and then the room as it is now (``room_state``: seats, mute and camera).
        Returns how many missed messages went out."""
        caught_up = 0
        for room_id, gap in self.hub.gaps().items():
            missed: list[Event] = []
            state: Event | None = None
            try:
                stored = await self.relay.chat.stored_after(
                    room_id, gap.after, gap.since, CATCH_UP_LIMIT
                )
                missed = [
                    Event(ServerMessage.CHAT_MESSAGE, message.to_wire()) for message in stored
                ]
                members = self.hub.members_here(room_id)
                if members:
                    detail = await self.meetings.get(room_id, members[0])
                    state = _room_state(detail, await self._in_room(detail))
            except Exception:
                # What was held back goes out all the same; the SDKs' own catch-up (history)
                # fills in what could not be read here.
                log.exception("catching a room up failed", extra={"room_id": room_id})
            caught_up += self.hub.fill_gap(room_id, missed, state)
        return caught_up

    async def close_ended(self) -> None:
        """Close this node's rooms whose meeting ended while the node could not hear of it."""
        for room_id in self.hub.rooms_here():
            ended_at = await self.meetings.ended_at(room_id)
            if ended_at is not None:
                await self.meeting_ended(room_id, ended_at)

    def _room(self, room_id: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(room_id)

    async def _in_room(self, detail: MeetingDetail) -> list[str]:
        """Who is connected to the room. Without Redis, every seat holder: the joiner then
        calls them all, as the SDKs did before ``in_room``, and the entry still succeeds."""
        try:
            return await self.hub.present(detail.id)
        except Unavailable:
            return [seat.user_id for seat in detail.participants]

    @staticmethod
    def _member(connection: Member, room_id: str) -> None:
        if room_id not in connection.rooms:
            raise Forbidden({"room_id": "join the room first"})

    # -- client messages ----------------------------------------------------------------

    async def join_room(self, connection: Member, message: RoomIn) -> None:
        room_id, user_id = message.room_id, connection.user_id
        async with self._room(room_id):
            detail = await self.meetings.room_entry(room_id, user_id)
            was_in_room = await self.grace.end(room_id, user_id)
            entry = await self.hub.enter(room_id, connection)
            joined = _user_joined(detail, user_id)
            if entry is EntryKind.NEW and not was_in_room:
                await self.hub.publish(room_id, joined)
            else:  # back within the grace, or took over: the others saw nobody leave
                connection.send(joined)
            connection.send(_room_state(detail, await self._in_room(detail)))
        log.info("room joined", extra={"room_id": room_id, "user_id": user_id, "how": entry.value})

    async def leave_room(self, connection: Member, message: RoomIn) -> None:
        room_id = message.room_id
        self._member(connection, room_id)
        async with self._room(room_id):
            await self.hub.exit(room_id, connection)
            await self.grace.end(room_id, connection.user_id)
            await self._release(room_id, connection.user_id)

    async def media_control(self, connection: Member, message: MediaControlIn) -> None:
        room_id, user_id = message.room_id, connection.user_id
        self._member(connection, room_id)
        flag = _MEDIA_FLAGS[message.action]
        state = await self.meetings.set_media(room_id, user_id, flag, message.value)
        if state is None:  # the seat went meanwhile (the meeting ended)
            raise Forbidden({"room_id": "no seat in this meeting"})
        data: MediaStateChangedData = {
            "user_id": user_id,
            "room_id": room_id,
            "audio_muted": state.audio_muted,
            "video_muted": state.video_muted,
            "screen_sharing": state.screen_sharing,
        }
        await self.hub.publish(room_id, Event(ServerMessage.MEDIA_STATE_CHANGED, data))

    async def chat_message(self, connection: Member, message: ChatMessageIn) -> None:
        self._member(connection, message.room_id)
        await self.chat_limiter.hit(connection.user_id)
        await self.relay.post(
            NewMessage(message.room_id, connection.user, message.content, message.client_msg_id),
            connection,
        )

    async def webrtc_signal(self, connection: Member, message: WebRTCSignalIn) -> None:
        room_id = message.room_id
        self._member(connection, room_id)
        if message.to_user_id == connection.user_id:
            raise InvalidInput(ErrorCode.INVALID_PARAMETER, {"to_user_id": "is yourself"})
        data: WebRTCSignalData = {
            "room_id": room_id,
            "from_user_id": connection.user_id,
            "signal": message.signal,
        }
        event = Event(ServerMessage.WEBRTC_SIGNAL, data)
        if not await self.hub.send_to_user(room_id, message.to_user_id, event):
            raise AppError(ErrorCode.USER_NOT_FOUND, {"to_user_id": "not connected to this room"})

    async def disconnected(self, connection: Member) -> None:
        """The connection is gone without leaving: its rooms keep the seat for the grace."""
        for room_id in list(connection.rooms):
            try:
                async with self._room(room_id):
                    if await self.hub.exit(room_id, connection):
                        await self.grace.begin(room_id, connection.user_id, was_in_room=True)
            except Unavailable:
                # Out of the room here at least; its seat gets the grace when the node recovers.
                await self.hub.exit(room_id, connection)
                self._owe_grace(room_id, connection.user_id, was_in_room=True)

    async def connection_lost(self, room_id: str, user_id: str, node_connection: str) -> None:
        """A node died holding the user's connection in the room (``node_connection``): a drop."""
        async with self._room(room_id):
            if await self.hub.forget(room_id, user_id, node_connection):
                await self.grace.begin(room_id, user_id, was_in_room=True)

    # -- what REST tells us ---------------------------------------------------------------

    async def seat_taken(self, meeting_id: str, user_id: str) -> None:
        """A seat taken over REST must be used over WebSocket within the grace."""
        try:
            async with self._room(meeting_id):
                await self._watch_seat(meeting_id, user_id, was_in_room=False)
        except Unavailable:
            # The seat is taken all the same; ``reconcile`` gives it its grace later.
            log.warning("no grace for a new seat yet", extra={"room_id": meeting_id})
            self._owe_grace(meeting_id, user_id, was_in_room=False)

    async def meeting_ended(self, meeting_id: str, ended_at: datetime) -> None:
        data: MeetingEndedData = {"room_id": meeting_id, "ended_at": format_timestamp(ended_at)}
        event = Event(ServerMessage.MEETING_ENDED, data)
        try:
            async with self._room(meeting_id):
                await self.grace.end_room(meeting_id)
                await self.hub.close_room(meeting_id, event, CloseCode.MEETING_ENDED)
        except Unavailable:
            # The meeting has ended in the database; the connections here hear of it now,
            # those elsewhere when their node next reconciles.
            self.hub.close_room_here(meeting_id, event, CloseCode.MEETING_ENDED)

    async def session_revoked(self, session_id: str) -> None:
        await self.hub.close_session(session_id, ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED)

    # -- seats ----------------------------------------------------------------------------

    async def grace_over(self, room_id: str, user_id: str) -> None:
        async with self._room(room_id):
            if not await self.grace.run_out(room_id, user_id) or await self.hub.is_present(
                room_id, user_id
            ):
                return  # back in time (or a new grace began meanwhile)
            await self._release(room_id, user_id)

    async def _watch_seat(self, room_id: str, user_id: str, *, was_in_room: bool) -> None:
        """A seat nobody holds in the room and no grace watches gets one (under the lock)."""
        if not await self.grace.is_pending(room_id, user_id) and not await self.hub.is_present(
            room_id, user_id
        ):
            await self.grace.begin(room_id, user_id, was_in_room=was_in_room)

    def _owe_grace(self, room_id: str, user_id: str, *, was_in_room: bool) -> None:
        earlier = self._owed.get((room_id, user_id))
        if earlier is not None:  # the first one counts
            was_in_room, since = earlier[0] or was_in_room, earlier[1]
        else:
            since = time.monotonic()
        self._owed[(room_id, user_id)] = (was_in_room, since)

    async def _settle_owed(
        self, room_id: str, user_id: str, *, was_in_room: bool, since: float
    ) -> None:
        """A grace that should have begun at ``since`` (under the lock): what is left of it,
        but not less than ``REJOIN_AFTER_OUTAGE``; none if the user is in the room again."""
        if await self.hub.is_present(room_id, user_id):
            return
        left = self.grace.seconds - (time.monotonic() - since)
        left = max(left, min(self.grace.seconds, REJOIN_AFTER_OUTAGE))
        await self.grace.begin(room_id, user_id, was_in_room=was_in_room, seconds=left)

    async def _release(self, room_id: str, user_id: str) -> None:
        """Free the seat; the room hears of it (the REST view and the room's view agree)."""
        count = await self.meetings.release_seat(room_id, user_id)
        if count is not None:
            data: UserLeftData = {
                "user_id": user_id,
                "room_id": room_id,
                "participant_count": count,
            }
            await self.hub.publish(room_id, Event(ServerMessage.USER_LEFT, data))


def _room_state(detail: MeetingDetail, in_room: list[str]) -> Event:
    participants = [seat.to_wire() for seat in detail.participants]
    seated = {seat.user_id for seat in detail.participants}
    data: RoomStateData = {
        "room_id": detail.id,
        "participants": participants,
        "in_room": [user_id for user_id in in_room if user_id in seated],
    }
    return Event(ServerMessage.ROOM_STATE, data)


def _user_joined(detail: MeetingDetail, user_id: str) -> Event:
    seat = next(seat for seat in detail.participants if seat.user_id == user_id)
    data: UserJoinedData = {
        "user": {"id": seat.user_id, "nickname": seat.nickname, "avatar": seat.avatar},
        "room_id": detail.id,
        "participant_count": detail.participant_count,
        "audio_muted": seat.audio_muted,
        "video_muted": seat.video_muted,
        "screen_sharing": seat.screen_sharing,
        "joined_at": format_timestamp(seat.joined_at),
    }
    return Event(ServerMessage.USER_JOINED, data)
