"""The fan-out seam over Redis: members of one room may sit on different nodes.

Redis keeps, per room, which connection (``<node>/<connection>``) each user has there. An event
for a room goes, in one Lua script, to the inbox of every node with a member in it; each node
hands it to its own members. Redis runs scripts one at a time and delivers each channel's
messages in order, so every member, wherever connected, sees a room's events in one order.
A node's own events come back to it through its inbox too (``publish`` waits for that), so
that they take their place in the same order.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from aimeeting.protocol import CloseCode, ErrorCode, ServerMessage
from aimeeting.server.cluster.node import INBOXES, PREFIX, Node, inbox
from aimeeting.server.cluster.outage import needs_redis, tolerate_outage
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import EntryKind, LocalHub
from aimeeting.server.realtime.member import Member

log = logging.getLogger(__name__)

ECHO_TIMEOUT = 5.0  # seconds to wait for our own event to come back through Redis

# KEYS: the room's presence hash, this node's set of entries.
# ARGV: user, node_connection ("node/connection"), entry ("room\tuser\tconnection").
# Returns the previous.
_ENTER = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return previous
"""

# Same KEYS and ARGV: forget the user's presence only if it is still ``node_connection``.
_EXIT = """
redis.call('SREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# After Redis lost its state, or forgot this node: present again unless replaced meanwhile.
_RESYNC = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current and current ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""

# KEYS: the room's presence hash. ARGV: message, room id, "close" to empty the room after,
# the prefix of inboxes (``INBOXES``), the suffix of a node's set of entries (``MEMBERS``).
# Publishes to each node with a member once; returns those nodes.
_PUBLISH = """
local nodes, seen = {}, {}
local presence = redis.call('HGETALL', KEYS[1])
for i = 1, #presence, 2 do
  local node, connection = string.match(presence[i + 1], '^([^/]+)/(.+)$')
  local inbox = ARGV[4] .. node
  if not seen[node] then
    seen[node] = true
    nodes[#nodes + 1] = node
    redis.call('PUBLISH', inbox, ARGV[1])
  end
  if ARGV[3] == 'close' then
    local entry = ARGV[2] .. '\\t' .. presence[i] .. '\\t' .. connection
    redis.call('SREM', inbox .. ARGV[5], entry)
  end
end
if ARGV[3] == 'close' then redis.call('DEL', KEYS[1]) end
return nodes
"""

MEMBERS = ":members"  # a node's set of entries: its inbox and this


def presence_key(room_id: str) -> str:
    return f"{PREFIX}room:{room_id}"


def members_key(node_id: str) -> str:
    return inbox(node_id) + MEMBERS


def node_connection_of(node_id: str, connection_id: str) -> str:
    """Names a connection across the cluster: ``<node>/<connection>``."""
    return f"{node_id}/{connection_id}"


def entry(room_id: str, user_id: str, connection_id: str) -> str:
    return f"{room_id}\t{user_id}\t{connection_id}"


def _presence_args(room_id: str, user_id: str, node_id: str, connection_id: str) -> dict[str, Any]:
    """The KEYS and ARGV of the presence scripts for one connection in one room."""
    return {
        "keys": [presence_key(room_id), members_key(node_id)],
        "args": [
            user_id,
            node_connection_of(node_id, connection_id),
            entry(room_id, user_id, connection_id),
        ],
    }


class RedisHub(LocalHub):
    """``LocalHub`` holds this node's members; Redis knows everyone's. What reaches this node
    goes to its members through ``LocalHub``'s public methods."""

    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node
        self.redis = node.redis
        self._enter = self.redis.register_script(_ENTER)
        self._exit = self.redis.register_script(_EXIT)
        self._resync = self.redis.register_script(_RESYNC)
        self._publish = self.redis.register_script(_PUBLISH)
        self._numbers = itertools.count(1)
        self._echoes: dict[int, asyncio.Future[None]] = {}
        for op, handler in (
            ("room", self._on_room),
            ("user", self._on_user),
            ("takeover", self._on_takeover),
            ("close_room", self._on_close_room),
            ("close_session", self._on_close_session),
        ):
            node.handle(op, handler)

    def _presence_args(self, room_id: str, member: Member) -> dict[str, Any]:
        return _presence_args(room_id, member.user_id, self.node.id, member.id)

    # -- membership -----------------------------------------------------------------------

    async def enter(self, room_id: str, member: Member) -> EntryKind:
        with needs_redis():
            previous = await self._enter(**self._presence_args(room_id, member))
        local = await super().enter(room_id, member)  # closes a replaced connection here
        if not self.node.connected:  # our events go out directly (publish_many); a late echo
            self.open_gaps()  # of one is held back behind the gap, as while Redis was away
        if previous is None or local is EntryKind.TAKEOVER:
            return local
        node_id, _, connection_id = str(previous).partition("/")
        if node_id == self.node.id:
            return local  # this very connection, or one of ours already closed
        message = {"op": "takeover", "room": room_id, "connection": connection_id}
        with tolerate_outage("a replaced connection on another node stays open"):
            await self.node.send(node_id, message)
        return EntryKind.TAKEOVER

    async def exit(self, room_id: str, member: Member) -> bool:
        was_member = await super().exit(room_id, member)
        with tolerate_outage("presence left in redis until the node resyncs"):
            await self._exit(**self._presence_args(room_id, member))
        return was_member

    async def forget(self, room_id: str, user_id: str, node_connection: str) -> bool:
        node_id, _, connection_id = node_connection.partition("/")
        with needs_redis():
            args = _presence_args(room_id, user_id, node_id, connection_id)
            return bool(await self._exit(**args))

    async def is_present(self, room_id: str, user_id: str) -> bool:
        with needs_redis():
            return bool(await self.redis.hexists(presence_key(room_id), user_id))

    async def present(self, room_id: str) -> list[str]:
        with needs_redis():
            return [str(user_id) for user_id in await self.redis.hkeys(presence_key(room_id))]

    async def resync(self) -> list[tuple[str, str, str]]:
        """Tell Redis again who is connected here, and close connections replaced meanwhile.
        Returns what Redis still lists for this node but this node no longer holds
        (room, user, node_connection): connections that ended while Redis could not hear of it."""
        held: set[tuple[str, str, str]] = set()
        for room_id, member in self.memberships():
            held.add((room_id, member.user_id, node_connection_of(self.node.id, member.id)))
            if not await self._resync(**self._presence_args(room_id, member)):
                self.take_over(room_id, member.id)
        return [listed for listed in await self.members_of(self.node.id) if listed not in held]

    async def members_of(self, node_id: str) -> list[tuple[str, str, str]]:
        """What Redis lists as the node's members: (room, user, node_connection)."""
        with needs_redis():
            listed = await self.redis.smembers(members_key(node_id))
        entries = [str(item).split("\t") for item in listed]
        return [
            (room, user, node_connection_of(node_id, connection))
            for room, user, connection in entries
        ]

    async def forget_node(self, node_id: str) -> None:
        """The node is dead and its members dealt with (``forget``): forget its list too."""
        with needs_redis():
            await self.redis.delete(members_key(node_id))

    # -- delivery -------------------------------------------------------------------------

    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        await self.publish_many([(room_id, event)], exclude=exclude)

    async def publish_many(
        self, events: Iterable[tuple[str, Event]], *, exclude: str | None = None
    ) -> None:
        """Publish in order, in one round trip; return once this node's members have them.

        While this node is not subscribed to its inbox (Redis is back but the node has not
        heard it yet) its own events would not come back: its members get them directly
        (an echo that comes all the same is held back behind the room's gap, which filters
        out chat handed out already)."""
        alone = not self.node.connected
        batch = [(room_id, event, next(self._numbers)) for room_id, event in events]
        with self._expecting([number for _, _, number in batch]) as echoes:
            reached: list[list[str]] = [[] for _ in batch]
            with tolerate_outage("events reach this node's members only"):
                reached = await self._publish_batch(batch, exclude)
            for (room_id, event, _), nodes in zip(batch, reached, strict=True):
                if alone or self.node.id not in nodes:
                    # Redis does not know of our members here (it is back but empty, say), or
                    # we do not hear it yet: they hear it directly, or not at all.
                    self.deliver(room_id, event, exclude=exclude)
            if alone:
                reached = [[node for node in nodes if node != self.node.id] for nodes in reached]
            await self._await_echoes(echoes, reached)

    async def _publish_batch(
        self, batch: list[tuple[str, Event, int]], exclude: str | None
    ) -> list[list[str]]:
        """Each event to the nodes with members in its room; the nodes each went to."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for room_id, event, number in batch:
                message = self._message("room", room_id, event, number=number, exclude=exclude)
                await self._publish(**_publish_args(room_id, message, ""), client=pipe)
            reached: list[list[str]] = await pipe.execute()
        return reached

    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        with needs_redis():
            node_connection = await self.redis.hget(presence_key(room_id), user_id)
        if node_connection is None:
            return False
        node_id = str(node_connection).partition("/")[0]
        if node_id == self.node.id:
            return self.send_here(room_id, user_id, event)
        message = self._message("user", room_id, event, user=user_id)
        with tolerate_outage("a message for a member on another node was not sent"):
            await self.redis.publish(inbox(node_id), message)
        return True

    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        number = next(self._numbers)
        message = self._message("close_room", room_id, event, number=number, code=int(code))
        alone = not self.node.connected
        with self._expecting([number]) as echoes:
            with needs_redis():
                nodes = await self._publish(**_publish_args(room_id, message, "close"))
            if alone:  # our own would not come back (see publish_many)
                self.close_room_here(room_id, event, code)
                nodes = [node for node in nodes if node != self.node.id]
            await self._await_echoes(echoes, [nodes])

    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        message = {
            "op": "close_session",
            "session": session_id,
            "error": int(error),
            "code": int(code),
        }
        with tolerate_outage("the session's connections here are closed only"):
            await self.node.broadcast(message)  # this node hears it too
            return
        self.close_session_here(session_id, error, code)  # Redis could not be told

    def close_sessions_where(self, revoked: Callable[[str], bool]) -> None:
        """Close this node's connections of sessions ended while Redis could not say so."""
        for session_id in [session for session in self.sessions_here() if revoked(session)]:
            self.close_session_here(session_id, ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED)

    # -- what other nodes (and this one) send -----------------------------------------------

    def _on_room(self, message: dict[str, Any]) -> None:
        self.deliver(message["room"], _event(message), exclude=message.get("exclude"))
        self._echoed(message)

    def _on_user(self, message: dict[str, Any]) -> None:
        self.send_here(message["room"], message["user"], _event(message))

    def _on_takeover(self, message: dict[str, Any]) -> None:
        self.take_over(message["room"], message["connection"])

    def _on_close_room(self, message: dict[str, Any]) -> None:
        self.close_room_here(message["room"], _event(message), CloseCode(message["code"]))
        self._echoed(message)

    def _on_close_session(self, message: dict[str, Any]) -> None:
        error, code = ErrorCode(message["error"]), CloseCode(message["code"])
        self.close_session_here(message["session"], error, code)

    # -- helpers ----------------------------------------------------------------------------

    def _message(self, op: str, room_id: str, event: Event, **extra: Any) -> bytes:
        body = {"op": op, "room": room_id, "type": event.type.value, "tail": event.tail}
        return orjson.dumps({**body, "from": self.node.id, **extra})

    @contextmanager
    def _expecting(self, numbers: list[int]) -> Iterator[dict[int, asyncio.Future[None]]]:
        """Futures for our own events' return, made before they are sent (they may come back
        before the call that sent them returns), and forgotten once the block is over."""
        loop = asyncio.get_running_loop()
        echoes = {number: loop.create_future() for number in numbers}
        self._echoes.update(echoes)
        try:
            yield echoes
        finally:
            for number in echoes:
                self._echoes.pop(number, None)

    async def _await_echoes(
        self, echoes: dict[int, asyncio.Future[None]], reached: list[list[str]]
    ) -> None:
        """Wait for the events that went to this node (``reached``: the nodes of each)."""
        ours = self.node.id
        waiting = [
            future for future, nodes in zip(echoes.values(), reached, strict=True) if ours in nodes
        ]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=ECHO_TIMEOUT)
            if late:
                log.warning("own events did not come back from redis", extra={"events": len(late)})

    def _echoed(self, message: dict[str, Any]) -> None:
        if message.get("from") == self.node.id:
            future = self._echoes.get(message.get("number", 0))
            if future is not None and not future.done():
                future.set_result(None)


def _event(message: dict[str, Any]) -> Event:
    """The event a cluster message carries."""
    return Event.from_tail(ServerMessage(message["type"]), message["tail"])


def _publish_args(room_id: str, message: bytes, mode: str) -> dict[str, Any]:
    """The KEYS and ARGV of ``_PUBLISH`` (``mode``: "close" to empty the room after)."""
    return {"keys": [presence_key(room_id)], "args": [message, room_id, mode, INBOXES, MEMBERS]}
