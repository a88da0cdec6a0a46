"""The limit: a broadcast server straight on our stack (uvicorn, websockets-sansio, uvloop,
httptools, no protocol pings, no deflate), raw ASGI, with no auth, no database and no rules.

``python -m bench.peers.bare --port 8001``. Messages are our envelope: ``join_room`` puts the
connection in a room (``user_joined`` to the room), ``chat_message`` goes to every member, the
sender included, with a per-connection ``seq`` like ours; ``webrtc_signal`` goes to the member
``to_user_id`` of the room, as ours relays it; ``ping`` gets ``pong``. The event is
encoded once per message, the envelope's head once per member, as ours does.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import uvicorn

from bench.peers.chat import chat_data, now_ms, user

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_ids = itertools.count(1)


class Member:
    __slots__ = ("id", "rooms", "send", "seq")

    def __init__(self, send: Send) -> None:
        self.id = f"usr_{next(_ids):016x}"
        self.send = send
        self.seq = 0
        self.rooms: set[str] = set()

    async def deliver(self, kind: str, tail: str) -> None:
        self.seq += 1
        text = f'{{"type":"{kind}","seq":{self.seq}{tail}'
        await self.send({"type": "websocket.send", "text": text})


rooms: dict[str, dict[str, Member]] = {}


def _tail(data: dict[str, Any]) -> str:
    return f',"timestamp":{now_ms()},"data":{orjson.dumps(data).decode()}}}'


async def broadcast(room_id: str, kind: str, data: dict[str, Any]) -> None:
    tail = _tail(data)
    for member in list(rooms.get(room_id, {}).values()):
        try:
            await member.deliver(kind, tail)
        except Exception:  # a member that is gone misses the message
            continue


async def handle(member: Member, text: str) -> None:
    message = orjson.loads(text)
    kind, data = message.get("type"), message.get("data") or {}
    if kind == "chat_message":
        await broadcast(data["room_id"], "chat_message", chat_data(member.id, data))
    elif kind == "webrtc_signal":
        target = rooms.get(data["room_id"], {}).get(data["to_user_id"])
        relayed = {"room_id": data["room_id"], "from_user_id": member.id, "signal": data["signal"]}
        if target is not None:
            await target.deliver("webrtc_signal", _tail(relayed))
    elif kind == "ping":
        await member.deliver("pong", _tail({"request_seq": message.get("seq")}))
    elif kind == "join_room":
        room_id = data["room_id"]
        rooms.setdefault(room_id, {})[member.id] = member
        member.rooms.add(room_id)
        members = rooms[room_id]
        joined = {"user": user(member.id), "room_id": room_id, "participant_count": len(members)}
        await broadcast(room_id, "user_joined", joined)


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    member = Member(send)
    await member.deliver("connected", _tail({"user_id": member.id}))
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await handle(member, message["text"])
    finally:
        for room_id in member.rooms:
            rooms.get(room_id, {}).pop(member.id, None)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.bare")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The settings of aimeeting.server.cli.serve, and the ws implementation "auto" picks there.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
    )


if __name__ == "__main__":
    main()
