from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from aimeeting.server.api.deps import AuthDep, ClientIP, CurrentUser, Lang, RawBody
from aimeeting.server.api.envelope import EmptyEnvelope, Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.auth.schemas import AccessTokenOut, AuthOut, LoginIn, RefreshIn, RegisterIn
from aimeeting.server.validation import parse_json_body

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["认证"])


async def check_login_rate(auth: AuthDep, ip: ClientIP) -> None:
    await auth.check_login_rate(ip)


@router.post(
    "/register",
    operation_id="registerUser",
    summary="用户注册",
    status_code=201,
    response_model=Envelope[AuthOut],
    openapi_extra=operation(contract=(400, 409), extension=(413,), body=RegisterIn),
)
async def register(auth: AuthDep, body: RawBody, lang: Lang) -> Response:
    """Register with email, password (8-32 characters, a letter and a digit) and nickname."""
    data = parse_json_body(body, RegisterIn)
    return success(lang, "registered", await auth.register(data), status=201)


@router.post(
    "/login",
    operation_id="loginUser",
    summary="用户登录",
    response_model=Envelope[AuthOut],
    # Runs before the body is read: every login request counts against its IP.
    dependencies=[Depends(check_login_rate)],
    openapi_extra=operation(contract=(400, 401, 429), extension=(413,), body=LoginIn),
)
async def login(auth: AuthDep, body: RawBody, lang: Lang) -> Response:
    """Log in with email and password.

    Throttled: 5 requests per minute per client IP (42901), and 5 wrong passwords in a row
    lock the account for 15 minutes (42902, extension). Both answer with `Retry-After`.
    """
    data = parse_json_body(body, LoginIn)
    return success(lang, "logged_in", await auth.login(data))


@router.post(
    "/refresh",
    operation_id="refreshToken",
    summary="刷新 Token",
    response_model=Envelope[AccessTokenOut],
    openapi_extra=operation(contract=(401,), extension=(400, 413), body=RefreshIn),
)
async def refresh(auth: AuthDep, body: RawBody, lang: Lang) -> Response:
    """A new access token for the refresh token's session."""
    data = parse_json_body(body, RefreshIn)
    return success(lang, "refreshed", await auth.refresh(data.refresh_token))


@router.post(
    "/logout",
    operation_id="logoutUser",
    summary="用户登出",
    response_model=EmptyEnvelope,
    openapi_extra=operation(contract=(401,)),
)
async def logout(auth: AuthDep, claims: CurrentUser, lang: Lang) -> Response:
    """End the session: its access and refresh tokens stop working at once."""
    await auth.logout(claims)
    return success(lang, "logged_out")
