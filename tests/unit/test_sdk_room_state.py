"""The SDK's room state machine (aimeeting.sdk.room_state): seats, media states and the
meeting's status applied from server messages, and the events and hang-ups each one yields."""

from __future__ import annotations

from datetime import UTC, datetime

from aimeeting.protocol import MeetingStatus
from aimeeting.protocol.wire import MediaStateChangedData, ParticipantData, UserJoinedData
from aimeeting.sdk import (
    MediaStateChangedEvent,
    MeetingEndedEvent,
    Participant,
    UserJoinedEvent,
    UserLeftEvent,
)
from aimeeting.sdk.room_state import RoomState

ROOM = "meeting_0123456789abcdef"
ME, BOB, CAROL = "user_me", "user_bob", "user_carol"


def seat(user_id: str, minute: int = 0, *, audio_muted: bool = False) -> ParticipantData:
    return {
        "user_id": user_id,
        "nickname": user_id.removeprefix("user_"),
        "avatar": None,
        "joined_at": f"2026-02-14T10:{minute:02d}:00.000Z",
        "audio_muted": audio_muted,
        "video_muted": False,
        "screen_sharing": False,
    }


def room(*seats: ParticipantData, status: MeetingStatus = MeetingStatus.ACTIVE) -> RoomState:
    return RoomState(ROOM, ME, status, [Participant.from_wire(s) for s in seats])


def test_a_first_room_state_announces_everyone_but_us_and_remembers_our_seat_time() -> None:
    state = RoomState(ROOM, ME, MeetingStatus.ACTIVE)
    change = state.room_state(
        {"room_id": ROOM, "participants": [seat(BOB, 1), seat(ME, 2)], "in_room": [ME]}
    )
    assert [type(e) for e in change.events] == [UserJoinedEvent]
    joined = change.events[0]
    assert isinstance(joined, UserJoinedEvent)
    assert (joined.user_id, joined.participant_count) == (BOB, 2)
    assert change.hang_up == []
    assert list(state.participants) == [BOB, ME]  # oldest seat first
    assert state.seat_time == datetime(2026, 2, 14, 10, 2, tzinfo=UTC)
    assert state.in_room == {ME}  # Bob holds a seat but is not in: he calls us when he enters


def test_a_room_state_after_a_reconnect_yields_only_the_differences() -> None:
    state = room(seat(ME), seat(BOB), seat(CAROL))
    change = state.room_state(
        {
            "room_id": ROOM,
            "participants": [seat(ME), seat(BOB, audio_muted=True), seat("user_dan")],
            "in_room": [ME, BOB, "user_dan"],
        }
    )
    left, muted, joined = change.events  # the departed first, then seat by seat
    assert isinstance(left, UserLeftEvent) and left.user_id == CAROL
    assert left.participant is not None and left.participant.nickname == "carol"
    assert isinstance(joined, UserJoinedEvent) and joined.user_id == "user_dan"
    assert muted == MediaStateChangedEvent(ROOM, BOB, True, False, False)
    assert change.hang_up == [CAROL]


def test_a_user_joined_is_announced_once_and_always_hangs_up_the_stale_link() -> None:
    state = room(seat(ME))
    data: UserJoinedData = {
        "user": {"id": BOB, "nickname": "bob", "avatar": None},
        "room_id": ROOM,
        "participant_count": 2,
        "audio_muted": True,
        "video_muted": False,
        "screen_sharing": False,
        "joined_at": "2026-02-14T10:05:00.000Z",
    }
    first = state.user_joined(data)
    again = state.user_joined(data)  # reconnected: the same seat
    assert [e.type for e in first.events] == ["user_joined"] and again.events == []
    assert first.hang_up == again.hang_up == [BOB]
    assert state.participants[BOB].audio_muted is True


def test_a_user_left_who_was_not_seated_hangs_up_without_an_event() -> None:
    state = room(seat(ME), seat(BOB))
    left = state.user_left({"user_id": BOB, "room_id": ROOM, "participant_count": 1})
    unknown = state.user_left({"user_id": CAROL, "room_id": ROOM, "participant_count": 1})
    assert [type(e) for e in left.events] == [UserLeftEvent] and unknown.events == []
    assert (left.hang_up, unknown.hang_up) == ([BOB], [CAROL])
    assert list(state.participants) == [ME]


def test_a_media_change_updates_the_seat_and_is_always_an_event() -> None:
    state = room(seat(ME), seat(BOB))
    data: MediaStateChangedData = {
        "user_id": BOB,
        "room_id": ROOM,
        "audio_muted": True,
        "video_muted": True,
        "screen_sharing": True,
    }
    change = state.media_changed(data)
    assert change.events == [MediaStateChangedEvent(ROOM, BOB, True, True, True)]
    bob = state.participants[BOB]
    assert (bob.audio_muted, bob.video_muted, bob.screen_sharing) == (True, True, True)
    stranger = state.media_changed({**data, "user_id": CAROL})
    assert len(stranger.events) == 1 and CAROL not in state.participants


def test_the_meeting_ends_once_and_empties_the_room() -> None:
    state = room(seat(ME), seat(BOB))
    ended = state.meeting_ended({"room_id": ROOM, "ended_at": "2026-02-14T11:00:00.000Z"})
    assert ended.events == [MeetingEndedEvent(ROOM, datetime(2026, 2, 14, 11, tzinfo=UTC))]
    assert state.meeting_ended(None).events == []  # the socket closing for it says nothing new
    assert state.status is MeetingStatus.ENDED and state.participants == {}


def test_a_meeting_closed_unannounced_ends_without_a_time() -> None:
    state = room(seat(ME))
    assert state.meeting_ended(None).events == [MeetingEndedEvent(ROOM, None)]


def test_entering_activates_a_waiting_meeting_only() -> None:
    waiting = room(status=MeetingStatus.WAITING)
    ended = room(status=MeetingStatus.ENDED)
    waiting.entered()
    ended.entered()
    assert (waiting.status, ended.status) == (MeetingStatus.ACTIVE, MeetingStatus.ENDED)


def test_chat_from_before_our_first_seat_was_never_ours() -> None:
    state = RoomState(ROOM, ME, MeetingStatus.ACTIVE)
    early = datetime(2026, 2, 14, 10, 1, tzinfo=UTC)
    assert not state.is_before_our_seat(early)  # no seat yet: nothing to compare with
    state.room_state({"room_id": ROOM, "participants": [seat(ME, 2)], "in_room": [ME]})
    assert state.is_before_our_seat(early)
    assert not state.is_before_our_seat(datetime(2026, 2, 14, 10, 3, tzinfo=UTC))
    assert not state.is_before_our_seat(None)


def test_a_server_that_does_not_say_who_is_in_the_room_leaves_in_room_unknown() -> None:
    state = room(seat(ME), seat(BOB))
    older: dict[str, object] = {"room_id": ROOM, "participants": [seat(ME), seat(BOB)]}
    assert state.room_state(older).events == []  # type: ignore[arg-type]
    assert state.in_room is None  # the mesh then calls every seat holder, as before
