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
from datetime import datetime

from aimeeting.protocol import ServerMessage
from aimeeting.server.chat.service import ChatService, NewMessage
from aimeeting.server.realtime.connection import Connection
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import Hub

log = logging.getLogger(__name__)

MAX_BATCH = 500

Pending = tuple[NewMessage, Connection, asyncio.Future[None]]


class ChatTurns:
    """One node: its queue alone decides the order, so a turn is always free."""

    async def take(self, room_ids: list[str]) -> dict[str, datetime]:
        """Wait for the rooms' turn; per room, the last time stored there (to store after)."""
        return {}

    async def give_back(self, room_ids: list[str], last: dict[str, datetime]) -> None:
        """Done with the rooms; ``last``: per room, the last time stored now."""


class ChatRelay:
    def __init__(self, chat: ChatService, hub: Hub, turns: ChatTurns) -> None:
        self.chat = chat
        self.hub = hub
        self.turns = turns
        self._queue: list[Pending] = []
        self._drainer: asyncio.Task[None] | None = None

    async def post(self, message: NewMessage, sender: Connection) -> None:
        """Return once the message is stored and handed to every member (or, for a repeated
        ``client_msg_id``, the original handed back to ``sender``)."""
        done = asyncio.get_running_loop().create_future()
        self._queue.append((message, sender, done))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        await done

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
            event = Event(ServerMessage.CHAT_MESSAGE, result.message.model_dump(mode="json"))
            if result.is_new:
                published.append((result.message.room_id, event))
                last[result.message.room_id] = result.message.created_at
            else:  # a retry: the original goes back to its sender only
                sender.send(event)
        await self.hub.publish_many(published)
