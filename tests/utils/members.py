"""Many raw WebSocket room members at once, cheaper than SDK instances: each reads everything
as it comes (so none is a slow consumer), keeps the chat it saw in order, knows which of its
own messages came back (acknowledged), and how the server closed it.

For the tests that need hundreds of sockets and a history checker (harness/history.py)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed

from tests.utils.api import User, create_meeting, join, ok, register
from tests.utils.ws import WsClient

_ids = itertools.count()


class Member:
    """One connection in one room, read by a task of its own from the moment it is made."""

    def __init__(self, ws: WsClient, room_id: str, name: str) -> None:
        assert ws.user is not None
        self.ws = ws
        self.user = ws.user
        self.room_id = room_id
        self.name = name
        self.chats: list[dict[str, Any]] = []  # chat_message data, in the order it came
        self.messages: list[dict[str, Any]] = []  # everything it was sent, in order
        self.acked: set[str] = set()  # our own client_msg_ids the server sent back
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read(), name=f"member-{name}")

    @classmethod
    async def enter(cls, base_url: str, user: User, room_id: str, name: str) -> Member:
        """Connect as ``user`` (seated over REST already) and join ``room_id``."""
        ws = await WsClient.connected(base_url, user)
        await ws.send("join_room", {"room_id": room_id})
        await ws.wait_for("room_state", room_id=room_id, timeout=30)
        return cls(ws, room_id, name)

    async def chat(self, text: str | None = None) -> tuple[str, str]:
        """Send one chat message (not waiting for it): its ``client_msg_id`` and text."""
        ident = f"{self.name}-{next(_ids)}"
        text = text or f"from {self.name}: {ident}"
        data = {"room_id": self.room_id, "content": text, "client_msg_id": ident}
        await self.ws.send("chat_message", data)
        return ident, text

    async def _read(self) -> None:
        try:
            while True:
                message = orjson.loads(await self.ws.connection.recv())
                self.messages.append(message)
                if message["type"] == "chat_message":
                    data = message["data"]
                    self.chats.append(data)
                    if data["sender"]["id"] == self.user.id and data["client_msg_id"]:
                        self.acked.add(data["client_msg_id"])
        except ConnectionClosed as exc:
            self.close_code = exc.rcvd.code if exc.rcvd is not None else None

    async def until_closed(self, timeout: float) -> int | None:
        """The server's close code (None: no close frame), waiting up to ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close()


def seated_groups(
    base_url: str, groups: int, users: int, rooms: int
) -> list[tuple[list[User], list[dict[str, Any]]]]:
    """``groups`` groups of ``users`` users, each user seated (over REST) in each of its
    group's ``rooms`` meetings: ``groups * users * rooms`` seats with few registrations."""

    def group(_: int) -> tuple[list[User], list[dict[str, Any]]]:
        people = [register(base_url, nickname=f"member {i}") for i in range(users)]
        meetings = [create_meeting(people[0], f"room {r}") for r in range(rooms)]
        for meeting in meetings:
            for person in people:
                assert join(person, meeting["meeting_number"]).status_code == 200
        return people, meetings

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(group, range(groups)))


async def enter_all(
    base_url: str, seats: Iterable[tuple[User, str, str]], at_once: int = 25
) -> list[Member]:
    """A member per (user, room id, name), ``at_once`` connecting at a time."""
    limit = asyncio.Semaphore(at_once)

    async def one(user: User, room_id: str, name: str) -> Member:
        async with limit:
            return await Member.enter(base_url, user, room_id, name)

    return list(await asyncio.gather(*(one(*seat) for seat in seats)))


def room_history(user: User, meeting_id: str) -> list[dict[str, Any]]:
    """The meeting's whole chat history, newest first, page by page."""
    messages: list[dict[str, Any]] = []
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100} | ({"before": before} if before else {})
        page = ok(user.get(f"/meetings/{meeting_id}/messages", params=params))
        messages += page["messages"]
        if not page["has_more"]:
            return messages
        before = messages[-1]["message_id"]


