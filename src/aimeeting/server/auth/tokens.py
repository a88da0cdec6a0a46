"""JWT access and refresh tokens (DECISIONS.md §3)."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import jwt

from aimeeting.protocol import ErrorCode
from aimeeting.server.errors import Unauthorized

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"  # pinned: never taken from the token's header
_REQUIRED = ["sub", "jti", "iat", "exp", "typ", "sid"]
# Ours are about 250 characters. A longer one is refused before any parsing or HMAC: it was not
# made here, and it costs nothing to turn away.
MAX_TOKEN_LENGTH = 2048
# Tokens verified already, by their exact text. A client sends the same access token with every
# request for its whole lifetime, and checking it (base64, JSON, HMAC, claim rules) was a seventh
# of a `/users/me` request's CPU. What a signature check proves never changes for the same text;
# the expiry is checked again on every use, and revocation is checked by the caller every time.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Claims:
    user_id: str
    session_id: str
    token_id: str
    token_type: TokenType
    issued_at: float
    expires_at: float


class TokenService:
    def __init__(self, secret: str, access_ttl: float, refresh_ttl: float) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self._verified: dict[str, Claims] = {}

    @staticmethod
    def new_session_id() -> str:
        return f"sess_{secrets.token_urlsafe(16)}"

    def issue(self, user_id: str, session_id: str, token_type: TokenType) -> str:
        now = time.time()
        ttl = self.access_ttl if token_type == "access" else self.refresh_ttl
        payload = {
            "sub": user_id,
            "sid": session_id,
            "jti": secrets.token_urlsafe(16),
            "typ": token_type,
            "iat": int(now),
            # Whole seconds, rounded up: a token never lives shorter than its lifetime.
            "exp": math.ceil(now + ttl),
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str, expected: TokenType) -> Claims:
        """The token's claims; 40102 when expired, 40103 for anything else wrong with it."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            self._remember(token, claims)
        # PyJWT's rule, kept for the cached ones: expired from the second ``exp`` names.
        if claims.expires_at <= time.time():
            raise Unauthorized(ErrorCode.TOKEN_EXPIRED)
        if claims.token_type != expected:
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return claims

    def _remember(self, token: str, claims: Claims) -> None:
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = claims

    def _verify(self, token: str) -> Claims:
        """Signature, claim rules and types: a token that passes is ours, of either type."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        try:
            payload = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], options={"require": _REQUIRED}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized(ErrorCode.TOKEN_EXPIRED) from None
        except jwt.PyJWTError:
            raise Unauthorized(ErrorCode.TOKEN_INVALID) from None
        if payload["typ"] not in ("access", "refresh") or not _well_typed(payload):
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return Claims(
            user_id=payload["sub"],
            session_id=payload["sid"],
            token_id=payload["jti"],
            token_type=payload["typ"],
            issued_at=float(payload["iat"]),
            expires_at=float(payload["exp"]),
        )


def _well_typed(payload: dict[str, object]) -> bool:
    """Ids are strings and times whole numbers, as ``issue`` writes them (PyJWT itself would
    take ``"exp": "9999999999"``)."""
    ids = all(isinstance(payload[key], str) for key in ("sub", "sid", "jti"))
    times = all(
        isinstance(payload[key], int) and not isinstance(payload[key], bool)
        for key in ("iat", "exp")
    )
    return ids and times
