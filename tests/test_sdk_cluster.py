"""The SDK across nodes: two real nodes sharing one PostgreSQL database and one Redis. A TCP
proxy (a load balancer) sits in front of one member; mid chat burst it drops the connections
and sends the reconnect to the OTHER node. Every member still ends with every message exactly
once, nobody sees the moved member leave, and signaling follows it to its new node.

Needs AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL, as tests/test_cluster.py.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

import httpx
import pytest

from aimeeting import MeetingEvent, MeetingSDK
from aimeeting.sdk import ConnectionState, Meeting
from harness.server import UNLIMITED, ServerProcess
from tests.utils.proxy import TcpProxy
from tests.utils.sdk import Recorder, signed_in

REDIS_URL = os.environ.get("AIMEETING_TEST_REDIS_URL")
BURST = 25
NODE_SETTINGS = {
    "reconnect_grace": 3,
    "node_timeout": 1.5,
    "heartbeat_timeout": 3,
    **UNLIMITED,
}


@pytest.fixture(scope="module")
def two_nodes(
    start_nodes: Callable[..., list[ServerProcess]], redis_db: Callable[[], str]
) -> tuple[ServerProcess, ServerProcess]:
    node_a, node_b = start_nodes(2, redis_db(), **NODE_SETTINGS)
    return node_a, node_b


@pytest.fixture
async def balancer(two_nodes: tuple[ServerProcess, ServerProcess]) -> AsyncIterator[TcpProxy]:
    """A proxy in front of node A; a cut may send what comes next to node B."""
    proxy = await TcpProxy("127.0.0.1", two_nodes[0].port).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def pair(
    two_nodes: tuple[ServerProcess, ServerProcess], balancer: TcpProxy
) -> AsyncIterator[tuple[MeetingSDK, MeetingSDK]]:
    """Alice through the balancer, Bob straight on node A."""
    alice = await signed_in(balancer.url, "Alice")
    bob = await signed_in(two_nodes[0].url, "Bob")
    yield alice, bob
    await alice.destroy()
    await bob.destroy()


def chat_contents(recorder: Recorder) -> list[str]:
    return [event.content for event in recorder.of(MeetingEvent.CHAT_MESSAGE)]


def has_all(recorder: Recorder, count: int) -> bool:
    return len(chat_contents(recorder)) >= count


async def ws_connections(node: ServerProcess) -> float:
    """The node's own count of open WebSockets (its Prometheus gauge)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{node.url}/metrics")).text
    lines = [line for line in text.splitlines() if line.startswith("aimeeting_ws_connections ")]
    return float(lines[0].split()[1])


async def until_connections(
    nodes: tuple[ServerProcess, ServerProcess], counts: tuple[int, int]
) -> None:
    """Wait until the nodes' WebSocket counts are ``counts`` (closes are noticed late)."""
    deadline = time.monotonic() + 10
    while (seen := tuple([await ws_connections(node) for node in nodes])) != counts:
        assert time.monotonic() < deadline, f"WebSockets per node {seen}, expected {counts}"
        await asyncio.sleep(0.05)


async def burst(meeting: Meeting, name: str, sent: list[str]) -> None:
    sends = []
    for i in range(BURST):
        sent.append(f"{name} {i}")
        sends.append(asyncio.create_task(meeting.send_chat_message(f"{name} {i}")))
        await asyncio.sleep(0.005)
    await asyncio.wait_for(asyncio.gather(*sends), 30)


@pytest.mark.parametrize("round", range(5))
async def test_a_member_moved_to_the_other_node_mid_burst_loses_and_doubles_nothing(
    two_nodes: tuple[ServerProcess, ServerProcess],
    balancer: TcpProxy,
    pair: tuple[MeetingSDK, MeetingSDK],
    round: int,
) -> None:
    node_b = two_nodes[1]
    alice, bob = pair
    theirs = await bob.create_meeting()
    ours = await alice.join_meeting(theirs.meeting_number)
    seen = {"Alice": Recorder(ours), "Bob": Recorder(theirs)}
    await until_connections(two_nodes, (2, 0))  # both on node A
    sent: list[str] = []

    async def move_midway() -> None:
        await asyncio.sleep(0.04 + 0.02 * round)
        assert balancer.cut(down_for=0.1 * round, move_to=("127.0.0.1", node_b.port)) >= 1

    await asyncio.gather(burst(ours, "Alice", sent), burst(theirs, "Bob", sent), move_midway())
    everything = sorted(sent)
    for name, recorder in seen.items():
        await recorder.until(partial(has_all, recorder, len(everything)))
        await asyncio.sleep(0.2)  # nothing more arrives late
        assert sorted(chat_contents(recorder)) == everything, name  # each exactly once
        for sender in ("Alice", "Bob"):  # and each sender's messages in their order
            own = [c for c in chat_contents(recorder) if c.startswith(sender)]
            assert own == [f"{sender} {i}" for i in range(BURST)], (name, own)
    stored = [m.content for m in await theirs.chat_history(limit=100)]
    assert sorted(stored) == everything
    # History keeps the order seen live by the member who never dropped (newest first here).
    assert stored[::-1] == chat_contents(seen["Bob"])

    await until_connections(two_nodes, (1, 1))  # Alice now really is on node B
    states = [e.state for e in seen["Alice"].of(MeetingEvent.CONNECTION_STATE_CHANGED)]
    assert states[-2:] == [ConnectionState.RECONNECTING, ConnectionState.CONNECTED]
    assert not seen["Bob"].of(MeetingEvent.USER_LEFT)  # moved within the grace: no churn
    assert not seen["Bob"].of(MeetingEvent.USER_JOINED)
    assert [p.nickname for p in ours.participants] == ["Bob", "Alice"]
    assert [p.nickname for p in theirs.participants] == ["Bob", "Alice"]

    # Signaling crosses the nodes both ways.
    await theirs.send_signal(ours.local_user_id, {"type": "offer", "round": round})
    offer = await seen["Alice"].wait(MeetingEvent.WEBRTC_SIGNAL)
    assert offer.from_user_id == theirs.local_user_id
    assert offer.signal == {"type": "offer", "round": round}
    await ours.send_signal(theirs.local_user_id, {"type": "answer"})
    answer = await seen["Bob"].wait(MeetingEvent.WEBRTC_SIGNAL)
    assert answer.signal == {"type": "answer"}
    for recorder in seen.values():
        assert not recorder.of(MeetingEvent.ERROR)
