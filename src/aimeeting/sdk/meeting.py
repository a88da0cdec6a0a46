"""``Meeting``: a room entered over its own WebSocket. Keeps ``participants`` and ``state``
current, turns server messages into events, and after a reconnect rejoins, fetches the chat
missed meanwhile and re-sends what was not echoed (with its ``client_msg_id``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from aimeeting.protocol import ClientMessage, CloseCode, ErrorCode, MediaAction, ServerMessage
from aimeeting.protocol.messages import MAX_CHAT_LENGTH
from aimeeting.protocol.wire import (
    CaptionData,
    ChatMessageData,
    ErrorData,
    MediaStateChangedData,
    MeetingEndedData,
    RoomStateData,
    UserJoinedData,
    UserLeftData,
    WebRTCSignalData,
)
from aimeeting.sdk import media
from aimeeting.sdk.config import JoinMeetingOptions, SDKConfig
from aimeeting.sdk.connection import MeetingSocket
from aimeeting.sdk.errors import (
    MeetingError,
    SDKErrorCode,
    invalid_argument,
    network_error,
)
from aimeeting.sdk.events import EventEmitter, EventSource
from aimeeting.sdk.media.quality import LinkFigures, QualityReporter
from aimeeting.sdk.models import (
    AssistantState,
    CaptionEvent,
    ChatMessage,
    ConnectionState,
    ConnectionStateChangedEvent,
    ErrorEvent,
    EventObject,
    MeetingState,
    NetworkQuality,
    Participant,
    User,
    WebRTCSignalEvent,
    parse_time,
)
from aimeeting.sdk.rest import RestClient
from aimeeting.sdk.room_state import Change, RoomState
from aimeeting.tasks import Background

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
# One refused with 50301 (the server cannot store it now: its database is unreachable) is sent
# again after ``retry_after`` for as long as a lost connection would be (``reconnect_timeout``).
CHAT_MAX_REFUSALS = 5


@dataclass
class _PendingChat:
    """A chat message sent (or queued) and not yet echoed by the server."""

    content: str
    future: asyncio.Future[ChatMessage]
    sent_on: object = None  # the transport it was last sent on
    refusals: int = 0  # times the server refused it as too many (42901)
    unavailable_since: float | None = None  # loop time of its first 50301


class Meeting(EventSource):
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
        self._room = RoomState(
            self.id,
            me.id,
            MeetingState(detail.get("status", MeetingState.ACTIVE)),
            [Participant.from_wire(p) for p in detail.get("participants", [])],
        )
        self._events = EventEmitter()
        # What arrives while the room is entered (a chat sent the moment we joined, say) is
        # held until the caller has the Meeting: see _start.
        self._events.hold()
        self._socket = MeetingSocket(config, rest, _SocketHooks(self))
        self._pending: dict[str, _PendingChat] = {}
        self._chat_seqs: dict[int, str] = {}  # seq on the current socket → client_msg_id
        self._seen: set[str] = set()  # message ids delivered, so none is delivered twice
        self._held: list[ChatMessageData] | None = None  # live chat held during a catch-up
        self._catch_up_due = 0  # entries (after a reconnect) that want a catch-up after them
        self._catching_up: asyncio.Task[None] | None = None  # fetches history until it got it
        self._quality = QualityReporter()
        self._signal_seqs: set[int] = set()  # our signals: a refusal of one is no error event
        self._local: LocalMedia | None = None
        self._mesh: Mesh | None = None
        self._last_state = ConnectionState.DISCONNECTED
        self._starting = False
        self._closed = False
        self._tasks = Background()  # the outbox, a close the server started
        self._outbox: asyncio.Task[None] | None = None  # sends queued chat, paced
        self._entered_on: object = None  # the transport whose room entry is complete
        self._chat_resume_at = 0.0  # loop time: no chat goes out before (after a 42901/50301)

    # --- the contract's properties ----------------------------------------------------------

    @property
    def participants(self) -> list[Participant]:
        """Who holds a seat now, oldest seat first."""
        return list(self._room.participants.values())

    @property
    def state(self) -> MeetingState:
        """``waiting``, ``active`` or ``ended``."""
        return self._room.status

    @property
    def local_user_id(self) -> str:
        """Extension: the id of the user this SDK is signed in as."""
        return self._me.id

    @property
    def connection_state(self) -> ConnectionState:
        """Extension: connected, reconnecting, or disconnected."""
        return self._socket.state

    @property
    def network_quality(self) -> NetworkQuality | None:
        return self._quality.current

    # --- the contract's methods -------------------------------------------------------------

    async def leave(self) -> None:
        """Leave the room (the seat is released at once) and close. Idempotent."""
        if self._closed:
            return
        if self._socket.connected:
            with contextlib.suppress(MeetingError):
                await self._socket.send(ClientMessage.LEAVE_ROOM, {"room_id": self.id})
                # Messages are handled in order: the pong says the leave is done.
                await self._socket.ping()
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
            if self._socket.connected and not self._queueing:
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
        await self._socket.deliver(ClientMessage.WEBRTC_SIGNAL, data)

    # --- extensions -------------------------------------------------------------------------

    async def end(self) -> None:
        """End the meeting for everyone (its creator only; else PERMISSION_DENIED)."""
        await self._rest.end_meeting(self.id)

    async def chat_history(self, limit: int = 50, before: str | None = None) -> list[ChatMessage]:
        """Stored chat, newest first (``before``: a message id, to page on)."""
        data = await self._history_page(limit, before)
        return [ChatMessage.from_wire(m) for m in data["messages"]]

    # --- the meeting assistant (extension, docs/assistant.md) --------------------------------

    async def invite_assistant(self, language: str | None = None) -> AssistantState:
        """Bring the assistant in (any member): it takes a seat, captions everyone, and a
        summary is written when the meeting ends. ``language``: ``en``, ``zh`` or ``auto``."""
        return await self._rest.invite_assistant(self.id, language)

    async def dismiss_assistant(self) -> AssistantState:
        return await self._rest.dismiss_assistant(self.id)

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
        await self._socket.deliver(ClientMessage.CAPTION, data)

    # --- internals: entering ----------------------------------------------------------------

    async def _start(self) -> None:
        """Connect and enter the room; returns once ``room_state`` arrived."""
        self._starting = True
        try:
            self._start_media()
            await self._socket.start()
        except BaseException:
            self._closed = True
            await self._close_media()
            await self._events.close()
            raise
        finally:
            self._starting = False
        self._room.entered()
        # Delivered on the loop's next turn: after join_meeting has returned and the caller's
        # code has run up to its first await, so handlers and events() iterators set up right
        # after the join get everything (as in the browser, where a socket's messages wait for
        # the promise chain). Released now, they would reach nobody.
        asyncio.get_running_loop().call_soon(self._events.release)

    async def _enter(self, first: bool) -> None:
        """After each (re)connect: join the room, catch up on chat, re-send the unechoed.

        The catch-up is a side request (REST, maybe to another node): it runs beside the
        socket and is retried with backoff when it fails; a failed history fetch never drops
        a working socket (a hung node or a 502 behind a balancer would otherwise keep a
        client reconnecting). Live chat is held until it is done, so order is kept."""
        self._chat_seqs.clear()
        self._signal_seqs.clear()  # seqs start again on each socket
        self._entered_on = None
        if not first and self._held is None:
            self._held = []  # (an unfinished catch-up's held chat stays held, in order)
        await self._join_room()
        self._entered_on = self._socket.transport
        if not first:
            self._catch_up_due += 1  # a catch-up running now fetches again after this entry
            if self._catching_up is None or self._catching_up.done():
                catch_up = self._catch_up_until_done()
                self._catching_up = self._tasks.spawn(catch_up, "aimeeting-catch-up")
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
            me = self._room.participants.get(self._me.id)
            audio, video = (me.audio_muted, me.video_muted) if me else (None, None)
            await self._rest.join_meeting(self.meeting_number, audio, video)
            await self._request_room_state()

    async def _request_room_state(self) -> None:
        def is_room_state(message: dict[str, Any]) -> bool:
            data = message.get("data") or {}
            return (
                message.get("type") == ServerMessage.ROOM_STATE and data.get("room_id") == self.id
            )

        data = {"room_id": self.id}
        await self._socket.request(
            ClientMessage.JOIN_ROOM, data, is_room_state, wait_connected=False
        )

    async def _catch_up_until_done(self) -> None:
        """Catch up after the latest entry, retrying a failure (network, 5xx) with the
        reconnect's backoff for up to ``reconnect_timeout``; then deliver the held live chat.
        Given up (or refused for good), an ERROR event says chat may be missing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.reconnect_timeout
        done, attempt = 0, 0
        while done < self._catch_up_due and not self._closed:
            due = self._catch_up_due
            try:
                await self._catch_up()
                done, attempt = due, 0
            except MeetingError as exc:
                attempt += 1
                if not _is_transient(exc) or loop.time() >= deadline:
                    log.warning("chat history catch-up failed, given up: %s", exc.message)
                    self._emit(ErrorEvent(exc))
                    break
                delay = self._socket.backoff(attempt)
                log.info("chat history catch-up failed (%s): again in %.2f s", exc.message, delay)
                await asyncio.sleep(delay)
        held, self._held = self._held or [], None
        for message in held:
            self._deliver_chat(message)

    async def _catch_up(self) -> None:
        """Deliver, oldest first, the chat stored while we were away (and not yet seen)."""
        missed: list[ChatMessageData] = []
        before: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = await self._history_page(HISTORY_PAGE, before)
            fresh = [m for m in page["messages"] if m["message_id"] not in self._seen]
            missed.extend(fresh)
            if len(fresh) < len(page["messages"]) or not page["has_more"]:
                break
            before = page["messages"][-1]["message_id"]
        for message in reversed(missed):
            if not self._room.is_before_our_seat(parse_time(message.get("created_at"))):
                self._deliver_chat(message)

    async def _history_page(self, limit: int, before: str | None) -> dict[str, Any]:
        return await self._rest.chat_messages(self.id, limit, before)

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
            transport = self._socket.transport
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
        pending.sent_on = self._socket.transport
        data = {"room_id": self.id, "content": pending.content, "client_msg_id": client_msg_id}

        def remember(seq: int) -> None:
            self._chat_seqs[seq] = client_msg_id

        try:
            await self._socket.send(ClientMessage.CHAT_MESSAGE, data, on_seq=remember)
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
        await self._socket.request(ClientMessage.MEDIA_CONTROL, data, is_ack)

    def _ensure_open(self) -> None:
        if self.state is MeetingState.ENDED:
            raise MeetingError(SDKErrorCode.INVALID_ARGUMENT, "the meeting has ended")
        if self._closed:
            raise network_error("this meeting is closed (left, or its connection was lost)")

    async def _close(self, reason: MeetingError) -> None:
        if self._closed:
            return
        self._closed = True
        for task in (self._outbox, self._catching_up):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        await self._socket.close()
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
            link_quality=self._on_link_quality,
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
            servers += await self._rest.ice_servers()
        except (MeetingError, KeyError, TypeError) as exc:
            log.info("no ICE servers from the server (%s): the config's only", exc)
        self._mesh.ice_servers = [ice_server(entry) for entry in servers]
        self._mesh.enter(list(self._room.participants), again, self._room.in_room)

    async def _send_media_signal(self, to_user_id: str, signal: dict[str, Any]) -> None:
        """Fire and forget, as the browser SDK: a signal lost with the connection is made
        again by the fresh offers that follow the reconnect."""
        data = {"room_id": self.id, "to_user_id": to_user_id, "signal": signal}
        try:
            await self._socket.send(ClientMessage.WEBRTC_SIGNAL, data, self._signal_seqs.add)
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

    def _on_message(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if data.get("room_id", self.id) != self.id:
            return
        handler = _HANDLERS.get(str(kind))
        if handler is not None:
            handler(self, data)

    # The room's own state (seats, media, status) is RoomState's; each change it reports is
    # acted on here: stale media links hung up, then the events emitted.

    def _on_room_state(self, data: RoomStateData) -> None:
        self._apply(self._room.room_state(data))

    def _on_user_joined(self, data: UserJoinedData) -> None:
        self._apply(self._room.user_joined(data))

    def _on_user_left(self, data: UserLeftData) -> None:
        self._apply(self._room.user_left(data))

    def _on_media(self, data: MediaStateChangedData) -> None:
        self._apply(self._room.media_changed(data))

    def _apply(self, change: Change) -> None:
        for user_id in change.hang_up:
            self._hang_up(user_id)
        for event in change.events:
            self._emit(event)

    def _on_chat(self, data: ChatMessageData) -> None:
        if self._held is not None:
            self._held.append(data)  # after the missed ones, in order
            self._settle_pending(ChatMessage.from_wire(data))  # stored: the send need not wait
        else:
            self._deliver_chat(data)

    def _deliver_chat(self, data: ChatMessageData) -> None:
        """Settle our pending send, and emit the message unless it was delivered before."""
        message = ChatMessage.from_wire(data)
        self._settle_pending(message)
        if message.message_id in self._seen:
            return
        self._seen.add(message.message_id)
        self._emit(message)

    def _settle_pending(self, message: ChatMessage) -> None:
        pending = self._pending.get(message.client_msg_id or "")
        mine = message.sender.id == self._me.id
        if pending is not None and mine and not pending.future.done():
            pending.future.set_result(message)

    def _on_signal(self, data: WebRTCSignalData) -> None:
        if self._mesh is not None and isinstance(data.get("signal"), dict):
            self._mesh.on_signal(data["from_user_id"], data["signal"])
        self._emit(WebRTCSignalEvent.from_wire(data))

    def _on_caption(self, data: CaptionData) -> None:
        self._emit(CaptionEvent.from_wire(data))

    def _on_meeting_ended(self, data: MeetingEndedData) -> None:
        self._apply(self._room.meeting_ended(data))

    def _on_error(self, data: ErrorData) -> None:
        error = ErrorEvent.from_wire(data).error
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
        ``CHAT_MAX_REFUSALS`` times; one refused as unavailable (50301) likewise, until it has
        been refused for ``reconnect_timeout``. Then, or refused for another reason, the send
        raises, and a 42901/50301 also fires ERROR (so a send nobody awaits is not lost
        unseen). The same ``client_msg_id`` goes again: a message stored after all is not
        stored twice."""
        now = asyncio.get_running_loop().time()
        code = error.server_code
        if code == ErrorCode.TOO_MANY_REQUESTS:
            pending.refusals += 1
            retry, why = pending.refusals < CHAT_MAX_REFUSALS, "too many"
        elif code == ErrorCode.SERVICE_UNAVAILABLE:
            if pending.unavailable_since is None:
                pending.unavailable_since = now
            waited = now - pending.unavailable_since
            retry, why = waited < self._config.reconnect_timeout, "unavailable"
        else:
            pending.future.set_exception(error)
            return
        if retry:
            retry_after = details.get("retry_after") if isinstance(details, dict) else None
            wait = float(retry_after) if isinstance(retry_after, int | float) else 1.0
            self._chat_resume_at = max(self._chat_resume_at, now + min(max(wait, 0.1), 60.0))
            pending.sent_on = None
            log.info("chat refused as %s: sent again in %.1f s", why, wait)
            self._start_outbox()
            return
        pending.future.set_exception(error)
        log.warning("chat refused as %s (%d): given up", why, code)
        self._emit(ErrorEvent(error))

    # --- internals: the connection ----------------------------------------------------------

    def _on_state(
        self,
        state: ConnectionState,
        code: int | None,
        reason: str | None,
        error: MeetingError | None,
    ) -> None:
        previous, self._last_state = self._last_state, state
        if state is ConnectionState.DISCONNECTED and code == CloseCode.MEETING_ENDED:
            self._apply(self._room.meeting_ended(None))  # closed unannounced
        self._emit(ConnectionStateChangedEvent(state, previous, code, reason))
        if state is ConnectionState.DISCONNECTED and not (self._closed or self._starting):
            failure = error or _close_error(code, reason)
            if failure is not None:
                self._emit(ErrorEvent(failure))
            self._tasks.spawn(self._close(failure or network_error("closed")), "aimeeting-close")

    def _on_quality(self, quality: NetworkQuality, rtt_ms: float | None, missed: int) -> None:
        """The WebSocket's heartbeat: it decides the quality only while no media link is up."""
        if self._mesh is not None and self._mesh.any_connected():
            return
        figures = LinkFigures(rtt_ms, None, None)
        if (event := self._quality.report(quality, figures, missed, False)) is not None:
            self._emit(event)

    def _on_link_quality(self, quality: NetworkQuality, figures: LinkFigures) -> None:
        """The media links' statistics (the worst link), while media flows."""
        if (event := self._quality.report(quality, figures, 0, True)) is not None:
            self._emit(event)

    def _emit(self, event: EventObject) -> None:
        self._events.emit(event)


async def open_meeting(
    rest: RestClient,
    config: SDKConfig,
    me: User,
    detail: dict[str, Any],
    options: JoinMeetingOptions | None = None,
) -> Meeting:
    """A ``Meeting`` for a seat just taken (``detail``: the join's answer), its room entered."""
    meeting = Meeting(rest, config, me, detail, options)
    await meeting._start()
    return meeting


class _SocketHooks:
    """What the connection tells its meeting (``SocketOwner``), kept off ``Meeting``'s public
    face: users call ``Meeting``'s methods, only the ``MeetingSocket`` calls these."""

    def __init__(self, meeting: Meeting) -> None:
        self._meeting = meeting

    def on_message(self, message: dict[str, Any]) -> None:
        self._meeting._on_message(message)

    async def enter(self, first: bool) -> None:
        await self._meeting._enter(first)

    def on_state(
        self,
        state: ConnectionState,
        code: int | None,
        reason: str | None,
        error: MeetingError | None,
    ) -> None:
        self._meeting._on_state(state, code, reason, error)

    def on_quality(self, quality: NetworkQuality, rtt_ms: float | None, missed: int) -> None:
        self._meeting._on_quality(quality, rtt_ms, missed)


def _is_transient(error: MeetingError) -> bool:
    """A failure worth trying again: no answer, a balancer's 5xx page, or a server 5xx."""
    if error.code is SDKErrorCode.NETWORK_ERROR:
        return True
    return error.server_code is not None and error.server_code >= 50000


def _close_error(code: int | None, reason: str | None) -> MeetingError | None:
    """What to report when the connection ended for good; a meeting's end is no error."""
    if code == CloseCode.MEETING_ENDED:
        return None
    if code == CloseCode.UNAUTHORIZED:
        return MeetingError(SDKErrorCode.PERMISSION_DENIED, "logged out", {"close_code": code})
    return network_error(reason or "connection lost", close_code=code)


# Each handler's data is its message's TypedDict: the server's word for it, not checked here.
_HANDLERS: dict[str, Callable[[Meeting, Any], None]] = {
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
