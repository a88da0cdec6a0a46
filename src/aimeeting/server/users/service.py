from __future__ import annotations

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Unauthorized
from aimeeting.server.users.schemas import User


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> User:
        async with self.db.read() as session:
            user = await session.get(models.User, user_id)
        if user is None:  # a valid token for a user that no longer exists
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return User.of(user)
