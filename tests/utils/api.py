"""Small factories: API clients with their own client IP, registered users, meetings."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from harness.accounts import PASSWORD, unique_email

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")  # DECISIONS §1's times
CJK = re.compile(r"[\u4e00-\u9fff]")  # a Chinese character: the message is the Chinese one
JSON_BODY = {"Content-Type": "application/json"}
_ips = itertools.count(1)
# One SSL context for every client: building one costs ~50 ms, sharing it makes a client ~free.
_SSL = httpx.create_ssl_context()


def new_ip() -> str:
    """A distinct client address (sent as X-Forwarded-For; the test server trusts 127.0.0.1)."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def client(base_url: str, *, ip: str | None = None, **kwargs: Any) -> httpx.Client:
    headers = {"X-Forwarded-For": ip or new_ip(), **kwargs.pop("headers", {})}
    kwargs.setdefault("verify", _SSL)
    return httpx.Client(base_url=f"{base_url}/v1", headers=headers, timeout=15, **kwargs)


def post_raw(
    http: httpx.Client, path: str, content: bytes, headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """POST ``content`` byte for byte, labelled JSON: bodies no JSON encoder would write."""
    return http.post(path, content=content, headers={**JSON_BODY, **(headers or {})})


@dataclass
class User:
    id: str
    email: str
    password: str
    nickname: str
    access_token: str
    refresh_token: str
    http: httpx.Client

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.auth, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers=self.auth, **kwargs)

    def post_raw(self, path: str, content: bytes) -> httpx.Response:
        return post_raw(self.http, path, content, self.auth)

    @classmethod
    def registered(cls, response: httpx.Response, password: str, http: httpx.Client) -> User:
        """The user a successful ``/auth/register`` response describes."""
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        return cls(
            id=data["user"]["id"],
            email=data["user"]["email"],
            password=password,
            nickname=data["user"]["nickname"],
            access_token=data["tokens"]["access_token"],
            refresh_token=data["tokens"]["refresh_token"],
            http=http,
        )


def register(base_url: str, *, nickname: str = "测试用户", password: str = PASSWORD) -> User:
    http = client(base_url)
    email = unique_email()
    response = http.post(
        "/auth/register", json={"email": email, "password": password, "nickname": nickname}
    )
    return User.registered(response, password, http)


def create_meeting(user: User, title: str | None = "测试会议") -> dict[str, Any]:
    response = user.post("/meetings", json={"title": title} if title is not None else None)
    assert response.status_code == 201, response.text
    meeting: dict[str, Any] = response.json()["data"]
    return meeting


def join(user: User, number: str, **body: Any) -> httpx.Response:
    return user.post(f"/meetings/{number}/join", json=body or None)


def detail(user: User, meeting_id: str) -> dict[str, Any]:
    """The meeting as ``GET /meetings/{id}`` shows it to ``user``; its seat count must add up."""
    data: dict[str, Any] = ok(user.get(f"/meetings/{meeting_id}"))
    assert data["participant_count"] == len(data["participants"]), data
    return data


def seat_ids(data: dict[str, Any]) -> list[str]:
    """The user ids holding a seat in a meeting ``detail``, in the server's order."""
    return [p["user_id"] for p in data["participants"]]


def assert_error(response: httpx.Response, code: int) -> dict[str, Any]:
    """The error envelope with this code, and the HTTP status its first three digits name."""
    assert response.status_code == code // 100, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "details"}, body
    return body


def ok(
    response: httpx.Response,
    status: int = 200,
    *,
    message: str | None = None,
    has_data: bool = True,
) -> Any:
    """The ``data`` of a success envelope with this HTTP status: ``{"code": 0, "message",
    "data"}`` exactly (no ``data`` where not ``has_data``), with this ``message`` if given."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == ({"code", "message", "data"} if has_data else {"code", "message"}), body
    assert body["code"] == 0, body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    return body.get("data")
