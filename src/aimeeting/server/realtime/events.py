"""Server → client messages, encoded once however many connections receive them.

The contract's envelope carries a per-connection ``seq``, so the envelope differs per receiver;
everything after the seq (timestamp and data) does not, and is serialized once per event.

Each type's ``data`` is the ``TypedDict`` :mod:`aimeeting.protocol.wire` gives it, checked by
mypy through ``Event``'s overloads (a typo'd or missing field does not type-check; nothing is
checked at run time).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal, overload

import orjson

from aimeeting.protocol import ErrorCode, Language, ServerMessage
from aimeeting.protocol.wire import (
    CaptionData,
    ChatMessageData,
    ConnectedData,
    ErrorData,
    MediaStateChangedData,
    MeetingEndedData,
    PongData,
    RoomStateData,
    UserJoinedData,
    UserLeftData,
    WebRTCSignalData,
)


class Event:
    """One server message, with the part of its envelope that is the same for every receiver
    (`,"timestamp":…,"data":…}`) serialized once."""

    __slots__ = ("tail", "type")

    # One overload per server message: its type names its data's shape.
    @overload
    def __init__(self, type: Literal[ServerMessage.CONNECTED], data: ConnectedData) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.PONG], data: PongData) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.USER_JOINED], data: UserJoinedData) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.ROOM_STATE], data: RoomStateData) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.USER_LEFT], data: UserLeftData) -> None: ...
    @overload
    def __init__(
        self, type: Literal[ServerMessage.MEDIA_STATE_CHANGED], data: MediaStateChangedData
    ) -> None: ...
    @overload
    def __init__(
        self, type: Literal[ServerMessage.CHAT_MESSAGE], data: ChatMessageData
    ) -> None: ...
    @overload
    def __init__(
        self, type: Literal[ServerMessage.WEBRTC_SIGNAL], data: WebRTCSignalData
    ) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.CAPTION], data: CaptionData) -> None: ...
    @overload
    def __init__(
        self, type: Literal[ServerMessage.MEETING_ENDED], data: MeetingEndedData
    ) -> None: ...
    @overload
    def __init__(self, type: Literal[ServerMessage.ERROR], data: ErrorData) -> None: ...

    def __init__(self, type: ServerMessage, data: Mapping[str, object]) -> None:
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
    data: ErrorData = {"code": code, "message": code.message(lang), "request_seq": request_seq}
    if details:
        data["details"] = details
    return Event(ServerMessage.ERROR, data)
