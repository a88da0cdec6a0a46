from __future__ import annotations

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import Database
from aimeeting.server.db.models import User
from aimeeting.server.errors import Unauthorized
from aimeeting.server.users.schemas import UserOut


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> UserOut:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        if user is None:  # a valid token for a user that no longer exists
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        return UserOut.of(user)
