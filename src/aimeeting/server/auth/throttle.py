"""Login throttles (DECISIONS.md §3): a rolling window per client IP, a lockout per account."""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime, timedelta
from typing import Protocol

from aimeeting.protocol import ErrorCode
from aimeeting.server.config import Lockout, RateLimit
from aimeeting.server.db import Database
from aimeeting.server.db.models import LoginFailure
from aimeeting.server.errors import Throttled


class RateLimiter(Protocol):
    async def hit(self, key: str) -> None:
        """Count one event, or raise ``Throttled`` (the refused event is not counted)."""


class SlidingWindowLimiter:
    """At most ``limit.count`` events per key in any ``limit.period`` seconds (in-process).

    The multi-node variant, ``aimeeting.server.cluster.limiter.RedisLimiter``, counts in Redis.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._events: dict[str, deque[float]] = {}
        self._hits_since_sweep = 0

    async def hit(self, key: str) -> None:
        now = time.monotonic()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.limit.period:
            events.popleft()
        if len(events) >= self.limit.count:
            raise Throttled(ErrorCode.TOO_MANY_REQUESTS, events[0] + self.limit.period - now)
        events.append(now)
        self._sweep_now_and_then(now)

    def _sweep_now_and_then(self, now: float) -> None:
        # Forget idle keys, so that many one-off clients don't grow memory for ever.
        self._hits_since_sweep += 1
        if self._hits_since_sweep < 1024:
            return
        self._hits_since_sweep = 0
        horizon = now - self.limit.period
        for key in [key for key, events in self._events.items() if events[-1] <= horizon]:
            del self._events[key]


class AccountLockout:
    """Consecutive failed passwords per email, kept in the database so every node sees them."""

    def __init__(self, db: Database, policy: Lockout) -> None:
        self.db = db
        self.policy = policy

    async def check(self, email: str, now: datetime) -> int:
        """Raise ``Throttled`` while the email is locked; else the failures counted so far."""
        async with self.db.read() as session:
            row = await session.get(LoginFailure, email)
        if row is None:
            return 0
        if row.locked_until is not None and row.locked_until > now:
            raise Throttled(ErrorCode.ACCOUNT_LOCKED, (row.locked_until - now).total_seconds())
        return row.failures

    async def record_failure(self, email: str, now: datetime) -> None:
        async with self.db.write() as session:
            await session.execute(self.db.insert_or_ignore(LoginFailure, email=email, failures=0))
            row = await session.get(
                LoginFailure, email, with_for_update=True, populate_existing=True
            )
            assert row is not None
            if row.locked_until is not None and row.locked_until <= now:
                row.failures, row.locked_until = 0, None  # an expired lock starts a new count
            row.failures += 1
            if row.failures >= self.policy.failures:
                row.locked_until = now + timedelta(minutes=self.policy.minutes)

    async def record_success(self, email: str) -> None:
        """Forget the failures: a success resets the count."""
        async with self.db.write() as session:
            row = await session.get(LoginFailure, email)
            if row is not None:
                await session.delete(row)
