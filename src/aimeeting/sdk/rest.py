"""The REST API over httpx: one typed method per endpoint (the only place paths are written),
envelopes unwrapped, errors mapped to ``MeetingError``, and an expired access token (40102)
refreshed once and the request retried once."""

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
from aimeeting.sdk.models import (
    AssistantInvitation,
    AssistantState,
    Summary,
    TranscriptPage,
    TranscriptSegment,
    User,
)

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


# Seconds an idle keep-alive connection is kept for the next request: less than the server's
# own idle timeout (uvicorn's is 5 s, as httpx's default), or a request sent on a connection
# the server is closing that very moment fails with a read error (seen under load).
KEEPALIVE_EXPIRY = 4.0


class RestClient:
    def __init__(self, config: SDKConfig) -> None:
        headers = {"Accept-Language": config.language} if config.language else {}
        self._http = httpx.AsyncClient(
            timeout=config.request_timeout,
            headers=headers,
            limits=httpx.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY
            ),
        )
        self._base = config.api_base
        self._origin = config.origin
        self.tokens = Tokens(config.access_token, config.refresh_token)
        self._refreshing: asyncio.Lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def health(self) -> None:
        """The server answers ``/healthz`` (raises otherwise)."""
        await self._send("GET", f"{self._origin}/healthz", None, None, None)

    async def _call(
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

    # --- the endpoints: one method each, the only place their paths are written ------------

    async def register(self, email: str, password: str, nickname: str) -> User:
        """A new account, signed in (its tokens kept)."""
        body = {"email": email, "password": password, "nickname": nickname}
        return self._signed_in(await self._call("POST", "/auth/register", json=body, auth=False))

    async def login(self, email: str, password: str) -> User:
        body = {"email": email, "password": password}
        return self._signed_in(await self._call("POST", "/auth/login", json=body, auth=False))

    async def logout(self) -> None:
        """End the session on the server; its tokens are forgotten even if that fails."""
        try:
            await self._call("POST", "/auth/logout")
        finally:
            self.tokens.access_token = self.tokens.refresh_token = None

    async def me(self) -> User:
        return User.of(await self._call("GET", "/users/me"))

    async def create_meeting(self, title: str | None) -> str:
        """A new meeting's number."""
        body = {"title": title} if title is not None else None
        created = await self._call("POST", "/meetings", json=body)
        return str(created["meeting_number"])

    async def join_meeting(
        self, meeting_number: str, audio_muted: bool | None, video_muted: bool | None
    ) -> dict[str, Any]:
        """Take (or keep) a seat; the meeting's detail (``MeetingDetail`` of docs/api.md). A
        mute state left None is the server's default (or, for a seat kept, unchanged)."""
        body = {"audio_muted": audio_muted, "video_muted": video_muted}
        wanted = {key: value for key, value in body.items() if value is not None}
        detail: dict[str, Any] = await self._call(
            "POST", f"/meetings/{meeting_number}/join", json=wanted or None
        )
        return detail

    async def end_meeting(self, meeting_id: str) -> None:
        await self._call("POST", f"/meetings/{meeting_id}/end")

    async def chat_messages(
        self, meeting_id: str, limit: int, before: str | None = None
    ) -> dict[str, Any]:
        """One page of stored chat, newest first: ``messages`` (as the ``chat_message`` event's
        data) and ``has_more``."""
        params: dict[str, Any] = {"limit": limit} | ({"before": before} if before else {})
        page: dict[str, Any] = await self._call(
            "GET", f"/meetings/{meeting_id}/messages", params=params
        )
        return page

    async def ice_servers(self) -> list[dict[str, Any]]:
        """The ICE servers (with fresh TURN credentials) the server hands out."""
        data = await self._call("GET", "/rtc/ice-servers")
        servers: list[dict[str, Any]] = data["ice_servers"]
        return servers

    async def transcript(self, meeting_id: str, after: str | None, limit: int) -> TranscriptPage:
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        data = await self._call("GET", f"/meetings/{meeting_id}/transcript", params=params)
        items = [TranscriptSegment.of(item) for item in data["items"]]
        return TranscriptPage(items, bool(data["has_more"]))

    async def summary(self, meeting_id: str) -> Summary:
        return Summary.of(await self._call("GET", f"/meetings/{meeting_id}/summary"))

    async def invite_assistant(self, meeting_id: str, language: str | None) -> AssistantState:
        body = {"language": language} if language is not None else None
        path = f"/meetings/{meeting_id}/assistant"
        return AssistantState.of(await self._call("POST", path, json=body))

    async def dismiss_assistant(self, meeting_id: str) -> AssistantState:
        return AssistantState.of(await self._call("DELETE", f"/meetings/{meeting_id}/assistant"))

    async def assistant_invitations(self) -> list[AssistantInvitation]:
        data = await self._call("GET", "/assistant/invitations")
        return [AssistantInvitation.of(item) for item in data["items"]]

    def _signed_in(self, data: dict[str, Any]) -> User:
        self.tokens.access_token = data["tokens"]["access_token"]
        self.tokens.refresh_token = data["tokens"]["refresh_token"]
        return User.of(data["user"])

    # --- the transport ----------------------------------------------------------------------

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
