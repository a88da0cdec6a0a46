"""What the server and its clients share: error codes and texts, and the wire format."""

from aimeeting.protocol.errors import ErrorCode, Language
from aimeeting.protocol.messages import (
    ClientMessage,
    CloseCode,
    MediaAction,
    MeetingStatus,
    ServerMessage,
)

__all__ = [
    "ClientMessage",
    "CloseCode",
    "ErrorCode",
    "Language",
    "MediaAction",
    "MeetingStatus",
    "ServerMessage",
]
