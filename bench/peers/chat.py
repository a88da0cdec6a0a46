"""The chat event the Python peers broadcast: the fields and size of ours, none of its rules."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any


def user(user_id: str) -> dict[str, Any]:
    """A member as ours shows it (``sender``/``user``)."""
    return {"id": user_id, "nickname": "bench", "avatar": None}


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def chat_data(sender_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """What ours sends as ``chat_message.data`` for a client's ``chat_message``."""
    return {
        "message_id": f"msg_{secrets.token_hex(8)}",
        "room_id": data.get("room_id"),
        "sender": user(sender_id),
        "content": data.get("content"),
        "created_at": _now_rfc3339(),
        "client_msg_id": data.get("client_msg_id"),
    }


def now_ms() -> int:
    return time.time_ns() // 1_000_000
