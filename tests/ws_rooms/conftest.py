"""The sockets and the short-grace server the room tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from harness.server import StartServer
from tests.utils.ws_rooms import GRACE, Sockets


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    await opened.close_all()


@pytest.fixture(scope="package")
def grace_url(backend: str, start_server: StartServer) -> str:
    """A server of this backend whose reconnect grace is short."""
    return start_server(backend, reconnect_grace=GRACE).url
