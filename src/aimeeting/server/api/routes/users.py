from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from aimeeting.server.api.deps import CurrentUser, Lang, UsersDep
from aimeeting.server.api.envelope import Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.users.schemas import User

router = APIRouter(prefix=f"{API_PREFIX}/users", tags=["用户"])


@router.get(
    "/me",
    operation_id="getCurrentUser",
    summary="获取当前用户信息",
    response_model=Envelope[User],
    openapi_extra=operation(contract=(401,)),
)
async def get_current_user(users: UsersDep, claims: CurrentUser, lang: Lang) -> Response:
    return success(lang, "ok", await users.get(claims.user_id))
