"""``media_control`` (mute flags, screen sharing) and ``webrtc_signal`` in a room."""

from __future__ import annotations

from typing import Any

from tests.utils.api import detail
from tests.utils.ws_rooms import (
    OFFER,
    Sockets,
    enter,
    error,
    expected_joined,
    join_room,
    left,
    media,
    members,
    mute,
    new_meeting,
    quiet,
    rest_join,
    signal_to,
    users,
)

UNKNOWN_USER = "user_0123456789abcdef"


# -- media_control ----------------------------------------------------------------------------


async def test_media_control_broadcasts_both_flags_to_everyone(
    base_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, base_url, 2)
    room = meeting["id"]
    steps = [
        ("mute_audio", True, (True, False)),
        ("mute_audio", True, (True, False)),  # unchanged: still broadcast (the ack)
        ("mute_video", True, (True, True)),
        ("mute_audio", False, (False, True)),
        ("mute_video", False, (False, False)),
        ("mute_video", False, (False, False)),
    ]
    for action, value, (audio, video) in steps:
        await a.send("media_control", mute(room, action, value))
        for ws in (a, b):
            event = await ws.expect("media_state_changed")
            assert event["data"] == media(creator, room, audio, video), (action, value, event)
        seats = {p["user_id"]: p for p in detail(bob, room)["participants"]}
        assert (seats[creator.id]["audio_muted"], seats[creator.id]["video_muted"]) == (
            audio,
            video,
        )
        assert (seats[bob.id]["audio_muted"], seats[bob.id]["video_muted"]) == (False, False)
    await a.send("media_control", mute(room, "mute_audio", True))
    for ws in (a, b):
        assert (await ws.expect("media_state_changed"))["data"] == media(creator, room, True, False)
    await quiet(a, b)


async def test_screen_share_is_stored_broadcast_and_shown_everywhere(
    base_url: str, sockets: Sockets
) -> None:
    """DECISIONS §9 extension: ``screen_share`` sets ``screen_sharing`` beside the mute flags; it
    reaches ``media_state_changed``, REST, ``room_state`` and ``user_joined``; a REST join keeps
    it for a seat held and starts a new seat without it."""
    meeting, (creator, bob), (a, b) = await members(sockets, base_url, 2)
    room = meeting["id"]
    await b.send("media_control", mute(room, "mute_audio", True))
    for ws in (a, b):
        assert (await ws.expect("media_state_changed"))["data"] == media(bob, room, True, False)

    await b.send("media_control", mute(room, "screen_share", True))
    for ws in (a, b):
        event = await ws.expect("media_state_changed")
        assert event["data"] == media(bob, room, True, False, screen=True), event
    seats = {p["user_id"]: p for p in detail(creator, room)["participants"]}
    assert (seats[bob.id]["screen_sharing"], seats[creator.id]["screen_sharing"]) == (True, False)

    # Muting keeps the share; every media_state_changed carries all three flags.
    await b.send("media_control", mute(room, "mute_video", True))
    for ws in (a, b):
        assert (await ws.expect("media_state_changed"))["data"] == media(
            bob, room, True, True, screen=True
        )
    assert rest_join(bob, meeting)["participants"][1]["screen_sharing"] is True  # seat held
    joined, state = await join_room(b, room)
    assert joined == expected_joined(detail(bob, room), bob)
    assert joined["screen_sharing"] is True
    assert [p["screen_sharing"] for p in state["participants"]] == [False, True]
    await quiet(a, b)

    await b.send("media_control", mute(room, "screen_share", False))
    for ws in (a, b):
        assert (await ws.expect("media_state_changed"))["data"] == media(bob, room, True, True)
    assert [p["screen_sharing"] for p in detail(bob, room)["participants"]] == [False, False]

    # A new seat after leaving starts without a share, whatever the old seat had.
    await b.send("media_control", mute(room, "screen_share", True))
    for ws in (a, b):
        await ws.expect("media_state_changed")
    await b.send("leave_room", {"room_id": room})
    assert (await a.expect("user_left"))["data"] == left(bob, room, 1)
    assert rest_join(bob, meeting)["participants"][1]["screen_sharing"] is False
    joined, _state = await join_room(b, room)
    assert joined["screen_sharing"] is False
    assert (await a.expect("user_joined"))["data"] == joined
    await quiet(a, b)


