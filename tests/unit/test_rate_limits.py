"""The in-process rate limits, on a clock the test moves: the rate setting
(aimeeting.server.config.RateLimit), a WebSocket connection's token bucket
(aimeeting.server.realtime.connection) and the login limit's sliding window
(aimeeting.server.auth.throttle, DECISIONS.md §3)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aimeeting.protocol import ErrorCode
from aimeeting.server.auth import throttle
from aimeeting.server.auth.throttle import SlidingWindowLimiter
from aimeeting.server.config import RateLimit
from aimeeting.server.errors import Throttled
from aimeeting.server.realtime import connection
from aimeeting.server.realtime.connection import TokenBucket


class Clock:
    """``time.monotonic`` for one module, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    fake_time = SimpleNamespace(monotonic=clock.monotonic)
    monkeypatch.setattr(connection, "time", fake_time)
    monkeypatch.setattr(throttle, "time", fake_time)
    return clock


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [("5/minute", 5, 60.0), ("10/second", 10, 1.0), ("5/60", 5, 60.0), ("1000/second", 1000, 1.0),
     (" 3 / 2 hours ", 3, 7200.0), ("20/day", 20, 86400.0), ("1/0.5", 1, 0.5)],
)  # fmt: skip
def test_a_rate_is_parsed_as_count_per_seconds(text: str, count: int, period: float) -> None:
    assert RateLimit.parse(text) == RateLimit(count, period)


@pytest.mark.parametrize("text", ["often", "", "5", "5/", "0/minute", "5/0", "-1/minute", "5/week"])
def test_a_bad_rate_is_refused_with_what_was_expected(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        RateLimit.parse(text)


def test_the_bucket_allows_a_burst_of_its_capacity_then_one_per_refill(clock: Clock) -> None:
    bucket = TokenBucket(RateLimit(4, 1.0))  # times exact in binary: no rounding below
    assert [bucket.take() for _ in range(4)] == [0.0, 0.0, 0.0, 0.0]
    assert bucket.take() == 0.25  # the wait for the next token
    clock.now += 0.125
    assert bucket.take() == 0.125  # half a token there, half to wait
    clock.now += 0.125
    assert bucket.take() == 0.0
    assert bucket.take() == 0.25


def test_an_idle_bucket_refills_only_up_to_its_capacity(clock: Clock) -> None:
    bucket = TokenBucket(RateLimit(2, 10.0))
    bucket.take()
    bucket.take()
    clock.now += 3600
    assert [bucket.take() for _ in range(2)] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(5.0)


async def test_the_window_refuses_past_its_count_and_says_how_long_to_wait(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(RateLimit(2, 10.0))
    await limiter.hit("10.0.0.1")
    clock.now += 1
    await limiter.hit("10.0.0.1")
    await limiter.hit("10.0.0.2")  # another key: its own window
    clock.now += 1
    with pytest.raises(Throttled) as refused:
        await limiter.hit("10.0.0.1")
    assert refused.value.code is ErrorCode.TOO_MANY_REQUESTS
    assert refused.value.details == {"retry_after": 8}  # until the first hit leaves the window
    clock.now += 8  # the first hit is out; the refused one was never counted
    await limiter.hit("10.0.0.1")
    with pytest.raises(Throttled) as again:
        await limiter.hit("10.0.0.1")
    assert again.value.details == {"retry_after": 1}


async def test_idle_keys_are_forgotten_now_and_then(clock: Clock) -> None:
    limiter = SlidingWindowLimiter(RateLimit(5, 1.0))
    for n in range(1023):
        await limiter.hit(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._events) == 1023
    clock.now += 2  # every one of them idle for longer than the window
    await limiter.hit("10.9.9.9")  # the 1024th hit sweeps
    assert list(limiter._events) == ["10.9.9.9"]
