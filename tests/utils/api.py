"""Small factories: API clients with their own client IP, registered users, meetings."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "Password123"
_ips = itertools.count(1)


def new_ip() -> str:
    """A distinct client address (sent as X-Forwarded-For; the test server trusts 127.0.0.1)."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def client(base_url: str, *, ip: str | None = None, **kwargs: Any) -> httpx.Client:
    headers = {"X-Forwarded-For": ip or new_ip(), **kwargs.pop("headers", {})}
    return httpx.Client(base_url=f"{base_url}/v1", headers=headers, timeout=15, **kwargs)


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


def assert_error(response: httpx.Response, code: int) -> dict[str, Any]:
    """The error envelope with this code, and the HTTP status its first three digits name."""
    assert response.status_code == code // 100, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "details"}, body
    return body


def assert_ok(response: httpx.Response) -> Any:
    """The ``data`` of a 200 success envelope."""
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == 0 and set(body) == {"code", "message", "data"}, body
    return body["data"]
