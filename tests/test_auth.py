"""Authentication over real HTTP: register, login, refresh, logout, /users/me.

What is checked is DECISIONS.md §1-§3 and §7 and the contract's §1 and §4: the envelope, the
validation table and its precedence, duplicate emails (also under concurrency), Unicode passwords
past bcrypt's 72 bytes, uniform login failures, token types, expiry, forgery and revocation, both
login throttles, trusted proxies, the generated JWT secret and Accept-Language.

Every request names its own client IP (a fresh ``X-Forwarded-For``, trusted from 127.0.0.1) unless
a test says otherwise, so the per-IP login limit never gets in the way of the other tests; the
throttles themselves are tested with one IP, on the shared server and on a dedicated server with
short windows.
"""

from __future__ import annotations

import re
import stat
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from tests.utils.api import PASSWORD, User, assert_error, client, new_ip, unique_email
from tests.utils.server import ServerProcess
from tests.utils.tokens import b64url_json, claims_of

StartServer = Callable[..., ServerProcess]

USER_KEYS = {"id", "email", "nickname", "avatar", "created_at", "updated_at"}
TOKEN_PAIR_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}
ACCESS_TOKEN_KEYS = {"access_token", "token_type", "expires_in"}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
CJK = re.compile(r"[\u4e00-\u9fff]")
MISSING = object()  # a key left out of a request body
OTHER_SECRET = "not-the-server-secret-" + "0123456789abcdef" * 4

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


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


# One connection pool for every request of this module (an httpx.Client per request would cost
# ~30 ms of SSL-context set-up each); every request names its own client IP (X-Forwarded-For).
# Not closed by a fixture: pytest runs this module's tests in two passes (SQLite, then
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


def post_raw(url: str, path: str, content: bytes, *, ip: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    return call(url, "POST", path, content=content, ip=ip, headers=headers)


def new_user(url: str, *, nickname: str = "测试用户", password: str = PASSWORD) -> User:
    """A registered user (what ``tests.utils.api.register`` does, on the shared pool)."""
    email = unique_email()
    response = register_raw(url, {"email": email, "password": password, "nickname": nickname})
    return User.registered(response, password, HTTP)


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


def assert_success(response: httpx.Response, status: int = 200, *, has_data: bool = True) -> Any:
    """The success envelope ``{"code": 0, "message", "data"}`` (without data if not has_data)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    expected_keys = {"code", "message", "data"} if has_data else {"code", "message"}
    assert set(body) == expected_keys, body
    assert body["code"] == 0, body
    assert isinstance(body["message"], str) and body["message"], body
    return body.get("data")


def detail_fields(response: httpx.Response) -> set[str]:
    details = response.json().get("details")
    assert isinstance(details, dict) and details, f"details must name the field: {response.text}"
    return set(details)


def assert_invalid(response: httpx.Response, code: int, field: str) -> None:
    assert_error(response, code)
    assert field in detail_fields(response), response.text


def assert_retry_after(response: httpx.Response, maximum: float) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None and value.isdigit(), response.headers
    seconds = int(value)
    assert 1 <= seconds <= maximum, seconds
    return seconds


def sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def has_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def login_user(url: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Log in (from a fresh IP) and return the data: a new session of that user."""
    data: dict[str, Any] = assert_success(login(url, email, password))
    return data


# --------------------------------------------------------------------------------------------
# Dedicated servers: three per backend, each shared by the tests that need its configuration
# --------------------------------------------------------------------------------------------


@dataclass
class FastServer:
    server: ServerProcess
    early: User  # a session opened as soon as the server was up
    early_issued: float  # time.monotonic() right after its tokens were issued

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def fast(backend: str, start_server: StartServer) -> FastServer:
    """Short everything: access tokens live 1 s and refresh tokens 3 s (``exp`` is rounded up
    to whole seconds, so each lives up to 1 s more, never less); 5 logins per 1.5 s per IP;
    3 wrong passwords in a row lock an account for 0.01 minute (0.6 s).

    A session is opened at once, so that its refresh token has expired (or nearly) by the
    time the test that needs an expired one runs: its wait overlaps the other tests."""
    server = start_server(
        backend,
        access_token_ttl=1,
        refresh_token_ttl=3,
        login_rate_limit="5/1.5second",
        login_lockout="3,0.01",
    )
    early = new_user(server.url)
    return FastServer(server, early, time.monotonic())


@pytest.fixture(scope="module")
def untrusting(backend: str, start_server: StartServer) -> ServerProcess:
    """No trusted proxy, and no AIMEETING_JWT_SECRET (so a generated one); restarted by a test."""
    return start_server(backend, trusted_proxies="")


CONFIGURED_SECRET = "a-configured-secret-for-the-tests-" + "0123456789abcdef" * 4


@pytest.fixture(scope="module")
def slow_hash(backend: str, start_server: StartServer) -> ServerProcess:
    """bcrypt at cost 10 (~60 ms, so that it shows in timings), and a configured JWT secret."""
    return start_server(backend, bcrypt_rounds=10, jwt_secret=CONFIGURED_SECRET)


@pytest.fixture(scope="module")
def member(base_url: str) -> User:
    """A user of the shared server for tests that only read with its tokens."""
    return new_user(base_url)


@pytest.fixture(scope="module")
def bystander(base_url: str) -> User:
    return new_user(base_url)


# --------------------------------------------------------------------------------------------
# Success shapes
# --------------------------------------------------------------------------------------------


def test_register_returns_201_with_user_and_token_pair(base_url: str) -> None:
    email = unique_email()
    response = register_raw(base_url, {"email": email, "password": PASSWORD, "nickname": "张三"})
    data = assert_success(response, 201)
    assert response.json()["message"] == "注册成功"
    assert set(data) == {"user", "tokens"}
    user, tokens = data["user"], data["tokens"]
    assert set(user) == USER_KEYS
    assert isinstance(user["id"], str) and user["id"].startswith("user_")
    assert user["email"] == email
    assert user["nickname"] == "张三"
    assert user["avatar"] is None
    assert RFC3339_UTC.match(user["created_at"]), user
    assert RFC3339_UTC.match(user["updated_at"]), user
    assert set(tokens) == TOKEN_PAIR_KEYS
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert isinstance(tokens["access_token"], str) and tokens["access_token"]
    assert isinstance(tokens["refresh_token"], str) and tokens["refresh_token"]
    assert tokens["access_token"] != tokens["refresh_token"]


def test_register_stores_email_trimmed_and_lowercased(base_url: str) -> None:
    email = unique_email()
    messy = f"  {email.upper()}\t "
    data = assert_success(register_raw(base_url, register_body(email=messy)), 201)
    assert data["user"]["email"] == email
    assert assert_success(me(base_url, data["tokens"]["access_token"]))["email"] == email
    # Log in with the address in any case, with spaces around it.
    for variant in (email, email.upper(), f" {email.title()} "):
        logged_in = login_user(base_url, variant)
        assert logged_in["user"]["id"] == data["user"]["id"]
        assert logged_in["user"]["email"] == email


def test_register_trims_nickname(base_url: str) -> None:
    data = assert_success(register_raw(base_url, register_body(nickname="  李四  ")), 201)
    assert data["user"]["nickname"] == "李四"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("password", "abcdefg1"),  # 8 characters
        ("password", "abcdefghijklmnopqrstuvwxyz12345A"),  # 32 characters
        ("password", "密码密码密码密1"),  # 8 characters, 22 bytes
        ("nickname", "ab"),
        ("nickname", "张" * 20),
    ],
    ids=["password-8", "password-32", "password-8-cjk", "nickname-2", "nickname-20"],
)
def test_register_accepts_boundary_values(base_url: str, field: str, value: str) -> None:
    body = register_body(**{field: value})
    data = assert_success(register_raw(base_url, body), 201)
    if field == "password":
        login_user(base_url, body["email"], value)
    else:
        assert data["user"]["nickname"] == value.strip()


