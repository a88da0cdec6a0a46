"""The Python client SDK (contract §3, DECISIONS §8): ``MeetingSDK`` and its types.

Needs only httpx, websockets and orjson; see docs/sdk.md.
"""

from aimeeting.sdk.client import MeetingSDK
from aimeeting.sdk.config import (
    CreateMeetingOptions,
    JoinMeetingOptions,
    LogLevel,
    SDKConfig,
    TURNServer,
)
from aimeeting.sdk.errors import MeetingError, SDKErrorCode
from aimeeting.sdk.events import EventHandler
from aimeeting.sdk.meeting import Meeting
from aimeeting.sdk.models import (
    ActionItem,
    AssistantInvitation,
    AssistantState,
    CaptionEvent,
    ChatMessage,
    ConnectionState,
    ConnectionStateChangedEvent,
    ErrorEvent,
    EventObject,
    MediaDeviceInfo,
    MediaDevices,
    MediaStateChangedEvent,
    MeetingEndedEvent,
    MeetingEvent,
    MeetingState,
    NetworkQuality,
    NetworkQualityChangedEvent,
    Participant,
    Summary,
    TrackAddedEvent,
    TrackKind,
    TrackRemovedEvent,
    TranscriptPage,
    TranscriptSegment,
    User,
    UserJoinedEvent,
    UserLeftEvent,
    WebRTCSignalEvent,
)
from aimeeting.sdk.rest import Tokens

__all__ = [
    "ActionItem",
    "AssistantInvitation",
    "AssistantState",
    "CaptionEvent",
    "ChatMessage",
    "ConnectionState",
    "ConnectionStateChangedEvent",
    "CreateMeetingOptions",
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
    "Summary",
    "TURNServer",
    "Tokens",
    "TrackAddedEvent",
    "TrackKind",
    "TrackRemovedEvent",
    "TranscriptPage",
    "TranscriptSegment",
    "User",
    "UserJoinedEvent",
    "UserLeftEvent",
    "WebRTCSignalEvent",
]
