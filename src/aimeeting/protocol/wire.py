"""The shape of every WebSocket message (docs/realtime.md, DECISIONS.md §5, §9): the one source.

The server sends exactly these, the SDKs read them, and the browser SDK's TypeScript types are
generated from this module (``python -m aimeeting.protocol.typescript``). The standard library's
typing only: importing it loads nothing else. Classes are defined before they are used (no
string annotations: Python 3.11's ``__required_keys__`` is only exact without them).

Times are RFC 3339 strings with milliseconds and ``Z``; the envelope's ``timestamp`` is Unix ms.
"""

from typing import Any, Literal, NotRequired, TypedDict

from aimeeting.protocol.errors import ErrorCode
from aimeeting.protocol.messages import MediaAction


class Envelope(TypedDict):
    """Every message, both ways. From a client, ``seq`` is optional (echoed as ``request_seq``),
    ``timestamp`` is ignored and ``data`` defaults to ``{}``; the server always sends all four."""

    type: str
    seq: int
    timestamp: int
    data: dict[str, Any]


# -- WebRTC signals (DECISIONS.md §9): what the SDKs put in ``webrtc_signal.signal`` ---------


class SessionDescription(TypedDict):
    type: Literal["offer", "answer"]
    sdp: str


class IceCandidate(TypedDict):
    candidate: str
    sdpMid: str | None
    sdpMLineIndex: int | None


class SessionDescriptionSignal(TypedDict):
    kind: Literal["description"]
    description: SessionDescription
    # extension (docs/sdk-js.md): the mid of the sender's m-line carrying its screen share
    screen_mid: NotRequired[str | None]


class CandidateSignal(TypedDict):
    kind: Literal["candidate"]
    candidate: IceCandidate | None  # null: no more candidates


Signal = SessionDescriptionSignal | CandidateSignal

# -- client → server -------------------------------------------------------------------------


class PingData(TypedDict):
    pass


class JoinRoomData(TypedDict):
    room_id: str


class LeaveRoomData(TypedDict):
    room_id: str


class MediaControlData(TypedDict):
    room_id: str
    action: MediaAction
    value: bool


class ChatMessageSendData(TypedDict):
    room_id: str
    content: str  # trimmed, then 1..MAX_CHAT_LENGTH characters
    client_msg_id: NotRequired[str]  # 1..MAX_CLIENT_MSG_ID_LENGTH; the sender's retry key


class WebRTCSignalSendData(TypedDict):
    room_id: str
    to_user_id: str
    signal: Signal


class CaptionSendData(TypedDict):
    """From the assistant's account only (docs/assistant.md)."""

    room_id: str
    user_id: str  # the speaker, holding a seat in the room
    text: str  # trimmed, then 1..MAX_CAPTION_LENGTH characters
    start_ms: int  # Unix milliseconds of the speech; start_ms <= end_ms
    end_ms: int
    final: bool  # false: a partial caption, replaced by the speaker's next one


# -- server → client -------------------------------------------------------------------------


class UserBrief(TypedDict):
    """What other members see of a user (``user_joined.user``, ``chat_message.sender``)."""

    id: str
    nickname: str
    avatar: str | None


class ParticipantData(TypedDict):
    """REST's ``Participant`` (``MeetingDetail.participants``): a user holding a seat now."""

    user_id: str
    nickname: str
    avatar: str | None
    joined_at: str
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool


class ConnectedData(TypedDict):
    user_id: str
    heartbeat_timeout: float  # seconds
    reconnect_grace: float  # seconds


class PongData(TypedDict):
    request_seq: int | None


class UserJoinedData(TypedDict):
    user: UserBrief
    room_id: str
    participant_count: int
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool
    joined_at: str


class RoomStateData(TypedDict):
    room_id: str
    participants: list[ParticipantData]  # oldest seat first
    # Extension: those of them connected to the room now, the one entering included. The one
    # entering offers to these (DECISIONS §9); the others offer when they enter.
    in_room: list[str]


class UserLeftData(TypedDict):
    user_id: str
    room_id: str
    participant_count: int


class MediaStateChangedData(TypedDict):
    user_id: str
    room_id: str
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool


class ChatMessageData(TypedDict):
    message_id: str
    room_id: str
    sender: UserBrief
    content: str
    created_at: str
    client_msg_id: str | None


class WebRTCSignalData(TypedDict):
    room_id: str
    from_user_id: str
    signal: dict[str, Any]  # relayed unread: a Signal from an SDK, but check its ``kind``


class CaptionData(TypedDict):
    """What the assistant heard ``user_id`` say; a final one is in the transcript already."""

    room_id: str
    user_id: str
    text: str
    start_ms: int
    end_ms: int
    final: bool


class MeetingEndedData(TypedDict):
    room_id: str
    ended_at: str


class ErrorData(TypedDict):
    code: ErrorCode
    message: str
    request_seq: int | None
    details: NotRequired[dict[str, Any]]  # which field, why (e.g. ``retry_after``)


# -- message type → data ---------------------------------------------------------------------


class ClientMessageData(TypedDict):
    ping: PingData
    join_room: JoinRoomData
    leave_room: LeaveRoomData
    media_control: MediaControlData
    chat_message: ChatMessageSendData
    webrtc_signal: WebRTCSignalSendData
    caption: CaptionSendData


class ServerMessageData(TypedDict):
    connected: ConnectedData
    pong: PongData
    user_joined: UserJoinedData
    room_state: RoomStateData
    user_left: UserLeftData
    media_state_changed: MediaStateChangedData
    chat_message: ChatMessageData
    webrtc_signal: WebRTCSignalData
    caption: CaptionData
    meeting_ended: MeetingEndedData
    error: ErrorData
