"""Group commit: requests that arrive while one batch is being written form the next batch.

Under load a write transaction costs about the same for one row as for a hundred (the round
trips to the database, BEGIN and COMMIT dominate), so concurrent writers share one. At a light
load a batch holds a single request and nothing waits for a timer. The chat relay
(``realtime.chat.ChatRelay``) follows the same pattern, with its ordering rules on top.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Per request: its result, or the exception that refuses it alone.
Outcomes = Sequence[R | BaseException]


class Batcher(Generic[T, R]):
    """``submit`` hands a request to ``handle`` together with whatever else is waiting.

    ``handle`` gets the batch in arrival order and returns one outcome per request: a result,
    or an exception refusing that request only. If ``handle`` raises, every request of the
    batch gets that exception (its transaction was rolled back, so none of them took effect).
    """

    def __init__(self, handle: Callable[[list[T]], Awaitable[Outcomes[R]]], max_batch: int) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, request: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((request, done))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._run(batch)
        except BaseException:
            # Cancelled (the server stops): nothing will handle what still waits.
            for _, done in self._queue:
                done.cancel()
            self._queue.clear()
            raise
        finally:
            self._drainer = None

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._handle([request for request, _ in batch])
        except Exception as exc:  # the transaction was rolled back: nobody's request took effect
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        except BaseException:  # cancelled (the server stops): so are the batch's requests
            for _, done in batch:
                done.cancel()
            raise
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if done.done():  # its caller gave up (cancelled)
                continue
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)
