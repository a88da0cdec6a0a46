"""One WebSocket connection: open it with a token, read ``connected``, send envelopes, read
messages. Reconnecting is :mod:`aimeeting.sdk.connection`'s business."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from aimeeting.protocol import ServerMessage
from aimeeting.protocol.wire import ConnectedData
from aimeeting.sdk.errors import MeetingError, network_error, server_error

log = logging.getLogger("aimeeting.sdk.transport")
MAX_FRAME = 16 * 1024 * 1024


class _RedactTokens(logging.Filter):
    """websockets logs the request line at DEBUG; the token in its query must never show."""

    _token = re.compile(r"(access_token=)[^&\s]+")

    @classmethod
    def redact(cls, text: str) -> str:
        return cls._token.sub(r"\1[redacted]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = ()
        return True


_ws_log = logging.getLogger("aimeeting.sdk.websockets")
_ws_log.addFilter(_RedactTokens())


@dataclass(frozen=True)
class Welcome:
    """``connected.data``: who we are and the server's timings (seconds)."""

    user_id: str
    heartbeat_timeout: float | None
    reconnect_grace: float | None

    @classmethod
    def from_wire(cls, data: ConnectedData) -> Welcome:
        # .get: the timings are an extension older servers lack
        return cls(data["user_id"], data.get("heartbeat_timeout"), data.get("reconnect_grace"))


class Closed(Exception):
    """The connection ended; ``code`` is the close code received (1006 when none was)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed with {code} {reason}".strip())
        self.code = code
        self.reason = reason


class Transport:
    def __init__(self, socket: ClientConnection, welcome: Welcome) -> None:
        self.socket = socket
        self.welcome = welcome
        self._seq = itertools.count(1)

    @classmethod
    async def open(
        cls, url: str, token: str, wait: float, language: str | None = None
    ) -> Transport:
        """Connect and read ``connected``. A refused token raises the server's error
        (40102/40103 → PERMISSION_DENIED); anything else that fails is NETWORK_ERROR."""
        headers = {"Accept-Language": language} if language else None
        try:
            socket = await connect(
                f"{url}?{urlencode({'access_token': token})}",
                open_timeout=wait,
                close_timeout=1,
                ping_interval=None,  # the contract's ping/pong is the heartbeat
                max_size=MAX_FRAME,
                additional_headers=headers,
                logger=_ws_log,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            reason = _RedactTokens.redact(repr(exc))
            raise network_error("cannot connect to the WebSocket server", reason=reason) from exc
        try:
            first = await asyncio.wait_for(_read(socket), wait)
        except (TimeoutError, ConnectionClosed, ValueError) as exc:
            socket.transport.abort()
            raise network_error("no `connected` from the WebSocket server") from exc
        if first.get("type") != ServerMessage.CONNECTED:
            socket.transport.abort()
            raise _refused(first)
        return cls(socket, Welcome.from_wire(first["data"]))

    def next_seq(self) -> int:
        return next(self._seq)

    async def send(
        self, kind: str, data: dict[str, Any] | None = None, seq: int | None = None
    ) -> int:
        """Send one message in the contract's envelope; returns its seq."""
        seq = seq if seq is not None else self.next_seq()
        envelope = {"type": kind, "seq": seq, "timestamp": int(time.time() * 1000)}
        envelope["data"] = data or {}
        try:
            await self.socket.send(orjson.dumps(envelope).decode())
        except ConnectionClosed as exc:
            raise Closed(_close_code(exc)) from exc
        return seq

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Every message until the connection ends, which raises ``Closed``."""
        while True:
            try:
                yield await _read(self.socket)
            except ConnectionClosed as exc:
                raise Closed(_close_code(exc), exc.rcvd.reason if exc.rcvd else "") from exc
            except ValueError:
                log.warning("ignored a frame that is not a JSON object")

    def abort(self) -> None:
        """Drop the connection at once (a dead network answers no close handshake)."""
        self.socket.transport.abort()

    async def close(self) -> None:
        await self.socket.close()


async def _read(socket: ClientConnection) -> dict[str, Any]:
    message = orjson.loads(await socket.recv())
    if not isinstance(message, dict):
        raise ValueError("not a JSON object")
    return message


def _close_code(exc: ConnectionClosed) -> int:
    return exc.rcvd.code if exc.rcvd is not None else 1006


def _refused(message: dict[str, Any]) -> MeetingError:
    data = message.get("data") or {}
    if message.get("type") == ServerMessage.ERROR and isinstance(data.get("code"), int):
        return server_error(data["code"], str(data.get("message", "")), data.get("details"))
    return network_error("unexpected first message", message_type=message.get("type"))
