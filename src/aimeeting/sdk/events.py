"""Delivering events: ``on``/``off`` handlers (functions or coroutines, called one event at a
time, in order) and ``async for`` subscribers, each with its own bounded buffer."""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aimeeting.sdk.models import EventObject, MeetingEvent

log = logging.getLogger("aimeeting.sdk.events")

EventHandler = Callable[[Any], Awaitable[None] | None]
_END = None  # put on a queue: no more events
# Events a subscription keeps for a reader that falls behind (or never reads); beyond that the
# oldest are dropped, with a warning (a few MB at most: events are small).
SUBSCRIPTION_BUFFER = 10_000


class EventEmitter:
    def __init__(self) -> None:
        self._handlers: dict[MeetingEvent, list[EventHandler]] = {}
        self._inbox: asyncio.Queue[EventObject | None] = asyncio.Queue()
        # Held weakly: a subscription nobody holds any more is gone, with its buffer.
        self._subscribers: weakref.WeakSet[Subscription] = weakref.WeakSet()
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
        for subscription in list(self._subscribers):
            subscription.put(event)
        self._inbox.put_nowait(event)
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="aimeeting-events")

    def subscribe(self, *kinds: MeetingEvent, buffer: int = SUBSCRIPTION_BUFFER) -> Subscription:
        """Events from this call on (only ``kinds``, when given) until the emitter closes."""
        subscription = Subscription(self, frozenset(MeetingEvent(kind) for kind in kinds), buffer)
        if self.closed:
            subscription.end()
        else:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    async def close(self, grace: float = 5.0) -> None:
        """No more events; handlers finish what was emitted (up to ``grace`` seconds)."""
        if self.closed:
            return
        self.closed = True
        for subscription in list(self._subscribers):
            subscription.end()
        self._inbox.put_nowait(_END)
        if self._dispatcher is not None and self._dispatcher is not asyncio.current_task():
            done, _ = await asyncio.wait({self._dispatcher}, timeout=grace)
            if not done:
                self._dispatcher.cancel()

    async def _dispatch(self) -> None:
        while (event := await self._inbox.get()) is not _END:
            for handler in list(self._handlers.get(event.type, ())):
                await _call(handler, event)


class Subscription:
    """``async for event in subscription``: the events emitted since it was made, in order.

    Subscribed when made, so nothing emitted between ``meeting.events()`` and the first step
    of the loop is missed. It holds at most ``buffer`` unread events: past that the oldest are
    dropped (counted in ``dropped``, with a warning), so one made and never read costs bounded
    memory; ``aclose()`` (or dropping every reference to it) unsubscribes at once. Ends, after
    the events still buffered, when the meeting is left, ends or its connection is lost.
    """

    def __init__(self, emitter: EventEmitter, kinds: frozenset[MeetingEvent], buffer: int):
        self._emitter = emitter
        self._kinds = kinds
        self._limit = max(1, buffer)
        self._buffer: deque[EventObject] = deque()
        self._ready = asyncio.Event()
        self._ended = False
        self.dropped = 0

    def put(self, event: EventObject) -> None:
        if self._ended or (self._kinds and event.type not in self._kinds):
            return
        if len(self._buffer) >= self._limit:
            self._buffer.popleft()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % self._limit == 0:
                log.warning(
                    "an events() iterator is %d events behind: %d oldest dropped",
                    self._limit,
                    self.dropped,
                )
        self._buffer.append(event)
        self._ready.set()

    def end(self) -> None:
        """No more events: the iteration ends once the buffered ones are read."""
        self._ended = True
        self._emitter.unsubscribe(self)
        self._ready.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> EventObject:
        while not self._buffer:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._buffer.popleft()

    async def aclose(self) -> None:
        """Unsubscribe now; unread events are dropped."""
        self._buffer.clear()
        self.end()


async def _call(handler: EventHandler, event: EventObject) -> None:
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a handler's bug must not stop the others
        log.exception("event handler %r failed on %s", handler, event.type)
