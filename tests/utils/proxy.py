"""A TCP proxy the test controls: forwards to a server, and can cut every live connection at
once (the network dropped) and refuse new ones for a while (the network is still down), send
the connections after a cut to another server (a load balancer moving the client to another
node), and hold a new connection back for a while (a slow network) before forwarding it.

It serves HTTP and WebSocket only, where the client speaks first: it reads the request line of
each connection, to know what it is (``opened``) and which connection to hold."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

_TOKEN = re.compile(rb"(access_token=)[^&\s]+")


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()  # both ends of every connection
        self._clients: set[asyncio.StreamWriter] = set()  # the client ends
        self._down_until = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._holds: list[tuple[bytes, float]] = []
        self.port = 0
        self.opened: list[str] = []  # each connection's request line, tokens redacted

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self, down_for: float = 0.0, move_to: tuple[str, int] | None = None) -> int:
        """Drop every live connection (no close frames, no FIN: a reset), and refuse new ones
        for ``down_for`` seconds; new ones then go to ``move_to`` when given. Returns how many
        connections were cut."""
        self._down_until = time.monotonic() + down_for
        if move_to is not None:
            self.target = move_to
        writers, self._live = self._live, set()
        for writer in writers:
            writer.transport.abort()
        return len(writers & self._clients)

    def freeze(self) -> None:
        """Stop forwarding, keep the connections: a network that silently drops packets."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def hold_next(self, request_prefix: str, seconds: float) -> None:
        """Forward the next connection whose request line starts with ``request_prefix`` (e.g.
        ``GET /v1/ws``) only ``seconds`` after it came."""
        self._holds.append((request_prefix.encode(), seconds))

    def opened_matching(self, request_prefix: str) -> list[str]:
        return [line for line in self.opened if line.startswith(request_prefix)]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._down_until:
            writer.transport.abort()
            return
        self._live.add(writer)  # a cut drops it even before it is forwarded
        self._clients.add(writer)
        try:
            await self._forward(reader, writer)
        finally:
            self._clients.discard(writer)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = b""
        with contextlib.suppress(OSError):
            first = await reader.read(65536)
        if first:
            self.opened.append(_TOKEN.sub(rb"\1[redacted]", first.split(b"\r\n")[0]).decode())
            await asyncio.sleep(self._hold_for(first))
            await self._flowing.wait()
        try:
            if not first or writer not in self._live:
                raise ConnectionResetError("gone before it was forwarded")
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._live.discard(writer)
            writer.transport.abort()
            return
        up_writer.write(first)
        self._live.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._live.discard(end)
            end.transport.abort()

    def _hold_for(self, first: bytes) -> float:
        for hold in self._holds:
            if first.startswith(hold[0]):
                self._holds.remove(hold)
                return hold[1]
        return 0.0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side gone: the whole connection goes


class BadUpstream:
    """A node that fails every HTTP request: ``"502"`` answers as a balancer does when the node
    behind it failed (an HTML page, no API envelope); ``"hung"`` accepts and never answers (a
    frozen process: the kernel still completes the handshake). ``requests`` counts arrivals.
    Put it behind a ``TcpProxy`` with ``cut(move_to=("127.0.0.1", bad.port))``."""

    PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

    def __init__(self, kind: str) -> None:
        assert kind in ("502", "hung"), kind
        self.kind = kind
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> BadUpstream:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                await reader.readuntil(b"\r\n\r\n")  # a request's head (bodiless GETs here)
                self.requests += 1
                if self.kind == "hung":
                    await reader.read()  # until the client gives up
                    return
                # One answer per connection: the next request is a new connection, so the
                # balancer in front (a TcpProxy) picks its node again.
                writer.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
                    % (len(self.PAGE), self.PAGE)
                )
                writer.close()
                await writer.wait_closed()
        finally:
            self._open.discard(writer)
            writer.transport.abort()
