"""This node's line to Redis: its identity, its inbox, its heartbeat, and news of dead nodes.

Every node subscribes to two channels: its own (``aimeeting:node:<id>``) and one for all nodes.
Messages are small JSON objects with an ``op``; each op has one handler, run in the order the
messages arrive, so that whatever one node published to a room reaches its members in order.

Each node also refreshes a key that lives ``timeout`` seconds. A node whose key has gone is dead:
the first other node to notice claims it and hands its connections to ``on_node_lost``.

When Redis goes away, the node keeps serving what it can alone and tries again with backoff;
once back, ``on_reconnect`` rebuilds what Redis may have lost. ``on_down`` and ``on_up`` are
told at the very moment the inbox is lost and found again (before any message heard from then
on is handled); ``in_sync`` is True only once ``on_reconnect`` has finished since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from aimeeting.tasks import Background

log = logging.getLogger(__name__)

PREFIX = "aimeeting:"  # of every key and channel; the Lua scripts are handed theirs
INBOXES = f"{PREFIX}node:"  # a node's inbox is this and its id
NODES = f"{PREFIX}nodes"  # the ids of the nodes that have not been found dead
EVERYONE = f"{PREFIX}all"  # the channel every node hears
RETRY_MAX = 2.0  # seconds between attempts to reach Redis, at most
REDIS_CONNECTIONS = 100  # per node: redis-py's default; calls beyond wait for one
REDIS_POOL_WAIT = 5.0  # seconds a call waits for a pooled connection (as for an answer)

Handler = Callable[[dict[str, Any]], None]


SECRET = f"{PREFIX}secret"  # the fingerprint of the JWT secret the live nodes sign with


class SecretMismatch(RuntimeError):
    """This node's ``AIMEETING_JWT_SECRET`` is not the one the other live nodes use."""


def inbox(node_id: str) -> str:
    return f"{INBOXES}{node_id}"


def alive_key(node_id: str) -> str:
    return f"{inbox(node_id)}:alive"


def incarnation(name: str) -> str:
    """This start's id: the operator's ``name`` and a random suffix. A node restarted quickly
    must not be taken for its dead predecessor, whose members the others still have to hand a
    grace to (``on_node_lost``), so each start is a new id; the name says which machine."""
    return f"{name}#{uuid.uuid4().hex[:6]}" if name else uuid.uuid4().hex[:12]