def test_nickname_bounds_minimum_after_trimming_maximum_as_sent(base_url: str) -> None:
    """DECISIONS §2 counts the 2 after trimming; the contract's maxLength 20 holds for the string
    as sent, and where the two disagree the contract wins."""
    for nickname in (" ab ", "\tab\n", "  " + "张" * 16 + "  "):
        data = assert_success(register_raw(base_url, register_body(nickname=nickname)), 201)
        assert data["user"]["nickname"] == nickname.strip()
    for nickname in ("   a   ", " " * 10 + "ab" + " " * 10, " " + "张" * 20):
        assert_invalid(register_raw(base_url, register_body(nickname=nickname)), 40004, "nickname")


def test_login_returns_200_with_user_and_token_pair(base_url: str) -> None:
    user = new_user(base_url, nickname="王五")
    response = login(base_url, user.email, user.password)
    data = assert_success(response)
    assert response.json()["message"] == "登录成功"
    assert set(data) == {"user", "tokens"}
    assert set(data["user"]) == USER_KEYS
    assert data["user"]["id"] == user.id
    assert data["user"]["email"] == user.email
    assert data["user"]["nickname"] == "王五"
    assert set(data["tokens"]) == TOKEN_PAIR_KEYS
    assert data["tokens"]["token_type"] == "Bearer"
    assert data["tokens"]["expires_in"] == 3600
    # A new session: new tokens, which work.
    assert data["tokens"]["access_token"] != user.access_token
    assert assert_success(me(base_url, data["tokens"]["access_token"]))["id"] == user.id


def test_users_me_returns_the_current_user(base_url: str) -> None:
    registered = assert_success(register_raw(base_url, register_body(nickname="赵六")), 201)
    response = me(base_url, registered["tokens"]["access_token"])
    data = assert_success(response)
    assert response.json()["message"] == "成功"
    assert data == registered["user"]


def test_refresh_returns_only_a_new_access_token_that_works(base_url: str) -> None:
    user = new_user(base_url)
    response = refresh(base_url, user.refresh_token)
    data = assert_success(response)
    assert response.json()["message"] == "Token 刷新成功"
    assert set(data) == ACCESS_TOKEN_KEYS
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["access_token"] != user.access_token
    assert assert_success(me(base_url, data["access_token"]))["id"] == user.id
    # The refresh token stays usable, and the old access token too.
    assert_success(refresh(base_url, user.refresh_token))
    assert_success(me(base_url, user.access_token))


def test_logout_returns_200_without_data(base_url: str) -> None:
    user = new_user(base_url)
    response = logout(base_url, user.access_token)
    assert_success(response, has_data=False)
    assert response.json()["message"] == "登出成功"


def test_tokens_carry_standard_claims_and_lifetimes(base_url: str) -> None:
    user = new_user(base_url)
    access, refresh_claims = claims_of(user.access_token), claims_of(user.refresh_token)
    for claims in (access, refresh_claims):
        assert {"sub", "jti", "iat", "exp"} <= set(claims), claims
        assert claims["sub"] == user.id
    assert access["jti"] != refresh_claims["jti"]
    assert abs(access["exp"] - access["iat"] - 3600) <= 2
    assert abs(refresh_claims["exp"] - refresh_claims["iat"] - 7 * 86400) <= 2
    assert jwt.get_unverified_header(user.access_token)["alg"].lower() != "none"


# --------------------------------------------------------------------------------------------
# Validation table (DECISIONS.md §2)
# --------------------------------------------------------------------------------------------

