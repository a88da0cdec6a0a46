"""``Connection`` (aimeeting.server.realtime.connection): a message goes straight to the socket
while the socket takes it, and queues behind a writer task once the socket pushes back, in
order, without making the sender wait. The far end of the socket is an in-memory ASGI peer
whose ``send`` suspends while it is "full", as uvicorn's does while its transport is paused.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from starlette.types import Message
from starlette.websockets import WebSocket

from aimeeting.protocol import CloseCode, ServerMessage
from aimeeting.server.config import RateLimit
from aimeeting.server.realtime.connection import MAX_PENDING, Connection
from aimeeting.server.realtime.events import Event
from aimeeting.server.users.schemas import PublicUser


class FullablePeer:
    """The client end: keeps what it is sent; while ``writable`` is clear, ``send`` waits."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.suspended_sends = 0
        self._incoming: asyncio.Queue[Message] = asyncio.Queue()
        self._incoming.put_nowait({"type": "websocket.connect"})

    async def receive(self) -> Message:
        return await self._incoming.get()

    async def send(self, message: Message) -> None:
        if not self.writable.is_set():
            self.suspended_sends += 1
            await self.writable.wait()
        self.sent.append(message)

    def pongs(self) -> list[Any]:
        texts = [m["text"] for m in self.sent if m["type"] == "websocket.send"]
        return [orjson.loads(text)["data"]["request_seq"] for text in texts]

    @property
    def close_codes(self) -> list[int]:
        return [m["code"] for m in self.sent if m["type"] == "websocket.close"]


@pytest.fixture
async def opened() -> AsyncIterator[tuple[Connection, FullablePeer]]:
    peer = FullablePeer()
    scope = {"type": "websocket", "path": "/v1/ws", "headers": [], "query_string": b""}
    websocket = WebSocket(scope, peer.receive, peer.send)
    await websocket.accept()
    user = PublicUser(id="alice", nickname="Alice", avatar=None)
    connection = Connection(websocket, user, "session_1", "en", RateLimit(100, 1.0))
    connection.start()
    yield connection, peer
    peer.writable.set()
    connection.close(CloseCode.GOING_AWAY)
    await connection.finish()


def pong(n: int) -> Event:
    return Event(ServerMessage.PONG, {"request_seq": n})


async def test_a_socket_that_takes_it_gets_the_message_at_once(
    opened: tuple[Connection, FullablePeer],
) -> None:
    connection, peer = opened
    for n in range(3):
        connection.send(pong(n))
        assert peer.pongs() == list(range(n + 1))  # written before send returned: no task


async def test_while_the_socket_pushes_back_messages_queue_and_go_out_in_order(
    opened: tuple[Connection, FullablePeer],
) -> None:
    connection, peer = opened
    connection.send(pong(0))
    peer.writable.clear()
    for n in range(1, 6):
        connection.send(pong(n))  # returns at once though nothing goes out
    assert peer.pongs() == [0]
    peer.writable.set()
    async with asyncio.timeout(1.0):
        while len(peer.pongs()) < 6:
            await asyncio.sleep(0)
    connection.send(pong(6))  # the writer is done: straight to the socket again
    await asyncio.sleep(0)
    assert peer.pongs() == list(range(7))
    assert peer.suspended_sends == 1  # only the first blocked send waited


async def test_a_socket_that_stays_full_is_closed_as_a_slow_consumer(
    opened: tuple[Connection, FullablePeer],
) -> None:
    connection, peer = opened
    peer.writable.clear()
    for n in range(MAX_PENDING + 2):
        connection.send(pong(n))
    assert connection.closing
    peer.writable.set()
    await connection.finish()
    assert peer.close_codes == [CloseCode.POLICY_VIOLATION]
    assert peer.pongs() == [0]  # the one under way; the rest it would never have read
