"""Rooms and seats, media state, WebRTC signaling, logout and shutdown over the real ``/v1/ws``
(docs/realtime.md; contract §2; DECISIONS.md §4, §5).

Every test drives real server processes over real HTTP and real WebSockets, on SQLite and on
PostgreSQL. Timing rules run on a dedicated server with a short reconnect grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.api import PASSWORD, User, assert_error, client, create_meeting, join, register
from tests.utils.server import ServerProcess
from tests.utils.ws import TIMEOUT, WsClient

GRACE = 1.5  # seconds, on the grace server and the restarted server
UNKNOWN_ROOM = "meeting_0123456789abcdef"
UNKNOWN_USER = "user_0123456789abcdef"
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ENVELOPE_KEYS = {"type", "seq", "timestamp", "data"}
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\n"}


# -- clients ----------------------------------------------------------------------------------


class Client(WsClient):
    """A WsClient that also checks every server envelope: its keys and gap-free ``seq``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.last_seq = 0

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        message = await super().recv(timeout)
        assert set(message) == ENVELOPE_KEYS, message
        assert message["seq"] == self.last_seq + 1, (self.last_seq, message)
        assert isinstance(message["timestamp"], int), message
        self.last_seq = message["seq"]
        return message

    async def ack(self) -> None:
        """A ``ping`` whose ``pong`` is the very next message: nothing else arrived before it."""
        seq = await self.send("ping")
        pong = await self.expect("pong")
        assert pong["data"] == {"request_seq": seq}, pong

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake, as a network failure would."""
        self.connection.transport.abort()


class Sockets:
    """Opens clients for a test and closes them all at its end."""

    def __init__(self) -> None:
        self.opened: list[Client] = []

    async def connect(self, base_url: str, user: User, token: str | None = None) -> Client:
        opened = await WsClient.open(base_url, token or user.access_token, user=user)
        ws = Client(opened.connection, user)
        self.opened.append(ws)
        connected = await ws.expect("connected")
        assert connected["seq"] == 1 and connected["data"]["user_id"] == user.id, connected
        return ws

    async def close_all(self) -> None:
        for ws in self.opened:
            with contextlib.suppress(Exception):  # already gone: nothing to clean up
                await asyncio.wait_for(ws.close(), 5)


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture(scope="module")
def grace_url(backend: str, start_server: Callable[..., ServerProcess]) -> str:
    """A server of this backend whose reconnect grace is short."""
    return start_server(backend, reconnect_grace=GRACE).url


# -- REST helpers -----------------------------------------------------------------------------


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == 0, body
    return body.get("data")


def detail(user: User, meeting_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(user.get(f"/meetings/{meeting_id}"))
    assert data["participant_count"] == len(data["participants"]), data
    return data


def seat_ids(data: dict[str, Any]) -> list[str]:
    return [p["user_id"] for p in data["participants"]]


def rest_join(user: User, meeting: dict[str, Any], **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(join(user, meeting["meeting_number"], **body))
    return data


def end_meeting(user: User, meeting_id: str) -> None:
    ok(user.post(f"/meetings/{meeting_id}/end"))


def new_meeting(base_url: str) -> tuple[User, dict[str, Any]]:
    creator = register(base_url, nickname="创建者")
    return creator, create_meeting(creator)


def users(base_url: str, count: int) -> list[User]:
    return [register(base_url, nickname=f"参会者{i}") for i in range(count)]


def expected_joined(rest: dict[str, Any], user: User) -> dict[str, Any]:
    """The ``user_joined`` data for ``user`` that the REST detail ``rest`` implies."""
    (seat,) = [p for p in rest["participants"] if p["user_id"] == user.id]
    return {
        "user": {"id": user.id, "nickname": seat["nickname"], "avatar": seat["avatar"]},
        "room_id": rest["id"],
        "participant_count": rest["participant_count"],
        "audio_muted": seat["audio_muted"],
        "video_muted": seat["video_muted"],
        "screen_sharing": seat["screen_sharing"],
        "joined_at": seat["joined_at"],
    }


def left(user: User, room_id: str, count: int) -> dict[str, Any]:
    return {"user_id": user.id, "room_id": room_id, "participant_count": count}


def media(
    user: User, room_id: str, audio: bool, video: bool, screen: bool = False
) -> dict[str, Any]:
    return {
        "user_id": user.id,
        "room_id": room_id,
        "audio_muted": audio,
        "video_muted": video,
        "screen_sharing": screen,
    }


# -- WebSocket helpers ------------------------------------------------------------------------


async def join_room(ws: Client, room_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``join_room``; the very next messages are ``user_joined`` then ``room_state``."""
    await ws.send("join_room", {"room_id": room_id})
    joined = (await ws.expect("user_joined"))["data"]
    state = (await ws.expect("room_state"))["data"]
    assert ws.user is not None
    assert joined["user"]["id"] == ws.user.id, joined
    assert joined["room_id"] == room_id and state["room_id"] == room_id, (joined, state)
    assert set(state) == {"room_id", "participants"}, state
    return joined, state


