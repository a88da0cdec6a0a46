"""Server → client messages, typed once (aimeeting.protocol.wire): the server builds each one's
``data`` as its TypedDict (aimeeting.server.realtime.events), the SDK reads it back through one
``from_wire`` per message (aimeeting.sdk.models). A sample of every message goes through the
server's encoding and the SDK's parsing here, without a socket; and the meeting status is one
enum wherever it is spelled."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import CheckConstraint

from aimeeting.protocol import ErrorCode, MeetingStatus, ServerMessage
from aimeeting.protocol.wire import (
    CaptionData,
    ChatMessageData,
    ConnectedData,
    MediaStateChangedData,
    MeetingEndedData,
    ParticipantData,
    RoomStateData,
    ServerMessageData,
    UserJoinedData,
    UserLeftData,
    WebRTCSignalData,
)
from aimeeting.sdk import MeetingState
from aimeeting.sdk.errors import SDKErrorCode
from aimeeting.sdk.models import (
    CaptionEvent,
    ChatMessage,
    ErrorEvent,
    MediaStateChangedEvent,
    MeetingEndedEvent,
    Participant,
    User,
    UserJoinedEvent,
    UserLeftEvent,
    WebRTCSignalEvent,
)
from aimeeting.sdk.transport import Welcome
from aimeeting.server.chat.schemas import ChatMessage as ChatMessageOut
from aimeeting.server.db import models
from aimeeting.server.meetings.schemas import Meeting as MeetingOut
from aimeeting.server.meetings.schemas import MeetingDetail, StatusField
from aimeeting.server.meetings.schemas import Participant as ParticipantOut
from aimeeting.server.realtime import rooms
from aimeeting.server.realtime.events import Event, error_event
from aimeeting.server.users.schemas import PublicUser

ROOM = "meeting_0123456789abcdef"
ALICE = "user_0123456789abcdef"
JOINED = datetime(2026, 2, 14, 10, 0, 0, 123000, tzinfo=UTC)
JOINED_TEXT = "2026-02-14T10:00:00.123Z"


def on_the_wire(event: Event, seq: int = 7) -> dict[str, Any]:
    """The envelope a connection sends, decoded as a client decodes it."""
    envelope = orjson.loads(event.envelope(seq))
    assert envelope["type"] == event.type.value and envelope["seq"] == seq
    assert isinstance(envelope["timestamp"], int)
    return dict(envelope["data"])


def keys_of(typed_dict: type) -> set[str]:
    return set(typing.get_type_hints(typed_dict))


def seat() -> ParticipantOut:
    return ParticipantOut(
        user_id=ALICE,
        nickname="Alice",
        avatar=None,
        joined_at=JOINED,
        audio_muted=True,
        video_muted=False,
        screen_sharing=True,
    )


def detail() -> MeetingDetail:
    return MeetingDetail(
        id=ROOM,
        meeting_number="123456789",
        title=None,
        creator_id=ALICE,
        status=MeetingStatus.ACTIVE,
        started_at=JOINED,
        ended_at=None,
        created_at=JOINED,
        participants=[seat()],
        participant_count=1,
    )


def chat_out() -> ChatMessageOut:
    return ChatMessageOut(
        message_id="msg_0123456789abcdef",
        room_id=ROOM,
        sender=PublicUser(id=ALICE, nickname="Alice", avatar="https://example.com/a.png"),
        content="hello",
        created_at=JOINED,
        client_msg_id="retry-key",
    )


# -- every message has one shape --------------------------------------------------------------


def test_every_server_message_has_its_typed_data() -> None:
    assert set(ServerMessageData.__annotations__) == {m.value for m in ServerMessage}


@pytest.mark.parametrize(
    ("model", "typed"),
    [(ParticipantOut, ParticipantData), (ChatMessageOut, ChatMessageData)],
    ids=["participant", "chat_message"],
)
def test_server_models_sent_as_data_have_the_typed_fields(model: Any, typed: type) -> None:
    assert set(model.model_fields) == keys_of(typed)


def test_to_wire_is_what_model_dump_gave() -> None:
    """The typed builders send the very JSON the models' ``model_dump`` sent before them."""
    for model in (seat(), chat_out(), chat_out().sender):
        assert model.to_wire() == model.model_dump(mode="json"), type(model).__name__


# -- round trips: the server's encoding, the SDK's parsing ------------------------------------


def test_connected() -> None:
    data: ConnectedData = {"user_id": ALICE, "heartbeat_timeout": 60.0, "reconnect_grace": 30.0}
    welcome = Welcome.from_wire(on_the_wire(Event(ServerMessage.CONNECTED, data)))
    assert welcome == Welcome(ALICE, 60.0, 30.0)


def test_room_state() -> None:
    # in_room: only seat holders (a connection whose seat just went is not listed)
    data = on_the_wire(rooms._room_state(detail(), [ALICE, "user_fedcba9876543210"]))
    assert keys_of(RoomStateData) == set(data)
    assert data["room_id"] == ROOM and data["in_room"] == [ALICE]
    [participant] = [Participant.from_wire(p) for p in data["participants"]]
    assert participant == Participant(ALICE, "Alice", None, True, False, JOINED, True)


