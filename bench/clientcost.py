"""Which WebSocket client costs the generator less CPU per message:
``python -m bench.clientcost``.

Against the Node peer (the cheapest server, so the client's cost shows), 200 clients in rooms of
4 each send 20 chat messages; the process's CPU time over every message received and sent is
the cost per message, for aiohttp's client and for websockets' asyncio client, twice each.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import uvloop
from websockets.asyncio.client import connect

from bench import targets

CLIENTS, MESSAGES = 200, 20
Sender = Callable[[str], Awaitable[None]]


def _frame(kind: str, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": kind, "data": data}).decode()


async def _exercise(senders: list[Sender], received: list[int]) -> float:
    """Join rooms, send, wait for the echoes; µs of CPU per message sent or received."""
    for i, send in enumerate(senders):
        await send(_frame("join_room", {"room_id": f"r{i // 4}"}))
    await asyncio.sleep(1)
    cpu, before = time.process_time(), received[0]
    for k in range(MESSAGES):
        for i, send in enumerate(senders):
            data = {"room_id": f"r{i // 4}", "content": "x" * 64, "client_msg_id": f"{i}-{k}"}
            await send(_frame("chat_message", data))
        await asyncio.sleep(0.05)
    await asyncio.sleep(2)
    messages = received[0] - before + CLIENTS * MESSAGES
    return (time.process_time() - cpu) / messages * 1e6


async def _aiohttp(url: str) -> float:
    received = [0]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await session.ws_connect(url, max_msg_size=0) for _ in range(CLIENTS)]

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                orjson.loads(message.data)
                received[0] += 1

        readers = [asyncio.create_task(read(ws)) for ws in sockets]
        cost = await _exercise([ws.send_str for ws in sockets], received)
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.cancel()
    return cost


async def _websockets(url: str) -> float:
    received = [0]
    sockets = [
        await connect(url, compression=None, ping_interval=None, max_queue=None)
        for _ in range(CLIENTS)
    ]

    async def read(ws: Any) -> None:
        async for message in ws:
            orjson.loads(message)
            received[0] += 1

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    cost = await _exercise([ws.send for ws in sockets], received)
    for ws in sockets:
        await ws.close()
    for reader in readers:
        reader.cancel()
    return cost


def main() -> None:
    with targets.start("node") as server:
        for _ in range(2):
            for name, run in (("aiohttp", _aiohttp), ("websockets", _websockets)):
                cost = uvloop.run(run(server.ws_base + "/"))
                print(f"{name:10} {cost:5.1f} µs of generator CPU per message")


if __name__ == "__main__":
    main()
