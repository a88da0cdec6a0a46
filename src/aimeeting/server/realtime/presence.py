"""The reconnect grace (DECISIONS.md §4): a seat whose user is not in the room is kept for a
while, then released. One timer per (room, user), in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (room id, user id)


class Grace:
    def __init__(self, seconds: float, expire: Callable[[str, str], Awaitable[None]]) -> None:
        self.seconds = seconds
        self._expire = expire
        # was_in_room: the user dropped out of the room (vs. a REST seat not used yet).
        self._timers: dict[Key, tuple[asyncio.TimerHandle, bool]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, room_id: str, user_id: str, *, was_in_room: bool) -> None:
        """Start (or restart) the user's grace in the room."""
        key = (room_id, user_id)
        previous = self._timers.pop(key, None)
        if previous is not None:
            previous[0].cancel()
            was_in_room = was_in_room or previous[1]
        timer = asyncio.get_running_loop().call_later(self.seconds, self._fire, key)
        self._timers[key] = (timer, was_in_room)

    def stop(self, room_id: str, user_id: str) -> bool | None:
        """End the grace because the user is back: None if there was none, else whether the
        user had been in the room before (then nobody saw them leave)."""
        entry = self._timers.pop((room_id, user_id), None)
        if entry is None:
            return None
        entry[0].cancel()
        return entry[1]

    def is_pending(self, room_id: str, user_id: str) -> bool:
        return (room_id, user_id) in self._timers

    def stop_room(self, room_id: str) -> None:
        for key in [key for key in self._timers if key[0] == room_id]:
            self._timers.pop(key)[0].cancel()

    def stop_all(self) -> None:
        for timer, _ in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        task = asyncio.create_task(self._run(*key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, room_id: str, user_id: str) -> None:
        try:
            await self._expire(room_id, user_id)
        except Exception:
            log.exception("releasing a seat failed", extra={"room_id": room_id, "user_id": user_id})