class Node:
    def __init__(
        self, redis_url: str, *, timeout: float, secret_fingerprint: str = "", name: str = ""
    ) -> None:
        self.id = incarnation(name)
        # A call that finds every pooled connection busy waits for one (redis-py's plain pool
        # refuses it at once with MaxConnectionsError, which read as "Redis unreachable": 50301
        # for thousands of joins while a node took a dead one's 5,000 returning members).
        pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_POOL_WAIT,
            socket_connect_timeout=2,
            socket_timeout=5,
            decode_responses=True,
            # One quick retry: it covers pooled connections that died with a restarted Redis,
            # without making every call wait long while Redis is really gone.
            retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.1), retries=1),
        )
        self.redis: Redis = Redis.from_pool(pool)
        self.timeout = timeout
        self.secret_fingerprint = secret_fingerprint
        self.connected = False  # subscribed to the inbox
        self.in_sync = False  # connected, and what Redis may have lost rebuilt since
        self.outages = 0  # how often the inbox was lost
        self.on_down: Callable[[], None] | None = None
        self.on_up: Callable[[], None] | None = None
        self.on_reconnect: Callable[[], Awaitable[None]] | None = None
        self.on_node_lost: Callable[[str], Coroutine[Any, Any, None]] | None = None
        self._handlers: dict[str, Handler] = {}
        self._background = Background()
        self._subscribed = asyncio.Event()
        self._recovering: asyncio.Task[None] | None = None
        self._recover_again = False

    def handle(self, op: str, handler: Handler) -> None:
        self._handlers[op] = handler

    async def send(self, node_id: str, message: dict[str, Any]) -> None:
        await self.redis.publish(inbox(node_id), orjson.dumps(message))

    async def broadcast(self, message: dict[str, Any]) -> None:
        await self.redis.publish(EVERYONE, orjson.dumps(message))

    async def start(self) -> None:
        """Register and subscribe; fails (at start-up) if Redis cannot be reached, or if the
        live nodes sign tokens with another secret (each would refuse the others' tokens)."""
        await self._check_secret()
        await self._beat()
        self._background.spawn(self._listen(), name="cluster-listen")
        self._background.spawn(self._keep_alive(), name="cluster-heartbeat")
        async with asyncio.timeout(10):
            await self._subscribed.wait()
        log.info("cluster node started", extra={"node": self.id})

    async def stop(self) -> None:
        await self._background.stop()
        with contextlib.suppress(RedisError):
            await self.redis.delete(alive_key(self.id))
            await self.redis.srem(NODES, self.id)
        await self.redis.aclose()

    # -- the inbox ----------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub()
            try:
                await self._subscribe(pubsub)
                delay = 0.1
                await self._dispatch(pubsub)
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning(
                        "redis unreachable; serving this node alone", extra={"error": str(exc)}
                    )
                    self.connected = self.in_sync = False
                    self.outages += 1
                    if self.on_down is not None:
                        self.on_down()
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _subscribe(self, pubsub: PubSub) -> None:
        channels = (inbox(self.id), EVERYONE)
        await pubsub.subscribe(*channels)
        confirmed = 0
        while confirmed < len(channels):  # messages published from now on reach us
            reply = await pubsub.get_message(timeout=5)
            if reply is None:
                raise RedisError("no subscription confirmation")
            confirmed += reply["type"] == "subscribe"
        recovered = self._subscribed.is_set()
        self.connected = True
        self._subscribed.set()
        if not recovered:
            self.in_sync = True  # at start-up: the app rebuilds its state before serving
            return
        log.info("redis reachable again", extra={"node": self.id})
        if self.on_up is not None:
            self.on_up()
        if self._recovering is not None and not self._recovering.done():
            self._recover_again = True  # lost and found again while recovering: once more
        else:
            self._recovering = self._background.spawn(self._recover(), name="cluster-recover")

    async def _dispatch(self, pubsub: PubSub) -> None:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            try:
                body = orjson.loads(message["data"])
                self._handlers[body["op"]](body)
            except Exception:
                log.exception("cluster message failed")

    async def _recover(self) -> None:
        """Repair what Redis lost; again and again until it works (or Redis goes again)."""
        delay = 0.1
        while self.connected:
            self._recover_again = False
            try:
                await self._beat()
                if self.on_reconnect is not None:
                    await self.on_reconnect()
                if self.connected and not self._recover_again:
                    self.in_sync = True
                    return
                continue
            except (RedisError, OSError) as exc:
                log.info("cluster recovery to be retried", extra={"error": str(exc)})
            except Exception:  # the database, say: not in sync until it works
                log.exception("cluster recovery failed; to be retried")
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    # -- liveness -----------------------------------------------------------------------

    async def _check_secret(self) -> None:
        """The first node to start records its secret's fingerprint; the others must match it.
        Each beat keeps it alive, so once every node of an old secret is gone it expires and a
        cluster restarted with a new secret starts."""
        if not self.secret_fingerprint:
            return
        ttl = int(self.timeout * 1000)
        if await self.redis.set(SECRET, self.secret_fingerprint, nx=True, px=ttl):
            return
        if await self.redis.get(SECRET) not in (None, self.secret_fingerprint):
            raise SecretMismatch(
                "AIMEETING_JWT_SECRET differs from the other nodes' (same AIMEETING_REDIS_URL):"
                " every node must sign with the same secret"
            )

    async def _beat(self) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(alive_key(self.id), 1, px=int(self.timeout * 1000))
            pipe.sadd(NODES, self.id)
            if self.secret_fingerprint:
                pipe.set(SECRET, self.secret_fingerprint, px=int(self.timeout * 1000))
            await pipe.execute()

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.timeout / 3)
            try:
                await self._beat()
                await self._find_dead()
            except (RedisError, OSError):
                pass  # the listener reports the outage and recovers

    async def _find_dead(self) -> None:
        for raw in await self.redis.smembers(NODES):
            node_id = str(raw)
            if node_id == self.id or await self.redis.exists(alive_key(node_id)):
                continue
            if await self.redis.srem(NODES, node_id) and self.on_node_lost is not None:
                log.warning("cluster node lost", extra={"node": node_id})
                # Only the node that claimed it; a failure is logged by ``Background``.
                self._background.spawn(self.on_node_lost(node_id), name="cluster-node-lost")
