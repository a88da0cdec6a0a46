"""The WebSocket handshake's ``Origin`` (DECISIONS §5): a page on another site cannot open a
socket with a signed-in user's token; the server's own pages, listed origins and non-browser
clients (no ``Origin``) can."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from websockets.exceptions import InvalidStatus

from harness.server import ServerProcess
from tests.utils.api import register
from tests.utils.ws import WsClient

LISTED = "https://app.example"


@pytest.fixture(scope="module")
def listing(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", cors_origins=f"{LISTED},https://other.example")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://evil.example:3000",
        "null",  # a sandboxed frame, a file:// page
        "https://app.example.evil.example",
        "http://127.0.0.1.evil.example",
    ],
)
async def test_a_foreign_origin_is_refused_before_the_upgrade(
    listing: ServerProcess, origin: str
) -> None:
    user = register(listing.url)
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.open(listing.url, user.access_token, origin=origin)
    assert refused.value.response.status_code == 403


async def test_the_servers_own_listed_and_no_origin_are_accepted(listing: ServerProcess) -> None:
    user = register(listing.url)
    own = listing.url  # http://127.0.0.1:<port>, as a page the server served would send
    for origin in (own, LISTED, f"{LISTED}/", None):
        client = await WsClient.connected(listing.url, user, origin=origin)
        await client.close()


async def test_a_refused_handshake_changes_nothing(listing: ServerProcess) -> None:
    """The refused socket never reached the gateway: the user's other socket stays alone."""
    user = register(listing.url)
    async with await WsClient.connected(listing.url, user) as first:
        with pytest.raises(InvalidStatus):
            await WsClient.open(listing.url, user.access_token, origin="https://evil.example")
        await first.send("ping")
        await first.expect("pong")
