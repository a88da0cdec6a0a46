"""Keyset paging by ``(created_at, id)`` (aimeeting.server.pages): the cursor a client names and
the rows beyond it, on an in-memory SQLite database (no server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import models
from aimeeting.server.errors import InvalidInput
from aimeeting.server.pages import beyond, cursor_row

MEETING, OTHER_MEETING = "meeting_00000000000000aa", "meeting_00000000000000bb"
T0 = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def message(n: int, at: datetime, meeting_id: str = MEETING) -> models.ChatMessage:
    return models.ChatMessage(
        id=f"message_{n:016x}",
        meeting_id=meeting_id,
        sender_id="user_0000000000000001",
        content=f"m{n}",
        client_msg_id=None,
        created_at=at,
    )


@pytest.fixture
async def session() -> AsyncIterator[AsyncSession]:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(models.Base.metadata.create_all)
    async with async_sessionmaker(engine)() as session:
        # Three messages in one millisecond (several nodes, one clock tick): only the id
        # orders them. Stored out of order, to show the query does the ordering.
        session.add_all(
            [
                message(5, T0 + timedelta(seconds=1)),
                message(3, T0),
                message(1, T0 - timedelta(seconds=1)),
                message(4, T0),
                message(2, T0),
                message(9, T0, OTHER_MEETING),
            ]
        )
        await session.commit()
        yield session
    await engine.dispose()


async def contents(session: AsyncSession, cursor_id: str, *, later: bool) -> list[str]:
    cursor = await cursor_row(
        session,
        models.ChatMessage,
        cursor_id,
        prefix="message",
        meeting_id=MEETING,
        field="before",
        what="message",
    )
    Model = models.ChatMessage
    order = (Model.created_at, Model.id) if later else (Model.created_at.desc(), Model.id.desc())
    query = (
        select(Model.content)
        .where(Model.meeting_id == MEETING, beyond(Model, cursor, later=later))
        .order_by(*order)
    )
    return list((await session.scalars(query)).all())


async def test_rows_beyond_a_cursor_follow_created_at_then_id(session: AsyncSession) -> None:
    middle = "message_0000000000000003"  # shares its millisecond with 2 and 4
    assert await contents(session, middle, later=True) == ["m4", "m5"]
    assert await contents(session, middle, later=False) == ["m2", "m1"]
    assert await contents(session, "message_0000000000000005", later=True) == []
    assert await contents(session, "message_0000000000000001", later=False) == []
    assert await contents(session, "message_0000000000000001", later=True) == [
        "m2",
        "m3",
        "m4",
        "m5",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "message_00000000000000ff",  # well formed, not stored
        "message_0000000000000009",  # another meeting's
        "not-an-id",
        "message_0000000000000003\x00",
        "",
    ],
)
async def test_a_cursor_that_is_not_one_of_this_meetings_rows_is_40004_on_its_field(
    session: AsyncSession, value: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await contents(session, value, later=False)
    assert refused.value.code is ErrorCode.INVALID_PARAMETER
    assert refused.value.details == {"before": "not a message of this meeting"}
