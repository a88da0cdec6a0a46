"""Several nodes, one service: what ``AIMEETING_REDIS_URL`` switches on.

Each piece of state that one node keeps in process has a Redis-backed variant here, with the
same interface: the fan-out hub (``hub``), the reconnect grace (``grace``), the room locks
(``locks``), the rate limits (``limiter``), logouts (``revocation``) and the order of each
room's chat (``chat``). Seats, meetings, chat
and the login lockout are in the database, which the nodes share already. ``Cluster`` builds
them for one node, and repairs what Redis lost when it comes back (``recover``).

While Redis is away each node serves its own sockets alone: chat is stored and reaches the
members on the node it was sent to, mute and camera changes likewise. When Redis is back each
node says again who is here, catches its members up on what the other nodes did meanwhile
(the chat stored, in history's order, and each room's current state), and settles the seats
that were taken or left meanwhile. ``/readyz`` says 200 only once that is done (``in_sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import socket

from aimeeting.server.cluster.chat import RedisChatTurns
from aimeeting.server.cluster.grace import RedisReconnectGrace
from aimeeting.server.cluster.hub import RedisHub
from aimeeting.server.cluster.limiter import RedisLimiter
from aimeeting.server.cluster.locks import RedisRoomLocks
from aimeeting.server.cluster.node import Node
from aimeeting.server.cluster.revocation import ClusterRevokedSessions
from aimeeting.server.config import RateLimit, Settings
from aimeeting.server.db import Database
from aimeeting.server.errors import Unavailable
from aimeeting.server.ids import utcnow
from aimeeting.server.metrics import Metrics
from aimeeting.server.realtime.rooms import RoomService

log = logging.getLogger(__name__)

__all__ = ["Cluster"]


NODE_LOST_FIRST_RETRY = 1.0  # seconds before handing a lost node's members over again
NODE_LOST_MAX_RETRY = 30.0


async def _handed_over(rooms: RoomService, member: tuple[str, str, str]) -> bool:
    """The member's drop handled (its grace begun, unless it is back already); False when it
    must be tried again."""
    try:
        await rooms.connection_lost(*member)
    except Unavailable:
        return False
    return True


def fingerprint(secret: str) -> str:
    """Names the secret without revealing it (an HMAC keyed by it), to compare across nodes."""
    return hmac.new(secret.encode(), b"aimeeting jwt secret", hashlib.sha256).hexdigest()[:32]


class Cluster:
    def __init__(self, settings: Settings, db: Database, metrics: Metrics) -> None:
        assert settings.redis_url is not None
        self.node = Node(
            settings.redis_url,
            timeout=settings.node_timeout,
            secret_fingerprint=fingerprint(settings.jwt_secret or ""),
            name=settings.node_id or f"{socket.gethostname()}:{settings.port}",
        )
        self.hub = RedisHub(self.node)
        self.grace = RedisReconnectGrace(self.node.redis, settings.reconnect_grace)
        self.locks = RedisRoomLocks(self.node.redis, lease=settings.node_timeout)
        self.revoked = ClusterRevokedSessions(db, self.node)
        self.chat_turns = RedisChatTurns(self.node.redis, self.node.id, settings.node_timeout)
        self._rooms: RoomService | None = None
        self.metrics = metrics.cluster
        if self.metrics is not None:
            self.metrics.redis_up.set_function(lambda: float(self.node.connected))
            self.metrics.in_sync.set_function(lambda: float(self.node.in_sync))

    def limiter(self, name: str, limit: RateLimit) -> RedisLimiter:
        return RedisLimiter(self.node.redis, name, limit, self.node.id)

    async def start(self, rooms: RoomService) -> None:
        self._rooms = rooms
        self.node.on_down = self._down
        self.node.on_up = self.hub.hold_gaps
        self.node.on_reconnect = self.recover
        self.node.on_node_lost = self.node_lost
        await self.node.start()

    async def stop(self) -> None:
        await self.node.stop()

    async def ping(self) -> None:
        await self.node.redis.ping()

    @property
    def in_sync(self) -> bool:
        """Hears the other nodes, and has caught up on what it missed while it could not."""
        return self.node.in_sync

    def _down(self) -> None:
        self.hub.open_gaps()
        if self.metrics is not None:
            self.metrics.outages.inc()

    async def recover(self) -> None:
        """Redis is back, perhaps empty: say again who is here, catch the members here up on
        what the other nodes did meanwhile, catch up on logouts and ended meetings this node
        missed, and settle the seats taken or left meanwhile."""
        assert self._rooms is not None
        for room_id, user_id, node_connection in await self.hub.resync():
            await self._rooms.connection_lost(room_id, user_id, node_connection)
        # After the resync, so that whatever is published from now on reaches us: it is
        # either in what catch_up reads or held back until after it.
        outages = self.node.outages
        caught_up = await self._rooms.catch_up()
        if self.node.outages != outages:  # lost Redis again meanwhile: those gaps are open
            self.hub.open_gaps()
            if self.node.connected:
                self.hub.hold_gaps()
        await self.revoked.load(utcnow())
        self.hub.close_sessions_where(self.revoked.is_revoked)
        await self._rooms.close_ended()
        await self._rooms.reconcile()
        if self.metrics is not None:
            self.metrics.recoveries.inc()
            self.metrics.caught_up.inc(caught_up)
        log.info(
            "cluster state recovered", extra={"node": self.node.id, "chat_caught_up": caught_up}
        )

    async def node_lost(self, node_id: str) -> None:
        """Another node died: its members dropped out, as if their connections had.

        Each member is handed over alone, and one that cannot be yet (its room's lock not won
        within ``LOCK_WAIT``, Redis slow to answer: this node is taking the dead one's storm of
        returning members) is tried again later, until every one is done. One failure used to
        end the hand-over: nobody claims a dead node twice, so the rest kept their seats for
        ever."""
        assert self._rooms is not None
        rooms = self._rooms
        pending: list[tuple[str, str, str]] | None = None
        wait = NODE_LOST_FIRST_RETRY
        while True:
            with contextlib.suppress(Unavailable):
                if pending is None:
                    pending = await self.hub.members_of(node_id)
                pending = [member for member in pending if not await _handed_over(rooms, member)]
                if not pending:
                    await self.hub.forget_node(node_id)
                    return
            log.warning(
                "members of a lost node not handed over yet: trying again",
                extra={"node": node_id, "members": len(pending or ()), "wait": wait},
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, NODE_LOST_MAX_RETRY)
