"""A TCP fault proxy for any protocol (PostgreSQL, Redis): the test puts it between a node and
a service it needs, and switches what the "network" does while everything runs.

``tests/utils/proxy.py``'s ``TcpProxy`` reads each connection's HTTP request line before it
connects onwards, so it cannot carry protocols it does not know; this one looks at no byte.

Modes (switch any time; each applies to live and new connections at once):

- ``restore()``: pass everything through (the start); bytes held by a blackhole go on, in order.
- ``delay(seconds)``: every chunk is forwarded ``seconds`` after it came, in each direction
  (latency, not a bandwidth cap: chunks in flight overlap). ``loss=0.02, retransmit=0.4``: each
  chunk has that chance of being "lost" and arriving ``retransmit`` seconds later, the chunks
  behind it waiting in order: what packet loss looks like above TCP (a retransmission and
  head-of-line blocking), for a kernel without ``sch_netem``.
- ``reset()``: abort every live connection (an RST, no FIN) and refuse new ones: the service's
  host is down ("connection refused").
- ``blackhole()``: accept, but forward nothing; bytes are held, new connections are not carried
  on: a hung peer, or a network that silently drops packets. Nothing fails, everything waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass
from enum import StrEnum

CHUNK = 65536


class Mode(StrEnum):
    PASS = "pass"
    DELAY = "delay"
    RESET = "reset"
    BLACKHOLE = "blackhole"


@dataclass
class FaultCounts:
    accepted: int = 0
    refused: int = 0  # connections aborted at once while in reset mode
    reset: int = 0  # live connections aborted by ``reset()``
    chunks: int = 0  # forwarded while delayed
    lost: int = 0  # of those, "lost" and retransmitted


class FaultProxy:
    """``await FaultProxy(host, port).start()``; connect to ``proxy.port`` on 127.0.0.1."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.mode = Mode.PASS
        self.latency = 0.0
        self.loss = 0.0
        self.retransmit = 0.0
        self.counts = FaultCounts()
        self._random = random.Random(17)  # the same losses on every run
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()  # cleared by a blackhole
        self._flowing.set()
        self._clients: set[asyncio.StreamWriter] = set()
        self._ends: set[asyncio.StreamWriter] = set()  # both ends of every connection

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        self._abort_all()
        self._flowing.set()  # let waiting handlers see their connections gone
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def live(self) -> int:
        """Client connections open now."""
        return len(self._clients)

    # --- modes -------------------------------------------------------------------------

    def restore(self) -> None:
        self.mode, self.latency, self.loss = Mode.PASS, 0.0, 0.0
        self._flowing.set()

    def delay(self, seconds: float, loss: float = 0.0, retransmit: float = 0.0) -> None:
        self.mode, self.latency = Mode.DELAY, seconds
        self.loss, self.retransmit = loss, retransmit
        self._flowing.set()

    def reset(self) -> int:
        """Abort every live connection and refuse new ones; how many clients were cut."""
        self.mode = Mode.RESET
        self._flowing.set()  # nothing is held: it is all gone
        cut = self._abort_all()
        self.counts.reset += cut
        return cut

    def blackhole(self) -> None:
        self.mode = Mode.BLACKHOLE
        self._flowing.clear()

    # --- connections -------------------------------------------------------------------

    def _abort_all(self) -> int:
        cut = len(self._clients)
        ends, self._ends = self._ends, set()
        for end in ends:
            end.transport.abort()
        return cut

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.RESET:
            self.counts.refused += 1
            writer.transport.abort()
            return
        self.counts.accepted += 1
        self._clients.add(writer)
        self._ends.add(writer)
        upstream: asyncio.StreamWriter | None = None
        to_server: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        try:
            # The client's first bytes are read (and held) even before the server is reached.
            reading = asyncio.create_task(self._read(reader, to_server))
            await self._flowing.wait()
            if writer not in self._ends:  # reset while it waited
                return
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._ends.add(upstream)
            to_client: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
            await asyncio.gather(
                reading,
                self._write(to_server, upstream),
                self._read(up_reader, to_client),
                self._write(to_client, writer),
                return_exceptions=True,
            )
        except OSError:
            pass  # the service is down for real: the client sees its connection drop
        finally:
            self._clients.discard(writer)
            for end in (writer, upstream):
                if end is not None:
                    self._ends.discard(end)
                    end.transport.abort()

    async def _read(
        self, reader: asyncio.StreamReader, queue: asyncio.Queue[tuple[float, bytes]]
    ) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):
            while data := await reader.read(CHUNK):
                queue.put_nowait((loop.time() + self._latency_of_one(), data))
        queue.put_nowait((0.0, b""))  # end of stream

    def _latency_of_one(self) -> float:
        if self.mode is not Mode.DELAY:
            return self.latency
        self.counts.chunks += 1
        if self.loss and self._random.random() < self.loss:
            self.counts.lost += 1
            return self.latency + self.retransmit
        return self.latency

    async def _write(
        self, queue: asyncio.Queue[tuple[float, bytes]], writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(OSError):
            while True:
                due, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - loop.time()))
                await self._flowing.wait()
                if writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        writer.transport.abort()  # one side gone: the whole connection goes