NOT_AN_OBJECT_BODIES = [
    pytest.param(b"", id="empty"),
    pytest.param(b"   ", id="blank"),
    pytest.param(b'{"email": ', id="truncated-json"),
    pytest.param(b"email=a@example.com&password=x", id="form-encoded"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'["a@example.com", "Password123"]', id="array-of-values"),
    pytest.param(b'"a@example.com"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="true"),
]


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh"])
@pytest.mark.parametrize("content", NOT_AN_OBJECT_BODIES)
def test_body_missing_not_json_or_not_an_object_is_40003(
    base_url: str, path: str, content: bytes
) -> None:
    assert_error(post_raw(base_url, path, content), 40003)


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh"])
def test_request_without_body_at_all_is_40003(base_url: str, path: str) -> None:
    assert_error(call(base_url, "POST", path), 40003)


def _case_id(overrides: dict[str, Any]) -> str:
    return ",".join(
        f"{key}={'MISSING' if value is MISSING else repr(value)[:24]}"
        for key, value in overrides.items()
    )


REGISTER_INVALID = [
    # (overrides, code, field named in details)
    ({"email": MISSING}, 40003, "email"),
    ({"email": None}, 40003, "email"),
    ({"password": MISSING}, 40003, "password"),
    ({"password": None}, 40003, "password"),
    ({"nickname": MISSING}, 40003, "nickname"),
    ({"nickname": None}, 40003, "nickname"),
    ({"email": "not-an-email"}, 40001, "email"),
    ({"email": ""}, 40001, "email"),
    ({"email": "   "}, 40001, "email"),
    ({"email": "@example.com"}, 40001, "email"),
    ({"email": "user@"}, 40001, "email"),
    ({"email": "two words@example.com"}, 40001, "email"),
    ({"email": "a@b@example.com"}, 40001, "email"),
    ({"email": 12345}, 40001, "email"),
    ({"email": True}, 40001, "email"),
    ({"email": ["user@example.com"]}, 40001, "email"),
    ({"email": {"address": "user@example.com"}}, 40001, "email"),
    ({"password": "Passwo1"}, 40002, "password"),  # 7 characters
    ({"password": "abcdefghijklmnopqrstuvwxyz123456A"}, 40002, "password"),  # 33
    ({"password": ""}, 40002, "password"),
    ({"password": "Password"}, 40002, "password"),  # no digit
    ({"password": "12345678"}, 40002, "password"),  # no letter
    ({"password": "1234 5678 !?"}, 40002, "password"),  # no letter
    ({"password": "密" * 32 + "1"}, 40002, "password"),  # 33 characters
    ({"password": 12345678}, 40002, "password"),
    ({"password": ["Password123"]}, 40002, "password"),
    ({"nickname": "张"}, 40004, "nickname"),
    ({"nickname": ""}, 40004, "nickname"),
    ({"nickname": "   a   "}, 40004, "nickname"),
    ({"nickname": "a" * 21}, 40004, "nickname"),
    ({"nickname": "张" * 21}, 40004, "nickname"),
    ({"nickname": "ab\x00cd"}, 40004, "nickname"),
    ({"nickname": "ab\x1bcd"}, 40004, "nickname"),
    ({"nickname": 42}, 40004, "nickname"),
    ({"nickname": False}, 40004, "nickname"),
    ({"nickname": ["张三"]}, 40004, "nickname"),
]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    REGISTER_INVALID,
    ids=[_case_id(overrides) for overrides, _, _ in REGISTER_INVALID],
)
def test_register_validation(
    base_url: str, overrides: dict[str, Any], code: int, field: str
) -> None:
    body = register_body(**overrides)
    response = register_raw(base_url, body)
    assert_invalid(response, code, field)
    assert response.json()["message"] == CONTRACT_MESSAGES.get(code, "参数错误")


REGISTER_PRECEDENCE = [
    # (overrides, code, fields that must be named, fields that must not)
    (
        {"nickname": MISSING, "email": "bad", "password": "short"},
        40003,
        {"nickname"},
        {"email", "password"},
    ),
    ({"email": None, "password": "short", "nickname": "x"}, 40003, {"email"}, {"password"}),
    (
        {"email": MISSING, "password": None, "nickname": "x"},
        40003,
        {"email", "password"},
        {"nickname"},
    ),
    ({"email": "bad", "password": "short", "nickname": "x"}, 40001, {"email"}, {"password"}),
    ({"email": 7, "password": 8, "nickname": 9}, 40001, {"email"}, {"password", "nickname"}),
    ({"password": "short", "nickname": "x"}, 40002, {"password"}, {"nickname"}),
    ({"password": 12345678, "nickname": 42}, 40002, {"password"}, {"nickname"}),
]


@pytest.mark.parametrize(
    ("overrides", "code", "named", "not_named"),
    REGISTER_PRECEDENCE,
    ids=[f"{code}-{i}" for i, (_, code, _, _) in enumerate(REGISTER_PRECEDENCE)],
)
def test_register_validation_first_row_of_the_table_wins(
    base_url: str, overrides: dict[str, Any], code: int, named: set[str], not_named: set[str]
) -> None:
    response = register_raw(base_url, register_body(**overrides))
    assert_error(response, code)
    fields = detail_fields(response)
    assert named <= fields, response.text
    assert not (not_named & fields), response.text


def test_register_ignores_unknown_fields(base_url: str) -> None:
    body = register_body(avatar="https://evil.example.com/x.png", role="admin", id="user_x")
    data = assert_success(register_raw(base_url, body), 201)
    assert data["user"]["avatar"] is None
    assert data["user"]["id"] != "user_x"
    assert "role" not in data["user"]


LOGIN_INVALID = [
    # (body, code, field named in details, field not named)
    (body_of(password=PASSWORD), 40003, "email", None),
    ({"email": None, "password": PASSWORD}, 40003, "email", None),
    (body_of(email="user@example.com"), 40003, "password", None),
    ({"email": "user@example.com", "password": None}, 40003, "password", None),
    ({}, 40003, "email", None),
    ({}, 40003, "password", None),
    ({"email": "not-an-email", "password": PASSWORD}, 40001, "email", None),
    ({"email": "", "password": PASSWORD}, 40001, "email", None),
    ({"email": 12345, "password": PASSWORD}, 40001, "email", None),
    ({"email": "user@example.com", "password": 12345678}, 40004, "password", None),
    ({"email": "user@example.com", "password": ["Password123"]}, 40004, "password", None),
    ({"email": "user@example.com", "password": True}, 40004, "password", None),
    # precedence: missing before email before anything else
    ({"email": "not-an-email"}, 40003, "password", "email"),
    ({"email": 5, "password": None}, 40003, "password", "email"),
    ({"email": "not-an-email", "password": 12345678}, 40001, "email", "password"),
]


