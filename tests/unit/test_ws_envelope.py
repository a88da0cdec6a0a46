"""What a client may send over ``/v1/ws``, checked without a socket: the frame and its envelope
(aimeeting.server.realtime.gateway) and each message's data (aimeeting.server.realtime.schemas,
validated like REST bodies by aimeeting.server.validation; DECISIONS.md §2, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from aimeeting.protocol import ErrorCode
from aimeeting.protocol.messages import MAX_CHAT_LENGTH, MAX_CLIENT_MSG_ID_LENGTH, MediaAction
from aimeeting.server.errors import InvalidInput
from aimeeting.server.realtime.gateway import MAX_SEQ, _check_envelope, _decode, _readable_seq
from aimeeting.server.realtime.schemas import (
    CaptionIn,
    ChatMessageIn,
    MediaControlIn,
    RoomIn,
    WebRTCSignalIn,
)
from aimeeting.server.validation import RequestModel, validate

ROOM = "meeting_0123456789abcdef"


def refusal(call: Any, *args: Any) -> tuple[ErrorCode, dict[str, Any] | None]:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value.code, caught.value.details


# -- the frame --------------------------------------------------------------------------------


def test_a_text_frame_holding_a_json_object_is_decoded() -> None:
    frame = {"type": "websocket.receive", "text": '{"type": "ping", "seq": 3}'}
    assert _decode(frame) == {"type": "ping", "seq": 3}


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ({"bytes": b'{"type": "ping"}'}, "binary frames are not accepted"),
        ({"text": "[1, 2]"}, "must be a JSON object, not an array"),
        ({"text": '"ping"'}, "must be a JSON object, not a string"),
        ({"text": "null"}, "must be a JSON object, not null"),
        ({"text": "12"}, "must be a JSON object, not a number"),
        ({"text": '{"type": "ping",'}, "malformed JSON: "),
    ],
)
def test_a_frame_that_is_not_a_json_object_is_40003_naming_the_frame(
    frame: dict[str, Any], problem: str
) -> None:
    code, details = refusal(_decode, {"type": "websocket.receive", **frame})
    assert code is ErrorCode.MISSING_FIELD
    assert details is not None and set(details) == {"frame"}
    assert details["frame"].startswith(problem), details


# -- the envelope -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "readable"),
    [(0, 0), (7, 7), (MAX_SEQ, MAX_SEQ), (MAX_SEQ + 1, None), (-1, None), (True, None),
     (1.0, None), ("1", None), (None, None)],
)  # fmt: skip
def test_only_a_whole_number_a_json_client_reads_exactly_is_a_seq(seq: Any, readable: Any) -> None:
    assert _readable_seq({"seq": seq}) == readable


def test_a_good_envelope_gives_its_type_and_data() -> None:
    assert _check_envelope({"type": "join_room", "seq": 1, "data": {"room_id": ROOM}}) == (
        "join_room",
        {"room_id": ROOM},
    )
    assert _check_envelope({"type": "ping"}) == ("ping", {})  # no seq, no data
    assert _check_envelope({"type": "ping", "data": None}) == ("ping", {})


@pytest.mark.parametrize(
    ("envelope", "code", "details"),
    [
        ({"seq": 1}, ErrorCode.MISSING_FIELD, {"type": "required"}),
        ({"type": None}, ErrorCode.MISSING_FIELD, {"type": "required"}),
        ({"type": 5}, ErrorCode.INVALID_PARAMETER, {"type": "must be a string"}),
        ({"type": "ping", "seq": -1}, ErrorCode.INVALID_PARAMETER,
         {"seq": "must be a non-negative integer"}),
        ({"type": "ping", "seq": "1"}, ErrorCode.INVALID_PARAMETER,
         {"seq": "must be a non-negative integer"}),
        ({"type": "ping", "data": []}, ErrorCode.INVALID_PARAMETER, {"data": "must be an object"}),
        ({"type": "ping", "data": "x"}, ErrorCode.INVALID_PARAMETER, {"data": "must be an object"}),
    ],
)  # fmt: skip
def test_a_bad_envelope_is_refused_with_the_field_it_breaks(
    envelope: dict[str, Any], code: ErrorCode, details: dict[str, str]
) -> None:
    assert refusal(_check_envelope, envelope) == (code, details)


# -- the data of each message -----------------------------------------------------------------


def test_chat_content_is_trimmed_and_keeps_line_breaks_and_tabs() -> None:
    chat = validate({"room_id": ROOM, "content": "  hi\n\tthere\r\n "}, ChatMessageIn)
    assert (chat.room_id, chat.content, chat.client_msg_id) == (ROOM, "hi\n\tthere", None)
    longest = validate({"room_id": ROOM, "content": "x" * MAX_CHAT_LENGTH + "  "}, ChatMessageIn)
    assert len(longest.content) == MAX_CHAT_LENGTH  # the limit counts the trimmed text
    keyed = validate({"room_id": ROOM, "content": "a", "client_msg_id": "k-1"}, ChatMessageIn)
    assert keyed.client_msg_id == "k-1"
    assert validate({"room_id": ROOM, "extra": 1}, RoomIn).room_id == ROOM  # unknown keys: ignored


@pytest.mark.parametrize(
    ("model", "data", "code", "field"),
    [
        (RoomIn, {}, ErrorCode.MISSING_FIELD, "room_id"),
        (RoomIn, {"room_id": None}, ErrorCode.MISSING_FIELD, "room_id"),
        (RoomIn, {"room_id": 12}, ErrorCode.INVALID_PARAMETER, "room_id"),  # strict: no coercion
        (ChatMessageIn, {"room_id": ROOM}, ErrorCode.MISSING_FIELD, "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": " \n "}, ErrorCode.INVALID_PARAMETER,
         "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": "x" * (MAX_CHAT_LENGTH + 1)},
         ErrorCode.INVALID_PARAMETER, "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": "a\x00b"}, ErrorCode.INVALID_PARAMETER,
         "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": "a\x1b[31m"}, ErrorCode.INVALID_PARAMETER,
         "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": 5}, ErrorCode.INVALID_PARAMETER, "content"),
        (ChatMessageIn, {"room_id": ROOM, "content": "a", "client_msg_id": ""},
         ErrorCode.INVALID_PARAMETER, "client_msg_id"),
        (ChatMessageIn, {"room_id": ROOM, "content": "a",
                         "client_msg_id": "k" * (MAX_CLIENT_MSG_ID_LENGTH + 1)},
         ErrorCode.INVALID_PARAMETER, "client_msg_id"),
        (ChatMessageIn, {"room_id": ROOM, "content": "a", "client_msg_id": "k\n1"},
         ErrorCode.INVALID_PARAMETER, "client_msg_id"),
        (MediaControlIn, {"room_id": ROOM, "action": "mute_all", "value": True},
         ErrorCode.INVALID_PARAMETER, "action"),
        (MediaControlIn, {"room_id": ROOM, "action": "mute_audio", "value": "true"},
         ErrorCode.INVALID_PARAMETER, "value"),
        (MediaControlIn, {"room_id": ROOM, "action": "mute_audio"}, ErrorCode.MISSING_FIELD,
         "value"),
        (WebRTCSignalIn, {"room_id": ROOM, "to_user_id": "user_1", "signal": "sdp"},
         ErrorCode.INVALID_PARAMETER, "signal"),
        (CaptionIn, {"room_id": ROOM, "user_id": "u", "text": "hi", "start_ms": 5, "end_ms": 4,
                     "final": True}, ErrorCode.INVALID_PARAMETER, "end_ms"),
        (CaptionIn, {"room_id": ROOM, "user_id": "u", "text": "hi", "start_ms": -1, "end_ms": 4,
                     "final": True}, ErrorCode.INVALID_PARAMETER, "start_ms"),
    ],
)  # fmt: skip
def test_bad_message_data_is_refused_naming_the_field(
    model: type[RequestModel], data: dict[str, Any], code: ErrorCode, field: str
) -> None:
    found, details = refusal(validate, data, model)
    assert found is code
    assert details is not None and list(details) == [field], details


def test_a_missing_field_wins_over_a_bad_one() -> None:
    """DECISIONS §2: when several rules are broken, 40003 comes first."""
    data = {"room_id": 12, "action": "mute_all"}  # room_id and action bad, value missing
    assert refusal(validate, data, MediaControlIn) == (
        ErrorCode.MISSING_FIELD,
        {"value": "Field required"},
    )


def test_media_control_takes_the_actions_value_and_a_caption_its_times() -> None:
    media = validate({"room_id": ROOM, "action": "mute_video", "value": False}, MediaControlIn)
    assert (media.action, media.value) == (MediaAction.MUTE_VIDEO, False)
    caption = {"room_id": ROOM, "user_id": "u", "text": " hi ", "start_ms": 4, "end_ms": 4}
    same_time = validate({**caption, "final": True}, CaptionIn)
    assert (same_time.text, same_time.start_ms, same_time.end_ms) == ("hi", 4, 4)
    assert refusal(validate, {**caption, "final": 1}, CaptionIn)[0] is ErrorCode.INVALID_PARAMETER
