"""Operations endpoints (DECISIONS.md §6), outside ``/v1``."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aimeeting.protocol import ErrorCode
from aimeeting.server.api.deps import Lang, ServicesDep
from aimeeting.server.api.envelope import error_response, success

router = APIRouter(tags=["运维（扩展）"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="进程存活（扩展）")
async def healthz(lang: Lang) -> Response:
    return success(lang, "ok")


@router.get("/readyz", summary="可以服务：数据库（及 Redis）可达（扩展）")
async def readyz(services: ServicesDep, lang: Lang) -> Response:
    unreachable: dict[str, str] = {}
    try:
        await services.db.ping()
    except Exception:
        log.warning("readiness check failed: database unreachable", exc_info=True)
        unreachable["database"] = "unreachable"
    if services.cluster is not None:
        try:
            await services.cluster.ping()
        except Exception:
            log.warning("readiness check failed: redis unreachable", exc_info=True)
            unreachable["redis"] = "unreachable"
        else:
            if not services.cluster.in_sync:
                # Redis answers, but this node has not yet heard the others again and caught
                # up on what it missed: a client sent here now would miss it too.
                unreachable["redis"] = "recovering"
    if unreachable:
        return error_response(lang, ErrorCode.SERVICE_UNAVAILABLE, unreachable)
    return success(lang, "ok")


@router.get("/metrics", summary="Prometheus 指标（扩展）")
async def metrics(services: ServicesDep) -> Response:
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
