"""Server → client messages, encoded once however many connections receive them.

The contract's envelope carries a per-connection ``seq``, so the envelope differs per receiver;
everything after the seq (timestamp and data) does not, and is serialized once per event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from aimeeting.protocol import ErrorCode, Language, ServerMessage


@dataclass(frozen=True, slots=True)
class Event:
    type: ServerMessage
    data: dict[str, Any]
    timestamp: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    # `,"timestamp":…,"data":…}`: the part of the envelope that is the same for everyone.
    tail: str = field(init=False)

    def __post_init__(self) -> None:
        data = orjson.dumps(self.data).decode()
        object.__setattr__(self, "tail", f',"timestamp":{self.timestamp},"data":{data}}}')

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
