"""Tasks started and not awaited at once: the SDK's readers, heartbeats, closes and paced
re-sends; the server's grace ends, summaries and cluster recoveries.

The event loop keeps only a weak reference to a task: one nobody holds may be garbage
collected mid-flight. ``Background`` holds each task until it is done, logs a failure nobody
would otherwise see, and cancels or waits for them together. Every such task, in the SDK and
in the server, is started through one of these."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, T], name: str | None = None) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    def cancel(self) -> None:
        """Cancel every task (except the one calling)."""
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def wait(self) -> None:
        """Until every task (except the one calling) is done; failures were logged."""
        current = asyncio.current_task()
        others = [task for task in self._tasks if task is not current]
        if others:
            await asyncio.gather(*others, return_exceptions=True)

    async def stop(self) -> None:
        """Cancel every task (except the one calling) and wait until they are done."""
        self.cancel()
        await self.wait()

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    def __len__(self) -> int:
        return len(self._tasks)
