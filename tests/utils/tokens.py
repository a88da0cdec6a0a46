"""Reading and forging JWTs in tests: the claims of a real token, and tokens made by hand
(any header, any signature) to try on the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt

# A secret no test server signs with: what it signed must be refused.
OTHER_SECRET = "not-the-server-secret-" + "0123456789abcdef" * 4


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hs256_token(header: dict[str, Any], claims: dict[str, Any], key: str) -> str:
    """A token with exactly this header, signed with HMAC-SHA256 and ``key`` whatever the
    header's ``alg`` says (PyJWT would refuse to write most of the forgeries)."""
    signed = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{b64url(signature)}"
