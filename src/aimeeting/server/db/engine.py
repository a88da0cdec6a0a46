"""The database handle: one engine, and short transactions for reading or for writing.

A database that cannot be reached (refused, reset, or hung past the configured timeout) is
``Unavailable`` (503, 50301: try again), never an internal error, and never an endless wait.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, event, exc, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from aimeeting.server.errors import Unavailable

log = logging.getLogger(__name__)

_BEGIN_MODE = "aimeeting_sqlite_begin"
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)
T = TypeVar("T")


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
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class _DirectWriter:
    """One connection of SQLite's own driver for hot batched writes: a whole write transaction
    in one call. Through SQLAlchemy and aiosqlite every statement (BEGIN, each INSERT, COMMIT)
    is a hop to the driver's thread and back, and one hop costs about as much CPU as a small
    transaction itself (about 80 µs here, measured). So a small transaction runs right on the
    event loop (WAL, ``synchronous=NORMAL``: a commit writes to the page cache, it does not
    wait for the disk), and a large one in a thread of its own, where the hop is paid once for
    many rows and the loop keeps serving sockets meanwhile.

    The one wait for the disk is a checkpoint (copying the WAL into the database, with an
    fsync): this connection never does one on the loop. Every ``CHECKPOINT_EVERY`` commits
    (about SQLite's own 1,000 pages), the next transaction runs in the thread and checkpoints
    after its commit, while the caller still holds the writers' queue, so that the checkpoint
    completes and the WAL starts over instead of growing."""

    INLINE_ROWS = 8  # transactions of at most this many rows run on the event loop
    CHECKPOINT_EVERY = 256  # commits

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._connection: sqlite3.Connection | None = None
        self._commits = 0

    async def run(self, work: Callable[[sqlite3.Connection], T], rows: int) -> T:
        """Run ``work`` in a transaction; the caller holds the writers' queue."""
        checkpoint = self._commits >= self.CHECKPOINT_EVERY
        if rows <= self.INLINE_ROWS and not checkpoint:
            return self._transaction(work)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, work, checkpoint)

    def _transaction(self, work: Callable[[sqlite3.Connection], T], checkpoint: bool = False) -> T:
        connection = self._connection or self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        self._commits += 1
        if checkpoint:
            self._commits = 0
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # committed all the same; the next one tries again
                log.warning("sqlite checkpoint failed", exc_info=True)
        return result

    def _connect(self) -> sqlite3.Connection:
        # Used by one caller at a time (the caller holds the writers' queue), from the loop's
        # thread or the executor's.
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        for pragma in (*_SQLITE_PRAGMAS, "PRAGMA wal_autocheckpoint=0"):
            connection.execute(pragma)
        self._connection = connection
        return connection

    async def close(self) -> None:
        def close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        # The thread stays (idle): the database may be used again, as an engine may.
        await asyncio.get_running_loop().run_in_executor(self._executor, close)


# Seconds a client waits before trying again when the database is unreachable.
RETRY_AFTER = 1


# asyncpg's errors for a connection lost or refused, for a server shutting down or starting
# (57P0x), and for one with no connection left (53300): each passes, so the client retries.
_ASYNCPG_UNREACHABLE = {
    "InterfaceError",
    "PostgresConnectionError",
    "OperatorInterventionError",
    "CannotConnectNowError",
    "TooManyConnectionsError",
}


def is_unreachable(error: BaseException) -> bool:
    """The database could not be reached, or stopped answering: a connection refused or
    reset, a timeout (TimeoutError is an OSError), a connection asyncpg or the pool gave up
    on, a server shutting down."""
    if isinstance(error, OSError | exc.TimeoutError | exc.OperationalError | exc.InterfaceError):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    original = error.orig if isinstance(error, exc.DBAPIError) else error
    return any(_from_asyncpg_unreachable(e) for e in (original, error.__cause__) if e is not None)


def _from_asyncpg_unreachable(error: BaseException) -> bool:
    return any(
        kind.__module__.startswith("asyncpg") and kind.__name__ in _ASYNCPG_UNREACHABLE
        for kind in type(error).__mro__
    )


