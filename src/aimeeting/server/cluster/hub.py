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
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from redis.exceptions import RedisError

from aimeeting.protocol import CloseCode, ErrorCode, ServerMessage
from aimeeting.server.cluster.node import PREFIX, Node, inbox
from aimeeting.server.errors import Unavailable
from aimeeting.server.realtime.connection import Connection
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.hub import Entry, LocalHub

log = logging.getLogger(__name__)

ECHO_TIMEOUT = 5.0  # seconds to wait for our own event to come back through Redis

# KEYS: the room's presence hash, this node's set of entries.
# ARGV: user, where ("node/connection"), entry ("room\tuser\tconnection"). Returns the previous.
_ENTER = """
local previous = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return previous
"""

# Same KEYS and ARGV: forget the user's presence only if it is still ``where``.
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

# KEYS: the room's presence hash. ARGV: message, room id, "close" to empty the room after.
# Publishes to each node with a member once; returns those nodes.
_PUBLISH = """
local nodes, seen = {}, {}
local presence = redis.call('HGETALL', KEYS[1])
for i = 1, #presence, 2 do
  local node, connection = string.match(presence[i + 1], '^([^/]+)/(.+)$')
  if not seen[node] then
    seen[node] = true
    nodes[#nodes + 1] = node
    redis.call('PUBLISH', 'aimeeting:node:' .. node, ARGV[1])
  end
  if ARGV[3] == 'close' then
    local entry = ARGV[2] .. '\\t' .. presence[i] .. '\\t' .. connection
    redis.call('SREM', 'aimeeting:node:' .. node .. ':members', entry)
  end
end
if ARGV[3] == 'close' then redis.call('DEL', KEYS[1]) end
return nodes
"""


def presence_key(room_id: str) -> str:
    return f"{PREFIX}room:{room_id}"


def members_key(node_id: str) -> str:
    return f"{PREFIX}node:{node_id}:members"


def entry(room_id: str, user_id: str, connection_id: str) -> str:
    return f"{room_id}\t{user_id}\t{connection_id}"


def _presence_args(room_id: str, user_id: str, node_id: str, connection_id: str) -> dict[str, Any]:
    """The KEYS and ARGV of the presence scripts for one connection in one room."""
    return {
        "keys": [presence_key(room_id), members_key(node_id)],
        "args": [user_id, f"{node_id}/{connection_id}", entry(room_id, user_id, connection_id)],
    }


