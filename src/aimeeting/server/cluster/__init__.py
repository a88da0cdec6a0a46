"""Several nodes, one service: what ``AIMEETING_REDIS_URL`` switches on.

Each piece of state that one node keeps in process has a Redis-backed variant here, with the
same interface: the fan-out hub (``hub``), the reconnect grace (``grace``), the room locks
(``locks``), the rate limits (``limiter``), logouts (``revocation``) and the order of each
room's chat (``chat``). Seats, meetings, chat
and the login lockout are in the database, which the nodes share already. ``Cluster`` builds
them for one node, and repairs what Redis lost when it comes back (``recover``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from aimeeting.server.cluster.chat import RedisChatTurns
from aimeeting.server.cluster.grace import RedisGrace
from aimeeting.server.cluster.hub import RedisHub, members_key
from aimeeting.server.cluster.limiter import RedisLimiter
from aimeeting.server.cluster.locks import RedisRoomLocks
from aimeeting.server.cluster.node import Node
from aimeeting.server.cluster.revocation import ClusterRevokedSessions
from aimeeting.server.config import RateLimit, Settings
from aimeeting.server.db import Database
from aimeeting.server.ids import utcnow
from aimeeting.server.realtime.rooms import RoomService

log = logging.getLogger(__name__)

__all__ = ["Cluster"]


def fingerprint(secret: str) -> str:
    """Names the secret without revealing it (an HMAC keyed by it), to compare across nodes."""
    return hmac.new(secret.encode(), b"aimeeting jwt secret", hashlib.sha256).hexdigest()[:32]


class Cluster:
    def __init__(self, settings: Settings, db: Database) -> None:
        assert settings.redis_url is not None
        self.node = Node(
            settings.redis_url,
            timeout=settings.node_timeout,
            secret_fingerprint=fingerprint(settings.jwt_secret or ""),
        )
        self.hub = RedisHub(self.node)
        self.grace = RedisGrace(self.node.redis, settings.reconnect_grace)
        self.locks = RedisRoomLocks(self.node.redis, lease=settings.node_timeout)
        self.revoked = ClusterRevokedSessions(db, self.node)
        self.chat_turns = RedisChatTurns(self.node.redis, self.node.id, settings.node_timeout)
        self._rooms: RoomService | None = None

    def limiter(self, name: str, limit: RateLimit) -> RedisLimiter:
        return RedisLimiter(self.node.redis, name, limit, self.node.id)

    async def start(self, rooms: RoomService) -> None:
        self._rooms = rooms
        self.node.on_reconnect = self.recover
        self.node.on_node_lost = self.node_lost
        await self.node.start()

    async def stop(self) -> None:
        await self.node.stop()

    async def ping(self) -> None:
        await self.node.redis.ping()

    async def recover(self) -> None:
        """Redis is back, perhaps empty: say again who is here, catch up on logouts and ended
        meetings this node missed, and give the seats nobody holds a grace."""
        assert self._rooms is not None
        for room_id, user_id, where in await self.hub.resync():
            await self._rooms.connection_lost(room_id, user_id, where)
        await self.revoked.load(utcnow())
        self.hub.close_sessions_where(self.revoked.is_revoked)
        await self._rooms.close_ended()
        await self._rooms.reconcile()
        log.info("cluster state recovered", extra={"node": self.node.id})

    async def node_lost(self, node_id: str) -> None:
        """Another node died: its members dropped out, as if their connections had."""
        assert self._rooms is not None
        key = members_key(node_id)
        for raw in await self.node.redis.smembers(key):
            room_id, user_id, connection_id = str(raw).split("\t")
            await self._rooms.connection_lost(room_id, user_id, f"{node_id}/{connection_id}")
        await self.node.redis.delete(key)
