"""``LocalHub`` (aimeeting.server.realtime.hub): who is in which room and how an event reaches
them, on one node. The connections are real ``Connection`` objects writing to real Starlette
WebSockets; only the far end of each socket is an in-memory ASGI peer that keeps what it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import orjson
import pytest
from starlette.types import Message
from starlette.websockets import WebSocket

from aimeeting.protocol import CloseCode, ErrorCode, ServerMessage
from aimeeting.protocol.wire import ChatMessageData, MeetingEndedData, WebRTCSignalData
from aimeeting.server.config import RateLimit
from aimeeting.server.realtime.connection import Connection
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import EntryKind, LocalHub
from aimeeting.server.users.schemas import PublicUser

ROOM, OTHER_ROOM = "meeting_00000000000000a1", "meeting_00000000000000b2"


class Peer:
    """The client end of an in-memory ASGI WebSocket: every ASGI message the server sent."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self._incoming: asyncio.Queue[Message] = asyncio.Queue()
        self._incoming.put_nowait({"type": "websocket.connect"})

    async def receive(self) -> Message:
        return await self._incoming.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def messages(self) -> list[dict[str, Any]]:
        return [orjson.loads(m["text"]) for m in self.sent if m["type"] == "websocket.send"]

    def summary(self) -> list[tuple[str, int, dict[str, Any]]]:
        """(type, seq, data) of every message, in order."""
        return [(m["type"], m["seq"], m["data"]) for m in self.messages()]

    @property
    def close_code(self) -> int | None:
        closes = [m["code"] for m in self.sent if m["type"] == "websocket.close"]
        assert len(closes) <= 1, self.sent
        return closes[0] if closes else None


class Sockets:
    """Opens connections for one test and closes every one at its end."""

    def __init__(self) -> None:
        self.opened: list[Connection] = []

    async def open(self, user_id: str, session_id: str = "session_1") -> tuple[Connection, Peer]:
        peer = Peer()
        scope = {"type": "websocket", "path": "/v1/ws", "headers": [], "query_string": b""}
        websocket = WebSocket(scope, peer.receive, peer.send)
        await websocket.accept()
        user = PublicUser(id=user_id, nickname=user_id.title(), avatar=None)
        connection = Connection(websocket, user, session_id, "en", RateLimit(100, 1.0))
        connection.start()
        self.opened.append(connection)
        return connection, peer


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    for connection in opened.opened:
        connection.close(CloseCode.GOING_AWAY)
        await connection.finish()


async def until(condition: Callable[[], bool]) -> None:
    """Let the connections' writers run until ``condition`` holds (at most a second)."""
    async with asyncio.timeout(1.0):
        while not condition():
            await asyncio.sleep(0)


async def settled() -> None:
    """Every writer has had its turn: what was queued so far is on the peers."""
    for _ in range(10):
        await asyncio.sleep(0)


def event(n: int) -> Event:
    """A chat message, as the chat service hands it to the hub (which reads only its id)."""
    data = {"message_id": f"message_{n:016x}", "n": n}
    return Event(ServerMessage.CHAT_MESSAGE, cast(ChatMessageData, data))


def chat(n: int) -> dict[str, object]:
    return {"message_id": f"message_{n:016x}", "n": n}


async def test_publish_reaches_every_member_but_the_excluded_in_order_with_its_own_seq(
    sockets: Sockets,
) -> None:
    hub = LocalHub()
    (alice, alice_peer), (bob, bob_peer), (carol, carol_peer) = [
        await sockets.open(name) for name in ("alice", "bob", "carol")
    ]
    for connection in (alice, bob, carol):
        assert await hub.enter(ROOM, connection) is EntryKind.NEW
    bob.send(Event(ServerMessage.PONG, {"request_seq": 7}))  # Bob's seq is one ahead

    await hub.publish(ROOM, event(1))
    await hub.publish(ROOM, event(2), exclude="carol")
    await hub.publish(ROOM, event(3))
    await hub.publish(OTHER_ROOM, event(4))  # nobody there: nothing, no error
    await until(lambda: len(carol_peer.messages()) == 2 and len(bob_peer.messages()) == 4)
    await settled()

    kind = ServerMessage.CHAT_MESSAGE.value
    assert alice_peer.summary() == [(kind, 1, chat(1)), (kind, 2, chat(2)), (kind, 3, chat(3))]
    assert bob_peer.summary() == [
        ("pong", 1, {"request_seq": 7}),
        (kind, 2, chat(1)),
        (kind, 3, chat(2)),
        (kind, 4, chat(3)),
    ]
    assert carol_peer.summary() == [(kind, 1, chat(1)), (kind, 2, chat(3))]
    # One serialization for all: the same timestamp reached everyone.
    stamps = {p.messages()[-1]["timestamp"] for p in (alice_peer, bob_peer, carol_peer)}
    assert len(stamps) == 1