def test_user_joined() -> None:
    data = on_the_wire(rooms._user_joined(detail(), ALICE))
    assert keys_of(UserJoinedData) == set(data)
    event = UserJoinedEvent.from_wire(data)
    assert event == UserJoinedEvent(
        ROOM, User(ALICE, "Alice", None), 1, True, False, JOINED, screen_sharing=True
    )
    assert Participant.from_joined(data) == Participant.from_wire(seat().to_wire())
    assert UserJoinedEvent.of_participant(ROOM, Participant.from_joined(data), 1) == event


def test_user_left() -> None:
    sent: UserLeftData = {"user_id": ALICE, "room_id": ROOM, "participant_count": 0}
    data = on_the_wire(Event(ServerMessage.USER_LEFT, sent))
    gone = Participant.from_wire(seat().to_wire())
    assert UserLeftEvent.from_wire(data, gone) == UserLeftEvent(ROOM, ALICE, 0, gone)


def test_media_state_changed() -> None:
    sent: MediaStateChangedData = {
        "user_id": ALICE,
        "room_id": ROOM,
        "audio_muted": False,
        "video_muted": True,
        "screen_sharing": True,
    }
    data = on_the_wire(Event(ServerMessage.MEDIA_STATE_CHANGED, sent))
    event = MediaStateChangedEvent.from_wire(data)
    assert event == MediaStateChangedEvent(ROOM, ALICE, False, True, True)


def test_media_state_changed_from_a_server_without_screen_sharing() -> None:
    data = {"user_id": ALICE, "room_id": ROOM, "audio_muted": True, "video_muted": True}
    assert MediaStateChangedEvent.from_wire(data).screen_sharing is False


def test_chat_message() -> None:
    message = chat_out()
    data = on_the_wire(Event(ServerMessage.CHAT_MESSAGE, message.to_wire()))
    parsed = ChatMessage.from_wire(data)
    sender = User(ALICE, "Alice", "https://example.com/a.png")
    assert parsed == ChatMessage(message.message_id, ROOM, sender, "hello", JOINED, "retry-key")


def test_webrtc_signal() -> None:
    signal = {"kind": "candidate", "candidate": None}
    sent: WebRTCSignalData = {"room_id": ROOM, "from_user_id": ALICE, "signal": signal}
    data = on_the_wire(Event(ServerMessage.WEBRTC_SIGNAL, sent))
    assert WebRTCSignalEvent.from_wire(data) == WebRTCSignalEvent(ROOM, ALICE, signal)


def test_caption() -> None:
    sent: CaptionData = {
        "room_id": ROOM,
        "user_id": ALICE,
        "text": "hello",
        "start_ms": 1_000,
        "end_ms": 2_000,
        "final": True,
    }
    data = on_the_wire(Event(ServerMessage.CAPTION, sent))
    assert CaptionEvent.from_wire(data) == CaptionEvent(ROOM, ALICE, "hello", 1_000, 2_000, True)


def test_meeting_ended() -> None:
    sent: MeetingEndedData = {"room_id": ROOM, "ended_at": JOINED_TEXT}
    data = on_the_wire(Event(ServerMessage.MEETING_ENDED, sent))
    assert MeetingEndedEvent.from_wire(data) == MeetingEndedEvent(ROOM, JOINED)


def test_error() -> None:
    details = {"retry_after": 2}
    data = on_the_wire(error_event(ErrorCode.TOO_MANY_REQUESTS, 5, "en", details))
    assert data == {
        "code": 42901,
        "message": ErrorCode.TOO_MANY_REQUESTS.message("en"),
        "request_seq": 5,
        "details": details,
    }
    error = ErrorEvent.from_wire(data).error
    assert error.server_code == ErrorCode.TOO_MANY_REQUESTS
    assert error.code is SDKErrorCode.NETWORK_ERROR  # 429: transient, as a failed connection
    assert error.message == ErrorCode.TOO_MANY_REQUESTS.message("en")


def test_error_without_details_has_none() -> None:
    data = on_the_wire(error_event(ErrorCode.MEETING_FULL, None, "zh"))
    assert "details" not in data and data["request_seq"] is None


# -- the meeting status: one enum --------------------------------------------------------------


def test_meeting_status_is_one_enum_everywhere() -> None:
    assert [s.value for s in MeetingStatus] == ["waiting", "active", "ended"]
    assert MeetingState is MeetingStatus  # the SDK's (contract) name for it
    assert typing.get_args(StatusField) == tuple(MeetingStatus)


def test_the_database_constraint_is_migration_0001s() -> None:
    """Built from the enum, the constraint's text is still what the migration created."""
    [check] = [c for c in models.Meeting.__table__.constraints if isinstance(c, CheckConstraint)]
    assert str(check.sqltext) == "status IN ('waiting', 'active', 'ended')"


def test_the_rest_schema_shows_the_status_inline_as_the_contract_does() -> None:
    status = MeetingOut.model_json_schema()["properties"]["status"]
    assert status["type"] == "string" and status["enum"] == ["waiting", "active", "ended"]
    assert "$ref" not in status
