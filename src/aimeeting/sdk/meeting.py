"""``Meeting``: a room entered over its own WebSocket. Keeps ``participants`` and ``state``
current, turns server messages into events, and after a reconnect rejoins, fetches the chat
missed meanwhile and re-sends what was not echoed (with its ``client_msg_id``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from aimeeting.protocol import ClientMessage, CloseCode, ErrorCode, MediaAction, ServerMessage
from aimeeting.protocol.messages import MAX_CHAT_LENGTH
from aimeeting.sdk import media
from aimeeting.sdk.config import JoinMeetingOptions, SDKConfig
from aimeeting.sdk.connection import Link
from aimeeting.sdk.errors import (
    MeetingError,
    SDKErrorCode,
    invalid_argument,
    network_error,
    server_error,
)
from aimeeting.sdk.events import EventEmitter, EventHandler, Subscription
from aimeeting.sdk.media.quality import LinkFigures, QualityReporter
from aimeeting.sdk.models import (
    AssistantState,
    CaptionEvent,
    ChatMessage,
    ConnectionState,
    ConnectionStateChangedEvent,
    ErrorEvent,
    EventObject,
    MediaStateChangedEvent,
    MeetingEndedEvent,
    MeetingEvent,
    MeetingState,
    NetworkQuality,
    Participant,
    User,
    UserJoinedEvent,
    UserLeftEvent,
    WebRTCSignalEvent,
    parse_time,
)
from aimeeting.sdk.rest import RestClient
from aimeeting.sdk.tasks import Background

if TYPE_CHECKING:
    from aimeeting.sdk.media.mesh import Mesh
    from aimeeting.sdk.media.tracks import LocalMedia

log = logging.getLogger("aimeeting.sdk.meeting")

HISTORY_PAGE = 100
HISTORY_MAX_PAGES = 20  # catch-up reads at most 2,000 missed messages
# Chat queued while away goes out at most 8 a second (the server allows a user 10 a second
# by default): a long reconnect's backlog is not refused (42901) for coming in one burst.
CHAT_RESEND_INTERVAL = 0.125
# A chat refused with 42901 is sent again after the server's ``retry_after``; this many
# refusals of one message, and it fails (the send raises, and an ERROR event says so).
CHAT_MAX_REFUSALS = 5


@dataclass
class _PendingChat:
    """A chat message sent (or queued) and not yet echoed by the server."""

    content: str
    future: asyncio.Future[ChatMessage]
    sent_on: object = None  # the transport it was last sent on
    refusals: int = 0  # times the server refused it as too many (42901)


class Meeting:
    """A meeting you are in. Made by ``MeetingSDK.create_meeting``/``join_meeting``."""

    def __init__(
        self,
        rest: RestClient,
        config: SDKConfig,
        me: User,
        detail: dict[str, Any],
        options: JoinMeetingOptions | None = None,
    ):
        self._rest = rest
        self._config = config
        self._options = options or JoinMeetingOptions()
        self._me = me
        self.id: str = detail["id"]
        self.meeting_number: str = detail["meeting_number"]
        self.title: str | None = detail.get("title")
        self.creator_id: str | None = detail.get("creator_id")
        self.state = MeetingState(detail.get("status", MeetingState.ACTIVE))
        self._participants = {
            p["user_id"]: Participant.of(p) for p in detail.get("participants", [])
        }
        self._events = EventEmitter()
        self._link = Link(config, rest, self)
        self._pending: dict[str, _PendingChat] = {}
        self._chat_seqs: dict[int, str] = {}  # seq on the current socket → client_msg_id
        self._seen: set[str] = set()  # message ids delivered, so none is delivered twice
        self._held: list[dict[str, Any]] | None = None  # live chat held during a catch-up
        self._quality = QualityReporter()
        self._signal_seqs: set[int] = set()  # our signals: a refusal of one is no error event
        self._local: LocalMedia | None = None
        self._mesh: Mesh | None = None
        self._seat_time: datetime | None = None  # when we first took our seat (server clock)
        self._last_state = ConnectionState.DISCONNECTED
        self._starting = False
        self._closed = False
        self._tasks = Background()  # the outbox, a close the server started
        self._outbox: asyncio.Task[None] | None = None  # sends queued chat, paced
        self._entered_on: object = None  # the transport whose room entry is complete
        self._chat_resume_at = 0.0  # loop time: no chat goes out before (after a 42901)

    # --- the contract's properties ----------------------------------------------------------

    @property
    def participants(self) -> list[Participant]:
        """Who holds a seat now, oldest seat first."""
        return list(self._participants.values())

    @property
    def local_user_id(self) -> str:
        """Extension: the id of the user this SDK is signed in as."""
        return self._me.id

    @property
    def connection_state(self) -> ConnectionState:
        """Extension: connected, reconnecting, or disconnected."""
        return self._link.state

    @property
    def network_quality(self) -> NetworkQuality | None:
        return self._quality.current

    # --- the contract's methods -------------------------------------------------------------

    async def leave(self) -> None:
        """Leave the room (the seat is released at once) and close. Idempotent."""
        if self._closed:
            return
        if self._link.connected:
            with contextlib.suppress(MeetingError):
                await self._link.send(ClientMessage.LEAVE_ROOM, {"room_id": self.id})
                # Messages are handled in order: the pong says the leave is done.
                await self._link.ping()
        await self._close(network_error("you left the meeting"))

    async def mute_audio(self, muted: bool) -> None:
        await self._media(MediaAction.MUTE_AUDIO, muted)

    async def mute_video(self, muted: bool) -> None:
        await self._media(MediaAction.MUTE_VIDEO, muted)

    async def send_chat_message(self, content: str) -> ChatMessage:
        """Send a chat message; returns it as stored, once the server echoed it.

        Sent while reconnecting, it waits and goes out after the rejoin; a message whose echo
        was lost is sent again with the same ``client_msg_id`` (the server stores it once).
        """
        text = content.strip() if isinstance(content, str) else ""
        if not 1 <= len(text) <= MAX_CHAT_LENGTH:
            raise invalid_argument(f"content must be 1-{MAX_CHAT_LENGTH} characters")
        self._ensure_open()
        client_msg_id = uuid.uuid4().hex
        pending = _PendingChat(content, asyncio.get_running_loop().create_future())
        self._pending[client_msg_id] = pending
        try:
            if self._link.connected and not self._queueing:
                await self._send_chat(client_msg_id, pending)
            return await pending.future
        finally:
            self._pending.pop(client_msg_id, None)

    async def send_signal(self, to_user_id: str, signal: dict[str, Any]) -> None:
        """Extension: relay a WebRTC ``signal`` (any JSON object: SDP offer/answer, ICE
        candidate) to one member, who gets it as ``WEBRTC_SIGNAL``. Returns once the server
        accepted it. A member not connected to the room is ``INVALID_ARGUMENT`` (40401).

        Unlike chat, a signal is not re-sent after a reconnect: one lost with the connection
        raises ``NETWORK_ERROR`` (a stale offer is worth less than a fresh negotiation).
        """
        if not isinstance(to_user_id, str) or not to_user_id:
            raise invalid_argument("to_user_id must be a user id")
        if not isinstance(signal, dict):
            raise invalid_argument("signal must be a JSON object (a dict)")
        try:
            orjson.dumps(signal)
        except orjson.JSONEncodeError as exc:
            raise invalid_argument("signal must be JSON-serializable", reason=str(exc)) from exc
        self._ensure_open()
        data = {"room_id": self.id, "to_user_id": to_user_id, "signal": signal}
        await self._link.deliver(ClientMessage.WEBRTC_SIGNAL, data)

    def on(self, event: MeetingEvent, handler: EventHandler) -> None:
        """Call ``handler(event_object)`` (a function or a coroutine) for each such event."""
        self._events.on(event, handler)

    def off(self, event: MeetingEvent, handler: EventHandler) -> None:
        self._events.off(event, handler)

    def events(self, *kinds: MeetingEvent) -> Subscription:
        """``async for event in meeting.events()``: every event (or only ``kinds``) from this
        call on (subscribed at once, not at the first step) until the meeting is left, ends,
        or its connection is lost for good. Holds at most ``SUBSCRIPTION_BUFFER`` unread
        events (the oldest are then dropped, with a warning); ``aclose()`` unsubscribes."""
        return self._events.subscribe(*kinds)

    def __aiter__(self) -> AsyncIterator[EventObject]:
        return self.events()

    # --- extensions -------------------------------------------------------------------------

    async def end(self) -> None:
        """End the meeting for everyone (its creator only; else PERMISSION_DENIED)."""
        await self._rest.call("POST", f"/meetings/{self.id}/end")

    async def chat_history(self, limit: int = 50, before: str | None = None) -> list[ChatMessage]:
        """Stored chat, newest first (``before``: a message id, to page on)."""
        data = await self._history_page(limit, before)
        return [ChatMessage.of(m) for m in data["messages"]]

    # --- the meeting assistant (extension, docs/assistant.md) --------------------------------

    async def invite_assistant(self, language: str | None = None) -> AssistantState:
        """Bring the assistant in (any member): it takes a seat, captions everyone, and a
        summary is written when the meeting ends. ``language``: ``en``, ``zh`` or ``auto``."""
        body = {"language": language} if language is not None else None
        return AssistantState.of(
            await self._rest.call("POST", f"/meetings/{self.id}/assistant", json=body)
        )

    async def dismiss_assistant(self) -> AssistantState:
        return AssistantState.of(await self._rest.call("DELETE", f"/meetings/{self.id}/assistant"))

    async def send_caption(
        self, user_id: str, text: str, start_ms: int, end_ms: int, *, final: bool
    ) -> None:
        """For the assistant's own account only: caption what ``user_id`` said. Returns once
        the server accepted it (a final one is then stored); refused, it raises."""
        self._ensure_open()
        data = {
            "room_id": self.id,
            "user_id": user_id,
            "text": text,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "final": final,
        }
        await self._link.deliver(ClientMessage.CAPTION, data)

    # --- internals: entering ----------------------------------------------------------------

    async def start(self) -> None:
        """Connect and enter the room; returns once ``room_state`` arrived."""
        self._starting = True
        try:
            self._start_media()
            await self._link.start()
        except BaseException:
            self._closed = True
            await self._close_media()
            await self._events.close()
            raise
        finally:
            self._starting = False
        if self.state is MeetingState.WAITING:
            self.state = MeetingState.ACTIVE

    async def enter(self, first: bool) -> None:
        """After each (re)connect: join the room, catch up on chat, re-send the unechoed."""
        self._chat_seqs.clear()
        self._signal_seqs.clear()  # seqs start again on each socket
        self._entered_on = None
        if not first:
            self._held = []
        try:
            await self._join_room()
            if not first:
                await self._catch_up()
        finally:
            held, self._held = self._held or [], None
            for message in held:
                self._deliver_chat(message)
        self._entered_on = self._link.transport
        self._start_outbox()  # what was not echoed on the last socket, or sent meanwhile
        await self._call_members(again=not first)

    async def _join_room(self) -> None:
        try:
            await self._request_room_state()
        except MeetingError as exc:
            if exc.server_code != ErrorCode.FORBIDDEN:
                raise
            # Our seat was released (we were away longer than the grace): take one again.
            log.info("seat released while away: joining again")
            me = self._participants.get(self._me.id)
            body = {"audio_muted": me.audio_muted, "video_muted": me.video_muted} if me else None
            await self._rest.call("POST", f"/meetings/{self.meeting_number}/join", json=body)
            await self._request_room_state()

    async def _request_room_state(self) -> None:
        def is_room_state(message: dict[str, Any]) -> bool:
            data = message.get("data") or {}
            return (
                message.get("type") == ServerMessage.ROOM_STATE and data.get("room_id") == self.id
            )

        data = {"room_id": self.id}
        await self._link.request(ClientMessage.JOIN_ROOM, data, is_room_state, wait_connected=False)

    async def _catch_up(self) -> None:
        """Deliver, oldest first, the chat stored while we were away (and not yet seen)."""
        missed: list[dict[str, Any]] = []
        before: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = await self._history_page(HISTORY_PAGE, before)
            fresh = [m for m in page["messages"] if m["message_id"] not in self._seen]
            missed.extend(fresh)
            if len(fresh) < len(page["messages"]) or not page["has_more"]:
                break
            before = page["messages"][-1]["message_id"]
        for message in reversed(missed):
            if not self._is_before_our_seat(message):
                self._deliver_chat(message)

    def _is_before_our_seat(self, message: dict[str, Any]) -> bool:
        """Chat from before we first took our seat was never ours to receive."""
        seat = self._seat_time
        created = parse_time(message.get("created_at"))
        return seat is not None and created is not None and created < seat

    async def _history_page(self, limit: int, before: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit} | ({"before": before} if before else {})
        data: dict[str, Any] = await self._rest.call(
            "GET", f"/meetings/{self.id}/messages", params=params
        )
        return data

    @property
    def _queueing(self) -> bool:
        """While the outbox works, a new chat goes behind what it still has to send."""
        return self._outbox is not None and not self._outbox.done()

    def _start_outbox(self) -> None:
        if not self._queueing and not self._closed:
            self._outbox = self._tasks.spawn(self._send_queued(), "aimeeting-chat-outbox")

    async def _send_queued(self) -> None:
        """Send, oldest first, each pending chat not yet sent on this socket: one every
        ``CHAT_RESEND_INTERVAL``, and none before a 42901's ``retry_after`` has passed. Ends
        when nothing is left, or the socket went (the next entry starts it again)."""
        loop = asyncio.get_running_loop()
        last = -CHAT_RESEND_INTERVAL
        while not self._closed:
            transport = self._link.transport
            if transport is None or transport is not self._entered_on:
                return
            unsent = next(
                ((k, p) for k, p in self._pending.items() if p.sent_on is not transport), None
            )
            if unsent is None:
                return
            wait = max(self._chat_resume_at, last + CHAT_RESEND_INTERVAL) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # a refusal meanwhile may have put an older message first
            last = loop.time()
            if not await self._send_chat(*unsent):
                return

    async def _send_chat(self, client_msg_id: str, pending: _PendingChat) -> bool:
        pending.sent_on = self._link.transport
        data = {"room_id": self.id, "content": pending.content, "client_msg_id": client_msg_id}

        def remember(seq: int) -> None:
            self._chat_seqs[seq] = client_msg_id

        try:
            await self._link.send(ClientMessage.CHAT_MESSAGE, data, on_seq=remember)
        except MeetingError:
            pending.sent_on = None  # goes out again after the reconnect
            return False
        return True

    async def _media(self, action: MediaAction, value: bool) -> None:
        if not isinstance(value, bool):
            raise invalid_argument("muted must be a boolean")
        self._ensure_open()
        if self._local is not None:  # the track stops sending at once (silence, black)
            self._local.set_muted("audio" if action is MediaAction.MUTE_AUDIO else "video", value)

        def is_ack(message: dict[str, Any]) -> bool:
            data = message.get("data") or {}
            return (
                message.get("type") == ServerMessage.MEDIA_STATE_CHANGED
                and data.get("user_id") == self._me.id
            )

        data = {"room_id": self.id, "action": action, "value": value}
        await self._link.request(ClientMessage.MEDIA_CONTROL, data, is_ack)

    def _ensure_open(self) -> None:
        if self.state is MeetingState.ENDED:
            raise MeetingError(SDKErrorCode.INVALID_ARGUMENT, "the meeting has ended")
        if self._closed:
            raise network_error("this meeting is closed (left, or its connection was lost)")

    async def _close(self, reason: MeetingError) -> None:
        if self._closed:
            return
        self._closed = True
        if self._outbox is not None:
            self._outbox.cancel()
        await self._link.close()
        await self._close_media()
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(reason)
        await self._events.close()

    # --- internals: media (the mesh of DECISIONS §9; with aiortc only) -----------------------

    def _start_media(self) -> None:
        if not self._config.media or not media.available():
            return
        from aimeeting.sdk.media.mesh import Mesh
        from aimeeting.sdk.media.tracks import LocalMedia

        options = self._options
        self._local = LocalMedia(
            options.audio_track, options.video_track, options.audio_muted, options.video_muted
        )
        self._mesh = Mesh(
            self._me.id,
            self._local,
            relay_only=self._config.ice_transport_policy == "relay",
            stats_interval=self._config.stats_interval,
            send=self._send_media_signal,
            emit=self._emit,
            link_quality=self.on_link_quality,
        )

    async def _call_members(self, again: bool) -> None:
        """After each (re)entry: the ICE servers (TURN credentials expire, so each time),
        then a call to every member (DECISIONS §9: the one who enters offers)."""
        if self._mesh is None:
            return
        from aimeeting.sdk.media.mesh import ice_server

        servers = [{"urls": [url]} for url in self._config.stun_servers] + [
            {"urls": t.urls, "username": t.username, "credential": t.credential}
            for t in self._config.turn_servers
        ]
        try:
            data = await self._rest.call("GET", "/rtc/ice-servers")
            servers += data["ice_servers"]
        except (MeetingError, KeyError, TypeError) as exc:
            log.info("no ICE servers from the server (%s): the config's only", exc)
        self._mesh.ice_servers = [ice_server(entry) for entry in servers]
        self._mesh.enter(list(self._participants), again)

    async def _send_media_signal(self, to_user_id: str, signal: dict[str, Any]) -> None:
        """Fire and forget, as the browser SDK: a signal lost with the connection is made
        again by the fresh offers that follow the reconnect."""
        data = {"room_id": self.id, "to_user_id": to_user_id, "signal": signal}
        try:
            await self._link.send(ClientMessage.WEBRTC_SIGNAL, data, self._signal_seqs.add)
        except MeetingError as exc:
            log.debug("signal to %s not sent: %s", to_user_id, exc.message)

    def _hang_up(self, user_id: str) -> None:
        if self._mesh is not None:
            self._mesh.hang_up(user_id)

    async def _close_media(self) -> None:
        mesh, self._mesh = self._mesh, None
        local, self._local = self._local, None
        if mesh is not None:
            await mesh.close()
        if local is not None:
            await local.close()

    # --- internals: what the server says ----------------------------------------------------

    def on_message(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if data.get("room_id", self.id) != self.id:
            return
        handler = _HANDLERS.get(str(kind))
        if handler is not None:
            handler(self, data)

    def _on_room_state(self, data: dict[str, Any]) -> None:
        current = {p["user_id"]: Participant.of(p) for p in data["participants"]}
        previous, self._participants = self._participants, current
        me = current.get(self._me.id)
        if me is not None and self._seat_time is None:
            self._seat_time = me.joined_at
        for user_id, gone in previous.items():
            if user_id not in current:
                self._hang_up(user_id)
                self._emit(UserLeftEvent(self.id, user_id, len(current), gone))
        for user_id, now in current.items():
            before = previous.get(user_id)
            if before is None and user_id != self._me.id:
                self._emit(_joined_event(self.id, now, len(current)))
            elif before is not None and _media_of(before) != _media_of(now):
                self._emit(MediaStateChangedEvent(self.id, user_id, *_media_of(now)))

    def _on_user_joined(self, data: dict[str, Any]) -> None:
        user = User.of(data["user"])
        known = user.id in self._participants
        participant = Participant(
            user.id,
            user.nickname,
            user.avatar,
            bool(data.get("audio_muted", False)),
            bool(data.get("video_muted", False)),
            parse_time(data.get("joined_at")),
            bool(data.get("screen_sharing", False)),  # extension: older servers lack it
        )
        self._participants[user.id] = participant
        # They have just entered the room and will call everyone there (the one who enters
        # offers). A link we opened earlier (to their seat, before they connected) never
        # reached them; were it kept, their offer and ours would cross for ever.
        self._hang_up(user.id)
        if not known and user.id != self._me.id:
            self._emit(_joined_event(self.id, participant, data["participant_count"]))

    def _on_user_left(self, data: dict[str, Any]) -> None:
        gone = self._participants.pop(data["user_id"], None)
        self._hang_up(data["user_id"])
        if gone is not None:
            self._emit(UserLeftEvent(self.id, data["user_id"], data["participant_count"], gone))

    def _on_media(self, data: dict[str, Any]) -> None:
        user_id, audio, video = data["user_id"], data["audio_muted"], data["video_muted"]
        screen = bool(data.get("screen_sharing", False))  # extension: older servers lack it
        if (participant := self._participants.get(user_id)) is not None:
            self._participants[user_id] = replace(
                participant, audio_muted=audio, video_muted=video, screen_sharing=screen
            )
        self._emit(MediaStateChangedEvent(self.id, user_id, audio, video, screen))

    def _on_chat(self, data: dict[str, Any]) -> None:
        if self._held is not None:
            self._held.append(data)  # after the missed ones, in order
        else:
            self._deliver_chat(data)

    def _deliver_chat(self, data: dict[str, Any]) -> None:
        """Settle our pending send, and emit the message unless it was delivered before."""
        message = ChatMessage.of(data)
        pending = self._pending.get(message.client_msg_id or "")
        mine = message.sender.id == self._me.id
        if pending is not None and mine and not pending.future.done():
            pending.future.set_result(message)
        if message.message_id in self._seen:
            return
        self._seen.add(message.message_id)
        self._emit(message)

    def _on_signal(self, data: dict[str, Any]) -> None:
        if self._mesh is not None and isinstance(data.get("signal"), dict):
            self._mesh.on_signal(data["from_user_id"], data["signal"])
        self._emit(WebRTCSignalEvent(data["room_id"], data["from_user_id"], data["signal"]))

    def _on_caption(self, data: dict[str, Any]) -> None:
        self._emit(CaptionEvent.of(data))

    def _on_meeting_ended(self, data: dict[str, Any]) -> None:
        if self.state is MeetingState.ENDED:
            return
        self.state = MeetingState.ENDED
        self._participants.clear()
        self._emit(MeetingEndedEvent(self.id, parse_time(data.get("ended_at"))))

    def _on_error(self, data: dict[str, Any]) -> None:
        error = server_error(data["code"], str(data.get("message", "")), data.get("details"))
        if data.get("request_seq") in self._signal_seqs:
            # A signal to a member who just left: the user_left that follows hangs up.
            log.debug("signal refused: %s", error.message)
            return
        client_msg_id = self._chat_seqs.pop(data.get("request_seq") or -1, None)
        pending = self._pending.get(client_msg_id or "")
        if pending is not None and not pending.future.done():
            self._chat_refused(pending, error, data.get("details"))
            return
        self._emit(ErrorEvent(error))

    def _chat_refused(self, pending: _PendingChat, error: MeetingError, details: Any) -> None:
        """A chat refused as too many (42901) is sent again after ``retry_after``, up to
        ``CHAT_MAX_REFUSALS`` times; then, or refused for another reason, the send raises,
        and a 42901 also fires ERROR (so a send nobody awaits is not lost unseen)."""
        too_many = error.server_code == ErrorCode.TOO_MANY_REQUESTS
        if too_many:
            pending.refusals += 1
        if too_many and pending.refusals < CHAT_MAX_REFUSALS:
            retry_after = details.get("retry_after") if isinstance(details, dict) else None
            wait = float(retry_after) if isinstance(retry_after, int | float) else 1.0
            resume = asyncio.get_running_loop().time() + min(max(wait, 0.1), 60.0)
            self._chat_resume_at = max(self._chat_resume_at, resume)
            pending.sent_on = None
            log.info("chat refused as too many: sent again in %.1f s", wait)
            self._start_outbox()
            return
        pending.future.set_exception(error)
        if too_many:
            log.warning("chat refused %d times as too many: given up", pending.refusals)
            self._emit(ErrorEvent(error))

    # --- internals: the connection ----------------------------------------------------------

    def on_state(
        self,
        state: ConnectionState,
        code: int | None,
        reason: str | None,
        error: MeetingError | None,
    ) -> None:
        previous, self._last_state = self._last_state, state
        if state is ConnectionState.DISCONNECTED and code == CloseCode.MEETING_ENDED:
            self._on_meeting_ended({})
        self._emit(ConnectionStateChangedEvent(state, previous, code, reason))
        if state is ConnectionState.DISCONNECTED and not (self._closed or self._starting):
            failure = error or _close_error(code, reason)
            if failure is not None:
                self._emit(ErrorEvent(failure))
            self._tasks.spawn(self._close(failure or network_error("closed")), "aimeeting-close")

    def on_quality(self, quality: NetworkQuality, rtt_ms: float | None, missed: int) -> None:
        """The WebSocket's heartbeat: it decides the quality only while no media link is up."""
        if self._mesh is not None and self._mesh.any_connected():
            return
        figures = LinkFigures(rtt_ms, None, None)
        if (event := self._quality.report(quality, figures, missed, False)) is not None:
            self._emit(event)

    def on_link_quality(self, quality: NetworkQuality, figures: LinkFigures) -> None:
        """The media links' statistics (the worst link), while media flows."""
        if (event := self._quality.report(quality, figures, 0, True)) is not None:
            self._emit(event)

    def _emit(self, event: EventObject) -> None:
        self._events.emit(event)


