"""The login throttles: per client IP (trusted proxies decide what the client IP is) and per
account (lockout after wrong passwords).
"""

from __future__ import annotations

import time

import httpx

from harness.server import ServerProcess
from tests.utils.api import JSON_BODY, PASSWORD, assert_error, new_ip, ok, register, unique_email
from tests.utils.auth import (
    CONTRACT_MESSAGES,
    FastServer,
    call,
    login,
    me,
    register_body,
    register_raw,
    sleep_until,
)


def assert_retry_after(response: httpx.Response, maximum: float) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None and value.isdigit(), response.headers
    seconds = int(value)
    assert 1 <= seconds <= maximum, seconds
    return seconds


# --------------------------------------------------------------------------------------------
# Login throttle per client IP
# --------------------------------------------------------------------------------------------


def test_sixth_login_within_a_minute_from_one_ip_is_429_on_default_settings(
    base_url: str,
) -> None:
    user = register(base_url)
    ip = new_ip()
    for _ in range(5):
        ok(login(base_url, user.email, user.password, ip=ip))
    response = login(base_url, user.email, user.password, ip=ip)
    body = assert_error(response, 42901)
    assert body["message"] == CONTRACT_MESSAGES[42901]
    assert_retry_after(response, 60)
    ok(login(base_url, user.email, user.password))  # another IP


def test_login_rate_limit_counts_every_attempt_and_frees_up_after_the_window(
    fast: FastServer,
) -> None:
    """5 login requests per 1.5 s per IP. Timeline: five requests of every outcome (~0.1 s),
    refused ones 0.3 s later (inside the window of the first five), then, once the first five
    have left the window, five allowed again: only possible if the refused were not counted."""
    url = fast.url
    user = register(url)
    ip = new_ip()
    started = time.monotonic()
    ok(login(url, user.email, user.password, ip=ip))
    assert_error(login(url, user.email, "WrongPass999", ip=ip), 40101)
    assert_error(login(url, unique_email("nobody"), PASSWORD, ip=ip), 40101)
    assert_error(call(url, "POST", "/auth/login", ip=ip, json={"email": "bad"}), 40003)
    assert_error(
        call(url, "POST", "/auth/login", content=b"not json", headers=JSON_BODY, ip=ip), 40003
    )
    fifth_done = time.monotonic()
    assert fifth_done - started < 0.6, "the first five took too long for this test's timeline"

    # The 6th, whatever it is, is refused before anything else is looked at.
    sleep_until(fifth_done + 0.3)
    refused_at = time.monotonic()
    for attempt in (
        lambda: login(url, user.email, user.password, ip=ip),
        lambda: login(url, user.email, "WrongPass999", ip=ip),
        lambda: call(url, "POST", "/auth/login", content=b"not json", headers=JSON_BODY, ip=ip),
    ):
        response = attempt()
        body = assert_error(response, 42901)
        assert body["message"] == CONTRACT_MESSAGES[42901]
        assert_retry_after(response, 2)
    assert time.monotonic() - started < 1.4, "too slow for this test's timeline"
    # Another IP is not affected.
    ok(login(url, user.email, user.password))

    # Once the first five have left the window, five logins are allowed again (the refused
    # ones, still inside the window if they had counted, did not count), then a 429 again.
    sleep_until(fifth_done + 1.6)
    for _ in range(5):
        ok(login(url, user.email, user.password, ip=ip))
    assert time.monotonic() < refused_at + 1.5, "too slow to tell whether refusals counted"
    assert_error(login(url, user.email, user.password, ip=ip), 42901)


def test_x_forwarded_for_is_ignored_when_no_proxy_is_trusted(untrusting: ServerProcess) -> None:
    url = untrusting.url
    user = register(url)
    # Each request claims another client IP, but the peer (127.0.0.1) is not a trusted proxy.
    for _ in range(5):
        ok(login(url, user.email, user.password, ip=new_ip()))
    response = login(url, user.email, user.password, ip=new_ip())
    assert_error(response, 42901)
    assert_retry_after(response, 60)


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(base_url: str) -> None:
    """Behind a trusted proxy (127.0.0.1 here) the nearest untrusted hop is the client."""
    user = register(base_url)
    client_ip = new_ip()
    for i in range(5):
        # Whatever the client itself put in front is not trusted: only the last hop counts.
        chain = f"{new_ip()}, {client_ip}" if i % 2 else client_ip
        ok(login(base_url, user.email, user.password, ip=chain))
    assert_error(login(base_url, user.email, user.password, ip=f"{new_ip()}, {client_ip}"), 42901)


# --------------------------------------------------------------------------------------------
# Account lockout
# --------------------------------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_even_for_the_right_password(
    base_url: str,
) -> None:
    user = register(base_url)
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
    other = register(base_url)
    ok(login(base_url, other.email, other.password))
    # The session issued before the lock still works (the lock is about logging in).
    ok(me(base_url, user.access_token))


def test_a_successful_login_resets_the_failure_count(base_url: str) -> None:
    user = register(base_url)
    for i in range(4):
        assert_error(login(base_url, user.email, f"WrongPass{i}99"), 40101)
    ok(login(base_url, user.email, user.password))
    for i in range(4):
        assert_error(login(base_url, user.email, f"WrongPass{i}99"), 40101)
    ok(login(base_url, user.email, user.password))


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
    user = register(url)
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
    ok(register_raw(url, register_body(email=ghost)), 201)
    assert_error(login(url, ghost, PASSWORD), 42902)
    assert time.monotonic() - user_locked_at < 0.5, "too slow for a 0.6 s lock"

    sleep_until(ghost_locked_at + 0.7)
    ok(login(url, user.email, user.password))
    ok(login(url, ghost, PASSWORD))
    # An expired lock does not carry over its count: two failures are just two failures.
    for _ in range(2):
        assert_error(login(url, user.email, "WrongPass999"), 40101)
    ok(login(url, user.email, user.password))


def test_attempts_during_a_lock_do_not_extend_it(fast: FastServer) -> None:
    """ASVS 6.1.1: the lock is a fixed window from the failure that set it. An attacker who
    keeps trying (wrong or right passwords) while it holds cannot make it last longer: the
    victim logs in as soon as it ends."""
    url = fast.url
    user = register(url)
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
    ok(login(url, user.email, user.password))
