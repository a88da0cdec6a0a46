"""``UserService``: profiles from an in-memory cache; misses that arrive together are one query,
and a user that no longer exists is 40103 for that caller alone. On a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Unauthorized
from aimeeting.server.users.service import UserService


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    now = datetime.now(UTC)
    async with database.engine.begin() as connection:
        await connection.run_sync(models.Base.metadata.create_all)
        await connection.execute(
            insert(models.User),
            [
                {
                    "id": f"user_{n}",
                    "email": f"u{n}@example.com",
                    "password_hash": "x",
                    "nickname": f"User {n}",
                    "avatar": None,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(20)
            ],
        )
    yield database
    await database.dispose()


def count_user_reads(database: Database) -> list[str]:
    reads: list[str] = []

    @event.listens_for(database.engine.sync_engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement:
            reads.append(statement)

    return reads


async def test_misses_arriving_together_are_read_in_one_query_then_cached(db: Database) -> None:
    users = UserService(db)
    reads = count_user_reads(db)
    ids = [f"user_{n}" for n in range(20)]
    found = await asyncio.wait_for(asyncio.gather(*(users.get(i) for i in ids)), 5)
    assert [user.id for user in found] == ids
    assert [user.nickname for user in found[:2]] == ["User 0", "User 1"]
    assert len(reads) == 1  # the batch is read once all twenty have been handed in
    assert (await users.get("user_7")).email == "u7@example.com"
    assert len(reads) == 1  # from the cache


async def test_a_user_that_no_longer_exists_is_40103_for_that_caller_only(db: Database) -> None:
    users = UserService(db)
    outcomes = await asyncio.wait_for(
        asyncio.gather(users.get("user_1"), users.get("user_gone"), return_exceptions=True), 5
    )
    assert not isinstance(outcomes[0], BaseException) and outcomes[0].id == "user_1"
    assert isinstance(outcomes[1], Unauthorized) and outcomes[1].code == ErrorCode.TOKEN_INVALID
