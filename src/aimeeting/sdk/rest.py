"""The REST API over httpx: envelopes unwrapped, errors mapped to ``MeetingError``, and an
expired access token (40102) refreshed once and the request retried once."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from aimeeting.protocol import ErrorCode
from aimeeting.sdk.config import SDKConfig
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, network_error, server_error

log = logging.getLogger("aimeeting.sdk.rest")

EXPIRY_MARGIN = 5.0  # seconds: a token this close to expiry is refreshed before use


@dataclass
class Tokens:
    access_token: str | None = None
    refresh_token: str | None = None

    def access_expires_soon(self) -> bool:
        """True when the access token's ``exp`` is (nearly) past; read without verifying it,
        only to avoid a round trip that would fail."""
        expires = _jwt_expiry(self.access_token)
        return expires is not None and expires - EXPIRY_MARGIN < time.time()


def _jwt_expiry(token: str | None) -> float | None:
    try:
        payload = token.split(".")[1] if token else ""
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None


class RestClient:
    def __init__(self, config: SDKConfig) -> None:
        headers = {"Accept-Language": config.language} if config.language else {}
        self._http = httpx.AsyncClient(timeout=config.request_timeout, headers=headers)
        self._base = config.api_base
        self._origin = config.origin
        self.tokens = Tokens(config.access_token, config.refresh_token)
        self._refreshing: asyncio.Lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def health(self) -> None:
        """The server answers ``/healthz`` (raises otherwise)."""
        await self._send("GET", f"{self._origin}/healthz", None, None, None)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> Any:
        """``data`` of the envelope; a 40102 refreshes the access token and retries once."""
        if not auth:
            return await self._send(method, self._base + path, json, params, None)
        if self.tokens.access_expires_soon() and self.tokens.refresh_token:
            await self.refresh(self.tokens.access_token)
        token = self.tokens.access_token
        try:
            return await self._send(method, self._base + path, json, params, token)
        except MeetingError as exc:
            if exc.server_code != ErrorCode.TOKEN_EXPIRED or not self.tokens.refresh_token:
                raise
        await self.refresh(token)
        return await self._send(method, self._base + path, json, params, self.tokens.access_token)

    async def refresh(self, expired: str | None) -> None:
        """A new access token from the refresh token; concurrent callers refresh once."""
        async with self._refreshing:
            if self.tokens.access_token != expired:
                return  # another caller refreshed meanwhile
            if not self.tokens.refresh_token:
                raise MeetingError(SDKErrorCode.PERMISSION_DENIED, "not logged in")
            body = {"refresh_token": self.tokens.refresh_token}
            data = await self._send("POST", self._base + "/auth/refresh", body, None, None)
            self.tokens.access_token = data["access_token"]
            log.info("access token refreshed")

    async def _send(
        self,
        method: str,
        url: str,
        json: Any,
        params: dict[str, Any] | None,
        token: str | None,
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.request(
                method, url, json=json, params=params, headers=headers
            )
            body = response.json()
        except httpx.TimeoutException as exc:
            raise network_error(f"{method} {_path(url)} timed out", reason=repr(exc)) from exc
        except httpx.ConnectError as exc:  # nothing listens there, or no such host
            origin = _origin(url)
            raise network_error(
                f"cannot reach the server at {origin} ({exc or 'connection failed'})",
                reason=repr(exc),
                unreachable=origin,
            ) from exc
        except httpx.HTTPError as exc:
            raise network_error(f"{method} {_path(url)} failed", reason=repr(exc)) from exc
        except ValueError as exc:  # not JSON: not our server
            raise network_error(f"{method} {_path(url)}: not an API answer") from exc
        if not isinstance(body, dict) or body.get("code") != 0:
            raise _refusal(response.status_code, body)
        return body.get("data")


def _refusal(status: int, body: Any) -> MeetingError:
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        return server_error(body["code"], str(body.get("message", "")), body.get("details"))
    return network_error(f"unexpected answer (HTTP {status})", http_status=status)


def _path(url: str) -> str:
    return httpx.URL(url).path


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"