class Chatter:
    """A raw client that keeps chatting through faults, as an SDK would: on a lost connection
    it reconnects (to the next of ``urls``: a node that went away is not tried first), joins
    its room again and re-sends, in order and with the same ``client_msg_id``, every message
    not yet acknowledged (echoed back). At most ``window`` messages wait for their echo."""

    def __init__(
        self, urls: list[str], user: User, room_id: str, name: str, window: int = 20
    ) -> None:
        self.urls = urls
        self.user = user
        self.room_id = room_id
        self.name = name
        self.window = window
        self.node = 0
        self.sent: list[tuple[str, str]] = []  # (client_msg_id, text), each once, in order
        self.unacked: dict[str, str] = {}  # in the order sent
        self.chats: list[dict[str, Any]] = []  # every chat_message seen live, in order
        self.reconnects = 0
        self._ws: WsClient | None = None
        self._acked = asyncio.Event()
        self._seqs: dict[int, str] = {}  # on this socket: seq -> client_msg_id
        self._refused: list[str] = []
        self.refusals = 0
        # Sent again on a later socket: the echo may be the stored original handed back to us
        # alone, out of the room's order (the SDKs put it in order by their history catch-up,
        # which this raw client does not do), so it acknowledges but is not counted as seen.
        self._resent: set[str] = set()

    async def chat(self, count: int, timeout: float = 60.0) -> None:
        """Send ``count`` messages, and return once every one was acknowledged."""
        deadline = time.monotonic() + timeout
        queued = iter(range(count))
        while time.monotonic() < deadline:
            ws = await self._connected(deadline)
            self._seqs.clear()
            reader = asyncio.create_task(self._read(ws))
            try:
                for ident, text in list(self.unacked.items()):  # what the last socket lost
                    self._resent.add(ident)
                    await self._send(ws, ident, text)
                while True:
                    while len(self.unacked) >= self.window and not reader.done():
                        await self._until_acked(reader)
                    if reader.done():
                        break  # the connection went: reconnect
                    for ident in self._refused:  # an error (not a close): try once more
                        if ident in self.unacked:
                            await self._send(ws, ident, self.unacked[ident])
                    self._refused.clear()
                    n = next(queued, None)
                    if n is None:
                        if not self.unacked:
                            return
                        await self._until_acked(reader)
                        continue
                    ident = f"{self.name}-{n}"
                    text = f"{self.name} says {n}"
                    self.sent.append((ident, text))
                    self.unacked[ident] = text
                    await self._send(ws, ident, text)
            except ConnectionClosed:
                pass
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                self._ws = None
                with contextlib.suppress(Exception):
                    await ws.close()
            self.reconnects += 1
            self.node += 1
        raise AssertionError(f"{self.name}: {len(self.unacked)} messages never acknowledged")

    async def _until_acked(self, reader: asyncio.Task[None]) -> None:
        self._acked.clear()
        acked = asyncio.create_task(self._acked.wait())
        await asyncio.wait([reader, acked], timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
        acked.cancel()

    async def stop(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def _send(self, ws: WsClient, ident: str, text: str) -> None:
        data = {"room_id": self.room_id, "content": text, "client_msg_id": ident}
        self._seqs[await ws.send("chat_message", data)] = ident

    async def _connected(self, deadline: float) -> WsClient:
        while True:
            url = self.urls[self.node % len(self.urls)]
            try:
                ws = await WsClient.connected(url, self.user)
                await ws.send("join_room", {"room_id": self.room_id})
                await ws.wait_for("room_state", room_id=self.room_id, timeout=15)
                self._ws = ws
                return ws
            except (OSError, TimeoutError, ConnectionClosed, AssertionError):
                if time.monotonic() > deadline:
                    raise
                self.node += 1
                await asyncio.sleep(0.1)

    async def _read(self, ws: WsClient) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                message = orjson.loads(await ws.connection.recv())
                if message["type"] == "error":
                    ident = self._seqs.get(message["data"]["request_seq"] or -1)
                    if ident is not None:
                        self.refusals += 1
                        self._refused.append(ident)
                if message["type"] != "chat_message":
                    continue
                data = message["data"]
                ours = data["sender"]["id"] == self.user.id
                if not (ours and data["client_msg_id"] in self._resent):
                    self.chats.append(data)
                if ours:
                    self.unacked.pop(data["client_msg_id"], None)
                    self._acked.set()
