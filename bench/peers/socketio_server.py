"""A peer: python-socketio (ASGI on uvicorn, the settings of ours), rooms via ``enter_room`` and
``emit(..., room=...)``.

``python -m bench.peers.socketio_server --port 8002``. Events: ``join_room {room_id}`` →
``user_joined`` to the room; ``chat_message {room_id, content, client_msg_id}`` →
``chat_message`` (our event's data) to the room, the sender included; ``ping`` → ``pong``.
Engine.IO's own heartbeat (server ping every 25 s) stays on, as a user of it would have it.
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio  # type: ignore[import-untyped]
import uvicorn

from bench.peers.chat import chat_data, user

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[], logger=False)
members: dict[str, str] = {}  # sid → user id
counts: dict[str, int] = {}  # room → members


@sio.event  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any]) -> None:
    members[sid] = f"usr_{sid[:16]}"
    await sio.emit("connected", {"user_id": members[sid]}, to=sid)


@sio.event  # type: ignore[untyped-decorator]
async def disconnect(sid: str, *args: Any) -> None:
    members.pop(sid, None)


@sio.event  # type: ignore[untyped-decorator]
async def join_room(sid: str, data: dict[str, Any]) -> None:
    room_id = data["room_id"]
    await sio.enter_room(sid, room_id)
    counts[room_id] = counts.get(room_id, 0) + 1
    joined = {"user": user(members[sid]), "room_id": room_id, "participant_count": counts[room_id]}
    await sio.emit("user_joined", joined, room=room_id)


@sio.event  # type: ignore[untyped-decorator]
async def chat_message(sid: str, data: dict[str, Any]) -> None:
    await sio.emit("chat_message", chat_data(members[sid], data), room=data["room_id"])


@sio.event  # type: ignore[untyped-decorator]
async def ping(sid: str, data: Any = None) -> None:
    await sio.emit("pong", {"request_seq": None}, to=sid)


app = socketio.ASGIApp(sio)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.socketio_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
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
