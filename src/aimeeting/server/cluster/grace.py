"""The reconnect grace in Redis: any node may end a grace another node began, and a grace
outlives the node that began it. Each node looks for graces that ran out a few times a second;
the listener then takes the one it was told of under the room's lock (``run_out``), so exactly
one node releases a seat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from aimeeting.server.cluster.lua import NOW
from aimeeting.server.cluster.node import PREFIX
from aimeeting.server.cluster.outage import needs_redis
from aimeeting.server.realtime.presence import GraceListener, notify_grace_over
from aimeeting.tasks import Background

log = logging.getLogger(__name__)

FLAGS = f"{PREFIX}grace"  # "room\tuser" → "1" if the user was in the room, else "0"
DUE = f"{PREFIX}grace:due"  # "room\tuser" → when the grace runs out (ms, Redis's clock)

_BEGIN = (
    NOW
    + """
local was = ARGV[2]
if redis.call('HGET', KEYS[1], ARGV[1]) == '1' then was = '1' end
redis.call('HSET', KEYS[1], ARGV[1], was)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
"""
)

_END = """
local was = redis.call('HGET', KEYS[1], ARGV[1])
if not was then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return tonumber(was)
"""

_RUN_OUT = (
    NOW
    + """
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) > now then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
)

_DUE = NOW + "return redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)"

_END_ROOM = """
for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if string.sub(key, 1, #ARGV[1]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], key)
    redis.call('ZREM', KEYS[2], key)
  end
end
"""


def _key(room_id: str, user_id: str) -> str:
    return f"{room_id}\t{user_id}"


class RedisReconnectGrace:
    def __init__(self, redis: Redis, seconds: float) -> None:
        self.seconds = seconds
        self.listener: GraceListener | None = None
        self.redis = redis
        self.interval = max(0.05, min(0.5, seconds / 10))  # how often to look for run-out graces
        self._begin = redis.register_script(_BEGIN)
        self._end = redis.register_script(_END)
        self._run_out = redis.register_script(_RUN_OUT)
        self._due = redis.register_script(_DUE)
        self._end_room = redis.register_script(_END_ROOM)
        self._watcher: asyncio.Task[None] | None = None
        self._in_flight: set[str] = set()  # "room\tuser" whose listener is being told
        self._background = Background()

    async def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="grace-watch")

    async def stop(self) -> None:
        # The graces stay in Redis: another node (or this one, restarted) ends them.
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def begin(
        self, room_id: str, user_id: str, *, was_in_room: bool, seconds: float | None = None
    ) -> None:
        length = self.seconds if seconds is None else seconds
        args = [_key(room_id, user_id), "1" if was_in_room else "0", int(length * 1000)]
        await self._call(self._begin, args)

    async def end(self, room_id: str, user_id: str) -> bool | None:
        was = await self._call(self._end, [_key(room_id, user_id)])
        return None if was == -1 else bool(was)

    async def is_pending(self, room_id: str, user_id: str) -> bool:
        with needs_redis():
            return await self.redis.zscore(DUE, _key(room_id, user_id)) is not None

    async def run_out(self, room_id: str, user_id: str) -> bool:
        return bool(await self._call(self._run_out, [_key(room_id, user_id)]))

    async def end_room(self, room_id: str) -> None:
        await self._call(self._end_room, [f"{room_id}\t"])

    async def _call(self, script: AsyncScript, args: list[str | int]) -> Any:
        with needs_redis():
            return await script(keys=[FLAGS, DUE], args=args)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                due = await self._due(keys=[FLAGS, DUE], args=[])
            except RedisError:
                continue  # the cluster node reports the outage
            for raw in due:
                key = str(raw)
                if key not in self._in_flight:
                    self._in_flight.add(key)
                    self._background.spawn(self._notify(key))

    async def _notify(self, key: str) -> None:
        try:
            await notify_grace_over(self, *key.split("\t", 1))
        finally:
            self._in_flight.discard(key)