class RedisHub(LocalHub):
    """``LocalHub`` holds this node's connections; Redis knows everyone's."""

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

    def _presence_args(self, room_id: str, connection: Connection) -> dict[str, Any]:
        return _presence_args(room_id, connection.user_id, self.node.id, connection.id)

    # -- membership -----------------------------------------------------------------------

    async def enter(self, room_id: str, connection: Connection) -> Entry:
        try:
            previous = await self._enter(**self._presence_args(room_id, connection))
        except RedisError as exc:
            raise Unavailable({"redis": "unreachable"}) from exc
        local = await super().enter(room_id, connection)  # closes a replaced connection here
        if previous is None or local is Entry.TAKEOVER:
            return local
        node_id, _, connection_id = str(previous).partition("/")
        if node_id == self.node.id:
            return local  # this very connection, or one of ours already closed
        message = {"op": "takeover", "room": room_id, "connection": connection_id}
        await self._quietly(self.node.send(node_id, message))
        return Entry.TAKEOVER

    async def exit(self, room_id: str, connection: Connection) -> bool:
        was_member = await super().exit(room_id, connection)
        await self._quietly(self._exit(**self._presence_args(room_id, connection)))
        return was_member

    async def forget(self, room_id: str, user_id: str, where: str) -> bool:
        node_id, _, connection_id = where.partition("/")
        return bool(await self._exit(**_presence_args(room_id, user_id, node_id, connection_id)))

    async def is_present(self, room_id: str, user_id: str) -> bool:
        try:
            return bool(await self.redis.hexists(presence_key(room_id), user_id))
        except RedisError as exc:
            raise Unavailable({"redis": "unreachable"}) from exc

    async def resync(self) -> list[tuple[str, str, str]]:
        """Tell Redis again who is connected here, and close connections replaced meanwhile.
        Returns what Redis still lists for this node but this node no longer holds
        (room, user, where): connections that ended while Redis could not hear of it."""
        held: set[str] = set()
        for room_id, members in list(self._rooms.items()):
            for connection in list(members.values()):
                held.add(entry(room_id, connection.user_id, connection.id))
                if not await self._resync(**self._presence_args(room_id, connection)):
                    self._take_over(room_id, connection.id)
        listed = await self.redis.smembers(members_key(self.node.id))
        gone = [str(item).split("\t") for item in listed if item not in held]
        return [(room, user, f"{self.node.id}/{connection}") for room, user, connection in gone]

    # -- delivery -------------------------------------------------------------------------

    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        await self.publish_many([(room_id, event)], exclude=exclude)

    async def publish_many(
        self, events: Iterable[tuple[str, Event]], *, exclude: str | None = None
    ) -> None:
        """Publish in order, in one round trip; return once this node's members have them."""
        batch = [(room_id, event, next(self._numbers)) for room_id, event in events]
        echoes = self._expect([number for _, _, number in batch])
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for room_id, event, number in batch:
                    message = self._message("room", room_id, event, number=number, exclude=exclude)
                    await self._publish(
                        keys=[presence_key(room_id)], args=[message, room_id, ""], client=pipe
                    )
                reached = await pipe.execute()
        except RedisError:
            self._forget_echoes(echoes)
            log.warning("redis unreachable: events reach this node's members only")
            reached = [[] for _ in batch]
        for (room_id, event, _), nodes in zip(batch, reached, strict=True):
            if self.node.id not in nodes:
                # Redis does not know of our members here (it is back but empty, say): they
                # hear it directly, or not at all.
                await super().publish(room_id, event, exclude=exclude)
        await self._await_echoes(echoes, reached)

    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        try:
            where = await self.redis.hget(presence_key(room_id), user_id)
        except RedisError as exc:
            raise Unavailable({"redis": "unreachable"}) from exc
        if where is None:
            return False
        node_id = str(where).partition("/")[0]
        if node_id == self.node.id:
            return await super().send_to_user(room_id, user_id, event)
        message = self._message("user", room_id, event, user=user_id)
        await self._quietly(self.redis.publish(inbox(node_id), message))
        return True

    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        number = next(self._numbers)
        message = self._message("close_room", room_id, event, number=number, code=int(code))
        echoes = self._expect([number])
        try:
            nodes = await self._publish(
                keys=[presence_key(room_id)], args=[message, room_id, "close"]
            )
        except RedisError as exc:
            self._forget_echoes(echoes)
            raise Unavailable({"redis": "unreachable"}) from exc
        await self._await_echoes(echoes, [nodes])

    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        message = {
            "op": "close_session",
            "session": session_id,
            "error": int(error),
            "code": int(code),
        }
        try:
            await self.node.broadcast(message)
        except RedisError:
            log.warning("redis unreachable: the session's connections here are closed only")
            self.close_session_here(session_id, error, code)

    def close_sessions_where(self, revoked: Callable[[str], bool]) -> None:
        """Close this node's connections of sessions ended while Redis could not say so."""
        for session_id in [session for session in self._sessions if revoked(session)]:
            self.close_session_here(session_id, ErrorCode.TOKEN_INVALID, CloseCode.UNAUTHORIZED)

    # -- what other nodes (and this one) send -----------------------------------------------

    def _on_room(self, message: dict[str, Any]) -> None:
        event = Event.from_tail(ServerMessage(message["type"]), message["tail"])
        for user_id, connection in self._rooms.get(message["room"], {}).items():
            if user_id != message.get("exclude"):
                connection.send(event)
        self._echoed(message)

    def _on_user(self, message: dict[str, Any]) -> None:
        connection = self._rooms.get(message["room"], {}).get(message["user"])
        if connection is not None:
            connection.send(Event.from_tail(ServerMessage(message["type"]), message["tail"]))

    def _on_takeover(self, message: dict[str, Any]) -> None:
        self._take_over(message["room"], message["connection"])

    def _on_close_room(self, message: dict[str, Any]) -> None:
        event = Event.from_tail(ServerMessage(message["type"]), message["tail"])
        for connection in self._rooms.pop(message["room"], {}).values():
            connection.rooms.discard(message["room"])
            connection.send(event)
            connection.close(message["code"], "meeting ended")
        self._echoed(message)

    def _on_close_session(self, message: dict[str, Any]) -> None:
        error, code = ErrorCode(message["error"]), CloseCode(message["code"])
        self.close_session_here(message["session"], error, code)

    def _take_over(self, room_id: str, connection_id: str) -> None:
        members = self._rooms.get(room_id, {})
        for user_id, connection in list(members.items()):
            if connection.id == connection_id:
                del members[user_id]
                connection.rooms.discard(room_id)
                connection.close(CloseCode.TAKEN_OVER, "taken over by a newer connection")
        if not members:
            self._rooms.pop(room_id, None)

    # -- helpers ----------------------------------------------------------------------------

    def _message(self, op: str, room_id: str, event: Event, **extra: Any) -> bytes:
        body = {"op": op, "room": room_id, "type": event.type.value, "tail": event.tail}
        return orjson.dumps({**body, "from": self.node.id, **extra})

    def _expect(self, numbers: list[int]) -> dict[int, asyncio.Future[None]]:
        """Futures for our own events' return, made before they are sent: they may come back
        before the call that sent them returns."""
        loop = asyncio.get_running_loop()
        echoes = {number: loop.create_future() for number in numbers}
        self._echoes.update(echoes)
        return echoes

    def _forget_echoes(self, echoes: dict[int, asyncio.Future[None]]) -> None:
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
        self._forget_echoes(echoes)

    def _echoed(self, message: dict[str, Any]) -> None:
        if message.get("from") == self.node.id:
            future = self._echoes.get(message.get("number", 0))
            if future is not None and not future.done():
                future.set_result(None)

    async def _quietly(self, work: Awaitable[object]) -> None:
        try:
            await work
        except RedisError:
            log.warning("redis unreachable: a cluster message was not sent")
