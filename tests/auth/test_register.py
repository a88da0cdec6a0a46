"""Registration: the success shape, the validation table (DECISIONS.md §2) and its precedence,
duplicate e-mails (also under concurrency), Unicode passwords past bcrypt's 72 bytes.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.utils.api import (
    JSON_BODY,
    PASSWORD,
    RFC3339_UTC,
    assert_error,
    client,
    ok,
    register,
    unique_email,
)
from tests.utils.auth import (
    CONTRACT_MESSAGES,
    MISSING,
    TOKEN_PAIR_KEYS,
    USER_KEYS,
    assert_invalid,
    call,
    detail_fields,
    login,
    login_user,
    me,
    register_body,
    register_raw,
)

# --------------------------------------------------------------------------------------------
# Success shapes
# --------------------------------------------------------------------------------------------


def test_register_returns_201_with_user_and_token_pair(base_url: str) -> None:
    email = unique_email()
    response = register_raw(base_url, {"email": email, "password": PASSWORD, "nickname": "张三"})
    data = ok(response, 201)
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
    data = ok(register_raw(base_url, register_body(email=messy)), 201)
    assert data["user"]["email"] == email
    assert ok(me(base_url, data["tokens"]["access_token"]))["email"] == email
    # Log in with the address in any case, with spaces around it.
    for variant in (email, email.upper(), f" {email.title()} "):
        logged_in = login_user(base_url, variant)
        assert logged_in["user"]["id"] == data["user"]["id"]
        assert logged_in["user"]["email"] == email


def test_register_trims_nickname(base_url: str) -> None:
    data = ok(register_raw(base_url, register_body(nickname="  李四  ")), 201)
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
    data = ok(register_raw(base_url, body), 201)
    if field == "password":
        login_user(base_url, body["email"], value)
    else:
        assert data["user"]["nickname"] == value.strip()


def test_nickname_bounds_minimum_after_trimming_maximum_as_sent(base_url: str) -> None:
    """DECISIONS §2 counts the 2 after trimming; the contract's maxLength 20 holds for the string
    as sent, and where the two disagree the contract wins."""
    for nickname in (" ab ", "\tab\n", "  " + "张" * 16 + "  "):
        data = ok(register_raw(base_url, register_body(nickname=nickname)), 201)
        assert data["user"]["nickname"] == nickname.strip()
    for nickname in ("   a   ", " " * 10 + "ab" + " " * 10, " " + "张" * 20):
        assert_invalid(register_raw(base_url, register_body(nickname=nickname)), 40004, "nickname")


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
    assert_error(call(base_url, "POST", path, content=content, headers=JSON_BODY), 40003)


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
    data = ok(register_raw(base_url, body), 201)
    assert data["user"]["avatar"] is None
    assert data["user"]["id"] != "user_x"
    assert "role" not in data["user"]


# --------------------------------------------------------------------------------------------
# Duplicate emails
# --------------------------------------------------------------------------------------------


def test_register_duplicate_email_is_409_even_differing_in_case_or_spaces(base_url: str) -> None:
    original = register(base_url, nickname="原来的")
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
    registered = ok(register_raw(base_url, body), 201)
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
    user_id = ok(register_raw(base_url, body), 201)["user"]["id"]
    for other in others:
        assert_error(login(base_url, body["email"], other), 40101)
    assert login_user(base_url, body["email"], password)["user"]["id"] == user_id

    # And the other way round: an account whose password is one of the others.
    body2 = register_body(password=others[0])
    ok(register_raw(base_url, body2), 201)
    assert_error(login(base_url, body2["email"], password), 40101)
    login_user(base_url, body2["email"], others[0])


def test_long_unicode_password_of_32_characters_is_accepted_33_refused(base_url: str) -> None:
    fits = "密" * 31 + "1"  # 32 characters, 94 bytes
    body = register_body(password=fits)
    ok(register_raw(base_url, body), 201)
    login_user(base_url, body["email"], fits)
    assert_invalid(
        register_raw(base_url, register_body(password="密" * 32 + "1")), 40002, "password"
    )


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
    data = ok(register_raw(base_url, register_body(email=email)), 201)
    assert data["user"]["email"] == email
    login_user(base_url, email)
