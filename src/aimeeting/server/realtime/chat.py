"""Chat delivery: stored first, then broadcast, one order for everyone.

Messages from every connection go through one queue. Whatever queued up while the previous
batch was being written is stored in one transaction (group commit), then published in exactly
that order: the order every member sees is the order history keeps.

With several nodes, a node stores and publishes a room's chat only while it holds the room's
turn (``ChatTurns``), and stores it after the last message any node stored there: so history's
order is the order published, on every node.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Protocol
from weakref import WeakKeyDictionary

from aimeeting.protocol import ServerMessage
from aimeeting.server.chat.service import ChatService, NewMessage
from aimeeting.server.db.engine import RETRY_AFTER
from aimeeting.server.errors import Unavailable
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import Hub
from aimeeting.server.realtime.member import Member

log = logging.getLogger(__name__)

MAX_BATCH = 500

Pending = tuple[NewMessage, Member, asyncio.Future[None]]


class ChatTurns(Protocol):
    async def take(self, room_ids: list[str]) -> dict[str, datetime]:
        """Wait for the rooms' turn; per room, the last time stored there (to store after)."""
        ...

    async def give_back(self, room_ids: list[str], last: dict[str, datetime]) -> None:
        """Done with the rooms; ``last``: per room, the last time stored now."""


class LocalChatTurns:
    """One node: its queue alone decides the order, so a turn is always free."""

    async def take(self, room_ids: list[str]) -> dict[str, datetime]:
        return {}

    async def give_back(self, room_ids: list[str], last: dict[str, datetime]) -> None:
        pass


class ChatFence:
    """Keeps one connection's chat in its sending order across refusals as unavailable (50301).

    A client sends chat without waiting for each echo. When one is refused because the database
    cannot be reached, those sent after it are on their way already; were they stored once the
    database is back, they would come before it when it is sent again. So after such a refusal
    the connection's other chat is refused too (50301, retry) until the first refused message
    comes again and is stored: the SDKs send refused messages again oldest first, every
    ``retry_after``. One not sent again for ``STALE_AFTER`` the client gave up on, and no longer
    holds the others back. Chat without a ``client_msg_id`` cannot be matched with a retry, and
    is not held.
    """

    STALE_AFTER = 10.0 * RETRY_AFTER

    def __init__(self) -> None:
        self._refused: list[str] = []  # client_msg_ids, in the order the client sent them
        self._when: dict[str, float] = {}  # when each was last refused

    def admit(self, client_msg_id: str | None) -> None:
        if client_msg_id is None:
            return
        now = time.monotonic()
        while self._refused and self._refused[0] != client_msg_id:
            if now - self._when[self._refused[0]] <= self.STALE_AFTER:
                break
            del self._when[self._refused.pop(0)]  # given up on
        if not self._refused:
            return
        if self._refused[0] == client_msg_id:
            del self._when[self._refused.pop(0)]
            return
        if client_msg_id not in self._when:
            self._refused.append(client_msg_id)
        self._when[client_msg_id] = now
        held = {"chat": "an earlier message was refused: it must be stored first"}
        raise Unavailable(held, retry_after=RETRY_AFTER)

    def refused(self, client_msg_id: str | None) -> None:
        if client_msg_id is None:
            return
        if client_msg_id not in self._when:
            self._refused.insert(0, client_msg_id)
        self._when[client_msg_id] = time.monotonic()


class ChatRelay:
    def __init__(self, chat: ChatService, hub: Hub, turns: ChatTurns) -> None:
        self.chat = chat
        self.hub = hub
        self.turns = turns
        self._queue: list[Pending] = []
        self._drainer: asyncio.Task[None] | None = None
        self._fences: WeakKeyDictionary[Member, ChatFence] = WeakKeyDictionary()

    async def post(self, message: NewMessage, sender: Member) -> None:
        """Return once the message is stored and handed to every member (or, for a repeated
        ``client_msg_id``, the original handed back to ``sender``). ``Unavailable`` when the
        database cannot store it, or an earlier message of ``sender`` was refused so."""
        fence = self._fences.get(sender)
        if fence is None:
            fence = self._fences[sender] = ChatFence()
        fence.admit(message.client_msg_id)
        done = asyncio.get_running_loop().create_future()
        self._queue.append((message, sender, done))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        try:
            await done
        except Unavailable:
            fence.refused(message.client_msg_id)
            raise

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:MAX_BATCH]
                del self._queue[:MAX_BATCH]
                await self._deliver(batch)
        finally:
            self._drainer = None

    async def _deliver(self, batch: list[Pending]) -> None:
        try:
            await self._store_and_publish(batch)
        except Exception as exc:
            if isinstance(exc, Unavailable):  # the senders are told to retry; no traceback
                # What queued up meanwhile was sent during the outage too: refused now, not
                # after waiting out the database's timeout batch by batch.
                batch = batch + self._queue
                self._queue.clear()
                log.warning("chat not stored: %s", exc.details, extra={"messages": len(batch)})
            else:
                log.exception("delivering chat failed", extra={"messages": len(batch)})
            for _, _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _store_and_publish(self, batch: list[Pending]) -> None:
        room_ids = sorted({message.room_id for message, _, _ in batch})
        after = await self.turns.take(room_ids)
        last: dict[str, datetime] = {}
        try:
            await self._store_and_publish_in_turn(batch, after, last)
        finally:
            await self.turns.give_back(room_ids, last)

    async def _store_and_publish_in_turn(
        self, batch: list[Pending], after: dict[str, datetime], last: dict[str, datetime]
    ) -> None:
        stored = await self.chat.store([message for message, _, _ in batch], after)
        published: list[tuple[str, Event]] = []
        for (_, sender, _), result in zip(batch, stored, strict=True):
            event = Event(ServerMessage.CHAT_MESSAGE, result.message)
            if result.is_new:
                room_id = result.message["room_id"]
                published.append((room_id, event))
                last[room_id] = result.created_at
            else:  # a retry: the original goes back to its sender only
                sender.send(event)
        await self.hub.publish_many(published)
