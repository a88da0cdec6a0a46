"""The database handle: one engine, and short transactions for reading or for writing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

_BEGIN_MODE = "aimeeting_sqlite_begin"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for write transactions.

    SQLite takes its write lock lazily; two transactions that read and then write would see
    "database is locked" instead of waiting. Taking the lock at BEGIN makes writers queue.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the driver's own transaction handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {"echo": echo}
        if not self.is_sqlite:
            options |= {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True}
        self.engine = create_async_engine(url, **options)
        writer = self.engine
        if self.is_sqlite:
            _prepare_sqlite(self.engine)
            writer = self.engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers = async_sessionmaker(writer, expire_on_commit=False)
        # SQLite has one writer at a time; writers that contend for its lock poll with growing
        # sleeps (busy_timeout), which makes latency spike under load. Queueing them here
        # instead hands the lock over at once, in order. (One process per SQLite file.)
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads."""
        async with self._readers() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that writes: committed on success, rolled back on any exception."""
        queue = self._sqlite_writer or nullcontext()
        async with queue, self._writers() as session, session.begin():
            yield session

    def insert_or_ignore(self, model: type[DeclarativeBase] | Table, **values: Any) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING``: safe when two requests create the same row.
        Without ``values``, for many rows given at execution."""
        insert = sqlite_insert if self.is_sqlite else postgresql_insert
        statement = insert(model).values(**values) if values else insert(model)
        return statement.on_conflict_do_nothing()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
