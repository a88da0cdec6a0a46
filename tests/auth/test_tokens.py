"""Tokens: /users/me, refresh and logout, token types, expiry, forgery and revocation, and the JWT
secret (configured, or generated and kept in the data directory).
"""

from __future__ import annotations

import stat
import time
from typing import Any

import jwt
import pytest

from harness.server import ServerProcess
from tests.utils.api import User, assert_error, ok, register
from tests.utils.auth import (
    ACCESS_TOKEN_KEYS,
    CONFIGURED_SECRET,
    CONTRACT_MESSAGES,
    FastServer,
    assert_invalid,
    call,
    login_user,
    logout,
    me,
    refresh,
    register_body,
    register_raw,
    sleep_until,
)
from tests.utils.tokens import OTHER_SECRET, b64url_json, claims_of


def test_users_me_returns_the_current_user(base_url: str) -> None:
    registered = ok(register_raw(base_url, register_body(nickname="赵六")), 201)
    response = me(base_url, registered["tokens"]["access_token"])
    data = ok(response)
    assert response.json()["message"] == "成功"
    assert data == registered["user"]


def test_refresh_returns_only_a_new_access_token_that_works(base_url: str) -> None:
    user = register(base_url)
    response = refresh(base_url, user.refresh_token)
    data = ok(response)
    assert response.json()["message"] == "Token 刷新成功"
    assert set(data) == ACCESS_TOKEN_KEYS
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 3600
    assert data["access_token"] != user.access_token
    assert ok(me(base_url, data["access_token"]))["id"] == user.id
    # The refresh token stays usable, and the old access token too.
    ok(refresh(base_url, user.refresh_token))
    ok(me(base_url, user.access_token))


def test_logout_returns_200_without_data(base_url: str) -> None:
    user = register(base_url)
    response = logout(base_url, user.access_token)
    ok(response, has_data=False)
    assert response.json()["message"] == "登出成功"


def test_tokens_carry_standard_claims_and_lifetimes(base_url: str) -> None:
    user = register(base_url)
    access, refresh_claims = claims_of(user.access_token), claims_of(user.refresh_token)
    for claims in (access, refresh_claims):
        assert {"sub", "jti", "iat", "exp"} <= set(claims), claims
        assert claims["sub"] == user.id
    assert access["jti"] != refresh_claims["jti"]
    assert abs(access["exp"] - access["iat"] - 3600) <= 2
    assert abs(refresh_claims["exp"] - refresh_claims["iat"] - 7 * 86400) <= 2
    assert jwt.get_unverified_header(user.access_token)["alg"].lower() != "none"


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
# Authorization header, token types, forgery, expiry
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
    ok(me(base_url, member.access_token))


def test_refresh_token_is_not_an_access_token(base_url: str) -> None:
    user = register(base_url)
    assert_error(me(base_url, user.refresh_token), 40103)
    assert_error(logout(base_url, user.refresh_token), 40103)
    ok(me(base_url, user.access_token))  # the failed logout revoked nothing
    ok(refresh(base_url, user.refresh_token))


def test_access_token_is_not_a_refresh_token(base_url: str) -> None:
    user = register(base_url)
    assert_error(refresh(base_url, user.access_token), 40103)
    refreshed = ok(refresh(base_url, user.refresh_token))["access_token"]
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
    ok(me(base_url, member.access_token))


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_refresh_token_is_40103(
    base_url: str, member: User, bystander: User, forgery: str
) -> None:
    forged = _forged_variants(member.refresh_token, bystander.id)[forgery]
    assert_error(refresh(base_url, forged), 40103)


def test_expired_access_token_is_40102_while_refresh_still_works(fast: FastServer) -> None:
    before = time.monotonic()
    registered = ok(register_raw(fast.url, register_body()), 201)
    issued = time.monotonic()
    tokens = registered["tokens"]
    assert tokens["expires_in"] == 1  # follows the configured lifetime
    assert issued - before < 0.5, "registration too slow for this test's timeline"
    ok(me(fast.url, tokens["access_token"]))
    sleep_until(issued + 2.05)
    body = assert_error(me(fast.url, tokens["access_token"]), 40102)
    assert body["message"] == CONTRACT_MESSAGES[40102]
    assert_error(logout(fast.url, tokens["access_token"]), 40102)
    # The refresh token (3 s) is still good, and the failed logout revoked nothing.
    data = ok(refresh(fast.url, tokens["refresh_token"]))
    assert set(data) == ACCESS_TOKEN_KEYS
    assert data["expires_in"] == 1
    assert ok(me(fast.url, data["access_token"]))["id"] == registered["user"]["id"]


