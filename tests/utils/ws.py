"""A real WebSocket client for tests: every receive has a timeout, nothing can hang."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.utils.api import User
from tests.utils.wire import check_server_message

TIMEOUT = 5.0
ENVELOPE_KEYS = {"type", "seq", "timestamp", "data"}  # every message the server sends
RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")  # its times, to the ms
AnyClient = TypeVar("AnyClient", bound="WsClient")  # WsClient or a subclass


def ws_url(base_url: str, token: str | None) -> str:
    url = base_url.replace("http://", "ws://", 1) + "/v1/ws"
    return url if token is None else f"{url}?access_token={token}"


class WsClient:
    """One connection. ``send`` numbers messages; ``recv``/``expect`` read with a timeout."""

    def __init__(self, connection: ClientConnection, user: User | None = None) -> None:
        self.connection = connection
        self.user = user
        self._seq = itertools.count(1)
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls, base_url: str, token: str | None, *, user: User | None = None, **kwargs: Any
    ) -> WsClient:
        kwargs.setdefault("open_timeout", TIMEOUT)
        kwargs.setdefault("max_size", None)
        connection = await connect(ws_url(base_url, token), ping_interval=None, **kwargs)
        return cls(connection, user)

    @classmethod
    async def connected(cls, base_url: str, user: User, **kwargs: Any) -> WsClient:
        """Open a connection as ``user`` and read its ``connected`` message."""
        client = await cls.open(base_url, user.access_token, user=user, **kwargs)
        message = await client.expect("connected")
        assert message["seq"] == 1 and message["data"]["user_id"] == user.id, message
        return client

    async def send(self, type: str, data: dict[str, Any] | None = None, **extra: Any) -> int:
        """Send one message in the contract's envelope; returns its seq."""
        seq = extra.pop("seq", None) or next(self._seq)
        envelope = {"type": type, "seq": seq, "timestamp": int(time.time() * 1000)}
        envelope["data"] = data if data is not None else {}
        await self.connection.send(orjson.dumps(envelope | extra).decode())
        return seq

    async def send_raw(self, frame: str | bytes) -> None:
        await self.connection.send(frame)

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        message: dict[str, Any] = orjson.loads(raw)
        self.received.append(message)
        check_server_message(message)  # as aimeeting.protocol.wire describes it, strictly
        return message

    async def expect(self, type: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The very next message, which must be of ``type``."""
        message = await self.recv(timeout)
        assert message["type"] == type, f"expected {type}, got {message}"
        return message

    async def wait_for(self, type: str, timeout: float = TIMEOUT, **data: Any) -> dict[str, Any]:
        """Skip messages until one of ``type`` whose data has these values."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == type and all(
                message["data"].get(key) == value for key, value in data.items()
            ):
                return message

    async def error(self, code: int, request_seq: int | None, timeout: float = TIMEOUT) -> Any:
        """The next message must be an ``error`` with this code and ``request_seq``."""
        message = await self.expect("error", timeout)
        assert message["data"]["code"] == code, message
        assert message["data"]["request_seq"] == request_seq, message
        assert isinstance(message["data"]["message"], str) and message["data"]["message"]
        return message["data"]

    async def silent(self, within: float = 0.3) -> None:
        """Nothing arrives for ``within`` seconds."""
        try:
            message = await asyncio.wait_for(self.connection.recv(), within)
        except TimeoutError:
            return
        raise AssertionError(f"expected silence, got {message!r}")

    async def closed(self, code: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Read until the server closes with ``code``; returns the messages read meanwhile."""
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                messages.append(await self.recv(max(0.01, deadline - time.monotonic())))
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, f"no close frame from the server: {exc}"
            assert exc.rcvd.code == code, f"closed with {exc.rcvd.code}, expected {code}"
        return messages

    async def close(self) -> None:
        await self.connection.close()

    async def __aenter__(self) -> WsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


@dataclass
class Room:
    """A meeting and its people: ``users[0]`` created it; ``clients[i]``, where there are
    clients, is ``users[i]``'s connection in the room."""

    meeting: dict[str, Any]
    users: list[User]
    clients: list[WsClient] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.meeting["id"])

    @property
    def number(self) -> str:
        return str(self.meeting["meeting_number"])

    @property
    def creator(self) -> User:
        return self.users[0]


class Connections:
    """The connections a test opened (``track``), all closed at its end (``close_all``)."""

    def __init__(self) -> None:
        self.opened: list[WsClient] = []

    async def track(self, opening: Awaitable[AnyClient]) -> AnyClient:
        ws = await opening
        self.opened.append(ws)
        return ws

    async def close_all(self) -> None:
        for ws in self.opened:
            with contextlib.suppress(Exception):  # already gone: nothing to clean up
                await asyncio.wait_for(ws.close(), TIMEOUT)


async def settle(ws: WsClient) -> None:
    """Read (and drop) everything sent so far: a ping is answered after all earlier events."""
    seq = await ws.send("ping")
    await ws.wait_for("pong", request_seq=seq)


async def enter_room(base_url: str, user: User, meeting: dict[str, Any]) -> WsClient:
    """REST-join ``meeting`` (if not yet seated), connect and ``join_room``; returns the client
    once its ``room_state`` has arrived."""
    from tests.utils.api import join

    response = join(user, meeting["meeting_number"])
    assert response.status_code == 200, response.text
    client = await WsClient.connected(base_url, user)
    await client.send("join_room", {"room_id": meeting["id"]})
    await client.wait_for("room_state", room_id=meeting["id"])
    return client
