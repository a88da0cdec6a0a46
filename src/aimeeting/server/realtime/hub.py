"""The one seam for fan-out: which connection is in which room, and how an event reaches them.

Nothing outside this module knows how a message reaches another connection. ``Hub`` is the
interface; ``LocalHub`` serves one node in process. A multi-node hub implements the same
methods over a shared bus, delivering to the connections each node holds through the
``LocalHub`` it builds on. A connection is a ``Member`` here: the hub queues events on it and
closes it, never touching its socket.

Order: events published to a room reach every member's queue in the order they were published,
because ``LocalHub`` hands an event to all members before it returns.

Gaps: a node that cannot hear the others for a while (Redis away) may miss their events. The
hub keeps, per room, the last chat it handed out; from the moment a gap opens it also keeps
every chat handed out, and once the node hears the others again it holds the room's events
back until the room is caught up from the database (``RoomService.catch_up``), so that what
was missed comes first, once, in history's order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol

import orjson

from aimeeting.protocol import CloseCode, ErrorCode, ServerMessage
from aimeeting.server.ids import utcnow
from aimeeting.server.realtime.events import Event
from aimeeting.server.realtime.member import Member


class EntryKind(Enum):
    NEW = "new"  # the user was not in the room
    REPEAT = "repeat"  # this very connection was already in the room
    TAKEOVER = "takeover"  # the user's other connection was in the room; it is closed (4409)


@dataclass
class Gap:
    """What one room's members here may have missed: the chat stored after ``after`` (a
    message id; None: nothing handed out here yet, then everything stored after ``since``),
    but for ``handed_out``, the chat handed out here since the gap opened."""

    after: str | None
    since: datetime
    handed_out: list[Event] = field(default_factory=list)

    def delivered(self) -> set[str]:
        return {chat_id(event) for event in self.handed_out}


@dataclass
class _Trail:
    """One room on this node: what its members were handed, and what is held back. Chat
    events are kept as they are and their ids read only when a gap needs them: handing out a
    message stays free of parsing."""

    since: datetime  # when the room's first member here entered
    last_chat: Event | None = None  # the newest chat handed out here
    gap: Gap | None = None
    held: list[tuple[Event, str | None]] | None = None  # (event, excluded user) held back


def _replaced(room_id: str, member: Member) -> None:
    """``member`` lost its place in the room to a newer connection of its user."""
    member.rooms.discard(room_id)
    member.close(CloseCode.TAKEN_OVER, "taken over by a newer connection")


def chat_id(event: Event) -> str:
    """The ``message_id`` of a ``chat_message`` event (its data is serialized already)."""
    return str(orjson.loads("{" + event.tail[1:])["data"]["message_id"])


class Hub(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def attach(self, member: Member) -> None:
        """A new connection on this node."""

    def detach(self, member: Member) -> None:
        """A connection of this node is gone (it has left its rooms before)."""

    async def enter(self, room_id: str, member: Member) -> EntryKind:
        """Make ``member`` its user's one connection in the room."""

    async def exit(self, room_id: str, member: Member) -> bool:
        """Take ``member`` out of the room; False if it was not its user's connection there."""

    async def is_present(self, room_id: str, user_id: str) -> bool:
        """Whether the user has a connection in the room."""

    async def present(self, room_id: str) -> list[str]:
        """The users with a connection in the room, on any node."""

    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        """Deliver to every connection in the room (but the user ``exclude``'s)."""

    async def publish_many(
        self, events: Iterable[tuple[str, Event]], *, exclude: str | None = None
    ) -> None:
        """``publish`` each, in order."""

    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        """Deliver to the user's connection in the room; False if there is none."""

    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        """Deliver ``event`` to every connection in the room, then close them with ``code``."""

    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        """Send ``error`` to every connection of the session, then close them with ``code``."""

    def close_room_here(self, room_id: str, event: Event, code: CloseCode) -> None:
        """``close_room`` for this node's connections only (when the others can't be told)."""

    def rooms_here(self) -> list[str]:
        """The rooms this node has connections in."""

    def members_here(self, room_id: str) -> list[str]:
        """The users with a connection in the room on this node."""

    def gaps(self) -> dict[str, Gap]:
        """The rooms here whose members may have missed events (see the module's doc)."""

    def fill_gap(self, room_id: str, missed: list[Event], state: Event | None) -> int:
        """Close the room's gap with what its members missed; how many chat messages."""

    async def forget(self, room_id: str, user_id: str, node_connection: str) -> bool:
        """Drop the user's presence in the room if it is still the connection ``node_connection``
        ("node/connection") of a node that died; whether it was."""


