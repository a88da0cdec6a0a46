"""Register, log in, refresh, log out, and authenticate requests (contract §1, DECISIONS.md §3)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from aimeeting.protocol import ErrorCode
from aimeeting.server.auth.passwords import PasswordHasher
from aimeeting.server.auth.revocation import RevokedSessions
from aimeeting.server.auth.schemas import AccessTokenOut, AuthOut, LoginIn, RegisterIn, TokenPair
from aimeeting.server.auth.throttle import AccountLockout, RateLimiter
from aimeeting.server.auth.tokens import Claims, TokenService, TokenType
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Conflict, Unauthorized
from aimeeting.server.ids import new_id, utcnow
from aimeeting.server.users.schemas import User

log = logging.getLogger(__name__)


class SessionListener(Protocol):
    """Told when a session ends by logout (after it is revoked), to close its live connections."""

    async def session_revoked(self, session_id: str) -> None: ...


class AuthService:
    def __init__(
        self,
        db: Database,
        tokens: TokenService,
        hasher: PasswordHasher,
        revoked: RevokedSessions,
        login_limiter: RateLimiter,
        lockout: AccountLockout,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.hasher = hasher
        self.revoked = revoked
        self.login_limiter = login_limiter
        self.lockout = lockout
        self.listener: SessionListener | None = None

    async def register(self, data: RegisterIn) -> AuthOut:
        now = utcnow()
        user = models.User(
            id=new_id("user"),
            email=data.email,
            password_hash=await self.hasher.hash(data.password),
            nickname=data.nickname,
            avatar=None,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.db.write() as session:
                session.add(user)
        except IntegrityError:  # the unique email, taken before or concurrently
            raise Conflict(ErrorCode.EMAIL_TAKEN) from None
        log.info("user registered", extra={"user_id": user.id})
        return self._sign_in(user)

    async def check_login_rate(self, client_ip: str) -> None:
        """Every login request counts against its client IP, before its body is even read."""
        await self.login_limiter.hit(client_ip)

    async def login(self, data: LoginIn) -> AuthOut:
        now = utcnow()
        failures = await self.lockout.check(data.email, now)
        async with self.db.read() as session:
            user = await session.scalar(select(models.User).where(models.User.email == data.email))
        # Unknown emails are verified against a dummy hash: same answer, same time.
        if not await self.hasher.verify(data.password, user.password_hash if user else None):
            await self.lockout.record_failure(data.email, now)
            raise Unauthorized(ErrorCode.WRONG_CREDENTIALS)
        assert user is not None
        if failures:
            await self.lockout.record_success(data.email)
        log.info("user logged in", extra={"user_id": user.id})
        return self._sign_in(user)

    def _sign_in(self, user: models.User) -> AuthOut:
        session_id = self.tokens.new_session_id()
        tokens = TokenPair(
            access_token=self.tokens.issue(user.id, session_id, "access"),
            refresh_token=self.tokens.issue(user.id, session_id, "refresh"),
            expires_in=int(self.tokens.access_ttl),
        )
        return AuthOut(user=User.of(user), tokens=tokens)

    def authenticate(self, token: str, expected: TokenType = "access") -> Claims:
        claims = self.tokens.decode(token, expected)
        if self.revoked.is_revoked(claims.session_id):
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return claims

    async def refresh(self, refresh_token: str) -> AccessTokenOut:
        claims = self.authenticate(refresh_token, "refresh")
        async with self.db.read() as session:
            exists = await session.scalar(
                select(models.User.id).where(models.User.id == claims.user_id)
            )
        if exists is None:
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return AccessTokenOut(
            access_token=self.tokens.issue(claims.user_id, claims.session_id, "access"),
            expires_in=int(self.tokens.access_ttl),
        )

    async def logout(self, claims: Claims) -> None:
        """Revoke the whole session: its access and refresh tokens stop working at once."""
        now = utcnow()
        # No token of this session outlives now + the refresh lifetime.
        until = now + timedelta(seconds=self.tokens.refresh_ttl)
        await self.revoked.revoke(claims.session_id, until, now)
        log.info("user logged out", extra={"user_id": claims.user_id})
        if self.listener is not None:
            await self.listener.session_revoked(claims.session_id)
