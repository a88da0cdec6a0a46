"""Chat turns across nodes: one node at a time stores and publishes a room's chat, after the
last message any node stored there, so that history's order is the order everyone saw live.

A turn is a Redis lease per room (taken for all the rooms of a batch at once, or not at all,
so two nodes never wait on each other). Each room also keeps the time of its last stored
message. If Redis is away, or a turn does not come in time, the batch goes ahead without one:
delivery matters more than the order history lists near-simultaneous messages in.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from aimeeting.server.cluster.node import PREFIX

log = logging.getLogger(__name__)

# A turn is not a room lock (``cluster.locks``): chat goes ahead without one rather than wait
# long, so it is waited for a shorter time, and more eagerly.
TURN_WAIT = 5.0  # seconds to wait for a turn before going ahead without it
TURN_POLL = 0.002  # seconds between attempts
KEEP_LAST = 86_400_000  # ms a room's last time is kept after its last message

# KEYS: n turn keys, then the n rooms' last-time keys. ARGV: owner, lease (ms).
# Returns nil when a turn is taken by someone else, else the rooms' last times (µs or false).
_TAKE = """
local n = #KEYS / 2
for i = 1, n do
  if not redis.call('SET', KEYS[i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    for j = 1, i - 1 do redis.call('DEL', KEYS[j]) end
    return nil
  end
end
local last = {}
for i = 1, n do last[i] = redis.call('GET', KEYS[n + i]) or '' end
return last
"""

# Same KEYS. ARGV: owner, how long to keep a last time (ms), then per room its new last time
# (µs) or ''.
_GIVE_BACK = """
local n = #KEYS / 2
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
  local new = ARGV[i + 2]
  if new ~= '' then
    local old = tonumber(redis.call('GET', KEYS[n + i]) or '0')
    if tonumber(new) > old then redis.call('SET', KEYS[n + i], new, 'PX', ARGV[2]) end
  end
end
"""


def _micros(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1_000_000))


class RedisChatTurns:
    def __init__(self, redis: Redis, node_id: str, lease: float) -> None:
        self.lease_ms = int(lease * 1000)
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)
        self._owners = (f"{node_id}:{n}" for n in itertools.count())
        self._held: dict[tuple[str, ...], str] = {}

    @staticmethod
    def _keys(room_ids: list[str]) -> list[str]:
        turns = [f"{PREFIX}chat:turn:{room_id}" for room_id in room_ids]
        return turns + [f"{PREFIX}chat:last:{room_id}" for room_id in room_ids]

    async def take(self, room_ids: list[str]) -> dict[str, datetime]:
        owner = next(self._owners)
        deadline = time.monotonic() + TURN_WAIT
        try:
            while (
                last := await self._take(keys=self._keys(room_ids), args=[owner, self.lease_ms])
            ) is None:
                if time.monotonic() > deadline:
                    log.warning("no chat turn in time; storing without it")
                    return {}
                await asyncio.sleep(TURN_POLL)
        except RedisError:
            return {}  # the hub reports the outage; this node's members still get the chat
        self._held[tuple(room_ids)] = owner
        return {
            room_id: datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            for room_id, micros in zip(room_ids, last, strict=True)
            if micros
        }

    async def give_back(self, room_ids: list[str], last: dict[str, datetime]) -> None:
        owner = self._held.pop(tuple(room_ids), None)
        if owner is None:
            return  # went ahead without a turn
        times = [_micros(last[room_id]) if room_id in last else "" for room_id in room_ids]
        with contextlib.suppress(RedisError):  # else the turns expire by themselves
            await self._give_back(keys=self._keys(room_ids), args=[owner, KEEP_LAST, *times])
