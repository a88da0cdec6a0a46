"""A TCP proxy the test controls: forwards to a server, and can cut every live connection at
once (the network dropped) and refuse new ones for a while (the network is still down)."""

from __future__ import annotations

import asyncio
import contextlib
import time


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()
        self._down_until = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.port = 0
        self.cuts = 0

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

    def cut(self, down_for: float = 0.0) -> int:
        """Drop every live connection (no close frames, no FIN: a reset), and refuse new ones
        for ``down_for`` seconds. Returns how many connections were cut."""
        self._down_until = time.monotonic() + down_for
        writers, self._live = self._live, set()
        for writer in writers:
            writer.transport.abort()
        self.cuts += 1
        return len(writers) // 2

    def freeze(self) -> None:
        """Stop forwarding, keep the connections: a network that silently drops packets."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self._down_until:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._live |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            self._live.discard(end)
            end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side gone: the whole connection goes
