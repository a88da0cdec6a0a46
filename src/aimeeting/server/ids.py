"""Opaque, prefixed identifiers (DECISIONS.md §4) and the clock."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

_ID = re.compile(r"[a-z]+_[0-9a-f]{16}")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def is_well_formed(prefix: str, value: str) -> bool:
    """Whether ``value`` could be an id we issued: anything else is unknown without a query
    (and odd bytes such as NUL never reach the database)."""
    return value.startswith(f"{prefix}_") and _ID.fullmatch(value) is not None


def new_meeting_number() -> str:
    """Nine random digits, the first one 1-9."""
    return str(secrets.randbelow(900_000_000) + 100_000_000)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock:
    """Strictly increasing times from one process: rows read back in (created_at, id) order
    come back in the order they were made (chat history, transcripts)."""

    TICK = timedelta(microseconds=1)

    def __init__(self) -> None:
        self._last = utcnow()

    def next(self, after: datetime | None = None) -> datetime:
        """Now, or just after the last time given out, and after ``after`` (another node's)."""
        floor = max(self._last, after) if after is not None else self._last
        self._last = max(utcnow(), floor + self.TICK)
        return self._last
