"""The servers and users the authentication tests share.

Dedicated servers: three per backend, each shared (package scope) by the tests of every file
here that need its configuration.
"""

from __future__ import annotations

import time

import pytest

from harness.server import ServerProcess, StartServer
from tests.utils.api import User, register
from tests.utils.auth import CONFIGURED_SECRET, FastServer


@pytest.fixture(scope="package")
def fast(backend: str, start_server: StartServer) -> FastServer:
    """Short everything: access tokens live 1 s and refresh tokens 3 s (``exp`` is rounded up
    to whole seconds, so each lives up to 1 s more, never less); 5 logins per 1.5 s per IP;
    3 wrong passwords in a row lock an account for 0.01 minute (0.6 s).

    A session is opened at once, so that its refresh token has expired (or nearly) by the
    time the test that needs an expired one runs: its wait overlaps the other tests."""
    server = start_server(
        backend,
        access_token_ttl=1,
        refresh_token_ttl=3,
        login_rate_limit="5/1.5second",
        login_lockout="3,0.01",
    )
    early = register(server.url)
    return FastServer(server, early, time.monotonic())


@pytest.fixture(scope="package")
def untrusting(backend: str, start_server: StartServer) -> ServerProcess:
    """No trusted proxy, and no AIMEETING_JWT_SECRET (so a generated one); restarted by a test."""
    return start_server(backend, trusted_proxies="")


@pytest.fixture(scope="package")
def slow_hash(backend: str, start_server: StartServer) -> ServerProcess:
    """bcrypt at cost 10 (~60 ms, so that it shows in timings), and a configured JWT secret."""
    return start_server(backend, bcrypt_rounds=10, jwt_secret=CONFIGURED_SECRET)


@pytest.fixture(scope="package")
def member(base_url: str) -> User:
    """A user of the shared server for tests that only read with its tokens."""
    return register(base_url)


@pytest.fixture(scope="package")
def bystander(base_url: str) -> User:
    return register(base_url)
