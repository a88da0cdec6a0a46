"""``join_room`` and ``leave_room``: who hears what, in which order, and the REST and WebSocket
views agreeing through joins, leaves and mutes."""

from __future__ import annotations

from typing import Any

from tests.utils.api import assert_error, create_meeting, detail, register, seat_ids
from tests.utils.ws_rooms import (
    OFFER,
    RFC3339_MS,
    Sockets,
    end_meeting,
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

UNKNOWN_ROOM = "meeting_0123456789abcdef"


# -- join_room --------------------------------------------------------------------------------


async def test_room_state_says_which_seat_holders_are_in_the_room(
    base_url: str, sockets: Sockets
) -> None:
    """``in_room``: those the joiner offers to (DECISIONS §9); a seat holder not connected yet
    is left out, and a signal to it is refused, so it offers itself when it enters."""
    creator, meeting = new_meeting(base_url)
    bob, carol = users(base_url, 2)
    for user in (creator, bob, carol):
        rest_join(user, meeting)
    a = await sockets.connect(base_url, creator)
    _, state = await join_room(a, meeting["id"])
    assert len(state["participants"]) == 3 and state["in_room"] == [creator.id]
    await error(a, 40401, "webrtc_signal", signal_to(meeting["id"], bob.id, OFFER))
    c = await sockets.connect(base_url, carol)
    _, state = await join_room(c, meeting["id"])
    assert sorted(state["in_room"]) == sorted([creator.id, carol.id])
    await a.expect("user_joined")
    await c.send("webrtc_signal", signal_to(meeting["id"], creator.id, OFFER))
    assert (await a.expect("webrtc_signal"))["data"]["from_user_id"] == carol.id


async def test_join_room_errors_in_order_with_request_seq(base_url: str, sockets: Sockets) -> None:
    """40402 malformed/unknown/invisible, then 40005 ended, then 40301 no seat."""
    creator, meeting = new_meeting(base_url)
    ended = create_meeting(creator)
    member, stranger, leaver = users(base_url, 3)
    rest_join(member, ended)
    end_meeting(creator, ended["id"])

    ws = await sockets.connect(base_url, stranger)
    for room_id in ("abc", "meeting_XYZ", UNKNOWN_ROOM, meeting["id"], ended["id"]):
        await error(ws, 40402, "join_room", {"room_id": room_id})
    await error(ws, 40402, "join_room", {"room_id": meeting["id"]}, seq=4242)
    await ws.ack()
    assert_error(stranger.get(f"/meetings/{meeting['id']}"), 40402)  # still invisible

    # Ended comes before the seat check: the seat was released by the end.
    ws = await sockets.connect(base_url, member)
    await error(ws, 40005, "join_room", {"room_id": ended["id"]})
    await ws.ack()
    creator_ws = await sockets.connect(base_url, creator)
    await error(creator_ws, 40005, "join_room", {"room_id": ended["id"]})

    # Visible and not ended, but no seat: the creator who never joined over REST.
    await error(creator_ws, 40301, "join_room", {"room_id": meeting["id"]})
    await creator_ws.ack()
    assert detail(creator, meeting["id"])["participants"] == []

    # A seat given up with leave_room is gone: join over REST first.
    leaver_ws = await enter(sockets, base_url, leaver, meeting)
    await leaver_ws.send("leave_room", {"room_id": meeting["id"]})
    await error(leaver_ws, 40301, "join_room", {"room_id": meeting["id"]})
    await leaver_ws.ack()
    assert detail(creator, meeting["id"])["participants"] == []


async def test_join_room_is_announced_to_all_then_room_state_to_the_joiner(
    base_url: str, sockets: Sockets
) -> None:
    creator, meeting = new_meeting(base_url)
    bob = register(base_url, nickname="鲍勃")
    rest_join(creator, meeting)
    a = await sockets.connect(base_url, creator)
    joined, state = await join_room(a, meeting["id"])
    rest = detail(creator, meeting["id"])
    assert joined == expected_joined(rest, creator)
    assert joined["participant_count"] == 1
    assert state == {
        "room_id": meeting["id"],
        "participants": rest["participants"],
        "in_room": [creator.id],
    }

    rest_join(bob, meeting, audio_muted=True)
    b = await sockets.connect(base_url, bob)
    await b.send("join_room", {"room_id": meeting["id"]})
    heard_by_a = (await a.expect("user_joined"))["data"]
    heard_by_b = (await b.expect("user_joined"))["data"]
    state = (await b.expect("room_state"))["data"]
    rest = detail(creator, meeting["id"])
    assert seat_ids(rest) == [creator.id, bob.id]
    assert (
        heard_by_a
        == heard_by_b
        == {
            "user": {"id": bob.id, "nickname": "鲍勃", "avatar": None},
            "room_id": meeting["id"],
            "participant_count": 2,
            "audio_muted": True,
            "video_muted": False,
            "screen_sharing": False,
            "joined_at": rest["participants"][1]["joined_at"],
        }
    )
    assert RFC3339_MS.match(heard_by_a["joined_at"]), heard_by_a
    assert sorted(state.pop("in_room")) == sorted([creator.id, bob.id])
    assert state == {"room_id": meeting["id"], "participants": rest["participants"]}
    assert [(p["audio_muted"], p["video_muted"]) for p in state["participants"]] == [
        (False, False),
        (True, False),
    ]
    await quiet(a, b)


async def test_join_room_repeated_on_the_same_connection_is_heard_by_self_only(
    base_url: str, sockets: Sockets
) -> None:
    creator, meeting = new_meeting(base_url)
    (bob,) = users(base_url, 1)
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a, video_muted=True)
    for _ in range(2):
        joined, state = await join_room(b, meeting["id"])
        rest = detail(creator, meeting["id"])
        assert joined == expected_joined(rest, bob)
        assert joined["participant_count"] == 2
        assert state["participants"] == rest["participants"]
        await quiet(a, b)
    assert detail(creator, meeting["id"])["participant_count"] == 2


