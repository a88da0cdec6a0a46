"""Server → client messages, encoded once however many connections receive them.

The contract's envelope carries a per-connection ``seq``, so the envelope differs per receiver;
everything after the seq (timestamp and data) does not, and is serialized once per event.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from aimeeting.protocol import ErrorCode, Language, ServerMessage


class Event:
    """One server message, with the part of its envelope that is the same for every receiver
    (`,"timestamp":…,"data":…}`) serialized once."""

    __slots__ = ("tail", "type")

    def __init__(self, type: ServerMessage, data: dict[str, Any]) -> None:
        self.type = type
        timestamp = time.time_ns() // 1_000_000
        self.tail = f',"timestamp":{timestamp},"data":{orjson.dumps(data).decode()}}}'

    @classmethod
    def from_tail(cls, type: ServerMessage, tail: str) -> Event:
        """An event serialized elsewhere (another node): every node sends the same bytes."""
        event = cls.__new__(cls)
        event.type, event.tail = type, tail
        return event

    def envelope(self, seq: int) -> str:
        return f'{{"type":"{self.type.value}","seq":{seq}{self.tail}'


def error_event(
    code: ErrorCode,
    request_seq: int | None,
    lang: Language,
    details: dict[str, Any] | None = None,
) -> Event:
    data: dict[str, Any] = {"code": int(code), "message": code.message(lang)}
    data["request_seq"] = request_seq
    if details:
        data["details"] = details
    return Event(ServerMessage.ERROR, data)
