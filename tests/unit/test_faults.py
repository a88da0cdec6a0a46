"""The fault proxy itself (tests/utils/faults.py), on real sockets on 127.0.0.1: a server that
speaks first (like PostgreSQL's or Redis's would answer) goes through unchanged, and each
mode does what it says, switched on live connections."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from tests.utils.faults import FaultProxy

GREETING = b"hello\n"
QUIET = 0.3  # how long "nothing arrives" is watched for


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(GREETING)  # the server speaks first
    with contextlib.suppress(OSError):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    proxy = await FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]).start()
    yield proxy
    await proxy.stop()
    server.close()


async def connect(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def read(reader: asyncio.StreamReader, count: int, timeout: float = 5) -> bytes:
    return await asyncio.wait_for(reader.readexactly(count), timeout)


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    assert await read(reader, len(data)) == data


async def gone(reader: asyncio.StreamReader) -> bool:
    """The connection was dropped (EOF or reset) rather than left open."""
    try:
        return await asyncio.wait_for(reader.read(1024), 5) == b""
    except ConnectionError:
        return True


async def test_passes_a_server_that_speaks_first(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    assert await read(reader, len(GREETING)) == GREETING
    await echo(reader, writer, b"x" * 200_000)  # several chunks, in order
    writer.close()


async def test_delay_adds_latency_each_way_and_restore_removes_it(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    await read(reader, len(GREETING))
    proxy.delay(0.2)
    started = time.monotonic()
    await echo(reader, writer, b"ping")
    assert time.monotonic() - started >= 0.4  # 0.2 s out, 0.2 s back
    proxy.restore()
    await echo(reader, writer, b"pong")
    writer.close()


async def test_loss_holds_a_lost_chunk_a_retransmission_and_keeps_the_order(
    proxy: FaultProxy,
) -> None:
    reader, writer = await connect(proxy)
    await read(reader, len(GREETING))
    proxy.delay(0.0, loss=1.0, retransmit=0.2)  # every chunk lost once
    started = time.monotonic()
    for part in (b"a", b"b", b"c"):
        await echo(reader, writer, part)
    assert time.monotonic() - started >= 3 * 2 * 0.2
    assert proxy.counts.lost >= 6
    proxy.delay(0.0, loss=0.5, retransmit=0.05)
    for _ in range(20):
        writer.write(b"0123456789")
        await asyncio.sleep(0.005)  # separate chunks, some lost, the rest behind them
    assert await read(reader, 200) == b"0123456789" * 20  # all of it, in order
    writer.close()


async def test_reset_drops_live_connections_and_refuses_new_ones(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    await read(reader, len(GREETING))
    assert proxy.reset() == 1
    assert await gone(reader)
    refused_reader, _ = await connect(proxy)  # the kernel accepts; the proxy drops it at once
    assert await gone(refused_reader)
    assert proxy.counts.refused == 1
    proxy.restore()
    reader, writer = await connect(proxy)
    assert await read(reader, len(GREETING)) == GREETING
    writer.close()


async def test_blackhole_holds_everything_until_restored(proxy: FaultProxy) -> None:
    reader, writer = await connect(proxy)
    await read(reader, len(GREETING))
    proxy.blackhole()
    writer.write(b"one,")
    writer.write(b"two")
    new_reader, new_writer = await connect(proxy)  # accepted, but the server is not reached
    with pytest.raises(TimeoutError):
        await read(reader, 1, timeout=QUIET)
    with pytest.raises(TimeoutError):
        await read(new_reader, 1, timeout=QUIET)
    assert proxy.live == 2  # hung, not dropped
    proxy.restore()
    assert await read(reader, 7) == b"one,two"
    assert await read(new_reader, len(GREETING)) == GREETING
    writer.close()
    new_writer.close()
