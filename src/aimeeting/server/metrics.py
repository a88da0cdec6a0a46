"""Prometheus metrics, in a registry of the app's own (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ClusterMetrics:
    """A node's line to Redis (only with ``AIMEETING_REDIS_URL``): alert on ``redis_up`` 0."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.redis_up = Gauge(
            "aimeeting_redis_up",
            "1 while this node hears the other nodes through Redis, 0 while it serves alone.",
            registry=registry,
        )
        self.in_sync = Gauge(
            "aimeeting_cluster_in_sync",
            "1 once this node has rebuilt its cluster state after Redis came back (/readyz).",
            registry=registry,
        )
        self.outages = Counter(
            "aimeeting_redis_outages_total",
            "Times this node lost Redis.",
            registry=registry,
        )
        self.recoveries = Counter(
            "aimeeting_cluster_recoveries_total",
            "Times this node rebuilt its cluster state after Redis came back (room state"
            " re-sent, missed chat delivered, seats reconciled).",
            registry=registry,
        )
        self.caught_up = Counter(
            "aimeeting_chat_caught_up_total",
            "Chat messages stored while this node could not hear the others, delivered to"
            " its members once Redis was back.",
            registry=registry,
        )


class Metrics:
    def __init__(self, *, cluster: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.cluster = ClusterMetrics(self.registry) if cluster else None
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
