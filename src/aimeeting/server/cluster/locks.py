"""Room locks across nodes: this node's asyncio lock, then a Redis lease on the room.

The local lock comes first so that only one task per node waits on Redis. The lease is as long
as a node may stay silent before it counts as dead, and is renewed while held: a node that dies
holding a room frees it as soon as the others find it dead, not after a long fixed lease.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import RedisError

from aimeeting.server.cluster.node import PREFIX
from aimeeting.server.errors import Unavailable
from aimeeting.server.realtime.locks import RoomLocks

WAIT = 10.0  # seconds to wait for another node's turn before giving up
POLL = 0.005  # seconds between attempts while another node holds the room


class RedisRoomLocks(RoomLocks):
    def __init__(self, redis: Redis, lease: float) -> None:
        super().__init__()
        self.redis = redis
        self.lease = lease

    @asynccontextmanager
    async def hold(self, room_id: str) -> AsyncIterator[None]:
        async with super().hold(room_id):
            lease = self.redis.lock(
                f"{PREFIX}lock:{room_id}", timeout=self.lease, sleep=POLL, blocking_timeout=WAIT
            )
            try:
                acquired = await lease.acquire()
            except RedisError as exc:
                raise Unavailable({"redis": "unreachable"}) from exc
            if not acquired:
                raise Unavailable({"room_id": "busy, try again"})
            renewing = asyncio.create_task(self._renew(lease))
            try:
                yield
            finally:
                renewing.cancel()
                with contextlib.suppress(
                    RedisError
                ):  # gone with Redis, or expired: nothing to free
                    await lease.release()

    async def _renew(self, lease: Lock) -> None:
        with contextlib.suppress(RedisError):
            while True:
                await asyncio.sleep(self.lease / 3)
                await lease.reacquire()
