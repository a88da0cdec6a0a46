"""AI Meeting: client SDK and shared protocol.

Importing this package loads none of the server's dependencies (FastAPI, SQLAlchemy, ...);
the server lives in :mod:`aimeeting.server`, installed with the ``server`` extra.
"""

from aimeeting.protocol import ErrorCode
from aimeeting.sdk import (
    ChatMessage,
    ConnectionState,
    ConnectionStateChangedEvent,
    CreateMeetingOptions,
    ErrorEvent,
    EventHandler,
    EventObject,
    JoinMeetingOptions,
    LogLevel,
    MediaDeviceInfo,
    MediaDevices,
    MediaStateChangedEvent,
    Meeting,
    MeetingEndedEvent,
    MeetingError,
    MeetingEvent,
    MeetingSDK,
    MeetingState,
    NetworkQuality,
    NetworkQualityChangedEvent,
    Participant,
    SDKConfig,
    SDKErrorCode,
    Tokens,
    TURNServer,
    User,
    UserJoinedEvent,
    UserLeftEvent,
    WebRTCSignalEvent,
)

__version__ = "0.1.0"

__all__ = [
    "ChatMessage",
    "ConnectionState",
    "ConnectionStateChangedEvent",
    "CreateMeetingOptions",
    "ErrorCode",
    "ErrorEvent",
    "EventHandler",
    "EventObject",
    "JoinMeetingOptions",
    "LogLevel",
    "MediaDeviceInfo",
    "MediaDevices",
    "MediaStateChangedEvent",
    "Meeting",
    "MeetingEndedEvent",
    "MeetingError",
    "MeetingEvent",
    "MeetingSDK",
    "MeetingState",
    "NetworkQuality",
    "NetworkQualityChangedEvent",
    "Participant",
    "SDKConfig",
    "SDKErrorCode",
    "TURNServer",
    "Tokens",
    "User",
    "UserJoinedEvent",
    "UserLeftEvent",
    "WebRTCSignalEvent",
    "__version__",
]