async def enter(
    sockets: Sockets,
    base_url: str,
    user: User,
    meeting: dict[str, Any],
    *present: Client,
    **body: Any,
) -> Client:
    """REST-join, connect and ``join_room``; everyone ``present`` hears the same ``user_joined``,
    which (like ``room_state``) matches the REST detail exactly."""
    rest_join(user, meeting, **body)
    ws = await sockets.connect(base_url, user)
    joined, state = await join_room(ws, meeting["id"])
    rest = detail(user, meeting["id"])
    assert joined == expected_joined(rest, user), (joined, rest)
    assert RFC3339_MS.match(joined["joined_at"]), joined
    assert state["participants"] == rest["participants"], (state, rest)
    for other in present:
        heard = await other.expect("user_joined")
        assert heard["data"] == joined, heard
    return ws


async def members(
    sockets: Sockets, base_url: str, count: int
) -> tuple[dict[str, Any], list[User], list[Client]]:
    """A new meeting with ``count`` members in its room, the creator first; each one entered
    with the earlier ones present (see ``enter``)."""
    creator, meeting = new_meeting(base_url)
    people = [creator, *users(base_url, count - 1)]
    clients: list[Client] = []
    for person in people:
        clients.append(await enter(sockets, base_url, person, meeting, *clients))
    return meeting, people, clients


async def error(ws: Client, code: int, type: str, data: dict[str, Any], seq: int = 0) -> None:
    """Send one message; the very next message is its ``error`` with ``request_seq`` echoed."""
    sent = await ws.send(type, data, **({"seq": seq} if seq else {}))
    await ws.error(code, sent)


async def quiet(*clients: Client, within: float = 0.3) -> None:
    """None of these clients receives anything for ``within`` seconds."""
    await asyncio.gather(*(ws.silent(within) for ws in clients))


async def quiet_until(deadline: float, *clients: Client) -> None:
    await quiet(*clients, within=max(0.3, deadline - time.monotonic()))


def signal_to(room_id: str, to_user_id: str, payload: Any) -> dict[str, Any]:
    return {"room_id": room_id, "to_user_id": to_user_id, "signal": payload}


def mute(room_id: str, action: str, value: Any) -> dict[str, Any]:
    return {"room_id": room_id, "action": action, "value": value}


# -- join_room --------------------------------------------------------------------------------


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
    assert state == {"room_id": meeting["id"], "participants": rest["participants"]}

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


# -- seats ------------------------------------------------------------------------------------


async def test_fifth_user_is_refused_until_someone_leaves(base_url: str, sockets: Sockets) -> None:
    creator, meeting = new_meeting(base_url)
    bob, carol, dave, eve = users(base_url, 4)
    room = meeting["id"]
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a)
    c = await enter(sockets, base_url, carol, meeting, a, b)
    d = await enter(sockets, base_url, dave, meeting, a, b, c)
    assert_error(join(eve, meeting["meeting_number"]), 40006)
    e = await sockets.connect(base_url, eve)
    await error(e, 40402, "join_room", {"room_id": room})  # never joined: cannot see it

    await d.send("leave_room", {"room_id": room})
    for ws in (a, b, c):
        assert (await ws.expect("user_left"))["data"] == left(dave, room, 3)
    e = await enter(sockets, base_url, eve, meeting, a, b, c)
    rest = detail(creator, room)
    assert seat_ids(rest) == [creator.id, bob.id, carol.id, eve.id]
    await quiet(a, b, c, d, e)


