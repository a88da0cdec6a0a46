"""Prometheus metrics, in a registry of the app's own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "aimeeting_http_requests_total",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "aimeeting_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.ws_connections = Gauge(
            "aimeeting_ws_connections",
            "WebSocket connections open now (authenticated).",
            registry=self.registry,
        )
        self.ws_messages = Counter(
            "aimeeting_ws_messages_received_total",
            "WebSocket messages received, by type (unknown types and bad frames: invalid).",
            ["type"],
            registry=self.registry,
        )
        self.chat_refused = Counter(
            "aimeeting_chat_refused_total",
            "Chat messages refused, by error code (42901: over the per-user chat limit).",
            ["code"],
            registry=self.registry,
        )
        self.ws_closes = Counter(
            "aimeeting_ws_closes_total",
            "WebSocket connections ended, by close code.",
            ["code"],
            registry=self.registry,
        )