async def test_media_control_with_a_bad_action_or_value_is_refused(
    base_url: str, sockets: Sockets
) -> None:
    meeting, (creator, _bob), (a, b) = await members(sockets, base_url, 2)
    room = meeting["id"]
    cases: list[tuple[dict[str, Any], int]] = [
        ({"room_id": room, "action": "mute", "value": True}, 40004),
        ({"room_id": room, "action": "MUTE_AUDIO", "value": True}, 40004),
        ({"room_id": room, "action": 1, "value": True}, 40004),
        ({"room_id": room, "value": True}, 40003),
        ({"room_id": room, "action": None, "value": True}, 40003),
        ({"room_id": room, "action": "mute_audio", "value": "true"}, 40004),
        ({"room_id": room, "action": "mute_audio", "value": 1}, 40004),
        ({"room_id": room, "action": "mute_video", "value": 0}, 40004),
        ({"room_id": room, "action": "mute_audio", "value": None}, 40003),
        ({"room_id": room, "action": "mute_video"}, 40003),
        ({"room_id": room, "action": "screen_share", "value": "true"}, 40004),
        ({"room_id": room, "action": "screen_share", "value": 1}, 40004),
        ({"room_id": room, "action": "screen_share", "value": None}, 40003),
        ({"room_id": room, "action": "SCREEN_SHARE", "value": True}, 40004),
    ]
    for data, code in cases:
        seq = await a.send("media_control", data)
        message = await a.expect("error")
        assert (message["data"]["code"], message["data"]["request_seq"]) == (code, seq), (
            data,
            message,
        )
    await quiet(a, b)
    rest = detail(creator, room)
    assert [(p["audio_muted"], p["video_muted"]) for p in rest["participants"]] == [
        (False, False),
        (False, False),
    ]
    assert [p["screen_sharing"] for p in rest["participants"]] == [False, False]


# -- webrtc_signal ----------------------------------------------------------------------------


async def test_webrtc_signal_reaches_only_the_addressee(base_url: str, sockets: Sockets) -> None:
    creator, meeting = new_meeting(base_url)
    bob, carol, dave, stranger = users(base_url, 4)
    room = meeting["id"]
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a)
    c = await enter(sockets, base_url, carol, meeting, a, b)
    rest_join(dave, meeting)  # seated, never connected
    s = await sockets.connect(base_url, stranger)

    await a.send("webrtc_signal", {"room_id": room, "to_user_id": bob.id, "signal": OFFER})
    relayed = await b.expect("webrtc_signal")
    assert relayed["data"] == {"room_id": room, "from_user_id": creator.id, "signal": OFFER}
    await quiet(a, c, s)

    # The signal is opaque: nested objects and unknown keys arrive unchanged.
    candidate = {
        "type": "candidate",
        "candidate": {"candidate": "candidate:1 1 UDP 2122 10.0.0.1 5000 typ host", "sdpMid": "0"},
        "sdpMLineIndex": 0,
        "extra": [1, 2.5, None, {"nested": True}],
    }
    await c.send("webrtc_signal", {"room_id": room, "to_user_id": creator.id, "signal": candidate})
    relayed = await a.expect("webrtc_signal")
    assert relayed["data"] == {"room_id": room, "from_user_id": carol.id, "signal": candidate}
    await quiet(b, c)

    for to_user_id in (dave.id, stranger.id, UNKNOWN_USER):
        await error(a, 40401, "webrtc_signal", signal_to(room, to_user_id, OFFER))
    await error(a, 40004, "webrtc_signal", signal_to(room, creator.id, OFFER))  # to oneself
    for payload in ("v=0", ["offer"], 5, True):
        await error(a, 40004, "webrtc_signal", signal_to(room, bob.id, payload))
    await error(a, 40003, "webrtc_signal", {"room_id": room, "signal": OFFER})
    await error(a, 40003, "webrtc_signal", {"room_id": room, "to_user_id": bob.id})
    await quiet(a, b, c, s)
