"""The contract's data types (``Participant``, ``MeetingState``, ``MeetingEvent``, devices) and
the event objects handlers receive: one frozen dataclass per event, whose attributes are that
event's ``data`` fields (``event.content``, ``event.sender.nickname``, ``event.user_id``).

Each type the server sends is read by one ``from_wire`` constructor, typed by the message's
``TypedDict`` in :mod:`aimeeting.protocol.wire` (so mypy holds the SDK to the server's shapes;
nothing is validated at run time). Extension fields older servers lack are read with defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from aimeeting.protocol import MeetingStatus
from aimeeting.protocol.wire import (
    CaptionData,
    ChatMessageData,
    ErrorData,
    MediaStateChangedData,
    MeetingEndedData,
    ParticipantData,
    UserBrief,
    UserJoinedData,
    UserLeftData,
    WebRTCSignalData,
)
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, server_error

if TYPE_CHECKING:  # the media extra's type; never imported at run time from here
    from aiortc import MediaStreamTrack


# The contract's name for the protocol's status (``waiting``, ``active``, ``ended``).
MeetingState = MeetingStatus


class MeetingEvent(StrEnum):
    USER_JOINED = "user_joined"
    USER_LEFT = "user_left"
    CHAT_MESSAGE = "chat_message"
    MEDIA_STATE_CHANGED = "media_state_changed"
    NETWORK_QUALITY_CHANGED = "network_quality_changed"
    ERROR = "error"
    # Extensions
    CONNECTION_STATE_CHANGED = "connection_state_changed"
    MEETING_ENDED = "meeting_ended"
    WEBRTC_SIGNAL = "webrtc_signal"
    TRACK_ADDED = "track_added"
    TRACK_REMOVED = "track_removed"
    CAPTION = "caption"  # the meeting assistant (docs/assistant.md)


class ConnectionState(StrEnum):
    """Extension: where the meeting's WebSocket stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DISCONNECTED = "disconnected"


class TrackKind(StrEnum):
    """Extension (DECISIONS §9): what a remote track carries."""

    AUDIO = "audio"
    VIDEO = "video"  # the camera
    SCREEN = "screen"  # a screen share


