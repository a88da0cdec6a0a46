"""Typed dependencies for the route handlers.

All are ``async def``, though none awaits: FastAPI runs a plain ``def`` dependency in a thread
pool, a thread hop per dependency per request. And each reads the services straight from the
request rather than through another dependency: FastAPI's bookkeeping per dependency (a cache
key, scope checks, on every request) costs more than what most of them do.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from aimeeting.protocol import ErrorCode, Language
from aimeeting.server.assistant.service import AssistantService
from aimeeting.server.auth.service import AuthService
from aimeeting.server.auth.tokens import Claims
from aimeeting.server.chat.service import ChatService
from aimeeting.server.cluster import Cluster
from aimeeting.server.config import Settings
from aimeeting.server.db import Database
from aimeeting.server.errors import AppError, Unauthorized
from aimeeting.server.language import language
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.metrics import Metrics
from aimeeting.server.realtime.gateway import Gateway
from aimeeting.server.realtime.rooms import RoomService
from aimeeting.server.summaries.service import SummaryService
from aimeeting.server.transcripts.service import TranscriptService
from aimeeting.server.users.service import UserService


@dataclass
class Services:
    """Everything the app holds for its lifetime, kept on ``app.state.services``."""

    settings: Settings
    db: Database
    auth: AuthService
    users: UserService
    meetings: MeetingService
    chat: ChatService
    rooms: RoomService
    assistant: AssistantService
    transcripts: TranscriptService
    summaries: SummaryService
    gateway: Gateway
    metrics: Metrics
    cluster: Cluster | None = None  # with several nodes (AIMEETING_REDIS_URL)


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_auth(request: Request) -> AuthService:
    return services_of(request).auth


async def get_users(request: Request) -> UserService:
    return services_of(request).users


async def get_meetings(request: Request) -> MeetingService:
    return services_of(request).meetings


async def get_chat(request: Request) -> ChatService:
    return services_of(request).chat


async def get_assistant(request: Request) -> AssistantService:
    return services_of(request).assistant


async def get_transcripts(request: Request) -> TranscriptService:
    return services_of(request).transcripts


async def get_summaries(request: Request) -> SummaryService:
    return services_of(request).summaries


AuthDep = Annotated[AuthService, Depends(get_auth)]
UsersDep = Annotated[UserService, Depends(get_users)]
MeetingsDep = Annotated[MeetingService, Depends(get_meetings)]
ChatDep = Annotated[ChatService, Depends(get_chat)]
AssistantDep = Annotated[AssistantService, Depends(get_assistant)]
TranscriptsDep = Annotated[TranscriptService, Depends(get_transcripts)]
SummariesDep = Annotated[SummaryService, Depends(get_summaries)]


async def request_language(request: Request) -> Language:
    return language(request)


Lang = Annotated[Language, Depends(request_language)]


class BearerToken(HTTPBearer):
    """The OpenAPI ``BearerAuth`` scheme, answering with the bare token (or None): HTTPBearer's
    own answer is a pydantic model, built and validated on every request."""

    async def __call__(self, request: Request) -> str | None:  # type: ignore[override]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None


_bearer = BearerToken(
    scheme_name="BearerAuth",
    bearerFormat="JWT",
    description="`Authorization: Bearer {access_token}`",
    auto_error=False,
)


async def current_claims(
    request: Request, token: Annotated[str | None, Depends(_bearer)]
) -> Claims:
    """The caller's access token: missing or malformed → 40103, expired → 40102."""
    if not token:
        raise Unauthorized(ErrorCode.TOKEN_INVALID)
    return services_of(request).auth.authenticate(token)


CurrentUser = Annotated[Claims, Depends(current_claims)]


async def client_ip(request: Request) -> str:
    """The socket peer, or the client named by ``X-Forwarded-For`` when the peer is trusted."""
    peer = request.client.host if request.client else "unknown"
    trusted = services_of(request).settings.trusted_proxies
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    # Walk the chain from the nearest hop; the first address we don't trust is the client.
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, trusted):
            return hop
    return peer


def _is_trusted(address: str, trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


ClientIP = Annotated[str, Depends(client_ip)]


async def read_body(request: Request) -> bytes:
    """The raw body, refused with 413 past the configured size (before it's all read)."""
    limit = services_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AppError(ErrorCode.PAYLOAD_TOO_LARGE, {"max_bytes": limit})
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise AppError(ErrorCode.PAYLOAD_TOO_LARGE, {"max_bytes": limit})
    return bytes(body)


RawBody = Annotated[bytes, Depends(read_body)]
