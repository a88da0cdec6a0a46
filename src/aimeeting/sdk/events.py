"""Delivering events: ``on``/``off`` handlers (functions or coroutines, called one event at a
time, in order) and ``async for`` subscribers, each with its own bounded buffer."""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, TypeAlias, TypeVar, cast, overload

from aimeeting.sdk.models import (
    CaptionEvent,
    ChatMessage,
    ConnectionStateChangedEvent,
    ErrorEvent,
    EventObject,
    MediaStateChangedEvent,
    MeetingEndedEvent,
    MeetingEvent,
    NetworkQualityChangedEvent,
    TrackAddedEvent,
    TrackRemovedEvent,
    UserJoinedEvent,
    UserLeftEvent,
    WebRTCSignalEvent,
)

log = logging.getLogger("aimeeting.sdk.events")

EventHandler = Callable[[Any], Awaitable[None] | None]
E = TypeVar("E", bound=EventObject)
# A handler of one kind of event (``Handler[ChatMessage]``): what ``Meeting.on`` checks.
Handler: TypeAlias = Callable[[E], Awaitable[None] | None]
_END = None  # put on a queue: no more events
# Events a subscription keeps for a reader that falls behind (or never reads); beyond that the
# oldest are dropped, with a warning (a few MB at most: events are small).
SUBSCRIPTION_BUFFER = 10_000


class EventEmitter:
    def __init__(self) -> None:
        self._handlers: dict[MeetingEvent, list[EventHandler]] = {}
        self._inbox: asyncio.Queue[EventObject | None] = asyncio.Queue()
        # Held weakly: a subscription nobody holds any more is gone, with its buffer.
        self._subscribers: weakref.WeakSet[Subscription[Any]] = weakref.WeakSet()
        self._dispatcher: asyncio.Task[None] | None = None
        self._held: list[EventObject] | None = None  # emitted while held: not delivered yet
        self.closed = False

    def on(self, event: MeetingEvent, handler: EventHandler) -> None:
        self._handlers.setdefault(MeetingEvent(event), []).append(handler)

    def off(self, event: MeetingEvent, handler: EventHandler) -> None:
        handlers = self._handlers.get(MeetingEvent(event), [])
        if handler in handlers:
            handlers.remove(handler)

    def hold(self) -> None:
        """Keep what is emitted from now on until ``release``."""
        if self._held is None:
            self._held = []

    def release(self) -> None:
        """Deliver what was held, in order, and stop holding."""
        held, self._held = self._held, None
        for event in held or ():
            self.emit(event)

    def emit(self, event: EventObject) -> None:
        if self.closed:
            return
        if self._held is not None:
            self._held.append(event)
            return
        log.debug("event %s", event.type)
        for subscription in list(self._subscribers):
            subscription.put(event)
        self._inbox.put_nowait(event)
        if self._dispatcher is None:
            self._dispatcher = asyncio.create_task(self._dispatch(), name="aimeeting-events")

    def subscribe(
        self, *kinds: MeetingEvent, buffer: int = SUBSCRIPTION_BUFFER
    ) -> Subscription[Any]:
        """Events from this call on (only ``kinds``, when given) until the emitter closes."""
        wanted = frozenset(MeetingEvent(kind) for kind in kinds)
        subscription: Subscription[Any] = Subscription(self, wanted, buffer)
        if self.closed:
            subscription.end()
        else:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription[Any]) -> None:
        self._subscribers.discard(subscription)

    async def close(self, grace: float = 5.0) -> None:
        """No more events; handlers finish what was emitted (up to ``grace`` seconds)."""
        if self.closed:
            return
        self.release()  # to those subscribed already: nobody can subscribe after the close
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


class Subscription(Generic[E]):
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

    def __aiter__(self) -> Subscription[E]:
        return self

    async def __anext__(self) -> E:
        while not self._buffer:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return cast(E, self._buffer.popleft())  # only kinds of E were put

    async def aclose(self) -> None:
        """Unsubscribe now; unread events are dropped."""
        self._buffer.clear()
        self.end()


