"""``LocalRoomLocks`` (aimeeting.server.realtime.locks): one lock per room on one node, kept only
while someone holds or awaits it."""

from __future__ import annotations

import asyncio

import pytest

from aimeeting.server.realtime.locks import LocalRoomLocks


async def test_one_holder_at_a_time_per_room_in_arrival_order() -> None:
    locks = LocalRoomLocks()
    trace: list[str] = []
    release = asyncio.Event()

    async def hold(name: str, wait: asyncio.Event | None = None) -> None:
        async with locks.hold("room_a"):
            trace.append(f"{name} in")
            if wait is not None:
                await wait.wait()
            await asyncio.sleep(0)
            trace.append(f"{name} out")

    first = asyncio.create_task(hold("first", release))
    await asyncio.sleep(0)
    others = [asyncio.create_task(hold(name)) for name in ("second", "third")]
    for _ in range(5):
        await asyncio.sleep(0)
    assert trace == ["first in"]  # the others wait
    release.set()
    async with asyncio.timeout(1):
        await asyncio.gather(first, *others)
    assert trace == ["first in", "first out", "second in", "second out", "third in", "third out"]


async def test_rooms_do_not_wait_for_each_other() -> None:
    locks = LocalRoomLocks()
    async with locks.hold("room_a"):
        async with asyncio.timeout(1):  # would deadlock if rooms shared a lock
            async with locks.hold("room_b"):
                pass


async def test_a_lock_is_forgotten_once_nobody_holds_or_awaits_it() -> None:
    locks = LocalRoomLocks()
    async with locks.hold("room_a"):
        waiter = asyncio.create_task(_enter(locks, "room_a"))
        await asyncio.sleep(0)
        assert len(locks._locks) == 1  # one lock, held and awaited
    async with asyncio.timeout(1):
        await waiter
    assert locks._locks == {}

    with pytest.raises(RuntimeError, match="boom"):
        async with locks.hold("room_a"):
            raise RuntimeError("boom")
    assert locks._locks == {}  # released and forgotten after an error too
    async with asyncio.timeout(1):
        await _enter(locks, "room_a")  # and free for the next one


async def test_a_waiter_cancelled_before_its_turn_neither_holds_nor_leaks_the_lock() -> None:
    locks = LocalRoomLocks()
    entered: list[str] = []
    async with locks.hold("room_a"):
        cancelled = asyncio.create_task(_enter(locks, "room_a", entered, "cancelled"))
        patient = asyncio.create_task(_enter(locks, "room_a", entered, "patient"))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
    async with asyncio.timeout(1):
        await patient
    assert cancelled.cancelled() and entered == ["patient"]
    assert locks._locks == {}


async def _enter(
    locks: LocalRoomLocks, room_id: str, entered: list[str] | None = None, name: str = ""
) -> None:
    async with locks.hold(room_id):
        if entered is not None:
            entered.append(name)
