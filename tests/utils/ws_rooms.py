"""Clients and helpers of the room tests (``tests/ws_rooms/``): a client that checks every
envelope, REST and WebSocket steps, and the events they should produce."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.utils.api import User, create_meeting, detail, join, ok, register
from tests.utils.ws import ENVELOPE_KEYS, RFC3339_MS, TIMEOUT, Connections, WsClient

GRACE = 1.5  # seconds, on the grace server and the restarted server
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


class Sockets(Connections):
    """Opens clients for a test and closes them all at its end."""

    async def connect(self, base_url: str, user: User, token: str | None = None) -> Client:
        opened = await WsClient.open(base_url, token or user.access_token, user=user)
        ws = Client(opened.connection, user)
        self.opened.append(ws)
        connected = await ws.expect("connected")
        assert connected["seq"] == 1 and connected["data"]["user_id"] == user.id, connected
        return ws


# -- REST helpers -----------------------------------------------------------------------------


def rest_join(user: User, meeting: dict[str, Any], **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(join(user, meeting["meeting_number"], **body))
    return data


def end_meeting(user: User, meeting_id: str) -> None:
    ok(user.post(f"/meetings/{meeting_id}/end"), has_data=False)


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
    assert set(state) == {"room_id", "participants", "in_room"}, state
    seated = {p["user_id"] for p in state["participants"]}
    assert ws.user.id in state["in_room"] and set(state["in_room"]) <= seated, state
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
    assert {user.id, *(other.user.id for other in present if other.user)} <= set(state["in_room"])
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