# -- takeover ---------------------------------------------------------------------------------


async def test_takeover_closes_the_older_connection_without_churn(
    grace_url: str, sockets: Sockets
) -> None:
    """4409 for the old connection; the others hear nothing, then or after the grace."""
    creator, meeting = new_meeting(grace_url)
    (bob,) = users(grace_url, 1)
    room = meeting["id"]
    a1 = await enter(sockets, grace_url, creator, meeting)
    b = await enter(sockets, grace_url, bob, meeting, a1)

    a2 = await sockets.connect(grace_url, creator)
    await a2.send("join_room", {"room_id": room})
    took_over = time.monotonic()
    assert await a1.closed(4409) == []
    joined = (await a2.expect("user_joined"))["data"]
    state = (await a2.expect("room_state"))["data"]
    rest = detail(creator, room)
    assert joined == expected_joined(rest, creator)
    assert joined["participant_count"] == 2
    assert state == {"room_id": room, "participants": rest["participants"]}
    await quiet(b)

    await b.send("chat_message", {"room_id": room, "content": "接管之后"})
    sent = (await b.expect("chat_message"))["data"]
    assert sent["sender"]["id"] == bob.id and sent["content"] == "接管之后", sent
    assert (await a2.expect("chat_message"))["data"] == sent

    # A takeover is not a drop: no grace runs out for the creator's seat.
    await quiet_until(took_over + GRACE + 0.6, a2, b)
    assert seat_ids(detail(creator, room)) == [creator.id, bob.id]


# -- reconnect grace --------------------------------------------------------------------------


async def test_reconnect_within_the_grace_is_silent(grace_url: str, sockets: Sockets) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, grace_url, 2)
    room = meeting["id"]

    a.abort()
    dropped = time.monotonic()
    await quiet(b)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]
    back = await sockets.connect(grace_url, creator)
    joined, state = await join_room(back, room)
    assert time.monotonic() - dropped < GRACE - 0.5, "too slow to test the grace"
    rest = detail(bob, room)
    assert joined == expected_joined(rest, creator)
    assert joined["participant_count"] == 2
    assert state["participants"] == rest["participants"]
    await quiet_until(dropped + GRACE + 0.6, b, back)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]


async def test_a_drop_without_return_releases_the_seat_after_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob, carol), (a, b, c) = await members(sockets, grace_url, 3)
    room = meeting["id"]

    await c.close()
    dropped = time.monotonic()
    await quiet(a, b, within=GRACE * 0.5)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id, carol.id]
    for ws in (a, b):
        assert (await ws.expect("user_left", timeout=5))["data"] == left(carol, room, 2)
    assert time.monotonic() - dropped >= GRACE * 0.5
    rest = detail(bob, room)
    assert seat_ids(rest) == [creator.id, bob.id]
    assert rest["participant_count"] == 2
    await quiet(a, b)


async def test_a_rest_seat_never_used_is_released_after_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    creator, meeting = new_meeting(grace_url)
    (carol,) = users(grace_url, 1)
    room = meeting["id"]
    rest_join(carol, meeting)  # never used over the WebSocket
    seated = time.monotonic()
    a = await enter(sockets, grace_url, creator, meeting)
    assert seat_ids(detail(creator, room)) == [carol.id, creator.id]
    await quiet_until(seated + GRACE * 0.5, a)
    assert (await a.expect("user_left", timeout=5))["data"] == left(carol, room, 1)
    rest = detail(creator, room)
    assert seat_ids(rest) == [creator.id]
    assert rest["participant_count"] == 1
    await quiet(a)


# -- meeting end ------------------------------------------------------------------------------


