"""The one seam for fan-out: which connection is in which room, and how an event reaches them.

Nothing outside this module knows how a message reaches another connection. ``Hub`` is the
interface; ``LocalHub`` serves one node in process. A multi-node hub implements the same
methods over a shared bus, delivering to the connections each node holds.

Order: events published to a room reach every member's queue in the order they were published,
because ``LocalHub`` hands an event to all members before it returns.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from enum import Enum

from aimeeting.protocol import CloseCode, ErrorCode
from aimeeting.server.realtime.connection import Connection
from aimeeting.server.realtime.events import Event


class Entry(Enum):
    NEW = "new"  # the user was not in the room
    REPEAT = "repeat"  # this very connection was already in the room
    TAKEOVER = "takeover"  # the user's other connection was in the room; it is closed (4409)


class Hub(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def attach(self, connection: Connection) -> None:
        """A new connection on this node."""

    @abstractmethod
    def detach(self, connection: Connection) -> None:
        """A connection of this node is gone (it has left its rooms before)."""

    @abstractmethod
    async def enter(self, room_id: str, connection: Connection) -> Entry:
        """Make ``connection`` its user's one connection in the room."""

    @abstractmethod
    async def exit(self, room_id: str, connection: Connection) -> bool:
        """Take ``connection`` out of the room; False if it was not its user's connection there."""

    @abstractmethod
    async def is_present(self, room_id: str, user_id: str) -> bool:
        """Whether the user has a connection in the room."""

    @abstractmethod
    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        """Deliver to every connection in the room (but the user ``exclude``'s)."""

    async def publish_many(
        self, events: Iterable[tuple[str, Event]], *, exclude: str | None = None
    ) -> None:
        """``publish`` each, in order."""
        for room_id, event in events:
            await self.publish(room_id, event, exclude=exclude)

    @abstractmethod
    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        """Deliver to the user's connection in the room; False if there is none."""

    @abstractmethod
    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        """Deliver ``event`` to every connection in the room, then close them with ``code``."""

    @abstractmethod
    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        """Send ``error`` to every connection of the session, then close them with ``code``."""

    @abstractmethod
    async def close_room_here(self, room_id: str, event: Event, code: CloseCode) -> None:
        """``close_room`` for this node's connections only (when the others can't be told)."""

    @abstractmethod
    def rooms_here(self) -> list[str]:
        """The rooms this node has connections in."""

    async def forget(self, room_id: str, user_id: str, where: str) -> bool:
        """Drop the user's presence in the room if it is still the connection ``where`` of a
        node that died; whether it was. Only a multi-node hub has such connections."""
        return False


class LocalHub(Hub):
    """Every connection is in this process."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Connection]] = {}  # room → user → connection
        self._sessions: dict[str, set[Connection]] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def attach(self, connection: Connection) -> None:
        self._sessions.setdefault(connection.session_id, set()).add(connection)

    def detach(self, connection: Connection) -> None:
        connections = self._sessions.get(connection.session_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._sessions[connection.session_id]

    async def enter(self, room_id: str, connection: Connection) -> Entry:
        members = self._rooms.setdefault(room_id, {})
        previous = members.get(connection.user_id)
        members[connection.user_id] = connection
        connection.rooms.add(room_id)
        if previous is None:
            return Entry.NEW
        if previous is connection:
            return Entry.REPEAT
        previous.rooms.discard(room_id)
        previous.close(CloseCode.TAKEN_OVER, "taken over by a newer connection")
        return Entry.TAKEOVER

    async def exit(self, room_id: str, connection: Connection) -> bool:
        connection.rooms.discard(room_id)
        members = self._rooms.get(room_id)
        if members is None or members.get(connection.user_id) is not connection:
            return False
        del members[connection.user_id]
        if not members:
            del self._rooms[room_id]
        return True

    async def is_present(self, room_id: str, user_id: str) -> bool:
        return user_id in self._rooms.get(room_id, {})

    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        for user_id, connection in self._rooms.get(room_id, {}).items():
            if user_id != exclude:
                connection.send(event)

    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        connection = self._rooms.get(room_id, {}).get(user_id)
        if connection is None:
            return False
        connection.send(event)
        return True

    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        await self.close_room_here(room_id, event, code)

    async def close_room_here(self, room_id: str, event: Event, code: CloseCode) -> None:
        for connection in self._rooms.pop(room_id, {}).values():
            connection.rooms.discard(room_id)
            connection.send(event)
            connection.close(code, "meeting ended")

    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        self.close_session_here(session_id, error, code)

    def close_session_here(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        for connection in self._sessions.get(session_id, set()):
            connection.send_error(error, None)
            connection.close(code, "session ended")

    def rooms_here(self) -> list[str]:
        return list(self._rooms)
