"""The reconnect grace (DECISIONS.md §4): a seat whose user is not in the room is kept for a
while, then released.

``ReconnectGrace`` is the interface; ``LocalReconnectGrace`` keeps one timer per (room, user) in
this process.
The multi-node variant (``aimeeting.server.cluster.grace``) keeps them in Redis, so that any node
can end a grace that another node started, or that a node which died left behind.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from aimeeting.tasks import Background

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (room id, user id)


class GraceListener(Protocol):
    async def grace_over(self, room_id: str, user_id: str) -> None: ...


class ReconnectGrace(Protocol):
    seconds: float  # how long a whole grace lasts
    listener: GraceListener | None  # told when a grace runs out

    async def start(self) -> None:
        """Begin watching for graces that run out."""

    async def stop(self) -> None:
        """Stop watching (at shutdown)."""

    async def begin(
        self, room_id: str, user_id: str, *, was_in_room: bool, seconds: float | None = None
    ) -> None:
        """Start (or restart) the user's grace in the room. ``was_in_room``: the user dropped
        out of the room (vs. a REST seat not used yet); a restart keeps a True. ``seconds``:
        what is left of a grace that began earlier (default: a whole one)."""

    async def end(self, room_id: str, user_id: str) -> bool | None:
        """End the grace because the user is back: None if there was none, else whether the
        user had been in the room before (then nobody saw them leave)."""

    async def is_pending(self, room_id: str, user_id: str) -> bool: ...

    async def run_out(self, room_id: str, user_id: str) -> bool:
        """Called by the listener, under the room's lock: whether the grace it was told of has
        really run out (False when the user came back or a new grace began meanwhile)."""

    async def end_room(self, room_id: str) -> None:
        """The meeting ended: no seat of it needs a grace any more."""


async def notify_grace_over(grace: ReconnectGrace, room_id: str, user_id: str) -> None:
    """Tell the grace's listener that the user's grace in the room ran out; a failure is
    logged (nobody awaits this)."""
    if grace.listener is None:
        return
    try:
        await grace.listener.grace_over(room_id, user_id)
    except Exception:
        log.exception("releasing a seat failed", extra={"room_id": room_id, "user_id": user_id})


class LocalReconnectGrace:
    """Timers in this process."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.listener: GraceListener | None = None
        self._timers: dict[Key, tuple[asyncio.TimerHandle, bool]] = {}
        self._background = Background()

    async def start(self) -> None:
        pass  # each grace has its own timer

    async def stop(self) -> None:
        for timer, _ in self._timers.values():
            timer.cancel()
        self._timers.clear()

    async def begin(
        self, room_id: str, user_id: str, *, was_in_room: bool, seconds: float | None = None
    ) -> None:
        key = (room_id, user_id)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous[0].cancel()
            was_in_room = was_in_room or previous[1]
        delay = self.seconds if seconds is None else seconds
        timer = asyncio.get_running_loop().call_later(delay, self._fire, key)
        self._timers[key] = (timer, was_in_room)

    async def end(self, room_id: str, user_id: str) -> bool | None:
        entry = self._timers.pop((room_id, user_id), None)
        if entry is None:
            return None
        entry[0].cancel()
        return entry[1]

    async def is_pending(self, room_id: str, user_id: str) -> bool:
        return (room_id, user_id) in self._timers

    async def run_out(self, room_id: str, user_id: str) -> bool:
        # A fired timer has removed itself; one that is there again is a new grace.
        return (room_id, user_id) not in self._timers

    async def end_room(self, room_id: str) -> None:
        for key in [key for key in self._timers if key[0] == room_id]:
            self._timers.pop(key)[0].cancel()

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self._background.spawn(notify_grace_over(self, *key))