@pytest.mark.parametrize(
    ("body", "code", "field", "not_named"),
    LOGIN_INVALID,
    ids=[f"{code}-{i}" for i, (_, code, _, _) in enumerate(LOGIN_INVALID)],
)
def test_login_validation(
    base_url: str, body: dict[str, Any], code: int, field: str, not_named: str | None
) -> None:
    response = call(base_url, "POST", "/auth/login", json=body)
    assert_invalid(response, code, field)
    if not_named is not None:
        assert not_named not in detail_fields(response), response.text


def test_login_ignores_unknown_fields(base_url: str) -> None:
    user = new_user(base_url)
    body = {"email": user.email, "password": user.password, "remember_me": True, "otp": None}
    assert assert_success(call(base_url, "POST", "/auth/login", json=body))["user"]["id"] == user.id


def test_login_password_has_no_format_rule(base_url: str) -> None:
    """A short wrong password is just wrong credentials, not a validation error."""
    user = new_user(base_url)
    for password in ("x", "", "12345678", "p" * 100):
        body = assert_error(login(base_url, user.email, password), 40101)
        assert "details" not in body
    assert_success(login(base_url, user.email, user.password))  # not locked: 4 failures


REFRESH_INVALID = [
    ({}, 40003, "refresh_token"),
    ({"refresh_token": None}, 40003, "refresh_token"),
    ({"token": "abc"}, 40003, "refresh_token"),
    ({"refresh_token": 12345}, 40004, "refresh_token"),
    ({"refresh_token": ["a.b.c"]}, 40004, "refresh_token"),
]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    REFRESH_INVALID,
    ids=[f"{code}-{i}" for i, (_, code, _) in enumerate(REFRESH_INVALID)],
)
def test_refresh_validation(base_url: str, body: dict[str, Any], code: int, field: str) -> None:
    assert_invalid(call(base_url, "POST", "/auth/refresh", json=body), code, field)


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.xx"])
def test_refresh_with_a_garbage_token_is_40103(base_url: str, garbage: str) -> None:
    assert_error(refresh(base_url, garbage), 40103)


# --------------------------------------------------------------------------------------------
# Duplicate emails
# --------------------------------------------------------------------------------------------


def test_register_duplicate_email_is_409_even_differing_in_case_or_spaces(base_url: str) -> None:
    original = new_user(base_url, nickname="原来的")
    for variant in (original.email, original.email.upper(), f"  {original.email.title()}  "):
        response = register_raw(
            base_url, {"email": variant, "password": "Another123", "nickname": "冒名者"}
        )
        body = assert_error(response, 40901)
        assert body["message"] == CONTRACT_MESSAGES[40901]
    # The rejected registrations changed nothing: the original account is intact.
    data = login_user(base_url, original.email, original.password)
    assert data["user"]["id"] == original.id
    assert data["user"]["nickname"] == "原来的"
    assert_error(login(base_url, original.email, "Another123"), 40101)


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_registrations_of_one_email_create_exactly_one_account(
    base_url: str, round_: int
) -> None:
    email = unique_email("race")
    # Differ only in case and spaces: the same account for the server.
    variants = [email, email.upper(), f" {email} ", email.title(), f"{email.upper()}  "]
    passwords = [f"Racer{i}pass{round_}" for i in range(len(variants))]
    barrier = threading.Barrier(len(variants))

    def attempt(i: int) -> httpx.Response:
        with client(base_url, verify=False) as http:
            http.get(f"{base_url}/healthz")  # open the connection before the race
            barrier.wait(timeout=15)
            body = {"email": variants[i], "password": passwords[i], "nickname": "竞赛"}
            return http.post("/auth/register", json=body)

    with ThreadPoolExecutor(len(variants)) as pool:
        responses = list(pool.map(attempt, range(len(variants))))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409], [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 40901)
    winner = next(i for i, r in enumerate(responses) if r.status_code == 201)
    winner_id = responses[winner].json()["data"]["user"]["id"]
    # Only the winner's password opens the one account (4 failures: not yet locked).
    for i, password in enumerate(passwords):
        if i != winner:
            assert_error(login(base_url, email, password), 40101)
    assert login_user(base_url, email, passwords[winner])["user"]["id"] == winner_id


# --------------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "密码是一二三四5",
        "🔐secret🔑2024",
        "Пароль2024",
        "pässwörd1",
        "كلمةالسر2024",
        "with spaces 1 and tabs\t",
        "quote\"back\\slash'1",
        "nul\x00inside1",
        "😀" * 30 + "a1",  # 32 characters, 122 bytes
    ],
    ids=["chinese", "emoji", "cyrillic", "accents", "arabic", "spaces", "quotes", "nul", "emoji32"],
)
def test_any_unicode_password_works(base_url: str, password: str) -> None:
    body = register_body(password=password)
    registered = assert_success(register_raw(base_url, body), 201)
    data = login_user(base_url, body["email"], password)
    assert data["user"]["id"] == registered["user"]["id"]
    # ...and only that password.
    assert_error(login(base_url, body["email"], password[:-1] + "9"), 40101)


def test_passwords_sharing_their_first_72_bytes_are_different(base_url: str) -> None:
    prefix = "密" * 24  # 24 characters, exactly 72 bytes in UTF-8
    password = prefix + "码" * 5 + "1"  # 30 characters, 90 bytes
    others = [prefix + "钥" * 5 + "1", prefix + "码" * 5 + "2", prefix + "码" * 4 + "1"]
    for candidate in (password, *others):
        assert candidate.encode()[:72] == password.encode()[:72]
        assert len(candidate) <= 32 and len(candidate.encode()) > 72
    body = register_body(password=password)
    user_id = assert_success(register_raw(base_url, body), 201)["user"]["id"]
    for other in others:
        assert_error(login(base_url, body["email"], other), 40101)
    assert login_user(base_url, body["email"], password)["user"]["id"] == user_id

    # And the other way round: an account whose password is one of the others.
    body2 = register_body(password=others[0])
    assert_success(register_raw(base_url, body2), 201)
    assert_error(login(base_url, body2["email"], password), 40101)
    login_user(base_url, body2["email"], others[0])


