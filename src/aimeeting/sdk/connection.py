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
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, network_error, server_error
from aimeeting.sdk.models import ConnectionState, NetworkQuality
from aimeeting.sdk.rest import RestClient
from aimeeting.sdk.tasks import Background
from aimeeting.sdk.transport import Closed, Transport

log = logging.getLogger("aimeeting.sdk.connection")

# Closes that end the session for good: reconnecting would be refused or wrong.
FINAL_CLOSE_CODES = frozenset(
    {CloseCode.UNAUTHORIZED, CloseCode.TAKEN_OVER, CloseCode.MEETING_ENDED}
)
PONG_TIMEOUT = 5.0  # seconds a pong may take before it counts as missed
DEAD_AFTER_MISSED = 2  # pongs missed in a row: the connection is dead, reconnect
FAIR_RTT_MS, POOR_RTT_MS = 150.0, 500.0

Match = Callable[[dict[str, Any]], bool]


class LinkOwner(Protocol):
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


class Link:
    def __init__(self, config: SDKConfig, rest: RestClient, owner: LinkOwner) -> None:
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
                error = server_error(data["code"], data["message"], data.get("details"))
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
            await asyncio.sleep(self._backoff(attempt))
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

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with full jitter: clients dropped together spread out."""
        ceiling = self.config.reconnect_base_delay * float(2 ** min(attempt - 1, 16))
        return random.uniform(0.5, 1.0) * min(self.config.reconnect_max_delay, ceiling)  # noqa: S311

    # --- heartbeat --------------------------------------------------------------------------

    def heartbeat_interval(self, transport: Transport) -> float:
        """30 s (configurable), or a third of the server's timeout when that is shorter."""
        timeout = transport.welcome.heartbeat_timeout
        interval = self.config.heartbeat_interval
        return min(interval, timeout / 3) if timeout else interval

    async def _heartbeat(self, transport: Transport) -> None:
        interval = self.heartbeat_interval(transport)
        missed = 0
        while transport is self.transport:
            started = time.monotonic()
            rtt_ms = await self._ping(transport, min(interval, PONG_TIMEOUT))
            if transport is not self.transport:
                return
            missed = 0 if rtt_ms is not None else missed + 1
            self.owner.on_quality(grade(rtt_ms, missed), rtt_ms, missed)
            if missed >= DEAD_AFTER_MISSED:
                log.warning("%d pongs missed: dropping the connection", missed)
                transport.abort()
                return
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

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
