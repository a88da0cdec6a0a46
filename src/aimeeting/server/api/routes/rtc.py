"""ICE servers for WebRTC clients (DECISIONS.md §9, extension)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from aimeeting.server.api.deps import CurrentUser, Lang, ServicesDep
from aimeeting.server.api.envelope import Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.ids import utcnow
from aimeeting.server.rtc.schemas import IceServers
from aimeeting.server.rtc.service import ice_servers

router = APIRouter(prefix=f"{API_PREFIX}/rtc", tags=["实时媒体（扩展）"])


@router.get(
    "/ice-servers",
    operation_id="getIceServers",
    summary="获取 ICE 服务器（扩展）",
    response_model=Envelope[IceServers],
    openapi_extra=operation(contract=(401,)),
)
async def get_ice_servers(services: ServicesDep, claims: CurrentUser, lang: Lang) -> Response:
    """**Extension**: the STUN and TURN servers to give `RTCPeerConnection`. TURN credentials
    are coturn's REST-API scheme and stop working at `expires_at`; fetch again before then."""
    return success(lang, "ok", ice_servers(services.settings, claims.user_id, utcnow()))