class EventSource:
    """``on``/``off``/``events()`` of a ``Meeting``, typed per event: mypy checks that
    ``on(MeetingEvent.CHAT_MESSAGE, handler)`` gets a handler of ``ChatMessage``, and
    ``events(MeetingEvent.CAPTION)`` yields ``CaptionEvent``. Each overload pairs a
    ``MeetingEvent`` with the class whose ``type`` it is (tests/unit/test_sdk_event_types.py
    checks the pairs); any other call takes a handler of every ``EventObject``."""

    _events: EventEmitter

    @overload
    def on(
        self, event: Literal[MeetingEvent.USER_JOINED], handler: Handler[UserJoinedEvent]
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.USER_LEFT], handler: Handler[UserLeftEvent]
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.CHAT_MESSAGE], handler: Handler[ChatMessage]
    ) -> None: ...

    @overload
    def on(
        self,
        event: Literal[MeetingEvent.MEDIA_STATE_CHANGED],
        handler: Handler[MediaStateChangedEvent],
    ) -> None: ...

    @overload
    def on(
        self,
        event: Literal[MeetingEvent.NETWORK_QUALITY_CHANGED],
        handler: Handler[NetworkQualityChangedEvent],
    ) -> None: ...

    @overload
    def on(self, event: Literal[MeetingEvent.ERROR], handler: Handler[ErrorEvent]) -> None: ...

    @overload
    def on(
        self,
        event: Literal[MeetingEvent.CONNECTION_STATE_CHANGED],
        handler: Handler[ConnectionStateChangedEvent],
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.MEETING_ENDED], handler: Handler[MeetingEndedEvent]
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.WEBRTC_SIGNAL], handler: Handler[WebRTCSignalEvent]
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.TRACK_ADDED], handler: Handler[TrackAddedEvent]
    ) -> None: ...

    @overload
    def on(
        self, event: Literal[MeetingEvent.TRACK_REMOVED], handler: Handler[TrackRemovedEvent]
    ) -> None: ...

    @overload
    def on(self, event: Literal[MeetingEvent.CAPTION], handler: Handler[CaptionEvent]) -> None: ...

    @overload
    def on(self, event: MeetingEvent, handler: Handler[EventObject]) -> None: ...

    def on(self, event: MeetingEvent, handler: Handler[Any]) -> None:
        """Call ``handler(event_object)`` (a function or a coroutine) for each such event."""
        self._events.on(event, handler)

    def off(self, event: MeetingEvent, handler: Handler[Any]) -> None:
        self._events.off(event, handler)

    @overload
    def events(self) -> Subscription[EventObject]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.USER_JOINED], /
    ) -> Subscription[UserJoinedEvent]: ...

    @overload
    def events(self, kind: Literal[MeetingEvent.USER_LEFT], /) -> Subscription[UserLeftEvent]: ...

    @overload
    def events(self, kind: Literal[MeetingEvent.CHAT_MESSAGE], /) -> Subscription[ChatMessage]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.MEDIA_STATE_CHANGED], /
    ) -> Subscription[MediaStateChangedEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.NETWORK_QUALITY_CHANGED], /
    ) -> Subscription[NetworkQualityChangedEvent]: ...

    @overload
    def events(self, kind: Literal[MeetingEvent.ERROR], /) -> Subscription[ErrorEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.CONNECTION_STATE_CHANGED], /
    ) -> Subscription[ConnectionStateChangedEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.MEETING_ENDED], /
    ) -> Subscription[MeetingEndedEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.WEBRTC_SIGNAL], /
    ) -> Subscription[WebRTCSignalEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.TRACK_ADDED], /
    ) -> Subscription[TrackAddedEvent]: ...

    @overload
    def events(
        self, kind: Literal[MeetingEvent.TRACK_REMOVED], /
    ) -> Subscription[TrackRemovedEvent]: ...

    @overload
    def events(self, kind: Literal[MeetingEvent.CAPTION], /) -> Subscription[CaptionEvent]: ...

    @overload
    def events(self, *kinds: MeetingEvent) -> Subscription[EventObject]: ...

    def events(self, *kinds: MeetingEvent) -> Subscription[Any]:
        """``async for event in meeting.events()``: every event (or only ``kinds``) from this
        call on (subscribed at once, not at the first step) until the meeting is left, ends,
        or its connection is lost for good. Holds at most ``SUBSCRIPTION_BUFFER`` unread
        events (the oldest are then dropped, with a warning); ``aclose()`` unsubscribes."""
        return self._events.subscribe(*kinds)

    def __aiter__(self) -> Subscription[EventObject]:
        return self.events()


async def _call(handler: EventHandler, event: EventObject) -> None:
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # a handler's bug must not stop the others
        log.exception("event handler %r failed on %s", handler, event.type)
