"""The pure parts of the SDK's connection (aimeeting.sdk.connection): the reconnect backoff and
how a round trip grades the network."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from aimeeting.sdk import ConnectionState, NetworkQuality, SDKConfig
from aimeeting.sdk.connection import DEAD_AFTER_MISSED, MeetingSocket, grade
from aimeeting.sdk.errors import MeetingError
from aimeeting.sdk.rest import RestClient


class Owner:
    """A ``SocketOwner`` that is never called: these tests do not connect."""

    def on_message(self, message: dict[str, Any]) -> None:
        raise AssertionError(message)

    async def enter(self, first: bool) -> None:
        raise AssertionError(first)

    def on_state(
        self,
        state: ConnectionState,
        code: int | None,
        reason: str | None,
        error: MeetingError | None,
    ) -> None:
        raise AssertionError(state)

    def on_quality(self, quality: NetworkQuality, rtt_ms: float | None, missed: int) -> None:
        raise AssertionError(quality)


@pytest.fixture
async def link() -> AsyncIterator[MeetingSocket]:
    config = SDKConfig.for_server(
        "http://127.0.0.1:9", reconnect_base_delay=0.25, reconnect_max_delay=5.0
    )
    rest = RestClient(config)
    yield MeetingSocket(config, rest, Owner())
    await rest.close()


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (5, 4.0), (6, 5.0), (7, 5.0), (10_000, 5.0)],
)
def test_backoff_doubles_from_the_base_up_to_the_max_with_jitter_below_it(
    link: MeetingSocket, attempt: int, ceiling: float
) -> None:
    delays = [link.backoff(attempt) for _ in range(300)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays), (min(delays), max(delays))
    assert max(delays) - min(delays) > ceiling / 4  # spread out, not one value for everyone


def test_backoff_at_the_jitters_extremes(
    link: MeetingSocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    assert [link.backoff(n) for n in (1, 3, 6)] == [0.125, 0.5, 2.5]
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    assert [link.backoff(n) for n in (1, 3, 6)] == [0.25, 1.0, 5.0]


@pytest.mark.parametrize(
    ("rtt_ms", "missed", "quality"),
    [
        (20.0, 0, NetworkQuality.GOOD),
        (149.9, 0, NetworkQuality.GOOD),
        (150.0, 0, NetworkQuality.FAIR),
        (499.9, 0, NetworkQuality.FAIR),
        (500.0, 0, NetworkQuality.POOR),
        (None, 0, NetworkQuality.POOR),  # no round trip measured yet
        (20.0, 1, NetworkQuality.POOR),  # one pong missed
        (20.0, DEAD_AFTER_MISSED, NetworkQuality.LOST),
        (None, DEAD_AFTER_MISSED + 1, NetworkQuality.LOST),
    ],
)
def test_grade_of_a_round_trip_and_the_pongs_missed(
    rtt_ms: float | None, missed: int, quality: NetworkQuality
) -> None:
    assert grade(rtt_ms, missed) is quality
