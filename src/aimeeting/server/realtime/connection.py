"""One client socket: who it is, the rooms it is in, and its own outbound queue.

Anything may hand a connection a message at any time without waiting: ``send`` only queues it,
and the connection's writer task puts it on the wire. A client that stops reading cannot stall
whoever sends to it; past ``MAX_PENDING`` queued messages it is closed with 1008. A close that
cannot reach the client within ``CLOSE_TIMEOUT`` (it reads nothing) aborts the connection.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque

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
        self._outbox: deque[str] = deque()
        self._ready = asyncio.Event()
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
        """Start writing; the calling task is the one reading (cancelled by an abort)."""
        self._reader = asyncio.current_task()
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{self.user_id}")

    def send(self, event: Event) -> None:
        """Queue ``event`` with this connection's next seq (a no-op once closing)."""
        if self._close_code is not None:
            return
        if len(self._outbox) >= MAX_PENDING:
            log.warning("slow consumer closed", extra={"user_id": self.user_id})
            self.close(CloseCode.POLICY_VIOLATION, "slow consumer")
            return
        self._seq += 1
        self._outbox.append(event.envelope(self._seq))
        self._ready.set()

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
            self._outbox.clear()  # it will never read them
        self._ready.set()
        self._abort_timer = asyncio.get_running_loop().call_later(CLOSE_TIMEOUT, self._abort)

    def _abort(self) -> None:
        if self._writer is None or self._writer.done():
            return  # the close went out
        log.warning("ws close not delivered, aborting", extra={"user_id": self.user_id})
        self.aborted = True
        self._writer.cancel()
        if self._reader is not None:
            self._reader.cancel()

    async def _write(self) -> None:
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                while self._outbox:
                    await self.websocket.send_text(self._outbox.popleft())
                if self._close_code is not None:
                    await self.websocket.close(self._close_code, self._close_reason)
                    return
        except (WebSocketDisconnect, RuntimeError, OSError):
            # The peer is gone (the reader sees it too): queue nothing more.
            self._close_code = self._close_code or 1006

    async def finish(self) -> None:
        """Stop the writer, after it has flushed a pending close (within ``CLOSE_TIMEOUT``)."""
        if self._writer is None:
            return
        if not self._writer.done() and self._close_code is not None:
            await asyncio.wait([self._writer], timeout=CLOSE_TIMEOUT)
        self._writer.cancel()
        if self._abort_timer is not None:
            self._abort_timer.cancel()