# -- leave_room -------------------------------------------------------------------------------


async def test_leave_room_tells_the_others_and_not_the_leaver(
    base_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob, carol), (a, b, c) = await members(sockets, base_url, 3)
    room = meeting["id"]

    await c.send("leave_room", {"room_id": room})
    for ws in (a, b):
        assert (await ws.expect("user_left"))["data"] == left(carol, room, 2)
    await c.ack()  # the leaver got nothing before its pong
    rest = detail(creator, room)
    assert seat_ids(rest) == [creator.id, bob.id]
    assert rest["participant_count"] == 2

    # Out of the room: room actions are 40301, and the room's events no longer reach it.
    await error(c, 40301, "media_control", mute(room, "mute_audio", True))
    await error(c, 40301, "chat_message", {"room_id": room, "content": "还在吗"})
    await error(c, 40301, "leave_room", {"room_id": room})
    await error(c, 40301, "webrtc_signal", {"room_id": room, "to_user_id": bob.id, "signal": OFFER})
    await error(c, 40301, "join_room", {"room_id": room})
    await a.send("media_control", mute(room, "mute_video", True))
    for ws in (a, b):
        assert (await ws.expect("media_state_changed"))["data"] == media(creator, room, False, True)
    await quiet(a, b, c)

    # A new REST join lets the user in again, as a newcomer.
    rest_join(carol, meeting)
    joined, state = await join_room(c, room)
    rest = detail(creator, room)
    assert joined == expected_joined(rest, carol)
    assert joined["participant_count"] == 3
    assert state["participants"] == rest["participants"]
    for ws in (a, b):
        assert (await ws.expect("user_joined"))["data"] == joined


async def test_actions_in_a_room_not_joined_are_40301(base_url: str, sockets: Sockets) -> None:
    """Even for unknown or malformed room ids; even when the user's other connection is in it."""
    creator, meeting = new_meeting(base_url)
    seated_only = create_meeting(creator)
    (bob,) = users(base_url, 1)
    rest_join(creator, seated_only)
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a)
    other = await sockets.connect(base_url, creator)  # the creator's second connection
    for room in ("abc", UNKNOWN_ROOM, seated_only["id"], meeting["id"]):
        for ws in (other, b) if room != meeting["id"] else (other,):
            await error(ws, 40301, "leave_room", {"room_id": room})
            await error(ws, 40301, "media_control", mute(room, "mute_audio", True))
            await error(ws, 40301, "chat_message", {"room_id": room, "content": "你好"})
            peer = creator.id if ws is b else bob.id
            await error(ws, 40301, "webrtc_signal", signal_to(room, peer, OFFER))
    await quiet(a, b, other)
    rest = detail(creator, meeting["id"])
    assert [(p["user_id"], p["audio_muted"]) for p in rest["participants"]] == [
        (creator.id, False),
        (bob.id, False),
    ]


# -- REST and WebSocket agree -----------------------------------------------------------------


async def test_rest_and_websocket_views_agree_through_joins_leaves_and_mutes(
    base_url: str, sockets: Sockets
) -> None:
    creator, meeting = new_meeting(base_url)
    bob, carol, dave = users(base_url, 3)
    room = meeting["id"]
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a, video_muted=True)
    c = await enter(sockets, base_url, carol, meeting, a, b)
    present = {creator.id: a, bob.id: b, carol.id: c}

    async def last_event(type: str) -> dict[str, Any]:
        events: list[dict[str, Any]] = [(await ws.expect(type))["data"] for ws in present.values()]
        assert all(event == events[0] for event in events), events
        return events[0]

    async def agree() -> None:
        """A repeated join_room by the creator: its room_state is the REST view."""
        joined, state = await join_room(a, room)
        rest = detail(creator, room)
        assert joined == expected_joined(rest, creator)
        assert state["participants"] == rest["participants"]
        await quiet(*[ws for uid, ws in present.items() if uid != creator.id])

    await b.send("media_control", mute(room, "mute_audio", True))
    event = await last_event("media_state_changed")
    assert event == media(bob, room, True, True)
    await agree()

    await c.send("leave_room", {"room_id": room})
    del present[carol.id]
    event = await last_event("user_left")
    assert event["participant_count"] == detail(creator, room)["participant_count"] == 2
    await agree()

    d = await enter(sockets, base_url, dave, meeting, a, b, audio_muted=True)
    present[dave.id] = d
    rest = detail(creator, room)
    assert rest["participant_count"] == 3
    await agree()

    await d.send("media_control", mute(room, "mute_audio", False))
    assert await last_event("media_state_changed") == media(dave, room, False, False)
    await b.send("leave_room", {"room_id": room})
    del present[bob.id]
    event = await last_event("user_left")
    rest = detail(creator, room)
    assert event == left(bob, room, rest["participant_count"])
    assert seat_ids(rest) == [creator.id, dave.id]
    await agree()
    await quiet(b, c)
