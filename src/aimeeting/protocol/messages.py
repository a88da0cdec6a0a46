"""The WebSocket protocol (contract §2, DECISIONS.md §5): message types and close codes.

Shared by the server and the SDK, so that both name every message the same way.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ClientMessage(StrEnum):
    """What a client sends."""

    PING = "ping"
    JOIN_ROOM = "join_room"
    LEAVE_ROOM = "leave_room"
    MEDIA_CONTROL = "media_control"
    CHAT_MESSAGE = "chat_message"
    WEBRTC_SIGNAL = "webrtc_signal"  # extension
    CAPTION = "caption"  # extension: the meeting assistant only (docs/assistant.md)


class ServerMessage(StrEnum):
    """What the server sends."""

    CONNECTED = "connected"
    PONG = "pong"
    USER_JOINED = "user_joined"
    USER_LEFT = "user_left"
    MEDIA_STATE_CHANGED = "media_state_changed"
    CHAT_MESSAGE = "chat_message"
    ERROR = "error"
    ROOM_STATE = "room_state"  # extension
    MEETING_ENDED = "meeting_ended"  # extension
    WEBRTC_SIGNAL = "webrtc_signal"  # extension
    CAPTION = "caption"  # extension (docs/assistant.md)


class MeetingStatus(StrEnum):
    """A meeting's status (contract ``Meeting.status``): no seat taken yet, seats taken, over.
    A waiting meeting past its expiry reads as ended."""

    WAITING = "waiting"
    ACTIVE = "active"
    ENDED = "ended"


class MediaAction(StrEnum):
    MUTE_AUDIO = "mute_audio"
    MUTE_VIDEO = "mute_video"
    SCREEN_SHARE = "screen_share"  # extension: value true while sharing (DECISIONS §9)


class CloseCode(IntEnum):
    GOING_AWAY = 1001  # the server shuts down
    POLICY_VIOLATION = 1008  # the client does not read what it is sent
    MESSAGE_TOO_BIG = 1009
    TRY_AGAIN_LATER = 1013  # the server cannot serve the connection now (database unreachable)
    UNAUTHORIZED = 4401  # bad token at connect, or the session logged out
    HEARTBEAT_TIMEOUT = 4408
    TAKEN_OVER = 4409  # the same user's newer connection joined the room
    MEETING_ENDED = 4410


MAX_CHAT_LENGTH = 2000
MAX_CLIENT_MSG_ID_LENGTH = 64
MAX_CAPTION_LENGTH = 1000
