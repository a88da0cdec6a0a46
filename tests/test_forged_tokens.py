"""Forged tokens, table-driven, on REST and on the WebSocket (issue 17, OWASP ASVS 5.0 §9 and
the JWT attack catalogue): each forgery is made from a real token of a server whose secret the
test knows, so a forgery "signed right" is a real signature and only the server's rules stand
between it and a session. Every one must be refused with the documented code: 40102 for an
expired token, 40103 for anything else; on the WebSocket that code in an ``error`` and close 4401.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from harness.server import ServerProcess
from tests.utils.api import User, register
from tests.utils.tokens import b64url, b64url_json, claims_of, hs256_token
from tests.utils.ws import WsClient

SECRET = "the-forgery-servers-secret-" + "0123456789abcdef" * 4
ATTACKER = "an-attackers-own-key-" + "fedcba9876543210" * 4
EXPIRED, INVALID = 40102, 40103
HS256 = {"alg": "HS256", "typ": "JWT"}

Forgery = Callable[[User], str]


def signed(header: dict[str, Any] | None = None, key: str = SECRET, **changes: Any) -> Forgery:
    """The user's access token with ``changes`` to its claims (None removes one)."""

    def make(user: User) -> str:
        claims = {**claims_of(user.access_token), **changes}
        claims = {name: value for name, value in claims.items() if value is not None}
        return hs256_token(header or HS256, claims, key)

    return make


def edited(edit: Callable[[str], str]) -> Forgery:
    return lambda user: edit(user.access_token)


def unsigned(alg: str) -> Forgery:
    return lambda user: (
        f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{user.access_token.split('.')[1]}."
    )


NOW = int(time.time())
FORGERIES: dict[str, tuple[Forgery, int]] = {
    # The algorithm comes from the server, never from the token.
    "alg none": (unsigned("none"), INVALID),
    "alg None": (unsigned("None"), INVALID),
    "alg nOnE": (unsigned("nOnE"), INVALID),
    "alg none, signature kept": (
        edited(lambda t: f"{b64url_json({'alg': 'none'})}.{t.split('.', 1)[1]}"),
        INVALID,
    ),
    "HS512 with the right secret": (signed({"alg": "HS512", "typ": "JWT"}), INVALID),
    "RS256 header, HMAC signature (key confusion)": (signed({"alg": "RS256"}), INVALID),
    "ES256 header": (signed({"alg": "ES256"}, key=ATTACKER), INVALID),
    "PS256 header": (signed({"alg": "PS256"}, key=ATTACKER), INVALID),
    # Headers that would have a careless verifier fetch or take the attacker's key.
    "jku to the attacker's keys": (
        signed({**HS256, "jku": "https://evil.example/jwks.json"}, key=ATTACKER),
        INVALID,
    ),
    "jwk embedding the attacker's key": (
        signed({**HS256, "jwk": {"kty": "oct", "k": b64url(ATTACKER.encode())}}, key=ATTACKER),
        INVALID,
    ),
    "x5u to the attacker's certificate": (
        signed({**HS256, "x5u": "https://evil.example/cert.pem"}, key=ATTACKER),
        INVALID,
    ),
    "kid path traversal, empty key": (
        signed({**HS256, "kid": "../../../../dev/null"}, key=""),
        INVALID,
    ),
    "kid SQL injection": (signed({**HS256, "kid": "x' UNION SELECT 'k"}, key="k"), INVALID),
    "typ JWE in the header": (
        signed({"alg": "HS256", "typ": "JWE", "enc": "A256GCM"}, key=ATTACKER),
        INVALID,
    ),
    "another secret": (signed(key=ATTACKER), INVALID),
    "empty secret": (signed(key=""), INVALID),
    # Claims, with a real signature: only the server's rules refuse them.
    "refresh token used as access": (edited(lambda t: t), INVALID),  # replaced per user below
    "typ refresh claim": (signed(typ="refresh"), INVALID),
    "typ missing": (signed(typ=None), INVALID),
    "typ admin": (signed(typ="admin"), INVALID),
    "expired by 1 s": (signed(exp=NOW - 1), EXPIRED),
    "exp a string": (signed(exp="9999999999"), INVALID),
    "exp a float": (signed(exp=9999999999.5), INVALID),
    "iat true": (signed(iat=True), INVALID),
    "exp missing": (signed(exp=None), INVALID),
    "nbf in the future": (signed(nbf=NOW + 3600), INVALID),
    "iat missing": (signed(iat=None), INVALID),
    "sid missing": (signed(sid=None), INVALID),
    "jti missing": (signed(jti=None), INVALID),
    "sub missing": (signed(sub=None), INVALID),
    "sub an integer": (signed(sub=12345), INVALID),
    "sub of nobody": (signed(sub="user_0000000000000000"), INVALID),
    "sub a list": (signed(sub=["user_x"]), INVALID),
    # Shapes.
    "signature truncated": (edited(lambda t: t[:-3]), INVALID),
    "signature bit flipped": (
        edited(lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1]),
        INVALID,
    ),
    "two segments": (edited(lambda t: t.rsplit(".", 1)[0]), INVALID),
    "four segments": (edited(lambda t: t + ".x"), INVALID),
    "not base64": (edited(lambda t: "!!!." + t.split(".", 1)[1]), INVALID),
    "header not JSON": (edited(lambda t: b64url(b"{alg") + "." + t.split(".", 1)[1]), INVALID),
    "oversized, signed right (6 KB)": (signed(pad="x" * 6000), INVALID),
    "oversized, garbage (64 KB)": (edited(lambda t: t + "A" * 65536), INVALID),
}


def forge(name: str, user: User) -> str:
    if name == "refresh token used as access":
        return user.refresh_token
    return FORGERIES[name][0](user)


@pytest.fixture(scope="module")
def forgery_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", jwt_secret=SECRET)


@pytest.fixture(scope="module")
def victim(forgery_server: ServerProcess) -> User:
    return register(forgery_server.url, nickname="Victim")


def test_the_forgeries_are_sound(forgery_server: ServerProcess, victim: User) -> None:
    """A token the test signs the server's way is accepted: the refusals below are the
    server's rules at work, not a test that signs wrongly."""
    token = signed()(victim)
    response = httpx.get(
        f"{forgery_server.url}/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", list(FORGERIES))
def test_rest_refuses(forgery_server: ServerProcess, victim: User, name: str) -> None:
    token = forge(name, victim)
    response = httpx.get(
        f"{forgery_server.url}/v1/users/me", headers={"Authorization": f"Bearer {token}"}
    )
    expected = FORGERIES[name][1]
    assert response.status_code == 401, (name, response.status_code, response.text)
    assert response.json()["code"] == expected, (name, response.text)


@pytest.mark.parametrize("name", list(FORGERIES))
async def test_websocket_refuses(forgery_server: ServerProcess, victim: User, name: str) -> None:
    if name.startswith("oversized"):
        # The token rides in the URL: the HTTP layer refuses a URL this long before the app.
        with pytest.raises(InvalidStatus) as refused:
            await WsClient.open(forgery_server.url, forge(name, victim))
        assert refused.value.response.status_code == 414
        return
    client = await WsClient.open(forgery_server.url, forge(name, victim))
    messages = await client.closed(4401)
    assert [m["type"] for m in messages] == ["error"], (name, messages)
    assert messages[0]["data"]["code"] == FORGERIES[name][1], (name, messages)
