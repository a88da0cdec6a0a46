"""``/v1/ws``: authenticate a socket, read its messages one at a time, hand them to the rooms.

Every client message is answered or acted on; bad input gets an ``error`` and the connection
lives on. Closing is the connection's own business (``Connection.close``), so whatever closes a
socket (heartbeat, logout, takeover, meeting end, shutdown) lets what was queued go out first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from aimeeting.protocol import ClientMessage, CloseCode, ErrorCode, ServerMessage
from aimeeting.protocol.wire import ConnectedData
from aimeeting.server.auth.service import AuthService
from aimeeting.server.auth.tokens import Claims
from aimeeting.server.config import Settings
from aimeeting.server.errors import AppError, InvalidInput, Throttled, Unavailable
from aimeeting.server.language import language
from aimeeting.server.metrics import Metrics
from aimeeting.server.realtime.captions import Captions
from aimeeting.server.realtime.connection import CLOSE_TIMEOUT, Connection
from aimeeting.server.realtime.events import Event, error_event
from aimeeting.server.realtime.hub import Hub
from aimeeting.server.realtime.rooms import RoomService
from aimeeting.server.realtime.schemas import (
    CaptionIn,
    ChatMessageIn,
    MediaControlIn,
    RoomIn,
    WebRTCSignalIn,
)
from aimeeting.server.users.schemas import PublicUser
from aimeeting.server.users.service import UserService
from aimeeting.server.validation import RequestModel, json_object, validate

log = logging.getLogger(__name__)

MAX_SEQ = 2**53 - 1  # what every JSON client reads exactly

Handler = Callable[[Connection, Any], Awaitable[None]]


class Gateway:
    def __init__(
        self,
        settings: Settings,
        auth: AuthService,
        users: UserService,
        hub: Hub,
        rooms: RoomService,
        metrics: Metrics,
        captions: Captions,
    ) -> None:
        self.settings = settings
        self.users = users
        self.metrics = metrics
        self.auth = auth
        self.hub = hub
        self.rooms = rooms
        self.connections: set[Connection] = set()
        self.shutting_down = False
        self._all_gone = asyncio.Event()
        self._all_gone.set()
        self._sweeper: asyncio.Task[None] | None = None
        self._handlers: dict[str, tuple[type[RequestModel], Handler]] = {
            ClientMessage.JOIN_ROOM: (RoomIn, rooms.join_room),
            ClientMessage.LEAVE_ROOM: (RoomIn, rooms.leave_room),
            ClientMessage.MEDIA_CONTROL: (MediaControlIn, rooms.media_control),
            ClientMessage.CHAT_MESSAGE: (ChatMessageIn, rooms.chat_message),
            ClientMessage.WEBRTC_SIGNAL: (WebRTCSignalIn, rooms.webrtc_signal),
            ClientMessage.CAPTION: (CaptionIn, captions.caption),
        }
        # Counters looked up once, not per message.
        self._received = {
            kind: metrics.ws_messages.labels(kind) for kind in (*ClientMessage, "invalid")
        }

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="ws-heartbeat")

    async def shutdown(self) -> None:
        """Finish the messages being handled, then close every connection with 1001.

        All connections stop taking messages first, and only once none is in flight are they
        closed: a chat one of them is sending still reaches all the others.
        """
        self.shutting_down = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        connections = list(self.connections)
        held: list[Connection] = []

        async def hold(connection: Connection) -> None:
            await connection.busy.acquire()
            held.append(connection)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await asyncio.gather(*(hold(c) for c in connections))
        for connection in connections:
            connection.close(CloseCode.GOING_AWAY, "server shutting down")
        for connection in held:
            connection.busy.release()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._all_gone.wait()

    # -- one socket ---------------------------------------------------------------------

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        lang = language(websocket)
        if self.shutting_down:
            await websocket.close(CloseCode.GOING_AWAY, "server shutting down")
            return
        try:
            claims, user = await self._authenticate(websocket.query_params.get("access_token", ""))
        except AppError as exc:
            # A client that gave up waiting (a node busy with a storm) is gone: nothing to tell.
            with contextlib.suppress(WebSocketDisconnect):
                await websocket.send_text(error_event(exc.code, None, lang).envelope(1))
                if isinstance(exc, Unavailable):  # the token may be good: the client retries
                    await websocket.close(CloseCode.TRY_AGAIN_LATER, "service unavailable")
                else:
                    await websocket.close(CloseCode.UNAUTHORIZED, "authentication failed")
            return
        connection = Connection(
            websocket, user, claims.session_id, lang, self.settings.ws_rate_limit
        )
        connection.start()
        self.connections.add(connection)
        self._all_gone.clear()
        self.metrics.ws_connections.inc()
        self.hub.attach(connection)
        log.info("ws connected", extra={"user_id": claims.user_id})
        connection.send(Event(ServerMessage.CONNECTED, self._welcome(claims.user_id)))
        code = None
        try:
            code = await self._read(connection)
        except asyncio.CancelledError:
            if not connection.aborted:
                raise
            # Ours: returning lets the server drop the socket the client would not close.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        finally:
            try:
                await self.rooms.disconnected(connection)
            except Exception:  # the socket is gone either way; nothing must escape to ASGI
                log.exception("ws disconnect handling failed", extra={"user_id": claims.user_id})
            self.hub.detach(connection)
            await connection.finish()
            self.connections.discard(connection)
            if not self.connections:
                self._all_gone.set()
            self.metrics.ws_connections.dec()
            self.metrics.ws_closes.labels(str(code)).inc()
            log.info("ws disconnected", extra={"user_id": claims.user_id, "code": code})

    async def _authenticate(self, token: str) -> tuple[Claims, PublicUser]:
        claims = self.auth.authenticate(token)
        user = PublicUser.of(await self.users.get(claims.user_id))
        # Checked again, with no await until the connection is registered: a logout that came
        # while the profile was loading must not miss this socket.
        return self.auth.authenticate(token), user

    def _welcome(self, user_id: str) -> ConnectedData:
        return {
            "user_id": user_id,
            "heartbeat_timeout": self.settings.heartbeat_timeout,
            "reconnect_grace": self.settings.reconnect_grace,
        }

    async def _read(self, connection: Connection) -> int | None:
        """Handle messages until the socket closes; the close code."""
        while True:
            message = await connection.websocket.receive()
            if message["type"] == "websocket.disconnect":
                code: int | None = message.get("code")
                return code
            connection.last_seen = time.monotonic()
            async with connection.busy:
                # Checked under the lock: shutdown takes it to close between two messages.
                if not connection.closing:  # else what it still sends is not handled
                    await self._handle(connection, message)

    async def _handle(self, connection: Connection, frame: Message) -> None:
        request_seq: int | None = None
        kind: object = None
        try:
            wait = connection.bucket.take()  # every frame counts, even one that isn't JSON
            envelope = _decode(frame)
            request_seq = _readable_seq(envelope)
            kind = envelope.get("type")
            if wait:
                raise Throttled(ErrorCode.TOO_MANY_REQUESTS, wait)
            kind, data = _check_envelope(envelope)
            (self._received.get(kind) or self._received["invalid"]).inc()
            if kind == ClientMessage.PING:
                connection.send(Event(ServerMessage.PONG, {"request_seq": request_seq}))
                return
            handler = self._handlers.get(kind)
            if handler is None:
                raise InvalidInput(ErrorCode.INVALID_PARAMETER, {"type": f"unknown type {kind!r}"})
            model, handle = handler
            await handle(connection, validate(data, model))
        except AppError as exc:
            if kind == ClientMessage.CHAT_MESSAGE:
                self._chat_refused(connection, exc)
            connection.send_error(exc.code, request_seq, exc.details)
        except Exception:
            log.exception("ws message failed", extra={"user_id": connection.user_id})
            connection.send_error(ErrorCode.INTERNAL_ERROR, request_seq)

    def _chat_refused(self, connection: Connection, exc: AppError) -> None:
        """Counted and logged (never the content): a refused chat is the sender's to retry."""
        self.metrics.chat_refused.labels(str(int(exc.code))).inc()
        retry_after = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
        log.info(
            "chat refused",
            extra={
                "user_id": connection.user_id,
                "code": int(exc.code),
                "retry_after": retry_after,
            },
        )

    async def _sweep(self) -> None:
        """Close connections silent for longer than the heartbeat timeout (4408).

        A connection whose message we are still handling (a join waiting for a room lock that
        a dead node held) is not silent: its frames wait, unread, behind that message. Once
        the message is done the waiting frames are read at once (no await between), so a
        client that kept pinging is seen alive, and one that went away meanwhile is closed.
        """
        timeout = self.settings.heartbeat_timeout
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            silent_since = time.monotonic() - timeout
            for connection in list(self.connections):
                if (
                    connection.last_seen < silent_since
                    and not connection.closing
                    and not connection.busy.locked()
                ):
                    log.info("ws heartbeat timeout", extra={"user_id": connection.user_id})
                    connection.close(CloseCode.HEARTBEAT_TIMEOUT, "heartbeat timeout")


def _decode(frame: Message) -> dict[str, Any]:
    text = frame.get("text")
    if text is None:
        raise InvalidInput(ErrorCode.MISSING_FIELD, {"frame": "binary frames are not accepted"})
    return json_object(text, "frame")


def _readable_seq(envelope: dict[str, Any]) -> int | None:
    seq = envelope.get("seq")
    return seq if type(seq) is int and 0 <= seq <= MAX_SEQ else None


def _check_envelope(envelope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The message's type and data, or why the envelope is wrong."""
    if envelope.get("seq") is not None and _readable_seq(envelope) is None:
        raise InvalidInput(ErrorCode.INVALID_PARAMETER, {"seq": "must be a non-negative integer"})
    kind = envelope.get("type")
    if kind is None:
        raise InvalidInput(ErrorCode.MISSING_FIELD, {"type": "required"})
    if not isinstance(kind, str):
        raise InvalidInput(ErrorCode.INVALID_PARAMETER, {"type": "must be a string"})
    data = envelope.get("data")
    if data is None:
        return kind, {}
    if not isinstance(data, dict):
        raise InvalidInput(ErrorCode.INVALID_PARAMETER, {"data": "must be an object"})
    return kind, data
