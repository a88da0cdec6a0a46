"""What a client may send over the WebSocket, validated like REST bodies (DECISIONS.md §2, §5)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from aimeeting.protocol.messages import (
    MAX_CAPTION_LENGTH,
    MAX_CHAT_LENGTH,
    MAX_CLIENT_MSG_ID_LENGTH,
    MediaAction,
)
from aimeeting.server.validation import RequestModel, clean_text, invalid


class RoomIn(RequestModel):
    """``join_room``, ``leave_room``: and the room every other message names."""

    room_id: str


class MediaControlIn(RoomIn):
    action: MediaAction = Field(strict=False)  # the enum's value, as JSON carries it
    value: bool


class ChatMessageIn(RoomIn):
    content: str
    client_msg_id: str | None = Field(None, description="extension: the sender's retry key")

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        return clean_text(
            value,
            field="content",
            min_length=1,
            max_length=MAX_CHAT_LENGTH,
            trimmed_max=True,
            allowed_controls="\n\t\r",
        )

    @field_validator("client_msg_id")
    @classmethod
    def _client_msg_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not 1 <= len(value) <= MAX_CLIENT_MSG_ID_LENGTH:
            raise invalid("client_msg_id", f"must be 1-{MAX_CLIENT_MSG_ID_LENGTH} characters")
        if not value.isprintable():
            raise invalid("client_msg_id", "must not contain control characters")
        return value


class WebRTCSignalIn(RoomIn):
    to_user_id: str
    signal: dict[str, Any]


# Unix milliseconds up to the last of year 9999: what a datetime holds.
_MAX_MS = 253_402_300_799_999


class CaptionIn(RoomIn):
    """From the assistant's account only (docs/assistant.md)."""

    user_id: str
    text: str
    start_ms: int = Field(ge=0, le=_MAX_MS)
    end_ms: int = Field(ge=0, le=_MAX_MS)
    final: bool

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return clean_text(
            value, field="text", min_length=1, max_length=MAX_CAPTION_LENGTH, trimmed_max=True
        )

    @field_validator("end_ms")
    @classmethod
    def _end_ms(cls, value: int, info: ValidationInfo) -> int:
        # A field validator, not a model one: the error then names ``end_ms`` in ``details``
        # (a model-level error has no field, and would be reported on "body").
        start = info.data.get("start_ms")
        if start is not None and start > value:
            raise invalid("end_ms", "must not be before start_ms")
        return value
