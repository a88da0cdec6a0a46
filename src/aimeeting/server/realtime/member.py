"""What rooms and hubs need from a client connection, and nothing more.

``Member`` is the seam between the rooms (``rooms``, ``hub``, ``chat``, ``cluster``) and the
transport: the WebSocket ``Connection`` is one implementation, a test's fake another. Rooms and
hubs never read a socket; they queue events on a member and close it.
"""

from __future__ import annotations

from typing import Protocol

from aimeeting.protocol import ErrorCode
from aimeeting.server.realtime.events import Event
from aimeeting.server.users.schemas import PublicUser


class Member(Protocol):
    id: str  # names the connection to other nodes (with the node's id)
    user: PublicUser  # as the other members see it (chat's ``sender``)
    user_id: str
    session_id: str
    rooms: set[str]  # the rooms it is in; the hub keeps this up to date

    def send(self, event: Event) -> None:
        """Queue ``event``; never waits (a member that reads nothing is closed, not waited on)."""

    def send_error(
        self, code: ErrorCode, request_seq: int | None, details: dict[str, object] | None = None
    ) -> None:
        """Queue an ``error`` in the member's language."""

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is already queued (the first close wins)."""
