"""``Background`` (aimeeting.tasks, shared by the SDK and the server): tasks started and not
awaited are held until done, their failures logged, and cancelled together."""

from __future__ import annotations

import asyncio
import logging

import pytest

from aimeeting.tasks import Background


async def test_a_task_is_held_until_done_and_its_failure_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background()
    release = asyncio.Event()

    async def wait_then_fail() -> None:
        await release.wait()
        raise RuntimeError("boom")

    task = background.spawn(wait_then_fail(), name="failing")
    assert len(background) == 1
    release.set()
    with caplog.at_level(logging.ERROR, logger="aimeeting.tasks"):
        async with asyncio.timeout(1):
            await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)  # the done callback runs
    assert len(background) == 0
    assert [r.getMessage() for r in caplog.records] == ["background task failing failed"]


async def test_cancel_stops_every_task_but_the_caller_and_waits_for_them() -> None:
    background = Background()
    stopped: list[str] = []

    async def forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    async def stopper() -> None:
        await background.stop()

    for name in ("a", "b"):
        background.spawn(forever(name))
    await asyncio.sleep(0)
    async with asyncio.timeout(1):
        await background.spawn(stopper())
    assert sorted(stopped) == ["a", "b"]