def test_long_unicode_password_of_32_characters_is_accepted_33_refused(base_url: str) -> None:
    ok = "密" * 31 + "1"  # 32 characters, 94 bytes
    body = register_body(password=ok)
    assert_success(register_raw(base_url, body), 201)
    login_user(base_url, body["email"], ok)
    assert_invalid(
        register_raw(base_url, register_body(password="密" * 32 + "1")), 40002, "password"
    )


# --------------------------------------------------------------------------------------------
# Login failures: no enumeration
# --------------------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_give_identical_401(base_url: str) -> None:
    user = new_user(base_url)
    wrong = login(base_url, user.email, "WrongPass999")
    unknown = login(base_url, unique_email("nobody"), "WrongPass999")
    body = assert_error(wrong, 40101)
    assert body["message"] == CONTRACT_MESSAGES[40101]
    assert unknown.status_code == wrong.status_code
    assert unknown.content == wrong.content
    ignored = {"date", "x-request-id"}
    assert {k for k in wrong.headers if k not in ignored} == {
        k for k in unknown.headers if k not in ignored
    }
    # A short password too: same answer.
    assert login(base_url, unique_email("nobody"), "x").content == wrong.content


def _timed_login(url: str, email: str, password: str, code: int) -> float:
    start = time.perf_counter()
    response = login(url, email, password)
    elapsed = time.perf_counter() - start
    if code:
        assert_error(response, code)
    else:
        assert_success(response)
    return elapsed


def test_wrong_password_and_unknown_email_take_about_the_same_time(
    slow_hash: ServerProcess,
) -> None:
    url = slow_hash.url
    users = [new_user(url) for _ in range(3)]
    wrong: list[float] = []
    unknown: list[float] = []
    right: list[float] = []
    for i in range(5):
        user = users[i % 3]  # at most 2 failures per account: no lockout
        wrong.append(_timed_login(url, user.email, "WrongPass999", 40101))
        unknown.append(_timed_login(url, unique_email("ghost"), "WrongPass999", 40101))
        if i < 3:
            right.append(_timed_login(url, users[i].email, users[i].password, 0))
    wrong_median, unknown_median = statistics.median(wrong), statistics.median(unknown)
    right_median = statistics.median(right)
    assert 0.5 <= unknown_median / wrong_median <= 2, (wrong, unknown)
    # Both run bcrypt (cost 10): they take at least about as long as a successful login.
    assert wrong_median >= 0.5 * right_median, (wrong, right)
    assert unknown_median >= 0.5 * right_median, (unknown, right)


@pytest.fixture(scope="module")
def timing_server(start_server: StartServer) -> ServerProcess:
    """bcrypt at cost 8 (~18 ms: a verify skipped would show), no login limit or lockout in
    reach, so that a thousand wrong logins are all answered 40101."""
    return start_server(
        "sqlite", bcrypt_rounds=8, login_rate_limit="100000/minute", login_lockout="100000,1"
    )


def test_500_unknown_emails_and_500_wrong_passwords_take_the_same_median_time(
    timing_server: ServerProcess,
) -> None:
    """ASVS: no user enumeration by timing. Unknown emails are verified against a dummy hash
    of the same cost; interleaved, one keep-alive connection, medians within 5 ms."""
    url = timing_server.url
    user = new_user(url)
    http = client(url)
    samples: dict[str, list[float]] = {"unknown": [], "wrong": []}
    body = {"unknown": lambda: unique_email("ghost"), "wrong": lambda: user.email}
    try:
        for i in range(500):
            for kind in ("unknown", "wrong") if i % 2 else ("wrong", "unknown"):
                start = time.perf_counter()
                response = http.post(
                    "/auth/login", json={"email": body[kind](), "password": "WrongPass999"}
                )
                samples[kind].append(time.perf_counter() - start)
                assert_error(response, 40101)
    finally:
        http.close()
    unknown, wrong = (statistics.median(samples[k]) * 1000 for k in ("unknown", "wrong"))
    print(f"login medians: unknown email {unknown:.2f} ms, wrong password {wrong:.2f} ms")
    assert abs(unknown - wrong) < 5, (unknown, wrong)


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

BAD_AUTHORIZATION = [
    pytest.param(None, id="missing"),
    pytest.param("", id="empty"),
    pytest.param("Bearer", id="bearer-alone"),
    pytest.param("Bearer garbage", id="garbage"),
    pytest.param("Bearer a.b.c", id="three-garbage-parts"),
    pytest.param("Basic dXNlcjpQYXNzd29yZDEyMw==", id="basic"),
    pytest.param("{access}", id="no-scheme"),
    pytest.param("Token {access}", id="other-scheme"),
    pytest.param("Bearer {access}x", id="extra-char"),
    pytest.param("Bearer {access} {access}", id="two-tokens"),
]


@pytest.mark.parametrize("path", ["/users/me", "/auth/logout"])
@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
def test_missing_or_malformed_authorization_is_40103(
    base_url: str, member: User, path: str, authorization: str | None
) -> None:
    method = "GET" if path == "/users/me" else "POST"
    header = None if authorization is None else authorization.format(access=member.access_token)
    body = assert_error(call(base_url, method, path, authorization=header), 40103)
    assert body["message"] == CONTRACT_MESSAGES[40103]
    # None of these did anything to the session.
    assert_success(me(base_url, member.access_token))


def test_refresh_token_is_not_an_access_token(base_url: str) -> None:
    user = new_user(base_url)
    assert_error(me(base_url, user.refresh_token), 40103)
    assert_error(logout(base_url, user.refresh_token), 40103)
    assert_success(me(base_url, user.access_token))  # the failed logout revoked nothing
    assert_success(refresh(base_url, user.refresh_token))


def test_access_token_is_not_a_refresh_token(base_url: str) -> None:
    user = new_user(base_url)
    assert_error(refresh(base_url, user.access_token), 40103)
    refreshed = assert_success(refresh(base_url, user.refresh_token))["access_token"]
    assert_error(refresh(base_url, refreshed), 40103)


