"""Requests and checks of the authentication tests (``tests/auth/``)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from harness.server import ServerProcess
from tests.utils.api import PASSWORD, User, assert_error, new_ip, ok, unique_email

USER_KEYS = {"id", "email", "nickname", "avatar", "created_at", "updated_at"}
TOKEN_PAIR_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
ACCESS_TOKEN_KEYS = {"access_token", "token_type", "expires_in"}
MISSING = object()  # a key left out of a request body

# The contract's Chinese texts (§1 examples and §4.1).
CONTRACT_MESSAGES = {
    40001: "邮箱格式不正确",
    40002: "密码长度至少 8 位，且包含字母和数字",
    40003: "缺少必填字段",
    40101: "邮箱或密码错误",
    40102: "Token 已过期",
    40103: "Token 无效",
    40901: "邮箱已被注册",
    42901: "请求过于频繁，请稍后再试",
}


# One connection pool for every request of the authentication tests (an httpx.Client per request
# would cost ~30 ms of SSL-context set-up each); every request names its own client IP
# (X-Forwarded-For). Not closed by a fixture: pytest runs the tests in two passes (SQLite, then
# PostgreSQL), and the pool must serve both; it goes with the process.
HTTP = httpx.Client(timeout=15)


def call(
    url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    authorization: str | None = None,
    ip: str | None = None,
    lang: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request to ``{url}/v1{path}``, from ``ip`` (else an IP of its own)."""
    sent = {"X-Forwarded-For": ip or new_ip(), **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if authorization is not None:
        sent["Authorization"] = authorization
    if lang is not None:
        sent["Accept-Language"] = lang
    return HTTP.request(method, f"{url}/v1{path}", headers=sent, **kwargs)


def body_of(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not MISSING}


def register_body(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"email": unique_email(), "password": PASSWORD, "nickname": "测试用户"}
    fields.update(overrides)
    return body_of(**fields)


def register_raw(url: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return call(url, "POST", "/auth/register", json=body, **kwargs)


def login(url: str, email: Any, password: Any, **kwargs: Any) -> httpx.Response:
    return call(url, "POST", "/auth/login", json={"email": email, "password": password}, **kwargs)


def refresh(url: str, refresh_token: Any, **kwargs: Any) -> httpx.Response:
    return call(url, "POST", "/auth/refresh", json={"refresh_token": refresh_token}, **kwargs)


def logout(url: str, access_token: str, **kwargs: Any) -> httpx.Response:
    return call(url, "POST", "/auth/logout", token=access_token, **kwargs)


def me(url: str, access_token: str, **kwargs: Any) -> httpx.Response:
    return call(url, "GET", "/users/me", token=access_token, **kwargs)


def detail_fields(response: httpx.Response) -> set[str]:
    details = response.json().get("details")
    assert isinstance(details, dict) and details, f"details must name the field: {response.text}"
    return set(details)


def assert_invalid(response: httpx.Response, code: int, field: str) -> None:
    assert_error(response, code)
    assert field in detail_fields(response), response.text


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def login_user(url: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in (from a fresh IP) and return the data: a new session of that user."""
    data: dict[str, Any] = ok(login(url, email, password))
    return data


@dataclass
class FastServer:
    """The server of ``tests/auth/conftest.py``'s ``fast`` fixture, and a session opened on it."""

    server: ServerProcess
    early: User  # a session opened as soon as the server was up
    early_issued: float  # time.monotonic() right after its tokens were issued

    @property
    def url(self) -> str:
        return self.server.url


# The JWT secret of the ``slow_hash`` server.
CONFIGURED_SECRET = "a-configured-secret-for-the-tests-" + "0123456789abcdef" * 4
