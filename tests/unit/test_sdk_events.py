"""The Python SDK's ``EventEmitter`` (aimeeting.sdk.events): ``on``/``off`` handlers called one
event at a time in order, and ``subscribe`` iterators, each with its own buffer."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest

from aimeeting.sdk import ConnectionState, MeetingEvent
from aimeeting.sdk.errors import MeetingError, SDKErrorCode
from aimeeting.sdk.events import EventEmitter
from aimeeting.sdk.models import ConnectionStateChangedEvent, ErrorEvent, EventObject


def error(n: int) -> ErrorEvent:
    return ErrorEvent(MeetingError(SDKErrorCode.NETWORK_ERROR, f"e{n}"))


def state(now: ConnectionState) -> ConnectionStateChangedEvent:
    return ConnectionStateChangedEvent(now, ConnectionState.CONNECTED)


async def drained(emitter: EventEmitter) -> None:
    """Every event emitted so far has been through its handlers."""
    await emitter.close(grace=2.0)


async def test_handlers_see_their_kind_in_order_one_event_at_a_time() -> None:
    emitter = EventEmitter()
    seen: list[str] = []

    async def slow(event: EventObject) -> None:
        seen.append(f"slow start {event.message}")
        await asyncio.sleep(0.01)  # the next event waits for this one
        seen.append(f"slow end {event.message}")

    emitter.on(MeetingEvent.ERROR, slow)
    emitter.on(MeetingEvent.ERROR, lambda event: seen.append(f"sync {event.message}"))
    emitter.on(MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: seen.append(f"state {e.state}"))
    emitter.emit(error(1))
    emitter.emit(state(ConnectionState.RECONNECTING))
    emitter.emit(error(2))
    assert seen == []  # emit never runs a handler itself
    await drained(emitter)
    assert seen == [
        "slow start e1",
        "slow end e1",
        "sync e1",
        "state reconnecting",
        "slow start e2",
        "slow end e2",
        "sync e2",
    ]


async def test_off_removes_a_handler_and_kinds_may_be_given_as_strings() -> None:
    emitter = EventEmitter()
    seen: list[str] = []

    def record(event: EventObject) -> None:
        seen.append(event.message)

    emitter.on("error", record)  # type: ignore[arg-type]  # what a caller may pass
    emitter.emit(error(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    emitter.off(MeetingEvent.ERROR, record)
    emitter.off(MeetingEvent.ERROR, record)  # not there any more: nothing happens
    emitter.off(MeetingEvent.USER_JOINED, record)
    emitter.emit(error(2))
    await drained(emitter)
    assert seen == ["e1"]
    with pytest.raises(ValueError):
        emitter.on("no_such_event", record)  # type: ignore[arg-type]


async def test_a_failing_handler_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter = EventEmitter()
    seen: list[str] = []

    def broken(event: EventObject) -> None:
        raise RuntimeError("handler bug")

    emitter.on(MeetingEvent.ERROR, broken)
    emitter.on(MeetingEvent.ERROR, lambda event: seen.append(event.message))
    with caplog.at_level(logging.ERROR, logger="aimeeting.sdk.events"):
        emitter.emit(error(1))
        emitter.emit(error(2))
        await drained(emitter)
    assert seen == ["e1", "e2"]
    failures = [r for r in caplog.records if "failed on" in r.getMessage()]
    assert len(failures) == 2 and failures[0].exc_info is not None


async def test_nothing_is_delivered_after_close_and_a_stuck_handler_is_cancelled() -> None:
    emitter = EventEmitter()
    started, cancelled = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def stuck(event: EventObject) -> None:
        seen.append(event.message)
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    emitter.on(MeetingEvent.ERROR, stuck)
    emitter.emit(error(1))
    await asyncio.wait_for(started.wait(), 1)
    await emitter.close(grace=0.05)
    await asyncio.wait_for(cancelled.wait(), 1)
    emitter.emit(error(2))
    await asyncio.sleep(0)
    assert emitter.closed and seen == ["e1"]


async def test_a_subscription_gets_its_kinds_from_now_on_then_ends_after_its_buffer() -> None:
    emitter = EventEmitter()
    emitter.emit(error(0))  # before the subscription: not in it
    errors = emitter.subscribe(MeetingEvent.ERROR)
    everything = emitter.subscribe()
    emitter.emit(error(1))
    emitter.emit(state(ConnectionState.RECONNECTING))
    emitter.emit(error(2))
    await emitter.close()
    assert [event.message async for event in errors] == ["e1", "e2"]
    assert [event.type async for event in everything] == [
        MeetingEvent.ERROR,
        MeetingEvent.CONNECTION_STATE_CHANGED,
        MeetingEvent.ERROR,
    ]
    late = emitter.subscribe()  # after the close: ends at once
    assert [event async for event in late] == []


async def test_a_closed_subscription_drops_what_it_held_and_gets_nothing_more() -> None:
    emitter = EventEmitter()
    subscription = emitter.subscribe()
    emitter.emit(error(1))
    await subscription.aclose()
    emitter.emit(error(2))
    assert [event async for event in subscription] == []
    assert subscription.dropped == 0


async def test_an_events_iterator_never_read_keeps_a_bounded_buffer() -> None:
    """An ``events()`` iterator made and forgotten, or kept and never read, must not grow
    without bound: it keeps the newest ``buffer`` events, and one nobody holds is dropped."""
    emitter = EventEmitter()
    unread = emitter.subscribe(MeetingEvent.ERROR, buffer=100)
    forgotten = emitter.subscribe()
    forgotten_ref = weakref.ref(forgotten)
    del forgotten
    gc.collect()
    assert forgotten_ref() is None  # not held by the emitter
    errors = [error(n) for n in range(250)]
    for event in errors:
        emitter.emit(event)
    assert unread.dropped == 150
    await emitter.close()
    assert [event async for event in unread] == errors[150:]  # the newest, in order


async def test_a_reader_waiting_for_the_next_event_is_woken_by_it() -> None:
    emitter = EventEmitter()
    subscription = emitter.subscribe(MeetingEvent.ERROR)
    reader = asyncio.create_task(anext(subscription))
    await asyncio.sleep(0)
    assert not reader.done()
    emitter.emit(state(ConnectionState.RECONNECTING))  # another kind: still waiting
    await asyncio.sleep(0)
    assert not reader.done()
    emitter.emit(error(1))
    assert (await asyncio.wait_for(reader, 1)).message == "e1"
    await emitter.close()


async def test_what_is_emitted_while_held_reaches_those_who_subscribe_before_the_release() -> None:
    # The meeting holds its events while it enters the room and releases them on the loop's
    # next turn: a subscriber made right after join_meeting returns still gets them, in order.
    emitter = EventEmitter()
    emitter.hold()
    emitter.emit(error(1))
    emitter.emit(error(2))
    asyncio.get_running_loop().call_soon(emitter.release)
    iterator = emitter.subscribe(MeetingEvent.ERROR)
    handled: list[str] = []
    emitter.on(MeetingEvent.ERROR, lambda event: handled.append(event.message))
    assert (await asyncio.wait_for(anext(iterator), 2)).message == "e1"
    emitter.emit(error(3))  # after the release: in order behind the held ones
    assert [(await asyncio.wait_for(anext(iterator), 2)).message for _ in range(2)] == ["e2", "e3"]
    await drained(emitter)
    assert handled == ["e1", "e2", "e3"]


async def test_a_close_while_held_delivers_the_held_events_first() -> None:
    emitter = EventEmitter()
    iterator = emitter.subscribe()
    emitter.hold()
    emitter.emit(error(1))
    await emitter.close()
    assert [event.message async for event in iterator] == ["e1"]
