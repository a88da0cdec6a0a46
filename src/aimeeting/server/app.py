"""The ASGI application: ``create_app(settings)`` wires configuration, services and routes."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from aimeeting import __version__
from aimeeting.server.api import handlers, static
from aimeeting.server.api.deps import Services
from aimeeting.server.api.middleware import AccessLogMiddleware
from aimeeting.server.api.openapi import describe
from aimeeting.server.api.routes import (
    API_PREFIX,
    apidocs,
    assistant,
    auth,
    meetings,
    ops,
    rtc,
    summaries,
    transcripts,
    users,
    webapp,
    ws,
)
from aimeeting.server.assistant.account import assistant_password
from aimeeting.server.assistant.service import AssistantService
from aimeeting.server.auth.passwords import PasswordHasher
from aimeeting.server.auth.revocation import RevokedSessions
from aimeeting.server.auth.service import AuthService
from aimeeting.server.auth.throttle import AccountLockout, RateLimiter, SlidingWindowLimiter
from aimeeting.server.auth.tokens import TokenService
from aimeeting.server.chat.service import ChatService
from aimeeting.server.cluster import Cluster
from aimeeting.server.config import RateLimit, Settings
from aimeeting.server.db import Database, migrate
from aimeeting.server.ids import utcnow
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.metrics import Metrics
from aimeeting.server.realtime.captions import Captions
from aimeeting.server.realtime.chat import ChatTurns, LocalChatTurns
from aimeeting.server.realtime.gateway import Gateway
from aimeeting.server.realtime.hub import Hub, LocalHub
from aimeeting.server.realtime.locks import LocalRoomLocks, RoomLocks
from aimeeting.server.realtime.presence import LocalReconnectGrace, ReconnectGrace
from aimeeting.server.realtime.rooms import RoomService
from aimeeting.server.summaries.provider import ChatCompletionsProvider
from aimeeting.server.summaries.service import SummaryService
from aimeeting.server.transcripts.service import TranscriptService
from aimeeting.server.users.service import UserService

log = logging.getLogger(__name__)


def _local_limiter(_name: str, limit: RateLimit) -> RateLimiter:
    return SlidingWindowLimiter(limit)


def _summary_provider(settings: Settings) -> ChatCompletionsProvider | None:
    """A language model for summaries when one is configured (else the extractive rules)."""
    if settings.summary_url is None:
        return None
    key = settings.summary_api_key.get_secret_value() if settings.summary_api_key else None
    return ChatCompletionsProvider(
        settings.summary_url, settings.summary_model, key, settings.summary_timeout
    )


def build_services(settings: Settings) -> Services:
    db = Database(
        settings.resolved_database_url,
        timeout=settings.database_timeout,
        pool_size=settings.database_pool_size,
    )
    tokens = TokenService(
        settings.resolved_jwt_secret(), settings.access_token_ttl, settings.refresh_token_ttl
    )
    # One node keeps presence, graces, locks, rate limits and logouts in process; several share
    # them through Redis (the same interfaces, see aimeeting.server.cluster).
    metrics = Metrics(cluster=settings.redis_url is not None)
    cluster = Cluster(settings, db, metrics) if settings.redis_url else None
    hub: Hub
    grace: ReconnectGrace
    locks: RoomLocks
    chat_turns: ChatTurns
    limiter: Callable[[str, RateLimit], RateLimiter]
    if cluster is None:
        hub, grace, locks = (
            LocalHub(),
            LocalReconnectGrace(settings.reconnect_grace),
            LocalRoomLocks(),
        )
        revoked, chat_turns = RevokedSessions(db), LocalChatTurns()
        limiter = _local_limiter
    else:
        hub, grace, locks = cluster.hub, cluster.grace, cluster.locks
        revoked, chat_turns = cluster.revoked, cluster.chat_turns
        limiter = cluster.limiter
    hasher = PasswordHasher(settings.bcrypt_rounds)
    auth = AuthService(
        db=db,
        tokens=tokens,
        hasher=hasher,
        revoked=revoked,
        login_limiter=limiter("login", settings.login_rate_limit),
        lockout=AccountLockout(db, settings.login_lockout),
    )
    users = UserService(db)
    meetings = MeetingService(
        db, max_participants=settings.max_participants, expiry_seconds=settings.meeting_expiry
    )
    chat = ChatService(db, meetings)
    rooms = RoomService(
        hub,
        meetings,
        chat,
        grace=grace,
        locks=locks,
        chat_limiter=limiter("chat", settings.chat_rate_limit),
        chat_turns=chat_turns,
    )
    assistant = AssistantService(
        db,
        meetings,
        hasher,
        email=settings.assistant_email,
        nickname=settings.assistant_nickname,
        password=assistant_password(settings),
        default_language=settings.assistant_language,
    )
    transcripts = TranscriptService(db, meetings)
    summaries = SummaryService(
        db,
        meetings,
        transcripts,
        chat,
        assistant,
        provider=_summary_provider(settings),
        timeout=settings.summary_timeout,
    )
    # REST changes that live connections must hear of: a seat taken, a meeting ended, a logout.
    # The end of a meeting also starts its summary: marked pending before the rooms tell anyone
    # the meeting ended, so a page asking for it at once reads "pending", not "none".
    meetings.listeners += [summaries, rooms]
    auth.listener = rooms
    captions = Captions(hub, meetings, assistant, transcripts)
    return Services(
        settings=settings,
        db=db,
        auth=auth,
        users=users,
        meetings=meetings,
        chat=chat,
        rooms=rooms,
        assistant=assistant,
        transcripts=transcripts,
        summaries=summaries,
        gateway=Gateway(settings, auth, users, hub, rooms, metrics, captions),
        metrics=metrics,
        cluster=cluster,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await migrate.upgrade(services.db)
        await services.auth.revoked.load(utcnow())
        await services.assistant.start()
        if services.cluster is not None:
            await services.cluster.start(services.rooms)
        await services.rooms.start()
        await services.gateway.start()
        # What is loaded by now lives as long as the process. Frozen, it is left out of the
        # collector's full passes, which otherwise stall every connection for a few hundred ms.
        gc.collect()
        gc.freeze()
        log.info("ready", extra={"database": services.db.engine.url.render_as_string()})
        yield
        await services.gateway.shutdown()
        await services.rooms.stop()
        await services.summaries.stop()
        if services.cluster is not None:
            await services.cluster.stop()
        await services.db.dispose()
        log.info("stopped")

    app = FastAPI(
        title="AI Meeting API",
        version=__version__,
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # our own page, from the package's files: routes/apidocs.py
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks look for providers on every request (3 % of a
        # `/users/me`); we export Prometheus metrics, not OpenTelemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    handlers.install(app)
    routers = (auth.router, users.router, meetings.router, rtc.router, ops.router, webapp.router)
    for router in (*routers, assistant.router, transcripts.router, summaries.router):
        app.include_router(router)
    app.include_router(apidocs.router)  # /v1/docs, and /docs and /v1 leading there
    app.mount(static.SDK_PATH, static.RevalidatedFiles(static.SDK_DIRECTORY), name="sdk")
    app.mount(static.APP_PATH, static.RevalidatedFiles(static.APP_DIRECTORY), name="app")
    app.mount(apidocs.ASSETS_PATH, static.RevalidatedFiles(apidocs.ASSETS_DIRECTORY), name="docs")
    app.openapi = lambda: describe(app)  # type: ignore[method-assign]

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(AccessLogMiddleware, metrics=services.metrics)
    app.add_middleware(  # outermost
        ws.RealtimeEndpoint, gateway=services.gateway, cors_origins=settings.cors_origins
    )
    return app