def _close_error(code: int | None, reason: str | None) -> MeetingError | None:
    """What to report when the connection ended for good; a meeting's end is no error."""
    if code == CloseCode.MEETING_ENDED:
        return None
    if code == CloseCode.UNAUTHORIZED:
        return MeetingError(SDKErrorCode.PERMISSION_DENIED, "logged out", {"close_code": code})
    return network_error(reason or "connection lost", close_code=code)


def _media_of(participant: Participant) -> tuple[bool, bool, bool]:
    return participant.audio_muted, participant.video_muted, participant.screen_sharing


def _joined_event(room_id: str, participant: Participant, count: int) -> UserJoinedEvent:
    user = User(participant.user_id, participant.nickname, participant.avatar)
    return UserJoinedEvent(
        room_id,
        user,
        count,
        participant.audio_muted,
        participant.video_muted,
        participant.joined_at,
        participant.screen_sharing,
    )


_HANDLERS: dict[str, Callable[[Meeting, dict[str, Any]], None]] = {
    ServerMessage.ROOM_STATE: Meeting._on_room_state,
    ServerMessage.USER_JOINED: Meeting._on_user_joined,
    ServerMessage.USER_LEFT: Meeting._on_user_left,
    ServerMessage.MEDIA_STATE_CHANGED: Meeting._on_media,
    ServerMessage.CHAT_MESSAGE: Meeting._on_chat,
    ServerMessage.MEETING_ENDED: Meeting._on_meeting_ended,
    ServerMessage.WEBRTC_SIGNAL: Meeting._on_signal,
    ServerMessage.CAPTION: Meeting._on_caption,
    ServerMessage.ERROR: Meeting._on_error,
}