class LocalHub:
    """Every connection is in this process. A multi-node hub builds on this one for its own
    node's members, through the public methods below (``deliver``, ``send_here``,
    ``close_room_here``, ``take_over``, ``memberships``, the gaps), never its state."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Member]] = {}  # room → user → member
        self._sessions: dict[str, set[Member]] = {}
        self._trails: dict[str, _Trail] = {}  # room → what its members here were handed

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def attach(self, member: Member) -> None:
        self._sessions.setdefault(member.session_id, set()).add(member)

    def detach(self, member: Member) -> None:
        members = self._sessions.get(member.session_id)
        if members is not None:
            members.discard(member)
            if not members:
                del self._sessions[member.session_id]

    async def enter(self, room_id: str, member: Member) -> EntryKind:
        if room_id not in self._rooms:
            self._trails[room_id] = _Trail(since=utcnow())
        members = self._rooms.setdefault(room_id, {})
        previous = members.get(member.user_id)
        members[member.user_id] = member
        member.rooms.add(room_id)
        if previous is None:
            return EntryKind.NEW
        if previous is member:
            return EntryKind.REPEAT
        _replaced(room_id, previous)
        return EntryKind.TAKEOVER

    async def exit(self, room_id: str, member: Member) -> bool:
        member.rooms.discard(room_id)
        members = self._rooms.get(room_id)
        if members is None or members.get(member.user_id) is not member:
            return False
        self._remove(room_id, member.user_id)
        return True

    def take_over(self, room_id: str, connection_id: str) -> None:
        """The member ``connection_id`` here lost its place in the room to a newer connection
        of its user (on another node): it is out of the room and closed (4409)."""
        for user_id, member in list(self._rooms.get(room_id, {}).items()):
            if member.id == connection_id:
                self._remove(room_id, user_id)
                _replaced(room_id, member)

    def _remove(self, room_id: str, user_id: str) -> None:
        members = self._rooms[room_id]
        del members[user_id]
        if not members:
            self.drop_room(room_id)

    async def is_present(self, room_id: str, user_id: str) -> bool:
        return user_id in self._rooms.get(room_id, {})

    async def present(self, room_id: str) -> list[str]:
        return self.members_here(room_id)

    async def publish(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        self.deliver(room_id, event, exclude=exclude)

    async def publish_many(
        self, events: Iterable[tuple[str, Event]], *, exclude: str | None = None
    ) -> None:
        for room_id, event in events:
            self.deliver(room_id, event, exclude=exclude)

    def deliver(self, room_id: str, event: Event, *, exclude: str | None = None) -> None:
        """Hand ``event`` to this node's members of the room (but ``exclude``), or hold it
        back while the room is being caught up after a gap."""
        trail = self._trails.get(room_id)
        if trail is not None and trail.held is not None:
            trail.held.append((event, exclude))
        else:
            self._hand_out(room_id, event, exclude)

    def _hand_out(self, room_id: str, event: Event, exclude: str | None) -> None:
        for user_id, member in self._rooms.get(room_id, {}).items():
            if user_id != exclude:
                member.send(event)
        trail = self._trails.get(room_id)
        if trail is not None and event.type is ServerMessage.CHAT_MESSAGE:
            trail.last_chat = event
            if trail.gap is not None:
                trail.gap.handed_out.append(event)

    async def send_to_user(self, room_id: str, user_id: str, event: Event) -> bool:
        return self.send_here(room_id, user_id, event)

    def send_here(self, room_id: str, user_id: str, event: Event) -> bool:
        """Hand ``event`` to the user's member of the room here; False if there is none."""
        member = self._rooms.get(room_id, {}).get(user_id)
        if member is None:
            return False
        member.send(event)
        return True

    async def close_room(self, room_id: str, event: Event, code: CloseCode) -> None:
        self.close_room_here(room_id, event, code)

    def close_room_here(self, room_id: str, event: Event, code: CloseCode) -> None:
        for member in self.drop_room(room_id):
            member.rooms.discard(room_id)
            member.send(event)
            member.close(code, "meeting ended")

    async def close_session(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        self.close_session_here(session_id, error, code)

    def close_session_here(self, session_id: str, error: ErrorCode, code: CloseCode) -> None:
        for member in self._sessions.get(session_id, set()):
            member.send_error(error, None)
            member.close(code, "session ended")

    async def forget(self, room_id: str, user_id: str, node_connection: str) -> bool:
        return False  # every connection is here: none belongs to a node that died

    def rooms_here(self) -> list[str]:
        return list(self._rooms)

    def members_here(self, room_id: str) -> list[str]:
        return list(self._rooms.get(room_id, {}))

    def memberships(self) -> list[tuple[str, Member]]:
        """Every (room, member) here."""
        return [
            (room, member) for room, members in self._rooms.items() for member in members.values()
        ]

    def sessions_here(self) -> list[str]:
        """The sessions with a connection here."""
        return list(self._sessions)

    def drop_room(self, room_id: str) -> list[Member]:
        """Forget the room here (its last member left, or it was closed); its members."""
        self._trails.pop(room_id, None)
        return list(self._rooms.pop(room_id, {}).values())

    # -- gaps -------------------------------------------------------------------------------

    def open_gaps(self) -> None:
        """From now on this node may miss other nodes' events (it lost its line to them)."""
        for trail in self._trails.values():
            if trail.gap is None:  # a gap still open from before covers this one
                last = None if trail.last_chat is None else chat_id(trail.last_chat)
                trail.gap = Gap(last, trail.since)

    def hold_gaps(self) -> None:
        """The node hears the others again: hold back each room with a gap until
        ``fill_gap``. Called before any event heard from now on is handed out."""
        for trail in self._trails.values():
            if trail.gap is not None and trail.held is None:
                trail.held = []

    def gaps(self) -> dict[str, Gap]:
        """The rooms here to catch up, and from where."""
        return {room: trail.gap for room, trail in self._trails.items() if trail.gap is not None}

    def fill_gap(self, room_id: str, missed: list[Event], state: Event | None) -> int:
        """Close the room's gap: hand out the ``missed`` chat (oldest first) that was not
        handed out here yet, then ``state`` (the room as it is now), then what was held back
        (but chat handed out already). Returns how many missed messages went out."""
        trail = self._trails.get(room_id)
        if trail is None or trail.gap is None:
            return 0
        delivered, held = trail.gap.delivered(), trail.held or []
        trail.held = None
        caught_up = 0
        for event in missed:
            if chat_id(event) not in delivered:
                self._hand_out(room_id, event, None)
                caught_up += 1
        if state is not None:
            self._hand_out(room_id, state, None)
        for event, exclude in held:
            if event.type is not ServerMessage.CHAT_MESSAGE or chat_id(event) not in delivered:
                self._hand_out(room_id, event, exclude)
        trail.gap = None
        return caught_up
