"""Access log and request metrics, as one plain ASGI middleware (no per-request task hops)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aimeeting.server.metrics import Metrics

access_log = logging.getLogger("aimeeting.access")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        route: Any = scope.get("route")
        # The template (/v1/meetings/{meeting_id}), never the raw path: bounded label values.
        template = route.path if isinstance(route, Route) else "unmatched"
        method = scope["method"]
        self.metrics.requests.labels(method, template, str(status)).inc()
        self.metrics.latency.labels(method, template).observe(elapsed)
        client = scope.get("client")
        # The path only: query strings may carry tokens and are never logged.
        access_log.info(
            "%s %s %d %.1fms",
            method,
            scope["path"],
            status,
            elapsed * 1000,
            extra={
                "method": method,
                "path": scope["path"],
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "client": client[0] if client else None,
            },
        )