async def test_entering_again_is_a_repeat_and_a_second_connection_takes_the_seat_over(
    sockets: Sockets,
) -> None:
    hub = LocalHub()
    (first, first_peer), (second, second_peer) = [await sockets.open("alice") for _ in "12"]
    (bob, _) = await sockets.open("bob")

    assert await hub.enter(ROOM, first) is EntryKind.NEW
    assert await hub.enter(ROOM, first) is EntryKind.REPEAT
    assert await hub.enter(ROOM, bob) is EntryKind.NEW
    assert await hub.enter(ROOM, second) is EntryKind.TAKEOVER
    await until(lambda: first_peer.close_code is not None)
    assert first_peer.close_code == CloseCode.TAKEN_OVER
    assert first.rooms == set() and second.rooms == {ROOM}

    await hub.publish(ROOM, event(1))
    await until(lambda: len(second_peer.messages()) == 1)
    await settled()
    assert first_peer.messages() == []  # the old connection hears nothing more
    assert await hub.is_present(ROOM, "alice") and await hub.is_present(ROOM, "bob")

    # The old connection leaving does not take the new one's seat.
    assert await hub.exit(ROOM, first) is False
    assert await hub.is_present(ROOM, "alice")
    assert await hub.exit(ROOM, second) is True
    assert await hub.exit(ROOM, second) is False  # already out
    assert not await hub.is_present(ROOM, "alice")
    assert hub.rooms_here() == [ROOM]  # Bob is still there
    assert await hub.exit(ROOM, bob) is True
    assert hub.rooms_here() == []  # an empty room is forgotten


async def test_send_to_user_reaches_only_that_members_connection(sockets: Sockets) -> None:
    hub = LocalHub()
    (alice, alice_peer), (bob, bob_peer) = [await sockets.open(n) for n in ("alice", "bob")]
    await hub.enter(ROOM, alice)
    await hub.enter(ROOM, bob)
    signal = Event(ServerMessage.WEBRTC_SIGNAL, cast(WebRTCSignalData, {"from_user_id": "alice"}))

    assert await hub.send_to_user(ROOM, "bob", signal) is True
    assert await hub.send_to_user(ROOM, "carol", signal) is False  # not in the room
    assert await hub.send_to_user(OTHER_ROOM, "bob", signal) is False  # not in that room
    await until(lambda: len(bob_peer.messages()) == 1)
    await settled()
    assert bob_peer.summary() == [("webrtc_signal", 1, {"from_user_id": "alice"})]
    assert alice_peer.messages() == []


async def test_closing_a_room_sends_the_event_then_closes_every_member(sockets: Sockets) -> None:
    hub = LocalHub()
    (alice, alice_peer), (bob, bob_peer) = [await sockets.open(n) for n in ("alice", "bob")]
    (carol, carol_peer) = await sockets.open("carol")
    await hub.enter(ROOM, alice)
    await hub.enter(ROOM, bob)
    await hub.enter(OTHER_ROOM, carol)
    await hub.enter(OTHER_ROOM, alice)  # Alice is in both rooms

    ended = Event(ServerMessage.MEETING_ENDED, cast(MeetingEndedData, {"room_id": ROOM}))
    await hub.close_room(ROOM, ended, CloseCode.MEETING_ENDED)
    await until(lambda: bob_peer.close_code is not None and alice_peer.close_code is not None)

    for peer in (alice_peer, bob_peer):
        assert peer.summary() == [("meeting_ended", 1, {"room_id": ROOM})]
        assert peer.close_code == CloseCode.MEETING_ENDED
    assert hub.rooms_here() == [OTHER_ROOM]
    assert not await hub.is_present(ROOM, "bob")
    assert bob.rooms == set() and alice.rooms == {OTHER_ROOM}
    await settled()
    assert carol_peer.sent[-1]["type"] == "websocket.accept"  # the other room: untouched


async def test_closing_a_session_tells_and_closes_its_connections_only(sockets: Sockets) -> None:
    hub = LocalHub()
    (phone, phone_peer) = await sockets.open("alice", "session_a")
    (laptop, laptop_peer) = await sockets.open("alice", "session_a")
    (other, other_peer) = await sockets.open("alice", "session_b")
    (gone, gone_peer) = await sockets.open("alice", "session_a")
    for connection in (phone, laptop, other, gone):
        hub.attach(connection)
    hub.detach(gone)  # detached: no longer the hub's to close

    await hub.close_session("session_a", ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED)
    await until(lambda: phone_peer.close_code is not None and laptop_peer.close_code is not None)
    await settled()

    error = {"code": 40103, "message": "Invalid token", "request_seq": None}
    for peer in (phone_peer, laptop_peer):
        assert peer.summary() == [("error", 1, error)]
        assert peer.close_code == CloseCode.UNAUTHORIZED
    for peer in (other_peer, gone_peer):
        assert peer.messages() == [] and peer.close_code is None
    await hub.close_session("session_none", ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED)


async def test_a_takeover_from_another_node_closes_that_connection_only(sockets: Sockets) -> None:
    hub = LocalHub()
    (alice, alice_peer), (bob, bob_peer) = [await sockets.open(n) for n in ("alice", "bob")]
    await hub.enter(ROOM, alice)
    await hub.enter(ROOM, bob)
    await hub.enter(OTHER_ROOM, alice)
    assert sorted((room, member.user_id) for room, member in hub.memberships()) == [
        (ROOM, "alice"),
        (ROOM, "bob"),
        (OTHER_ROOM, "alice"),
    ]

    hub.take_over(ROOM, "no-such-connection")  # nothing of ours: nothing happens
    hub.take_over(ROOM, alice.id)  # Alice's newer connection is on another node
    await until(lambda: alice_peer.close_code is not None)
    assert alice_peer.close_code == CloseCode.TAKEN_OVER
    assert not await hub.is_present(ROOM, "alice") and await hub.is_present(ROOM, "bob")
    assert alice.rooms == {OTHER_ROOM}  # closing; the gateway takes it out of the rest

    hub.take_over(ROOM, bob.id)
    await until(lambda: bob_peer.close_code is not None)
    assert hub.rooms_here() == [OTHER_ROOM]  # its last member here gone: forgotten
