"""Delivering events: ``on``/``off`` handlers (functions or coroutines, called one event at a
time, in order) and ``async for`` subscribers, each with its own queue."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aimeeting.sdk.models import EventObject, MeetingEvent

log = logging.getLogger("aimeeting.sdk.events")

EventHandler = Callable[[Any], Awaitable[None] | None]
_END = None  # put on a queue: no more events


class EventEmitter:
    def __init__(self) -> None:
        self._handlers: dict[MeetingEvent, list[EventHandler]] = {}
        self._inbox: asyncio.Queue[EventObject | None] = asyncio.Queue()
        self._subscribers: set[asyncio.Queue[EventObject | None]] = set()
        self._dispatcher: asyncio.Task[None] | None = None
        self.closed = False

    def on(self, event: MeetingEvent, handler: EventHandler) -> None:
        self._handlers.setdefault(MeetingEvent(event), []).append(handler)

    def off(self, event: MeetingEvent, handler: EventHandler) -> None:
        handlers = self._handlers.get(MeetingEvent(event), [])
        if handler in handlers:
            handlers.remove(handler)

    def emit(self, event: EventObject) -> None:
        if self.closed:
            return
        log.debug("event %s", event.type)
        for queue in self._subscribers:
            queue.put_nowait(event)
        self._inbox.put_nowait(event)
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="aimeeting-events")

    async def subscribe(self, *kinds: MeetingEvent) -> AsyncIterator[EventObject]:
        """Events from now on (only ``kinds``, when given) until the emitter closes."""
        queue: asyncio.Queue[EventObject | None] = asyncio.Queue()
        if self.closed:
            return
        self._subscribers.add(queue)
        try:
            while (event := await queue.get()) is not _END:
                if not kinds or event.type in kinds:
                    yield event
        finally:
            self._subscribers.discard(queue)

    async def close(self, grace: float = 5.0) -> None:
        """No more events; handlers finish what was emitted (up to ``grace`` seconds)."""
        if self.closed:
            return
        self.closed = True
        for queue in self._subscribers:
            queue.put_nowait(_END)
        self._inbox.put_nowait(_END)
        if self._dispatcher is not None and self._dispatcher is not asyncio.current_task():
            done, _ = await asyncio.wait({self._dispatcher}, timeout=grace)
            if not done:
                self._dispatcher.cancel()

    async def _dispatch(self) -> None:
        while (event := await self._inbox.get()) is not _END:
            for handler in list(self._handlers.get(event.type, ())):
                await _call(handler, event)


async def _call(handler: EventHandler, event: EventObject) -> None:
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a handler's bug must not stop the others
        log.exception("event handler %r failed on %s", handler, event.type)