def _drop_unreachable_connections(engine: AsyncEngine) -> None:
    """A connection that failed as unreachable is closed, and the pool with it: connections
    behind a hung network would otherwise be reused, and wait again, after it is back."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if is_unreachable(context.original_exception):
            context.is_disconnect = True


class Database:
    def __init__(
        self, url: str, *, echo: bool = False, timeout: float | None = None, pool_size: int = 10
    ) -> None:
        """``timeout``: seconds to wait for a pooled connection, and (PostgreSQL) to connect
        and to run one statement (unset: the drivers' own, which wait a minute or for ever).
        ``pool_size``: PostgreSQL connections kept open (20 more at most under load)."""
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.timeout = timeout
        self._direct: _DirectWriter | None = None
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self._direct = _DirectWriter(parsed.database)
        options: dict[str, Any] = {"echo": echo}
        if self.is_sqlite and timeout is not None:
            options["pool_timeout"] = timeout  # (SQLAlchemy's own: 30 s, past any client's wait)
        if not self.is_sqlite:
            options |= {"pool_size": pool_size, "max_overflow": 20, "pool_pre_ping": True}
            if timeout is not None:
                options["pool_timeout"] = timeout
                options["connect_args"] = {"timeout": timeout, "command_timeout": timeout}
        self.engine = create_async_engine(url, **options)
        if not self.is_sqlite:
            _drop_unreachable_connections(self.engine)
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
        with self._unavailable_if_unreachable():
            async with self._readers() as session, session.begin():
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that writes: committed on success, rolled back on any exception.
        ``Unavailable`` when the database is unreachable: then nothing was committed, unless
        the connection went in the instant between the commit and its answer."""
        queue = self._sqlite_writer or nullcontext()
        with self._unavailable_if_unreachable():
            async with queue, self._writers() as session, session.begin():
                yield session

    @property
    def writes_directly(self) -> bool:
        """Whether ``write_directly`` is there: an SQLite file (not PostgreSQL, not memory)."""
        return self._direct is not None

    async def write_directly(self, work: Callable[[sqlite3.Connection], T], rows: int) -> T:
        """``work`` in one write transaction on SQLite's own driver, in a single hop to the
        driver's thread, queued with the other writers (committed, or rolled back if it
        raises). For hot paths that write in batches (chat); SQLAlchemy is not involved, so
        ``work`` converts values to what SQLite stores as the models' types would. ``rows``:
        how many it writes (a few run on the event loop, see ``_DirectWriter``)."""
        if self._direct is None or self._sqlite_writer is None:
            raise RuntimeError("write_directly needs an SQLite file")
        async with self._sqlite_writer:
            return await self._direct.run(work, rows)

    @contextmanager
    def _unavailable_if_unreachable(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            if self.is_sqlite and isinstance(error, exc.TimeoutError):
                # Every pooled connection busy meanwhile (a storm of history reads): it was a
                # 500. (On PostgreSQL a pool that cannot connect is "unreachable", below.)
                log.warning("database busy: no pooled connection within %s s", self.timeout)
                raise Unavailable({"database": "busy"}, retry_after=RETRY_AFTER) from error
            if self.is_sqlite or not is_unreachable(error):
                raise
            log.warning("database unreachable: %s", type(error).__name__)
            raise Unavailable({"database": "unreachable"}, retry_after=RETRY_AFTER) from error

    def insert_or_ignore(self, model: type[DeclarativeBase] | Table, **values: Any) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING``: safe when two requests create the same row.
        Without ``values``, for many rows given at execution."""
        insert = sqlite_insert if self.is_sqlite else postgresql_insert
        statement = insert(model).values(**values) if values else insert(model)
        return statement.on_conflict_do_nothing()

    async def ping(self) -> None:
        """``SELECT 1``; raises when the database cannot answer within the timeout."""
        async with asyncio.timeout(self.timeout), self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._direct is not None:
            await self._direct.close()
        await self.engine.dispose()