def _forged_variants(token: str, other_user_id: str) -> dict[str, str]:
    """Tokens made from a real one: alg none, another secret, an altered payload..."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    claims = claims_of(token)
    header = jwt.get_unverified_header(token)
    none_header = b64url_json({"alg": "none", "typ": "JWT"})
    return {
        "alg-none-no-signature": f"{none_header}.{payload_b64}.",
        "alg-none-original-signature": f"{none_header}.{payload_b64}.{signature_b64}",
        "alg-None-capitalized": f"{b64url_json({'alg': 'None', 'typ': 'JWT'})}.{payload_b64}.",
        "pyjwt-alg-none": jwt.encode(claims, None, algorithm="none"),
        "other-secret": jwt.encode(claims, OTHER_SECRET, "HS256"),
        "other-secret-hs512": jwt.encode(claims, OTHER_SECRET, "HS512"),
        "payload-sub-altered": ".".join(
            [header_b64, b64url_json({**claims, "sub": other_user_id}), signature_b64]
        ),
        "payload-exp-altered": ".".join(
            [header_b64, b64url_json({**claims, "exp": claims["exp"] + 86400}), signature_b64]
        ),
        "header-altered": f"{b64url_json({**header, 'kid': 'x'})}.{payload_b64}.{signature_b64}",
        "signature-removed": f"{header_b64}.{payload_b64}.",
        "signature-truncated": f"{header_b64}.{payload_b64}.{signature_b64[:-4]}",
        "signature-of-another-token": f"{header_b64}.{payload_b64}.{OTHER_SIGNATURE}",
    }


OTHER_SIGNATURE = jwt.encode({"sub": "x"}, OTHER_SECRET, "HS256").rsplit(".", 1)[1]
FORGERIES = list(_forged_variants(jwt.encode({"sub": "x", "exp": 0}, OTHER_SECRET), "y"))


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_access_token_is_40103(
    base_url: str, member: User, bystander: User, forgery: str
) -> None:
    forged = _forged_variants(member.access_token, bystander.id)[forgery]
    assert_error(me(base_url, forged), 40103)
    assert_error(logout(base_url, forged), 40103)
    assert_success(me(base_url, member.access_token))


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_refresh_token_is_40103(
    base_url: str, member: User, bystander: User, forgery: str
) -> None:
    forged = _forged_variants(member.refresh_token, bystander.id)[forgery]
    assert_error(refresh(base_url, forged), 40103)


def test_expired_access_token_is_40102_while_refresh_still_works(fast: FastServer) -> None:
    before = time.monotonic()
    registered = assert_success(register_raw(fast.url, register_body()), 201)
    issued = time.monotonic()
    tokens = registered["tokens"]
    assert tokens["expires_in"] == 1  # follows the configured lifetime
    assert issued - before < 0.5, "registration too slow for this test's timeline"
    assert_success(me(fast.url, tokens["access_token"]))
    sleep_until(issued + 2.05)
    body = assert_error(me(fast.url, tokens["access_token"]), 40102)
    assert body["message"] == CONTRACT_MESSAGES[40102]
    assert_error(logout(fast.url, tokens["access_token"]), 40102)
    # The refresh token (3 s) is still good, and the failed logout revoked nothing.
    data = assert_success(refresh(fast.url, tokens["refresh_token"]))
    assert set(data) == ACCESS_TOKEN_KEYS
    assert data["expires_in"] == 1
    assert assert_success(me(fast.url, data["access_token"]))["id"] == registered["user"]["id"]


def test_configured_jwt_secret_signs_the_tokens(slow_hash: ServerProcess, base_url: str) -> None:
    url = slow_hash.url
    user = new_user(url)
    # The configured secret is the key (HS256 verifies), and no secret file is generated.
    claims = jwt.decode(user.access_token, CONFIGURED_SECRET, algorithms=["HS256"])
    assert claims["sub"] == user.id
    assert not (slow_hash.data_dir / "jwt_secret").exists()
    # Tokens of another server (another secret) are refused, both ways.
    stranger = new_user(base_url)
    assert_error(me(url, stranger.access_token), 40103)
    assert_error(refresh(url, stranger.refresh_token), 40103)
    assert_error(me(base_url, user.access_token), 40103)
    assert_error(refresh(base_url, user.refresh_token), 40103)
    # The algorithm is pinned: the right secret with another HMAC is still refused...
    for algorithm in ("HS384", "HS512"):
        assert_error(me(url, jwt.encode(claims, CONFIGURED_SECRET, algorithm)), 40103)
    # ...while the same claims signed the server's way are accepted (the forgery is sound).
    assert_success(me(url, jwt.encode(claims, CONFIGURED_SECRET, "HS256")))


# --------------------------------------------------------------------------------------------
# Logout
# --------------------------------------------------------------------------------------------


def test_logout_revokes_that_session_only(base_url: str) -> None:
    user = new_user(base_url)  # session A
    refreshed_a = assert_success(refresh(base_url, user.refresh_token))["access_token"]
    session_b = login_user(base_url, user.email)["tokens"]
    session_c = login_user(base_url, user.email)["tokens"]

    assert_success(logout(base_url, user.access_token), has_data=False)

    # Session A, all its tokens, at once.
    assert_error(me(base_url, user.access_token), 40103)
    assert_error(me(base_url, refreshed_a), 40103)
    assert_error(refresh(base_url, user.refresh_token), 40103)
    # Logging out twice: the second time the token is no longer valid.
    assert_error(logout(base_url, user.access_token), 40103)
    # Other sessions of the same user go on.
    for tokens in (session_b, session_c):
        assert assert_success(me(base_url, tokens["access_token"]))["id"] == user.id
        assert_success(refresh(base_url, tokens["refresh_token"]))
    # Logging out with a refreshed access token ends its session too.
    refreshed_b = assert_success(refresh(base_url, session_b["refresh_token"]))["access_token"]
    assert_success(logout(base_url, refreshed_b), has_data=False)
    assert_error(me(base_url, session_b["access_token"]), 40103)
    assert_error(refresh(base_url, session_b["refresh_token"]), 40103)
    assert_success(me(base_url, session_c["access_token"]))
    # The account itself is fine: a new login works.
    login_user(base_url, user.email)


# --------------------------------------------------------------------------------------------
# Login throttle per client IP
# --------------------------------------------------------------------------------------------


def test_sixth_login_within_a_minute_from_one_ip_is_429_on_default_settings(
    base_url: str,
) -> None:
    user = new_user(base_url)
    ip = new_ip()
    for _ in range(5):
        assert_success(login(base_url, user.email, user.password, ip=ip))
    response = login(base_url, user.email, user.password, ip=ip)
    body = assert_error(response, 42901)
    assert body["message"] == CONTRACT_MESSAGES[42901]
    assert_retry_after(response, 60)
    assert_success(login(base_url, user.email, user.password))  # another IP


def test_login_rate_limit_counts_every_attempt_and_frees_up_after_the_window(
    fast: FastServer,
) -> None:
    """5 login requests per 1.5 s per IP. Timeline: five requests of every outcome (~0.1 s),
    refused ones 0.3 s later (inside the window of the first five), then, once the first five
    have left the window, five allowed again: only possible if the refused were not counted."""
    url = fast.url
    user = new_user(url)
    ip = new_ip()
    started = time.monotonic()
    assert_success(login(url, user.email, user.password, ip=ip))
    assert_error(login(url, user.email, "WrongPass999", ip=ip), 40101)
    assert_error(login(url, unique_email("nobody"), PASSWORD, ip=ip), 40101)
    assert_error(call(url, "POST", "/auth/login", ip=ip, json={"email": "bad"}), 40003)
    assert_error(post_raw(url, "/auth/login", b"not json", ip=ip), 40003)
    fifth_done = time.monotonic()
    assert fifth_done - started < 0.6, "the first five took too long for this test's timeline"

    # The 6th, whatever it is, is refused before anything else is looked at.
    sleep_until(fifth_done + 0.3)
    refused_at = time.monotonic()
    for attempt in (
        lambda: login(url, user.email, user.password, ip=ip),
        lambda: login(url, user.email, "WrongPass999", ip=ip),
        lambda: post_raw(url, "/auth/login", b"not json", ip=ip),
    ):
        response = attempt()
        body = assert_error(response, 42901)
        assert body["message"] == CONTRACT_MESSAGES[42901]
        assert_retry_after(response, 2)
    assert time.monotonic() - started < 1.4, "too slow for this test's timeline"
    # Another IP is not affected.
    assert_success(login(url, user.email, user.password))

    # Once the first five have left the window, five logins are allowed again (the refused
    # ones, still inside the window if they had counted, did not count), then a 429 again.
    sleep_until(fifth_done + 1.6)
    for _ in range(5):
        assert_success(login(url, user.email, user.password, ip=ip))
    assert time.monotonic() < refused_at + 1.5, "too slow to tell whether refusals counted"
    assert_error(login(url, user.email, user.password, ip=ip), 42901)


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted(untrusting: ServerProcess) -> None:
    url = untrusting.url
    user = new_user(url)
    # Each request claims another client IP, but the peer (127.0.0.1) is not a trusted proxy.
    for _ in range(5):
        assert_success(login(url, user.email, user.password, ip=new_ip()))
    response = login(url, user.email, user.password, ip=new_ip())
    assert_error(response, 42901)
    assert_retry_after(response, 60)


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(base_url: str) -> None:
    """Behind a trusted proxy (127.0.0.1 here) the nearest untrusted hop is the client."""
    user = new_user(base_url)
    client_ip = new_ip()
    for i in range(5):
        # Whatever the client itself put in front is not trusted: only the last hop counts.
        chain = f"{new_ip()}, {client_ip}" if i % 2 else client_ip
        assert_success(login(base_url, user.email, user.password, ip=chain))
    assert_error(login(base_url, user.email, user.password, ip=f"{new_ip()}, {client_ip}"), 42901)


# --------------------------------------------------------------------------------------------
# Account lockout
# --------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(
    base_url: str,
) -> None:
    user = new_user(base_url)
    # Each attempt from its own IP; the email in any case is the same account.
    for i in range(5):
        email = user.email.upper() if i % 2 else user.email
        assert_error(login(base_url, email, f"WrongPass{i}99"), 40101)
    for password in (user.password, "WrongPass999"):
        response = login(base_url, user.email, password)
        body = assert_error(response, 42902)
        assert body["message"] == "账号已锁定"
        assert assert_retry_after(response, 15 * 60) > 14 * 60
    # Lockout is per account: another account is not affected.
    other = new_user(base_url)
    assert_success(login(base_url, other.email, other.password))
    # The session issued before the lock still works (the lock is about logging in).
    assert_success(me(base_url, user.access_token))


def test_a_successful_login_resets_the_failure_count(base_url: str) -> None:
    user = new_user(base_url)
    for i in range(4):
        assert_error(login(base_url, user.email, f"WrongPass{i}99"), 40101)
    assert_success(login(base_url, user.email, user.password))
    for i in range(4):
        assert_error(login(base_url, user.email, f"WrongPass{i}99"), 40101)
    assert_success(login(base_url, user.email, user.password))


def test_lockout_applies_to_unknown_emails_too(base_url: str) -> None:
    ghost = unique_email("ghost")
    for _ in range(5):
        assert_error(login(base_url, ghost, "WrongPass999"), 40101)
    response = login(base_url, ghost, "WrongPass999")
    assert_error(response, 42902)
    assert_retry_after(response, 15 * 60)


def test_lock_expires_and_a_new_count_starts(fast: FastServer) -> None:
    """3 failures lock for 0.6 s here; every attempt from its own IP."""
    url = fast.url
    user = new_user(url)
    ghost = unique_email("ghost")
    for _ in range(3):
        assert_error(login(url, user.email, "WrongPass999"), 40101)
    user_locked_at = time.monotonic()
    for _ in range(3):
        assert_error(login(url, ghost, "WrongPass999"), 40101)
    ghost_locked_at = time.monotonic()

    response = login(url, user.email, user.password)
    assert_error(response, 42902)
    assert_retry_after(response, 1)
    assert_error(login(url, ghost, "WrongPass999"), 42902)
    # Registering the locked address now: its first login waits for the lock like any other.
    assert_success(register_raw(url, register_body(email=ghost)), 201)
    assert_error(login(url, ghost, PASSWORD), 42902)
    assert time.monotonic() - user_locked_at < 0.5, "too slow for a 0.6 s lock"

    sleep_until(ghost_locked_at + 0.7)
    assert_success(login(url, user.email, user.password))
    assert_success(login(url, ghost, PASSWORD))
    # An expired lock does not carry over its count: two failures are just two failures.
    for _ in range(2):
        assert_error(login(url, user.email, "WrongPass999"), 40101)
    assert_success(login(url, user.email, user.password))


def test_attempts_during_a_lock_do_not_extend_it(fast: FastServer) -> None:
    """ASVS 6.1.1: the lock is a fixed window from the failure that set it. An attacker who
    keeps trying (wrong or right passwords) while it holds cannot make it last longer: the
    victim logs in as soon as it ends."""
    url = fast.url
    user = new_user(url)
    for _ in range(3):
        assert_error(login(url, user.email, "WrongPass999"), 40101)
    locked_at = time.monotonic()
    tried = 0
    while time.monotonic() < locked_at + 0.4:  # the lock is 0.6 s
        password = user.password if tried % 3 == 0 else "WrongPass999"
        assert_error(login(url, user.email, password), 42902)
        tried += 1
    assert tried >= 3
    sleep_until(locked_at + 0.7)
    assert_success(login(url, user.email, user.password))


def test_expired_refresh_token_is_40102(fast: FastServer) -> None:
    """Last of the tests on this server: the early session's 3 (+1) s have run out by now."""
    sleep_until(fast.early_issued + 4.05)
    body = assert_error(refresh(fast.url, fast.early.refresh_token), 40102)
    assert body["message"] == CONTRACT_MESSAGES[40102]
    assert_error(me(fast.url, fast.early.access_token), 40102)


