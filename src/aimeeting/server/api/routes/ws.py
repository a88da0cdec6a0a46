"""``/v1/ws``, the realtime API (docs/realtime.md): ``/v1/ws?access_token=…``.

Mounted as a plain ASGI layer in front of the HTTP stack rather than as a FastAPI route: a
socket lives for hours and carries thousands of frames, and each would otherwise pass through
the router's and the exception middleware's wrappers, which serve HTTP requests only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.realtime.gateway import Gateway

PATH = f"{API_PREFIX}/ws"
log = logging.getLogger(__name__)


class RealtimeEndpoint:
    def __init__(self, app: ASGIApp, gateway: Gateway, cors_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.gateway = gateway
        self.cors_origins = frozenset(origin.rstrip("/") for origin in cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        websocket = WebSocket(scope, receive, send)
        if not self.origin_allowed(Headers(scope=scope)):
            # Closed before the upgrade: the server answers the handshake with HTTP 403.
            log.warning("ws refused: foreign origin", extra={"origin": websocket.headers["origin"]})
            await websocket.close()
            return
        await self.gateway.serve(websocket)

    def origin_allowed(self, headers: Headers) -> bool:
        """DECISIONS §5: no ``Origin`` (not a browser), the server's own, or a listed one.

        A browser sends the page's origin with every handshake and lets any page open a socket
        to any server, so this is what stops a page elsewhere from using a signed-in user's
        token (cross-site WebSocket hijacking). **Choice**: "own" compares the host and port
        with the ``Host`` header, not the scheme: behind a TLS proxy the server sees ``ws`` for
        what the page calls ``https``.
        """
        origin = headers.get("origin")
        if origin is None:
            return True
        if origin.rstrip("/") in self.cors_origins:
            return True
        return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()
