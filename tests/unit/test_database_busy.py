"""An SQLite node whose every pooled connection is busy (a storm of history reads after a
restart) answers 503 50301 after the database timeout, not a 500 after SQLAlchemy's 30 s."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from aimeeting.server.db import Database
from aimeeting.server.errors import Unavailable


async def test_no_free_sqlite_connection_is_unavailable_within_the_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}", timeout=0.3)
    try:
        async with contextlib.AsyncExitStack() as held:
            for _ in range(15):  # the readers' pool: 5, and 10 more under load
                await held.enter_async_context(db.engine.connect())
            started = time.monotonic()
            with pytest.raises(Unavailable) as refused:
                async with db.read() as session:
                    await session.execute(text("SELECT 1"))
            assert time.monotonic() - started < 5
            assert refused.value.details["database"] == "busy"
        async with db.read() as session:  # free again
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()
