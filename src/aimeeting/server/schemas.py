"""Types shared by the API schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer


def format_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z`` and milliseconds, e.g. ``2026-02-14T10:00:00.000Z``."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str, when_used="json-unless-none"),
]
