"""The group-commit batcher that seat joins go through: what waits while a batch is handled
forms the next batch, each request gets its own outcome, and a failed batch fails all of it."""

from __future__ import annotations

import asyncio

import pytest

from aimeeting.server.batching import Batcher, Outcomes


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def handle(self, batch: list[int]) -> Outcomes[int]:
        self.batches.append(batch)
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return [ValueError(n) if n < 0 else n * 10 for n in batch]


async def test_requests_waiting_for_a_batch_form_the_next_one_in_order() -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.handle, max_batch=100)
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # the first batch (of one) is being handled
    rest = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *rest), 5) == [10, 20, 30, 40]
    assert recorder.batches == [[1], [2, 3, 4]]


async def test_a_refused_request_refuses_nobody_else() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher = Batcher(recorder.handle, max_batch=100)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(batcher.submit(n) for n in (5, -1, 6)), return_exceptions=True), 5
    )
    assert outcomes[0] == 50 and outcomes[2] == 60
    assert isinstance(outcomes[1], ValueError)


async def test_a_failed_batch_fails_every_request_of_it_and_the_next_batch_runs() -> None:
    recorder = Recorder()
    recorder.fail_with = RuntimeError("database gone")
    recorder.release.set()
    batcher = Batcher(recorder.handle, max_batch=100)
    for outcome in await asyncio.wait_for(
        asyncio.gather(*(batcher.submit(n) for n in (1, 2)), return_exceptions=True), 5
    ):
        assert isinstance(outcome, RuntimeError)
    recorder.fail_with = None
    assert await asyncio.wait_for(batcher.submit(3), 5) == 30


async def test_batches_are_bounded() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher = Batcher(recorder.handle, max_batch=2)
    results = await asyncio.wait_for(asyncio.gather(*(batcher.submit(n) for n in range(5))), 5)
    assert results == [0, 10, 20, 30, 40]
    assert all(len(batch) <= 2 for batch in recorder.batches)
    assert [n for batch in recorder.batches for n in batch] == list(range(5))


@pytest.mark.parametrize("max_batch", [1, 3])
async def test_a_caller_that_gives_up_does_not_stop_the_others(max_batch: int) -> None:
    recorder = Recorder()
    batcher = Batcher(recorder.handle, max_batch=max_batch)
    gone = asyncio.create_task(batcher.submit(1))
    kept = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.release.set()
    assert await asyncio.wait_for(kept, 5) == 20
