"""One client socket: who it is, the rooms it is in, and its own outbound queue.

Anything may hand a connection a message at any time without waiting. ``send`` writes it to the
socket at once while the socket takes it (the ASGI server's ``send`` then finishes without
suspending); once the socket pushes back (the client reads too slowly), messages queue and a
writer task puts them on the wire as it drains. So a client that stops reading cannot stall
whoever sends to it, and a connection that keeps up costs no task and no wake-up per message.
Past ``MAX_PENDING`` queued messages it is closed with 1008. A close that cannot reach the
client within ``CLOSE_TIMEOUT`` (it reads nothing) aborts the connection.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import types
from collections import deque
from collections.abc import Coroutine, Generator
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from aimeeting.protocol import CloseCode, ErrorCode, Language
from aimeeting.server.config import RateLimit
from aimeeting.server.realtime.events import Event, error_event
from aimeeting.server.users.schemas import PublicUser

log = logging.getLogger(__name__)

MAX_PENDING = 1000
CLOSE_TIMEOUT = 5.0  # seconds a closing connection gets to flush what it was sent


class TokenBucket:
    """``limit.count`` messages per ``limit.period`` seconds, refilled continuously."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, limit: RateLimit) -> None:
        self.capacity = float(limit.count)
        self.rate = limit.count / limit.period
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Connection:
    # Thousands are held at once: no per-instance dict (``__weakref__``: the chat relay keys
    # its per-sender state weakly).
    __slots__ = (
        "__weakref__",
        "_abort_timer",
        "_close_code",
        "_close_reason",
        "_outbox",
        "_reader",
        "_seq",
        "_writer",
        "aborted",
        "bucket",
        "busy",
        "id",
        "lang",
        "last_seen",
        "rooms",
        "session_id",
        "user",
        "user_id",
        "websocket",
    )

    def __init__(
        self,
        websocket: WebSocket,
        user: PublicUser,
        session_id: str,
        lang: Language,
        rate_limit: RateLimit,
    ) -> None:
        self.websocket = websocket
        self.id = secrets.token_hex(6)  # names it to other nodes
        self.user = user  # as other members see it (chat's ``sender``)
        self.user_id = user.id
        self.session_id = session_id
        self.lang = lang
        self.rooms: set[str] = set()
        self.last_seen = time.monotonic()
        self.bucket = TokenBucket(rate_limit)
        # Held while one client message is handled: shutdown waits for it.
        self.busy = asyncio.Lock()
        self._seq = 0
        # What waits for the writer while the socket pushes back (made then: an empty deque
        # is 760 bytes, and most connections never need one).
        self._outbox: deque[str] | None = None
        self._close_code: int | None = None
        self._close_reason = ""
        self._writer: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[object] | None = None
        self._abort_timer: asyncio.TimerHandle | None = None
        self.aborted = False

    def __repr__(self) -> str:
        return f"<Connection user={self.user_id} rooms={sorted(self.rooms)}>"

    @property
    def closing(self) -> bool:
        return self._close_code is not None

    def start(self) -> None:
        """Start serving; the calling task is the one reading (cancelled by an abort)."""
        self._reader = asyncio.current_task()

    def send(self, event: Event) -> None:
        """Send ``event`` with this connection's next seq (a no-op once closing)."""
        if self._close_code is not None:
            return
        self._seq += 1
        text = event.envelope(self._seq)
        if self._writer is None:
            self._write_now(text)
            return
        if self._outbox is None:
            self._outbox = deque()
        elif len(self._outbox) >= MAX_PENDING:
            log.warning("slow consumer closed", extra={"user_id": self.user_id})
            self.close(CloseCode.POLICY_VIOLATION, "slow consumer")
            return
        self._outbox.append(text)

    def _write_now(self, text: str) -> None:
        """Run the ASGI send up to its first suspension: with room in the socket's buffer it
        finishes there, the frame written. If it suspends (the transport pushed back), the
        writer task finishes it and sends whatever queues up behind it."""
        sending = self.websocket.send({"type": "websocket.send", "text": text})
        try:
            waiting_on = sending.send(None)
        except StopIteration:
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._gone()
            return
        self._start_writer(_finish(sending, waiting_on))

    def _start_writer(self, first: Any = None) -> None:
        name = f"ws-writer-{self.user_id}"
        self._writer = asyncio.create_task(self._write(first), name=name)

    def _gone(self) -> None:
        """The peer is gone (the reader sees it too): queue nothing more."""
        self._close_code = self._close_code or 1006
        self._outbox = None

    def send_error(
        self, code: ErrorCode, request_seq: int | None, details: dict[str, object] | None = None
    ) -> None:
        self.send(error_event(code, request_seq, self.lang, details))

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is already queued has been sent (the first close wins)."""
        if self._close_code is not None:
            return
        self._close_code = code
        self._close_reason = reason
        if code == CloseCode.POLICY_VIOLATION:
            self._outbox = None  # it will never read them
        if self._writer is None:
            self._start_writer()  # else the writer closes once it has drained the queue
        self._abort_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._abort)

    def _abort(self) -> None:
        if self._writer is None or self._writer.done():
            return  # the close went out
        log.warning("ws close not delivered, aborting", extra={"user_id": self.user_id})
        self.aborted = True
        self._writer.cancel()
        if self._reader is not None:
            self._reader.cancel()

    async def _write(self, first: Any) -> None:
        """Finish ``first`` (a send that was suspended), drain the queue, then close if asked
        to, or end: later messages go straight to the socket again."""
        try:
            if first is not None:
                await first
            while self._outbox:
                text = self._outbox.popleft()
                await self.websocket.send({"type": "websocket.send", "text": text})
            self._outbox = None
            if self._close_code is not None:
                await self.websocket.close(self._close_code, self._close_reason)
                return
        except (WebSocketDisconnect, RuntimeError, OSError):
            self._gone()
        if self._close_code is None:
            self._writer = None

    async def finish(self) -> None:
        """Stop the writer, after it has flushed a pending close (within ``CLOSE_TIMEOUT``)."""
        if self._writer is None:
            return
        if not self._writer.done() and self._close_code is not None:
            await asyncio.wait([self._writer], timeout=CLOSE_TIMEOUT)
        self._writer.cancel()
        if self._abort_timer is not None:
            self._abort_timer.cancel()


@types.coroutine
def _finish(sending: Coroutine[Any, Any, None], waiting_on: Any) -> Generator[Any, Any, None]:
    """Await the rest of ``sending``, a coroutine already run outside any task up to the
    point where it yielded ``waiting_on``: that is handed to the awaiting task as if the task
    had run it from the start (what ``yield from`` does for a coroutine not yet started)."""
    value = waiting_on
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            sending.close()
            raise
        except BaseException as exc:  # cancelled, typically: the coroutine sees it
            try:
                value = sending.throw(exc)
            except StopIteration:
                return
        else:
            try:
                value = sending.send(sent)
            except StopIteration:
                return
