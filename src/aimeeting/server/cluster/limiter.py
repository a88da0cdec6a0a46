"""A sliding-window rate limit counted in Redis, so that every node counts the same events.
When Redis cannot be reached, each node counts alone rather than refusing everyone."""

from __future__ import annotations

import itertools

from redis.asyncio import Redis

from aimeeting.protocol import ErrorCode
from aimeeting.server.auth.throttle import SlidingWindowLimiter
from aimeeting.server.cluster.lua import NOW
from aimeeting.server.cluster.node import PREFIX
from aimeeting.server.cluster.outage import tolerate_outage
from aimeeting.server.config import RateLimit
from aimeeting.server.errors import Throttled

# KEYS: the key's window. ARGV: limit, period (ms), a unique name for this event.
# Returns -1 when counted, else the ms until the oldest event leaves the window.
_HIT = (
    NOW
    + """
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + period - now
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], period)
return -1
"""
)


class RedisLimiter:
    def __init__(self, redis: Redis, name: str, limit: RateLimit, node_id: str) -> None:
        self.limit = limit
        self.prefix = f"{PREFIX}rate:{name}:"
        self.alone = SlidingWindowLimiter(limit)
        self._hit = redis.register_script(_HIT)
        self._events = (f"{node_id}:{n}" for n in itertools.count())

    async def hit(self, key: str) -> None:
        args: list[str | int] = [
            self.limit.count,
            int(self.limit.period * 1000),
            next(self._events),
        ]
        with tolerate_outage("rate limit counted on this node only"):
            wait_ms = await self._hit(keys=[self.prefix + key], args=args)
            if wait_ms >= 0:
                raise Throttled(ErrorCode.TOO_MANY_REQUESTS, wait_ms / 1000)
            return
        await self.alone.hit(key)  # only if Redis could not count it
