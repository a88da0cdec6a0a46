"""Logging in: the success shape, validation, and failures that give nothing away (the same answer
and the same time for a wrong password and an unknown e-mail).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest

from harness.server import ServerProcess, StartServer
from tests.utils.api import PASSWORD, assert_error, client, ok, register, unique_email
from tests.utils.auth import (
    CONTRACT_MESSAGES,
    TOKEN_PAIR_KEYS,
    USER_KEYS,
    assert_invalid,
    body_of,
    call,
    detail_fields,
    login,
    me,
)


def test_login_returns_200_with_user_and_token_pair(base_url: str) -> None:
    user = register(base_url, nickname="王五")
    response = login(base_url, user.email, user.password)
    data = ok(response)
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
    assert ok(me(base_url, data["tokens"]["access_token"]))["id"] == user.id


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
    user = register(base_url)
    body = {"email": user.email, "password": user.password, "remember_me": True, "otp": None}
    assert ok(call(base_url, "POST", "/auth/login", json=body))["user"]["id"] == user.id


def test_login_password_has_no_format_rule(base_url: str) -> None:
    """A short wrong password is just wrong credentials, not a validation error."""
    user = register(base_url)
    for password in ("x", "", "12345678", "p" * 100):
        body = assert_error(login(base_url, user.email, password), 40101)
        assert "details" not in body
    ok(login(base_url, user.email, user.password))  # not locked: 4 failures


# --------------------------------------------------------------------------------------------
# Login failures: no enumeration
# --------------------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_give_identical_401(base_url: str) -> None:
    user = register(base_url)
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
        ok(response)
    return elapsed


def test_wrong_password_and_unknown_email_take_about_the_same_time(
    slow_hash: ServerProcess,
) -> None:
    url = slow_hash.url
    users = [register(url) for _ in range(3)]
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
    user = register(url)
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
