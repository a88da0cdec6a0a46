"""SDK helpers for tests: signed-in SDK instances and an event recorder whose waits time out."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aimeeting import MeetingEvent, MeetingSDK, SDKConfig
from aimeeting.sdk import EventObject, Meeting
from tests.utils.api import PASSWORD, unique_email

TIMEOUT = 10.0


def config(url: str, **options: Any) -> SDKConfig:
    options.setdefault("request_timeout", 5.0)
    options.setdefault("reconnect_base_delay", 0.05)
    options.setdefault("reconnect_max_delay", 0.5)
    # Media only where a test asks for it (tests/test_media*.py): the others are about the
    # WebSocket, and aiortc would gather on the host's interfaces.
    options.setdefault("media", False)
    return SDKConfig.for_server(url, **options)


async def signed_in(url: str, nickname: str, **options: Any) -> MeetingSDK:
    sdk = MeetingSDK()
    await sdk.initialize(config(url, **options))
    await sdk.register(unique_email(nickname.lower()), PASSWORD, nickname)
    return sdk


async def meet(joiner: MeetingSDK, creator: MeetingSDK) -> tuple[Meeting, Meeting]:
    """``creator`` creates a meeting and ``joiner`` joins it: (the joined, the created)."""
    created = await creator.create_meeting()
    joined = await joiner.join_meeting(created.meeting_number)
    return joined, created


class Recorder:
    """Every event of a meeting, in order, as the ``on`` handlers saw them."""

    def __init__(self, meeting: Meeting) -> None:
        self.events: list[EventObject] = []
        self._changed = asyncio.Event()
        for kind in MeetingEvent:
            meeting.on(kind, self._record)

    def _record(self, event: EventObject) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: MeetingEvent) -> list[Any]:
        return [event for event in self.events if event.type is kind]

    async def wait(
        self,
        kind: MeetingEvent,
        check: Callable[[Any], bool] = lambda _: True,
        timeout: float = TIMEOUT,
    ) -> Any:
        """The first recorded event of ``kind`` that passes ``check`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.of(kind):
                if check(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind} event within {timeout}s: {self.events}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def until(self, condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s: {self.events}")
            await asyncio.sleep(0.02)
