from __future__ import annotations

from collections import OrderedDict

from sqlalchemy import select

from aimeeting.protocol import ErrorCode
from aimeeting.server.batching import Batcher, Outcomes
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Unauthorized
from aimeeting.server.users.schemas import User

MAX_BATCH = 500  # users read in one query


class UserService:
    """Users by id. Profiles never change once registered (the API has no way to change them),
    so a bounded in-memory cache answers safely, on every node, without a database round trip.

    Misses that arrive together are read in one query: after a restart (or on the node that
    takes over a dead one's members) every returning socket misses at once, and one read per
    socket queued thousands of them on the connection pool.
    """

    def __init__(self, db: Database, cache_size: int = 10_000) -> None:
        self.db = db
        self.cache_size = cache_size
        self._cache: OrderedDict[str, User] = OrderedDict()
        self._misses: Batcher[str, User] = Batcher(self._read, MAX_BATCH)

    async def get(self, user_id: str) -> User:
        user = self._cache.get(user_id)
        if user is not None:
            self._cache.move_to_end(user_id)
            return user
        user = await self._misses.submit(user_id)
        self._cache[user_id] = user
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return user

    async def _read(self, user_ids: list[str]) -> Outcomes[User]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(models.User).where(models.User.id.in_(set(user_ids)))
            )
            found = {row.id: User.of(row) for row in rows}
        # A valid token for a user that no longer exists (a database reset, say).
        return [found.get(user_id) or Unauthorized(ErrorCode.TOKEN_INVALID) for user_id in user_ids]
