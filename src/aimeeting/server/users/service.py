from __future__ import annotations

from collections import OrderedDict

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Unauthorized
from aimeeting.server.users.schemas import User


class UserService:
    """Users by id. Profiles never change once registered (the API has no way to change them),
    so a bounded in-memory cache answers safely, on every node, without a database round trip.
    """

    def __init__(self, db: Database, cache_size: int = 10_000) -> None:
        self.db = db
        self.cache_size = cache_size
        self._cache: OrderedDict[str, User] = OrderedDict()

    async def get(self, user_id: str) -> User:
        user = self._cache.get(user_id)
        if user is not None:
            self._cache.move_to_end(user_id)
            return user
        async with self.db.read() as session:
            row = await session.get(models.User, user_id)
        if row is None:  # a valid token for a user that no longer exists
            raise Unauthorized(ErrorCode.TOKEN_INVALID)
        user = User.of(row)
        self._cache[user_id] = user
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return user
