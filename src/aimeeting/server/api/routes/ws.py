"""``/v1/ws``, the realtime API (docs/realtime.md): ``/v1/ws?access_token=…``.

Mounted as a plain ASGI layer in front of the HTTP stack rather than as a FastAPI route: a
socket lives for hours and carries thousands of frames, and each would otherwise pass through
the router's and the exception middleware's wrappers, which serve HTTP requests only.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.realtime.gateway import Gateway

PATH = f"{API_PREFIX}/ws"


class RealtimeEndpoint:
    def __init__(self, app: ASGIApp, gateway: Gateway) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == PATH:
            await self.gateway.serve(WebSocket(scope, receive, send))
        else:
            await self.app(scope, receive, send)
