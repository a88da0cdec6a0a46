"""One lock per room: a join, a leave, a drop, the end of a grace and the end of the meeting
never interleave. ``RoomLocks`` is the interface; ``LocalRoomLocks`` serves one node;
``aimeeting.server.cluster.locks`` adds a Redis lease on top, so that the rule holds across
nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol


class RoomLocks(Protocol):
    def hold(self, room_id: str) -> AbstractAsyncContextManager[None]:
        """``async with locks.hold(room_id):`` the room is this task's alone."""
        ...


class LocalRoomLocks:
    """One asyncio lock per room, kept only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, room_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(room_id, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[room_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[room_id]
            if users == 1:
                del self._locks[room_id]
            else:
                self._locks[room_id] = (lock, users - 1)
