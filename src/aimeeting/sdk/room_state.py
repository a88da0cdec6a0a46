"""The room as a ``Meeting`` sees it: who holds a seat (with their media state), when we took
ours, and whether the meeting has ended, kept current from the server's messages.

Pure (no I/O, no asyncio): each message returns a ``Change`` (the events to emit, the members
whose media link is stale), which ``Meeting`` acts on. Tested alone in
tests/unit/test_sdk_room_state.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from aimeeting.protocol import MeetingStatus
from aimeeting.protocol.wire import (
    MediaStateChangedData,
    MeetingEndedData,
    RoomStateData,
    UserJoinedData,
    UserLeftData,
)
from aimeeting.sdk.models import (
    EventObject,
    MediaStateChangedEvent,
    MeetingEndedEvent,
    Participant,
    UserJoinedEvent,
    UserLeftEvent,
)


@dataclass(frozen=True)
class Change:
    """What a message changed: events to emit, in order, and members to hang up on."""

    events: list[EventObject] = field(default_factory=list)
    hang_up: list[str] = field(default_factory=list)


class RoomState:
    def __init__(
        self,
        room_id: str,
        me: str,
        status: MeetingStatus,
        participants: Iterable[Participant] = (),
    ) -> None:
        self.room_id = room_id
        self.me = me  # our own user id
        self.status = status
        self.participants: dict[str, Participant] = {p.user_id: p for p in participants}
        # Who was connected to the room when we last entered it (room_state's in_room); None
        # from a server that does not say (then every seat holder is).
        self.in_room: set[str] | None = None
        self.seat_time: datetime | None = None  # when we first took our seat (server clock)

    def entered(self) -> None:
        """We are in the room: a meeting still waiting for its first member is active."""
        if self.status is MeetingStatus.WAITING:
            self.status = MeetingStatus.ACTIVE

    def is_before_our_seat(self, created: datetime | None) -> bool:
        """Chat from before we first took our seat was never ours to receive."""
        return self.seat_time is not None and created is not None and created < self.seat_time

    def room_state(self, data: RoomStateData) -> Change:
        """Everyone seated now (on each entry): the differences from what we knew are events."""
        current = {p["user_id"]: Participant.from_wire(p) for p in data["participants"]}
        previous, self.participants = self.participants, current
        in_room = data.get("in_room")
        self.in_room = set(in_room) if isinstance(in_room, list) else None
        if (me := current.get(self.me)) is not None and self.seat_time is None:
            self.seat_time = me.joined_at
        change = Change()
        for user_id, gone in previous.items():
            if user_id not in current:
                change.hang_up.append(user_id)
                change.events.append(UserLeftEvent(self.room_id, user_id, len(current), gone))
        for user_id, now in current.items():
            before = previous.get(user_id)
            if before is None and user_id != self.me:
                change.events.append(
                    UserJoinedEvent.of_participant(self.room_id, now, len(current))
                )
            elif before is not None and _media_of(before) != _media_of(now):
                change.events.append(MediaStateChangedEvent(self.room_id, user_id, *_media_of(now)))
        return change

    def user_joined(self, data: UserJoinedData) -> Change:
        """They have just entered the room and will call everyone there (the one who enters
        offers). A link we opened earlier (to their seat, before they connected) never
        reached them; were it kept, their offer and ours would cross for ever: hang it up."""
        seat = Participant.from_joined(data)
        known = seat.user_id in self.participants
        self.participants[seat.user_id] = seat
        change = Change(hang_up=[seat.user_id])
        if not known and seat.user_id != self.me:
            count = data["participant_count"]
            change.events.append(UserJoinedEvent.of_participant(self.room_id, seat, count))
        return change

    def user_left(self, data: UserLeftData) -> Change:
        gone = self.participants.pop(data["user_id"], None)
        change = Change(hang_up=[data["user_id"]])
        if gone is not None:
            change.events.append(UserLeftEvent.from_wire(data, gone))
        return change

    def media_changed(self, data: MediaStateChangedData) -> Change:
        event = MediaStateChangedEvent.from_wire(data)
        if (seat := self.participants.get(event.user_id)) is not None:
            self.participants[event.user_id] = replace(
                seat,
                audio_muted=event.audio_muted,
                video_muted=event.video_muted,
                screen_sharing=event.screen_sharing,
            )
        return Change([event])

    def meeting_ended(self, data: MeetingEndedData | None) -> Change:
        """The meeting ended: its ``meeting_ended`` (``data``), or None when the socket closed
        for that reason unannounced. No seats any more; said once."""
        if self.status is MeetingStatus.ENDED:
            return Change()
        self.status = MeetingStatus.ENDED
        self.participants.clear()
        event = MeetingEndedEvent.from_wire(data) if data else MeetingEndedEvent(self.room_id, None)
        return Change([event])


def _media_of(participant: Participant) -> tuple[bool, bool, bool]:
    return participant.audio_muted, participant.video_muted, participant.screen_sharing
