"""The test servers: SQLite always, PostgreSQL too when AIMEETING_TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from harness.server import ServerProcess
from tests.utils.cluster import JWT_SECRET, RedisDatabases, RedisProcess

PG_URL = os.environ.get("AIMEETING_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("AIMEETING_TEST_REDIS_URL")
BACKENDS = ["sqlite", "postgres"]


async def pg_execute(url: str, statement: str) -> None:
    """Run one statement on the PostgreSQL server of ``url``, as its user."""
    import asyncpg

    parsed = make_url(url).set(drivername="postgresql")
    connection = await asyncpg.connect(parsed.render_as_string(hide_password=False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[Callable[[], str]]:
    """Makes a fresh PostgreSQL database per call (dropped at the end), on the test server."""
    if not PG_URL:
        pytest.skip("AIMEETING_TEST_DATABASE_URL is not set: PostgreSQL tests not run")
    created: list[str] = []

    def make() -> str:
        name = f"aimeeting_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(pg_execute(PG_URL, f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        asyncio.run(pg_execute(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def start_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ServerProcess]]:
    """Start a dedicated server: ``start_server(backend, **env)``; stopped at the session's end."""
    servers: list[ServerProcess] = []

    def start(backend: str = "sqlite", **env: Any) -> ServerProcess:
        settings = {f"AIMEETING_{key.upper()}": str(value) for key, value in env.items()}
        if backend == "postgres":
            settings["AIMEETING_DATABASE_URL"] = request.getfixturevalue("postgres_url")()
        server = ServerProcess(tmp_path_factory.mktemp(f"server-{backend}"), settings).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def redis_db() -> Iterator[Callable[[], str]]:
    """Makes a Redis URL with a database number of its own per call (multi-node tests)."""
    if not REDIS_URL:
        pytest.skip("AIMEETING_TEST_REDIS_URL is not set: multi-node tests not run")
    databases = RedisDatabases(REDIS_URL)
    yield databases.claim
    databases.release_all()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A ``redis-server`` of the test's own, which it may kill and start again (an outage)."""
    redis = RedisProcess(tmp_path / "redis").start()
    yield redis
    redis.kill()


@pytest.fixture(scope="session")
def start_nodes(
    start_server: Callable[..., ServerProcess], postgres_url: Callable[[], str]
) -> Callable[..., list[ServerProcess]]:
    """``start_nodes(count, redis_url, **env)``: nodes on one new PostgreSQL database."""

    def start(count: int, redis_url: str, **env: Any) -> list[ServerProcess]:
        shared = {
            "database_url": postgres_url(),
            "redis_url": redis_url,
            "jwt_secret": JWT_SECRET,
            **env,
        }
        return [start_server("sqlite", **shared) for _ in range(count)]

    return start


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(backend: str, start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """The shared server of a backend, with the default configuration."""
    return start_server(backend)


@pytest.fixture(scope="session")
def base_url(server: ServerProcess) -> str:
    return server.url


# End-to-end media tests (private network namespace, server, Chromium, coturn inside it).
pytest_plugins = ["tests.browser_fixtures"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figure docs/reliability.md quotes: chat messages the history checker checked."""
    from harness.history import TOTALS

    if TOTALS.messages:
        terminalreporter.write_line(
            f"history checker: {TOTALS.messages} chat messages checked, "
            f"{TOTALS.deliveries} deliveries, {TOTALS.faults} lost/duplicated/reordered/unexpected"
        )