class NetworkQuality(StrEnum):
    """Levels of ``network_quality_changed`` (thresholds in docs/sdk.md)."""

    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    LOST = "lost"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time of the API (``2026-02-14T10:00:00.000Z``), or None."""
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass(frozen=True)
class User:
    id: str
    nickname: str
    avatar: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> User:
        """A user as REST shows it (``/users/me``: with the email)."""
        return cls(data["id"], data["nickname"], data.get("avatar"), data.get("email"))

    @classmethod
    def from_wire(cls, data: UserBrief) -> User:
        return cls(data["id"], data["nickname"], data.get("avatar"))


@dataclass(frozen=True)
class Participant:
    user_id: str
    nickname: str
    avatar: str | None
    audio_muted: bool
    video_muted: bool
    joined_at: datetime | None
    screen_sharing: bool = False  # extension; absent from older servers

    @classmethod
    def from_wire(cls, data: ParticipantData) -> Participant:
        """A seat of ``room_state`` (or of REST's ``MeetingDetail``)."""
        return cls._seat(data["user_id"], data["nickname"], data.get("avatar"), data)

    @classmethod
    def from_joined(cls, data: UserJoinedData) -> Participant:
        """The seat a ``user_joined`` announces."""
        user = data["user"]
        return cls._seat(user["id"], user["nickname"], user.get("avatar"), data)

    @classmethod
    def _seat(
        cls, user_id: str, nickname: str, avatar: str | None, seat: ParticipantData | UserJoinedData
    ) -> Participant:
        """Both messages name the seat's time and media flags alike."""
        return cls(
            user_id,
            nickname,
            avatar,
            audio_muted=bool(seat.get("audio_muted", False)),
            video_muted=bool(seat.get("video_muted", False)),
            joined_at=parse_time(seat.get("joined_at")),
            screen_sharing=bool(seat.get("screen_sharing", False)),
        )


@dataclass(frozen=True)
class MediaDeviceInfo:
    device_id: str
    label: str
    kind: Literal["videoinput", "audioinput", "audiooutput"]


@dataclass(frozen=True)
class MediaDevices:
    video_devices: list[MediaDeviceInfo] = field(default_factory=list)
    audio_input_devices: list[MediaDeviceInfo] = field(default_factory=list)
    audio_output_devices: list[MediaDeviceInfo] = field(default_factory=list)


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserJoinedEvent:
    room_id: str
    user: User
    participant_count: int
    audio_muted: bool
    video_muted: bool
    joined_at: datetime | None
    screen_sharing: bool = False  # extension
    type: MeetingEvent = MeetingEvent.USER_JOINED

    @property
    def user_id(self) -> str:
        return self.user.id

    @classmethod
    def from_wire(cls, data: UserJoinedData) -> UserJoinedEvent:
        seat = Participant.from_joined(data)
        return cls.of_participant(data["room_id"], seat, data["participant_count"])

    @classmethod
    def of_participant(cls, room_id: str, seat: Participant, count: int) -> UserJoinedEvent:
        """``seat``'s holder joined (from ``user_joined``, or seen first in a ``room_state``)."""
        user = User(seat.user_id, seat.nickname, seat.avatar)
        return cls(
            room_id,
            user,
            count,
            seat.audio_muted,
            seat.video_muted,
            seat.joined_at,
            seat.screen_sharing,
        )


@dataclass(frozen=True)
class UserLeftEvent:
    room_id: str
    user_id: str
    participant_count: int
    participant: Participant | None  # extension: who it was, as last seen
    type: MeetingEvent = MeetingEvent.USER_LEFT

    @classmethod
    def from_wire(cls, data: UserLeftData, participant: Participant | None) -> UserLeftEvent:
        return cls(data["room_id"], data["user_id"], data["participant_count"], participant)


@dataclass(frozen=True)
class ChatMessage:
    """A stored chat message: the ``chat_message`` event, and what ``send_chat_message``
    returns."""

    message_id: str
    room_id: str
    sender: User
    content: str
    created_at: datetime | None
    client_msg_id: str | None
    type: MeetingEvent = MeetingEvent.CHAT_MESSAGE

    @classmethod
    def from_wire(cls, data: ChatMessageData) -> ChatMessage:
        """A ``chat_message`` (or a message of REST's history: the same shape)."""
        return cls(
            message_id=data["message_id"],
            room_id=data["room_id"],
            sender=User.from_wire(data["sender"]),
            content=data["content"],
            created_at=parse_time(data.get("created_at")),
            client_msg_id=data.get("client_msg_id"),
        )


@dataclass(frozen=True)
class MediaStateChangedEvent:
    room_id: str
    user_id: str
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool = False  # extension
    type: MeetingEvent = MeetingEvent.MEDIA_STATE_CHANGED

    @classmethod
    def from_wire(cls, data: MediaStateChangedData) -> MediaStateChangedEvent:
        return cls(
            data["room_id"],
            data["user_id"],
            data["audio_muted"],
            data["video_muted"],
            bool(data.get("screen_sharing", False)),
        )


@dataclass(frozen=True)
class NetworkQualityChangedEvent:
    quality: NetworkQuality
    previous: NetworkQuality | None
    rtt_ms: float | None  # the last round trip; None when none was measured
    missed_pongs: int
    # Extension: from the media links' statistics, while media flows (else None).
    packet_loss: float | None = None  # 0..1, since the previous reading
    jitter_ms: float | None = None
    type: MeetingEvent = MeetingEvent.NETWORK_QUALITY_CHANGED


@dataclass(frozen=True)
class ErrorEvent:
    """Something failed outside any call (a refused message, a lost connection)."""

    error: MeetingError
    type: MeetingEvent = MeetingEvent.ERROR

    @classmethod
    def from_wire(cls, data: ErrorData) -> ErrorEvent:
        """An ``error`` the server sent (its ``request_seq`` says which request it refused)."""
        message = str(data.get("message", ""))
        return cls(server_error(data["code"], message, data.get("details")))

    @property
    def code(self) -> SDKErrorCode:
        return self.error.code

    @property
    def message(self) -> str:
        return self.error.message

    @property
    def details(self) -> Any:
        return self.error.details


@dataclass(frozen=True)
class ConnectionStateChangedEvent:
    state: ConnectionState
    previous: ConnectionState
    close_code: int | None = None  # the WebSocket close code that caused it, if any
    reason: str | None = None
    type: MeetingEvent = MeetingEvent.CONNECTION_STATE_CHANGED


@dataclass(frozen=True)
class MeetingEndedEvent:
    room_id: str
    ended_at: datetime | None
    type: MeetingEvent = MeetingEvent.MEETING_ENDED

    @classmethod
    def from_wire(cls, data: MeetingEndedData) -> MeetingEndedEvent:
        return cls(data["room_id"], parse_time(data.get("ended_at")))


@dataclass(frozen=True)
class WebRTCSignalEvent:
    """Extension: a WebRTC signal (SDP offer/answer, ICE candidate) another member sent us."""

    room_id: str
    from_user_id: str
    signal: dict[str, Any]
    type: MeetingEvent = MeetingEvent.WEBRTC_SIGNAL

    @classmethod
    def from_wire(cls, data: WebRTCSignalData) -> WebRTCSignalEvent:
        return cls(data["room_id"], data["from_user_id"], data["signal"])


@dataclass(frozen=True)
class TrackAddedEvent:
    """Extension (media extra): a member's track started to arrive. ``track`` is an aiortc
    ``MediaStreamTrack``: ``await event.track.recv()`` gives its frames."""

    user_id: str
    kind: TrackKind
    track: MediaStreamTrack
    type: MeetingEvent = MeetingEvent.TRACK_ADDED


@dataclass(frozen=True)
class TrackRemovedEvent:
    """Extension: that track ended (stopped, its member left, or the link closed)."""

    user_id: str
    kind: TrackKind
    type: MeetingEvent = MeetingEvent.TRACK_REMOVED


@dataclass(frozen=True)
class CaptionEvent:
    """Extension (docs/assistant.md): what the meeting assistant heard ``user_id`` say.
    A partial caption (``final`` False) is replaced by the next one of the same speaker."""

    room_id: str
    user_id: str
    text: str
    start_ms: int  # Unix milliseconds of the speech
    end_ms: int
    final: bool
    type: MeetingEvent = MeetingEvent.CAPTION

    @classmethod
    def from_wire(cls, data: CaptionData) -> CaptionEvent:
        return cls(
            data["room_id"],
            data["user_id"],
            data["text"],
            int(data["start_ms"]),
            int(data["end_ms"]),
            bool(data["final"]),
        )


# --- the meeting assistant (extension, docs/assistant.md) ---------------------------------


@dataclass(frozen=True)
class AssistantState:
    active: bool
    user_id: str  # the assistant's own user id
    language: str
    invited_by: str | None
    invited_at: datetime | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> AssistantState:
        return cls(
            bool(data["active"]),
            data["user_id"],
            data["language"],
            data.get("invited_by"),
            parse_time(data.get("invited_at")),
        )


@dataclass(frozen=True)
class AssistantInvitation:
    """A meeting the assistant is invited to (what its process polls)."""

    meeting_id: str
    meeting_number: str
    language: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> AssistantInvitation:
        return cls(data["meeting_id"], data["meeting_number"], data["language"])


@dataclass(frozen=True)
class TranscriptSegment:
    """One final caption, as stored."""

    id: str
    user_id: str
    nickname: str
    text: str
    start: datetime | None
    end: datetime | None

    @classmethod
    def of(cls, data: dict[str, Any]) -> TranscriptSegment:
        return cls(
            data["id"],
            data["user_id"],
            data["nickname"],
            data["text"],
            parse_time(data.get("start")),
            parse_time(data.get("end")),
        )


@dataclass(frozen=True)
class TranscriptPage:
    items: list[TranscriptSegment]
    has_more: bool  # ask again with ``after=items[-1].id``


@dataclass(frozen=True)
class ActionItem:
    text: str
    owner_user_id: str | None


@dataclass(frozen=True)
class Summary:
    """``status``: ``pending`` (being written), ``ready``, or ``none`` (nothing was said)."""

    status: Literal["pending", "ready", "none"]
    key_points: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, data: dict[str, Any]) -> Summary:
        body = data.get("summary") or {}
        return cls(
            data["status"],
            list(body.get("key_points", [])),
            list(body.get("decisions", [])),
            [ActionItem(a["text"], a.get("owner_user_id")) for a in body.get("action_items", [])],
            list(body.get("keywords", [])),
        )


EventObject = (
    UserJoinedEvent
    | UserLeftEvent
    | ChatMessage
    | MediaStateChangedEvent
    | NetworkQualityChangedEvent
    | ErrorEvent
    | ConnectionStateChangedEvent
    | MeetingEndedEvent
    | WebRTCSignalEvent
    | TrackAddedEvent
    | TrackRemovedEvent
    | CaptionEvent
)