# --------------------------------------------------------------------------------------------
# JWT secret kept in the data directory
# --------------------------------------------------------------------------------------------


def test_generated_jwt_secret_is_private_and_survives_a_restart(untrusting: ServerProcess) -> None:
    server = untrusting  # started without AIMEETING_JWT_SECRET
    secret_file = server.data_dir / "jwt_secret"
    assert secret_file.is_file()
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text()
    assert len(secret.strip()) >= 32

    kept = new_user(server.url)
    ended = new_user(server.url)
    assert_success(logout(server.url, ended.access_token), has_data=False)

    server.stop()
    server.start()

    assert secret_file.read_text() == secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # Nobody was logged out by the restart...
    assert assert_success(me(server.url, kept.access_token))["id"] == kept.id
    assert_success(refresh(server.url, kept.refresh_token))
    # ...and who had logged out stays logged out.
    assert_error(me(server.url, ended.access_token), 40103)
    assert_error(refresh(server.url, ended.refresh_token), 40103)


# --------------------------------------------------------------------------------------------
# Accept-Language
# --------------------------------------------------------------------------------------------

Scenario = Callable[[str, User, str, "str | None"], httpx.Response]

SCENARIOS: dict[str, Scenario] = {
    "register-201": lambda url, u, taken, lang: register_raw(url, register_body(), lang=lang),
    "login-200": lambda url, u, taken, lang: login(url, u.email, u.password, lang=lang),
    "me-200": lambda url, u, taken, lang: me(url, u.access_token, lang=lang),
    "refresh-200": lambda url, u, taken, lang: refresh(url, u.refresh_token, lang=lang),
    "logout-200": lambda url, u, taken, lang: logout(
        url, login_user(url, u.email)["tokens"]["access_token"], lang=lang
    ),
    "40001": lambda url, u, taken, lang: register_raw(url, register_body(email="x"), lang=lang),
    "40002": lambda url, u, taken, lang: register_raw(
        url, register_body(password="short"), lang=lang
    ),
    "40003": lambda url, u, taken, lang: register_raw(url, register_body(email=None), lang=lang),
    "40004": lambda url, u, taken, lang: register_raw(url, register_body(nickname="x"), lang=lang),
    "40101": lambda url, u, taken, lang: login(url, unique_email(), "WrongPass999", lang=lang),
    "40103": lambda url, u, taken, lang: me(url, "garbage", lang=lang),
    "40901": lambda url, u, taken, lang: register_raw(url, register_body(email=taken), lang=lang),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_accept_language_en_gives_english_messages_with_the_same_codes(
    base_url: str, member: User, bystander: User, scenario: str
) -> None:
    def run(lang: str | None) -> httpx.Response:
        return SCENARIOS[scenario](base_url, member, bystander.email, lang)

    chinese = run(None)
    assert has_cjk(chinese.json()["message"]), chinese.text
    for lang in ("en", "en-US,en;q=0.9,zh;q=0.8"):
        english = run(lang)
        assert english.status_code == chinese.status_code, (lang, english.text)
        assert english.json()["code"] == chinese.json()["code"], (lang, english.text)
        message = english.json()["message"]
        assert message and message.isascii(), (lang, message)
    for lang in ("zh-CN,zh;q=0.9,en;q=0.8", "fr-FR"):
        assert run(lang).json()["message"] == chinese.json()["message"], lang


# --------------------------------------------------------------------------------------------
# Rejected requests leave data as it was
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"password": "short"}, 40002),
        ({"password": "noDigitsHere"}, 40002),
        ({"nickname": "x"}, 40004),
        ({"nickname": "ab\x00cd"}, 40004),
        ({"nickname": None}, 40003),
        ({"nickname": 42}, 40004),
    ],
    ids=["short-password", "no-digit", "short-nickname", "nul-nickname", "null-nick", "int-nick"],
)
def test_rejected_registration_creates_no_account(
    base_url: str, overrides: dict[str, Any], code: int
) -> None:
    email = unique_email()
    password = overrides.get("password", PASSWORD)
    assert_error(register_raw(base_url, register_body(email=email, **overrides)), code)
    assert_error(login(base_url, email, password), 40101)
    data = assert_success(register_raw(base_url, register_body(email=email)), 201)
    assert data["user"]["email"] == email
    login_user(base_url, email)