def test_expired_refresh_token_is_40102(fast: FastServer) -> None:
    """Last of the tests on this server: the early session's 3 (+1) s have run out by now."""
    sleep_until(fast.early_issued + 4.05)
    body = assert_error(refresh(fast.url, fast.early.refresh_token), 40102)
    assert body["message"] == CONTRACT_MESSAGES[40102]
    assert_error(me(fast.url, fast.early.access_token), 40102)


def test_configured_jwt_secret_signs_the_tokens(slow_hash: ServerProcess, base_url: str) -> None:
    url = slow_hash.url
    user = register(url)
    # The configured secret is the key (HS256 verifies), and no secret file is generated.
    claims = jwt.decode(user.access_token, CONFIGURED_SECRET, algorithms=["HS256"])
    assert claims["sub"] == user.id
    assert not (slow_hash.data_dir / "jwt_secret").exists()
    # Tokens of another server (another secret) are refused, both ways.
    stranger = register(base_url)
    assert_error(me(url, stranger.access_token), 40103)
    assert_error(refresh(url, stranger.refresh_token), 40103)
    assert_error(me(base_url, user.access_token), 40103)
    assert_error(refresh(base_url, user.refresh_token), 40103)
    # The algorithm is pinned: the right secret with another HMAC is still refused...
    for algorithm in ("HS384", "HS512"):
        assert_error(me(url, jwt.encode(claims, CONFIGURED_SECRET, algorithm)), 40103)
    # ...while the same claims signed the server's way are accepted (the forgery is sound).
    ok(me(url, jwt.encode(claims, CONFIGURED_SECRET, "HS256")))


# --------------------------------------------------------------------------------------------
# Logout
# --------------------------------------------------------------------------------------------


def test_logout_revokes_that_session_only(base_url: str) -> None:
    user = register(base_url)  # session A
    refreshed_a = ok(refresh(base_url, user.refresh_token))["access_token"]
    session_b = login_user(base_url, user.email)["tokens"]
    session_c = login_user(base_url, user.email)["tokens"]

    ok(logout(base_url, user.access_token), has_data=False)

    # Session A, all its tokens, at once.
    assert_error(me(base_url, user.access_token), 40103)
    assert_error(me(base_url, refreshed_a), 40103)
    assert_error(refresh(base_url, user.refresh_token), 40103)
    # Logging out twice: the second time the token is no longer valid.
    assert_error(logout(base_url, user.access_token), 40103)
    # Other sessions of the same user go on.
    for tokens in (session_b, session_c):
        assert ok(me(base_url, tokens["access_token"]))["id"] == user.id
        ok(refresh(base_url, tokens["refresh_token"]))
    # Logging out with a refreshed access token ends its session too.
    refreshed_b = ok(refresh(base_url, session_b["refresh_token"]))["access_token"]
    ok(logout(base_url, refreshed_b), has_data=False)
    assert_error(me(base_url, session_b["access_token"]), 40103)
    assert_error(refresh(base_url, session_b["refresh_token"]), 40103)
    ok(me(base_url, session_c["access_token"]))
    # The account itself is fine: a new login works.
    login_user(base_url, user.email)


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

    kept = register(server.url)
    ended = register(server.url)
    ok(logout(server.url, ended.access_token), has_data=False)

    server.stop()
    server.start()

    assert secret_file.read_text() == secret
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    # Nobody was logged out by the restart...
    assert ok(me(server.url, kept.access_token))["id"] == kept.id
    ok(refresh(server.url, kept.refresh_token))
    # ...and who had logged out stays logged out.
    assert_error(me(server.url, ended.access_token), 40103)
    assert_error(refresh(server.url, ended.refresh_token), 40103)
