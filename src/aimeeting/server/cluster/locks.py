"""Room locks across nodes: this node's asyncio lock, then a Redis lease on the room.

The local lock comes first so that only one task per node waits on Redis. The lease is as long
as a node may stay silent before it counts as dead, and is renewed while held: a node that dies
holding a room frees it as soon as the others find it dead, not after a long fixed lease.

(A chat turn, ``cluster.chat``, is a lease too, but of another kind: several rooms at once, not
renewed, and given up on rather than waited for; hence its own script and timings.)
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
from aimeeting.server.cluster.outage import needs_redis
from aimeeting.server.errors import Unavailable
from aimeeting.server.realtime.locks import LocalRoomLocks

LOCK_WAIT = 10.0  # seconds to wait for another node's turn before refusing (503)
LOCK_POLL = 0.005  # seconds between attempts while another node holds the room


class RedisRoomLocks:
    def __init__(self, redis: Redis, lease: float) -> None:
        self._here = LocalRoomLocks()
        self.redis = redis
        self.lease = lease

    @asynccontextmanager
    async def hold(self, room_id: str) -> AsyncIterator[None]:
        async with self._here.hold(room_id):
            lease = self.redis.lock(
                f"{PREFIX}lock:{room_id}",
                timeout=self.lease,
                sleep=LOCK_POLL,
                blocking_timeout=LOCK_WAIT,
            )
            with needs_redis():
                acquired = await lease.acquire()
            if not acquired:
                raise Unavailable({"room_id": "busy, try again"})
            renewing = asyncio.create_task(self._renew(lease))
            try:
                yield
            finally:
                renewing.cancel()
                # Gone with Redis, or expired: nothing to free.
                with contextlib.suppress(RedisError):
                    await lease.release()

    async def _renew(self, lease: Lock) -> None:
        with contextlib.suppress(RedisError):
            while True:
                await asyncio.sleep(self.lease / 3)
                await lease.reacquire()
