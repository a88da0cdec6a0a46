"""A meeting's WebSocket over time: heartbeat and network quality, automatic reconnect with
exponential backoff and jitter, and requests that wait for their answer.

The owner (a ``Meeting``) gets every server message, re-enters its room after each (re)connect
(``enter``), and hears about state changes; this module knows nothing about rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aimeeting.protocol import ClientMessage, CloseCode, ErrorCode, ServerMessage
from aimeeting.sdk.config import SDKConfig
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, network_error
from aimeeting.sdk.models import ConnectionState, ErrorEvent, NetworkQuality
from aimeeting.sdk.rest import RestClient
from aimeeting.sdk.transport import Closed, Transport
from aimeeting.tasks import Background

log = logging.getLogger("aimeeting.sdk.connection")

# Closes that end the session for good: reconnecting would be refused or wrong.
FINAL_CLOSE_CODES = frozenset(
    {CloseCode.UNAUTHORIZED, CloseCode.TAKEN_OVER, CloseCode.MEETING_ENDED}
)
DEAD_AFTER_MISSED = 2  # pings missed in a row, with no frame at all since: dead, reconnect
FAIR_RTT_MS, POOR_RTT_MS = 150.0, 500.0

Match = Callable[[dict[str, Any]], bool]


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """The wait before reconnect ``attempt`` (1, 2, …): exponential from ``base``, capped at
    ``cap``, with "equal" jitter (half to all of the step), so clients dropped together spread
    out and none retries at once."""
    ceiling = base * float(2 ** min(attempt - 1, 16))
    return random.uniform(0.5, 1.0) * min(cap, ceiling)  # noqa: S311


class SocketOwner(Protocol):
    def on_message(self, message: dict[str, Any]) -> None: ...

    async def enter(self, first: bool) -> None: ...

    def on_state(
        self,
        state: ConnectionState,
        code: int | None,
        reason: str | None,
        error: MeetingError | None,
    ) -> None: ...

    def on_quality(self, quality: NetworkQuality, rtt_ms: float | None, missed: int) -> None: ...


def grade(rtt_ms: float | None, missed: int) -> NetworkQuality:
    """The network quality of the last round trip and the pongs missed in a row."""
    if missed >= DEAD_AFTER_MISSED:
        return NetworkQuality.LOST
    if missed or rtt_ms is None or rtt_ms >= POOR_RTT_MS:
        return NetworkQuality.POOR
    return NetworkQuality.FAIR if rtt_ms >= FAIR_RTT_MS else NetworkQuality.GOOD


@dataclass
class _Waiter:
    seq: int | None
    match: Match
    future: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def set_seq(self, seq: int) -> None:
        self.seq = seq


class MeetingSocket:
    def __init__(self, config: SDKConfig, rest: RestClient, owner: SocketOwner) -> None:
        self.config = config
        self.rest = rest
        self.owner = owner
        self.state = ConnectionState.DISCONNECTED
        self.transport: Transport | None = None
        self.reconnect_grace: float | None = None
        self._waiters: list[_Waiter] = []
        self._lost: asyncio.Future[int] | None = None
        self._tasks = Background()  # this connection's reader and heartbeat
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._stopping = False
        # Liveness of the current socket (monotonic times): the last frame received, the last
        # message the owner sent, and a wake-up for the heartbeat when it sends one.
        self._last_frame = 0.0
        self._last_sent = 0.0
        self._sent = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and enter once (errors raise: nothing retries a first connect), then keep
        the connection up until ``close``."""
        self._set_state(ConnectionState.CONNECTING)
        try:
            await self._open(first=True)
        except BaseException:
            await self.close()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name="aimeeting-link")

    async def close(self) -> None:
        """Stop for good: close the socket, fail whatever waits. Idempotent."""
        self._stopping = True
        if self._supervisor is not None and self._supervisor is not asyncio.current_task():
            self._supervisor.cancel()
        await self._drop_transport(graceful=True)
        self._set_state(ConnectionState.DISCONNECTED)

    @property
    def connected(self) -> bool:
        return self.state is ConnectionState.CONNECTED

    # --- sending ----------------------------------------------------------------------------

    async def send(
        self,
        kind: str,
        data: dict[str, Any] | None = None,
        on_seq: Callable[[int], None] | None = None,
    ) -> int:
        """Send on the current connection (connected, or entering); returns the seq, which
        ``on_seq`` learns before the message leaves (so no answer can come before it)."""
        transport = self.transport
        if transport is None or self._stopping:
            raise network_error("not connected")
        seq = transport.next_seq()
        if on_seq is not None:
            on_seq(seq)
        self._last_sent = time.monotonic()
        self._sent.set()  # the heartbeat checks that something comes back
        try:
            return await transport.send(kind, data, seq)
        except Closed as exc:
            raise network_error("the connection closed", close_code=exc.code) from exc

    async def request(
        self,
        kind: str,
        data: dict[str, Any] | None,
        match: Match,
        *,
        wait_connected: bool = True,
        then: Callable[[], Awaitable[object]] | None = None,
    ) -> dict[str, Any]:
        """Send and wait for the first message that ``match``es, or the server's ``error``
        about it (raised as ``MeetingError``). ``then`` is sent right behind the message."""
        timeout = self.config.request_timeout
        if wait_connected:
            await self.wait_connected(timeout)
        waiter = _Waiter(None, match)
        self._waiters.append(waiter)
        try:
            await self.send(kind, data, on_seq=waiter.set_seq)
            if then is not None:
                await then()
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError as exc:
            raise network_error(f"no answer to {kind} within {timeout} s") from exc
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def deliver(self, kind: str, data: dict[str, Any]) -> None:
        """Send a message the server answers only when it refuses it (``webrtc_signal``), and
        a ping right behind it: the server handles a connection's messages in order, so a
        refusal comes before the pong (and is raised), and the pong says it was accepted."""
        ping_seq: list[int] = []

        def is_pong_behind(message: dict[str, Any]) -> bool:
            return bool(ping_seq) and _is_pong(message, ping_seq[0])

        async def ping_behind() -> None:
            await self.send(ClientMessage.PING, None, on_seq=ping_seq.append)

        await self.request(kind, data, is_pong_behind, then=ping_behind)

    async def ping(self) -> float | None:
        """One ping now: its round trip in ms, or None without a pong in time. A pong also
        says that everything sent before the ping was handled (the server keeps order)."""
        transport = self.transport
        if transport is None:
            return None
        return await self._ping(transport, self.config.request_timeout)

    async def wait_connected(self, seconds: float) -> None:
        if self._stopping:
            raise network_error("the connection is closed")
        try:
            await asyncio.wait_for(self._connected.wait(), seconds)
        except TimeoutError as exc:
            raise network_error(f"not connected within {seconds} s") from exc

    # --- receiving --------------------------------------------------------------------------

    def _dispatch(self, message: dict[str, Any]) -> None:
        data = message.get("data") or {}
        if message.get("type") == ServerMessage.ERROR:
            waiter = next((w for w in self._waiters if w.seq == data.get("request_seq")), None)
            if waiter is not None and data.get("request_seq") is not None:
                error = ErrorEvent.from_wire(message["data"]).error
                self._settle(waiter, error=error)
                return
        self.owner.on_message(message)
        for waiter in list(self._waiters):
            if waiter.seq is not None and waiter.match(message):
                self._settle(waiter, result=message)

    def _settle(
        self, waiter: _Waiter, result: Any = None, error: BaseException | None = None
    ) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)
        if waiter.future.done():
            return
        if error is not None:
            waiter.future.set_exception(error)
        else:
            waiter.future.set_result(result)

    async def _read(self, transport: Transport, lost: asyncio.Future[int]) -> None:
        code = 1006
        try:
            async for message in transport.messages():
                if transport is self.transport:
                    self._last_frame = time.monotonic()
                self._dispatch(message)
        except Closed as exc:
            code = exc.code
        finally:
            if transport is self.transport:
                for waiter in list(self._waiters):
                    self._settle(waiter, error=network_error("connection lost", close_code=code))
            if not lost.done():
                lost.set_result(code)

    # --- connecting -------------------------------------------------------------------------

    async def _open(self, first: bool) -> None:
        transport = await self._connect()
        self.transport = transport
        self.reconnect_grace = transport.welcome.reconnect_grace
        self._last_frame = self._last_sent = time.monotonic()
        self._lost = asyncio.get_running_loop().create_future()
        self._tasks.spawn(self._read(transport, self._lost), "aimeeting-link-read")
        self._tasks.spawn(self._heartbeat(transport), "aimeeting-link-heartbeat")
        try:
            await self.owner.enter(first)
        except BaseException:
            await self._drop_transport(graceful=False)
            raise
        self._set_state(ConnectionState.CONNECTED)

    async def _connect(self) -> Transport:
        """Open a socket with a valid access token: refreshed first when it is about to expire,
        and once more when the server still finds it expired."""
        tokens = self.rest.tokens
        if tokens.refresh_token and tokens.access_expires_soon():
            await self.rest.refresh(tokens.access_token)
        for attempt in range(2):
            token = tokens.access_token or ""
            try:
                return await Transport.open(
                    self.config.ws_url, token, self.config.request_timeout, self.config.language
                )
            except MeetingError as exc:
                if attempt or exc.server_code != ErrorCode.TOKEN_EXPIRED:
                    raise
                await self.rest.refresh(token)
        raise AssertionError("unreachable")

    async def _supervise(self) -> None:
        while not self._stopping:
            assert self._lost is not None
            code = await self._lost
            if self._stopping:
                return
            await self._drop_transport(graceful=False)
            if code in FINAL_CLOSE_CODES:
                self._set_state(ConnectionState.DISCONNECTED, code, _final_reason(code))
                return
            if not await self._reconnect(code):
                return

    async def _reconnect(self, code: int) -> bool:
        """Try again with backoff until connected (True) or it makes no sense any more."""
        log.info("connection lost (close code %s): reconnecting", code)
        self._set_state(ConnectionState.RECONNECTING, code, "connection lost")
        deadline = time.monotonic() + self.config.reconnect_timeout
        attempt = 0
        while time.monotonic() < deadline and not self._stopping:
            attempt += 1
            await asyncio.sleep(self.backoff(attempt))
            try:
                await self._open(first=False)
                log.info("reconnected after %d attempt(s)", attempt)
                return True
            except MeetingError as exc:
                if exc.code is not SDKErrorCode.NETWORK_ERROR:
                    log.warning("cannot rejoin: %s", exc.message)
                    self._set_state(ConnectionState.DISCONNECTED, None, exc.message, exc)
                    return False
                # The reason (already without tokens) says which of refused/timed out/reset.
                reason = exc.details.get("reason", "") if isinstance(exc.details, dict) else ""
                log.info("reconnect attempt %d failed: %s %s", attempt, exc.message, reason)
        self._set_state(ConnectionState.DISCONNECTED, code, "gave up reconnecting")
        return False

    def backoff(self, attempt: int) -> float:
        config = self.config
        return backoff_delay(attempt, config.reconnect_base_delay, config.reconnect_max_delay)

    # --- heartbeat --------------------------------------------------------------------------

    def heartbeat_interval(self, transport: Transport) -> float:
        """30 s (configurable), or a third of the server's timeout when that is shorter."""
        timeout = transport.welcome.heartbeat_timeout
        interval = self.config.heartbeat_interval
        return min(interval, timeout / 3) if timeout else interval

    def pong_timeout(self, transport: Transport) -> float:
        """How long a ping may go unanswered: ``pong_timeout`` (5 s), at most one interval."""
        return min(self.heartbeat_interval(transport), self.config.pong_timeout)

    async def _heartbeat(self, transport: Transport) -> None:
        """Ping every interval; a ping not answered within ``pong_timeout`` is missed and is
        followed by another at once (not an interval later). Two missed in a row, with nothing
        at all received since the last went out, mean a dead link (a hung server, a network
        that drops everything): the socket is dropped and the reconnect starts. A message the
        owner sent that got no frame back within ``pong_timeout`` brings the next ping
        forward, so an active client notices a hung server in about three ``pong_timeout``s,
        an idle one within an interval and two."""
        interval = self.heartbeat_interval(transport)
        patience = self.pong_timeout(transport)
        missed = 0
        while transport is self.transport:
            started = time.monotonic()
            rtt_ms = await self._ping(transport, patience)
            if transport is not self.transport:
                return
            missed = 0 if rtt_ms is not None else missed + 1
            self.owner.on_quality(grade(rtt_ms, missed), rtt_ms, missed)
            # Frames still coming (a pong queued behind a slow request) say the server lives.
            if missed >= DEAD_AFTER_MISSED and self._last_frame < started:
                log.warning("%d pings unanswered, nothing received: dropping the link", missed)
                transport.abort()
                return
            if not missed:
                await self._idle(started + interval, patience)

    async def _idle(self, until: float, patience: float) -> None:
        """Until the next ping is due (monotonic ``until``), or earlier when a message sent
        has had no frame back for ``patience`` seconds (then the ping probes the link)."""
        while (now := time.monotonic()) < until:
            unanswered = self._last_sent > self._last_frame
            if unanswered and now - self._last_sent >= patience:
                log.info("nothing received %.1f s after sending: probing the link", patience)
                return
            wake = min(until, self._last_sent + patience) if unanswered else until
            self._sent.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent.wait(), max(0.0, wake - now))

    async def _ping(self, transport: Transport, patience: float) -> float | None:
        """The round trip of one ping in milliseconds, or None when no pong came in time."""
        waiter = _Waiter(None, lambda message: _is_pong(message, waiter.seq))
        self._waiters.append(waiter)
        started = time.monotonic()
        try:
            waiter.seq = transport.next_seq()
            await transport.send(ClientMessage.PING, None, waiter.seq)
            await asyncio.wait_for(asyncio.shield(waiter.future), patience)
            return (time.monotonic() - started) * 1000
        except (TimeoutError, Closed, MeetingError):
            return None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    # --- helpers ----------------------------------------------------------------------------

    async def _drop_transport(self, graceful: bool) -> None:
        transport, self.transport = self.transport, None
        self._connected.clear()
        self._tasks.cancel()
        for waiter in list(self._waiters):
            self._settle(waiter, error=network_error("connection lost"))
        if transport is None:
            return
        if graceful:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(transport.close(), 2)
        transport.abort()

    def _set_state(
        self,
        state: ConnectionState,
        code: int | None = None,
        reason: str | None = None,
        error: MeetingError | None = None,
    ) -> None:
        if state is ConnectionState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        if state is self.state:
            return
        previous, self.state = self.state, state
        if previous is ConnectionState.CONNECTED:
            self.owner.on_quality(NetworkQuality.LOST, None, 0)
        self.owner.on_state(state, code, reason, error)


def _is_pong(message: dict[str, Any], seq: int | None) -> bool:
    data = message.get("data") or {}
    return message.get("type") == ServerMessage.PONG and data.get("request_seq") == seq


def _final_reason(code: int) -> str:
    reasons: dict[int, str] = {
        CloseCode.UNAUTHORIZED: "logged out",
        CloseCode.TAKEN_OVER: "taken over by another connection of this user",
        CloseCode.MEETING_ENDED: "the meeting ended",
    }
    return reasons.get(code, "closed")