async def test_meeting_end_tells_members_then_closes_their_connections(
    base_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, base_url, 2)
    room = meeting["id"]
    elsewhere = create_meeting(bob)
    b_other = await enter(sockets, base_url, bob, elsewhere)  # same user, another room

    end_meeting(creator, room)
    rest = detail(creator, room)
    assert rest["status"] == "ended"
    assert rest["participants"] == [] and rest["participant_count"] == 0
    for ws in (a, b):
        messages = await ws.closed(4410)
        assert [m["type"] for m in messages] == ["meeting_ended"], messages
        assert messages[0]["data"] == {"room_id": room, "ended_at": rest["ended_at"]}
        assert RFC3339_MS.match(rest["ended_at"]), rest

    await quiet(b_other)
    await b_other.ack()
    assert seat_ids(detail(bob, elsewhere["id"])) == [bob.id]
    again = await sockets.connect(base_url, bob)
    await error(again, 40005, "join_room", {"room_id": room})


# -- logout -----------------------------------------------------------------------------------


async def test_logout_closes_that_sessions_connections_and_the_seat_follows_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, grace_url, 2)
    room = meeting["id"]
    login = creator.http.post("/auth/login", json={"email": creator.email, "password": PASSWORD})
    second_session = ok(login)["tokens"]["access_token"]
    a_idle = await sockets.connect(grace_url, creator)  # same session, in no room
    a_other = await sockets.connect(grace_url, creator, second_session)

    ok(creator.post("/auth/logout"))
    logged_out = time.monotonic()
    for ws in (a, a_idle):
        messages = await ws.closed(4401, timeout=1.0)
        assert [(m["type"], m["data"]["code"], m["data"]["request_seq"]) for m in messages] == [
            ("error", 40103, None)
        ], messages
    assert time.monotonic() - logged_out < 1.0

    await a_other.ack()  # the other session goes on
    await quiet_until(logged_out + GRACE * 0.5, b, a_other)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]
    assert (await b.expect("user_left", timeout=5))["data"] == left(creator, room, 1)
    assert seat_ids(detail(bob, room)) == [bob.id]
    await quiet(a_other)


# -- restart ----------------------------------------------------------------------------------


def rebased(user: User, base_url: str) -> User:
    """The same user (same tokens) talking to another server address."""
    return dataclasses.replace(user, http=client(base_url))


async def test_restart_keeps_seats_for_the_grace(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sockets: Sockets
) -> None:
    """SIGTERM closes with 1001; after a restart on the same data, members who come back within
    the grace are back silently, and the seat of one who does not is released."""
    env = {"AIMEETING_RECONNECT_GRACE": str(GRACE)}
    if backend == "postgres":
        make_database = request.getfixturevalue("postgres_url")
        env["AIMEETING_DATABASE_URL"] = await asyncio.to_thread(make_database)
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, env).start()
    try:
        creator, meeting = new_meeting(first.url)
        bob, carol = users(first.url, 2)
        room = meeting["id"]
        a = await enter(sockets, first.url, creator, meeting)
        b = await enter(sockets, first.url, bob, meeting, a)
        c = await enter(sockets, first.url, carol, meeting, a, b)
        stopped = await asyncio.gather(
            asyncio.to_thread(first.stop), a.closed(1001), b.closed(1001), c.closed(1001)
        )
        # uvicorn ends by re-raising the signal once the graceful shutdown is complete.
        assert stopped[0] in (0, -signal.SIGTERM), first.logs()
        assert stopped[1:] == [[], [], []], stopped
    finally:
        first.stop()

    second = ServerProcess(data_dir, env)
    try:
        second.start()
        creator, bob = rebased(creator, second.url), rebased(bob, second.url)
        a = await sockets.connect(second.url, creator)
        joined, state = await join_room(a, room)
        b = await sockets.connect(second.url, bob)
        joined_b, state_b = await join_room(b, room)
        rest = detail(creator, room)
        assert seat_ids(rest) == [creator.id, bob.id, carol.id], "a seat was lost in the restart"
        assert joined == expected_joined(rest, creator)
        assert joined_b == expected_joined(rest, bob)
        assert state["participants"] == state_b["participants"] == rest["participants"]

        # Carol does not come back: both hear that she left, and nothing else.
        for ws in (a, b):
            assert (await ws.expect("user_left", timeout=5))["data"] == left(carol, room, 2)
        rest = detail(bob, room)
        assert seat_ids(rest) == [creator.id, bob.id]
        assert rest["participant_count"] == 2
        await quiet(a, b)
    finally:
        await asyncio.to_thread(second.stop)  # the loop runs on: clients answer the 1001


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
