"""How each target frames our messages on a WebSocket.

``plain`` is our envelope (ours, the bare server, Node's ``ws``). ``socketio`` speaks Engine.IO v4
/ Socket.IO v5 over plain WebSocket frames (no polling, no client library), so the generator costs
the same for every target: open packet ``0{...}`` → we send ``40`` (connect the default
namespace), events are ``42["name",data]``, and the server's Engine.IO ping ``2`` gets pong ``3``.
"""

from __future__ import annotations

from typing import Any

import orjson

Event = tuple[str, dict[str, Any]]


class PlainWire:
    name = "plain"

    def url(self, base: str, token: str | None) -> str:
        return f"{base}/v1/ws?access_token={token}" if token else f"{base}/"

    def encode(self, kind: str, data: dict[str, Any], seq: int) -> str:
        return orjson.dumps({"type": kind, "seq": seq, "data": data}).decode()

    def decode(self, text: str) -> tuple[Event | None, str | None]:
        """The event in ``text``, and a frame to answer with (Socket.IO's control packets)."""
        message = orjson.loads(text)
        return (message["type"], message.get("data") or {}), None


class SocketIOWire(PlainWire):
    name = "socketio"

    def url(self, base: str, token: str | None) -> str:
        return f"{base}/socket.io/?EIO=4&transport=websocket"

    def encode(self, kind: str, data: dict[str, Any], seq: int) -> str:
        return "42" + orjson.dumps([kind, data]).decode()

    def decode(self, text: str) -> tuple[Event | None, str | None]:
        if text.startswith("42"):
            name, data = orjson.loads(text[2:])[:2]
            return (name, data or {}), None
        if text == "2":  # Engine.IO ping: answer, or the server drops us
            return None, "3"
        if text.startswith("0{"):  # Engine.IO open: connect the default namespace
            return None, "40"
        return None, None  # "40{sid}" (namespace connected) and the rest: nothing to do


WIRES: dict[str, PlainWire] = {"plain": PlainWire(), "socketio": SocketIOWire()}
