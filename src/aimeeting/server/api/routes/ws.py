from __future__ import annotations

from fastapi import APIRouter, WebSocket

from aimeeting.server.api.deps import Services
from aimeeting.server.api.routes import API_PREFIX

router = APIRouter()


@router.websocket(f"{API_PREFIX}/ws")
async def websocket(socket: WebSocket) -> None:
    """The realtime API (docs/realtime.md): ``/v1/ws?access_token=…``."""
    services: Services = socket.app.state.services
    await services.gateway.serve(socket)
