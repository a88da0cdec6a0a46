"""The SDK against a server that stops answering without closing anything (a hung process, a
network that silently drops packets), and against side requests that fail while the socket
works: a hung link is noticed within the pong deadline, not two heartbeat intervals later, and a
history catch-up answered 502 or never does not drop a working WebSocket (it is retried).

The cluster test freezes a real node with SIGSTOP (two nodes, PostgreSQL and Redis, as
tests/test_sdk_cluster.py; needs AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest

from aimeeting import MeetingEvent, MeetingSDK, SDKConfig
from aimeeting.sdk import ConnectionState, NetworkQuality
from harness.server import UNLIMITED, ServerProcess
from tests.utils.api import PASSWORD, unique_email
from tests.utils.proxy import BadUpstream, TcpProxy
from tests.utils.sdk import Recorder, meet, signed_in

PONG_TIMEOUT = 0.5
# The server's heartbeat timeout is long, so the SDK pings every 30 s (its default): only the
# pong deadline and the probe after an unanswered send can notice a hung link quickly.
SLOW_HEARTBEAT = {
    "heartbeat_timeout": 90,
    "reconnect_grace": 5,
    **UNLIMITED,
}


@pytest.fixture(scope="module")
def hung_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", **SLOW_HEARTBEAT)


@pytest.fixture
async def proxy(hung_server: ServerProcess) -> AsyncIterator[TcpProxy]:
    proxy = await TcpProxy("127.0.0.1", hung_server.port).start()
    yield proxy
    await proxy.stop()


def state_is(state: ConnectionState) -> Callable[[object], bool]:
    return lambda event: getattr(event, "state", None) is state


async def test_a_missed_pong_is_followed_by_another_ping_at_once(
    hung_server: ServerProcess, proxy: TcpProxy
) -> None:
    """Idle, pinging every 4 s: after the first missed pong the link is given up one pong
    deadline later (before: one more whole interval, then the deadline)."""
    alice = await signed_in(proxy.url, "Alice", heartbeat_interval=4.0, pong_timeout=PONG_TIMEOUT)
    bob = await signed_in(hung_server.url, "Bob")
    try:
        ours, theirs = await meet(alice, bob)
        seen = Recorder(ours)
        await seen.wait(
            MeetingEvent.NETWORK_QUALITY_CHANGED, lambda e: e.quality is NetworkQuality.GOOD
        )
        proxy.freeze()
        frozen = time.monotonic()
        await seen.wait(
            MeetingEvent.NETWORK_QUALITY_CHANGED,
            lambda e: e.quality is NetworkQuality.POOR and e.missed_pongs == 1,
        )
        first_miss = time.monotonic()
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED, state_is(ConnectionState.RECONNECTING)
        )
        dropped = time.monotonic()
        # One pong deadline (0.5 s) after the first miss; the interval is 4 s.
        assert dropped - first_miss < 2.5, f"dropped {dropped - first_miss:.1f} s after a miss"
        assert dropped - frozen < 4.0 + 2 * PONG_TIMEOUT + 2.5
        proxy.cut()
        proxy.thaw()
        await seen.wait(MeetingEvent.CONNECTION_STATE_CHANGED, state_is(ConnectionState.CONNECTED))
        sent = await theirs.send_chat_message("back?")
        assert (await seen.wait(MeetingEvent.CHAT_MESSAGE)).message_id == sent.message_id
    finally:
        await alice.destroy()
        await bob.destroy()


async def test_a_send_that_gets_nothing_back_probes_the_link_at_once(
    hung_server: ServerProcess, proxy: TcpProxy
) -> None:
    """Pinging every 30 s: a chat sent into a frozen link brings the ping forward, so the
    link is dropped in about three pong deadlines, and the chat goes out after the reconnect,
    once."""
    alice = await signed_in(proxy.url, "Alice", pong_timeout=PONG_TIMEOUT)
    bob = await signed_in(hung_server.url, "Bob")
    try:
        ours, theirs = await meet(alice, bob)
        seen, others = Recorder(ours), Recorder(theirs)
        await seen.wait(
            MeetingEvent.NETWORK_QUALITY_CHANGED, lambda e: e.quality is NetworkQuality.GOOD
        )
        proxy.freeze()
        frozen = time.monotonic()
        sending = asyncio.create_task(ours.send_chat_message("into the void"))
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED,
            state_is(ConnectionState.RECONNECTING),
            timeout=15,
        )
        assert time.monotonic() - frozen < 10  # 3 × 0.5 s and slack; the interval is 30 s
        proxy.cut()
        proxy.thaw()
        message = await asyncio.wait_for(sending, 15)
        echoed = await others.wait(MeetingEvent.CHAT_MESSAGE)
        assert echoed.message_id == message.message_id
        await asyncio.sleep(0.3)
        assert [m.content for m in others.of(MeetingEvent.CHAT_MESSAGE)] == ["into the void"]
    finally:
        await alice.destroy()
        await bob.destroy()


@pytest.mark.parametrize("kind", ["502", "hung"])
async def test_a_failed_history_catch_up_keeps_the_socket_and_is_retried(
    hung_server: ServerProcess, kind: str
) -> None:
    """Alice's REST and WebSocket go through two proxies. Her socket is cut; meanwhile her
    REST goes to a node that answers 502 (or never): the rejoin works, the catch-up fails and
    is retried, the new socket stays up. When REST works again the missed chat arrives once,
    in order, and live chat after it."""
    rest = await TcpProxy("127.0.0.1", hung_server.port).start()
    ws = await TcpProxy("127.0.0.1", hung_server.port).start()
    bad = await BadUpstream(kind).start()
    alice = MeetingSDK()
    await alice.initialize(
        SDKConfig(
            api_server=f"{rest.url}/v1",
            ws_server=f"ws://127.0.0.1:{ws.port}/v1/ws",
            request_timeout=1.0,
            reconnect_base_delay=0.05,
            reconnect_max_delay=0.5,
            media=False,
        )
    )
    bob = await signed_in(hung_server.url, "Bob")
    try:
        await alice.register(unique_email("alice"), PASSWORD, "Alice")
        ours, theirs = await meet(alice, bob)
        seen = Recorder(ours)
        rest.cut(move_to=("127.0.0.1", bad.port))  # pooled REST connections go too
        ws.cut()
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED, state_is(ConnectionState.RECONNECTING)
        )
        missed = await theirs.send_chat_message("said while the history failed")
        await seen.wait(MeetingEvent.CONNECTION_STATE_CHANGED, state_is(ConnectionState.CONNECTED))
        deadline = time.monotonic() + 15
        while bad.requests < 3:  # three failed catch-ups (each a new attempt, with backoff)
            assert time.monotonic() < deadline, f"{bad.requests} history fetches"
            await asyncio.sleep(0.05)
        assert ours.connection_state is ConnectionState.CONNECTED
        assert len(ws.opened_matching("GET /v1/ws")) == 2  # the first socket and one reconnect
        assert not seen.of(MeetingEvent.CHAT_MESSAGE)  # held until the catch-up is done

        rest.target = ("127.0.0.1", hung_server.port)  # the history answers again
        caught_up = await seen.wait(MeetingEvent.CHAT_MESSAGE)
        assert caught_up.message_id == missed.message_id
        after = await theirs.send_chat_message("and after it")
        await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.message_id == after.message_id)
        await asyncio.sleep(0.3)
        contents = [m.content for m in seen.of(MeetingEvent.CHAT_MESSAGE)]
        assert contents == ["said while the history failed", "and after it"]
        assert len(ws.opened_matching("GET /v1/ws")) == 2
        assert not seen.of(MeetingEvent.ERROR)
    finally:
        await alice.destroy()
        await bob.destroy()
        for server in (rest, ws, bad):
            await server.stop()


@pytest.fixture(scope="module")
def two_nodes(
    start_nodes: Callable[..., list[ServerProcess]], redis_db: Callable[[], str]
) -> tuple[ServerProcess, ServerProcess]:
    node_a, node_b = start_nodes(2, redis_db(), node_timeout=1.5, **SLOW_HEARTBEAT)
    return node_a, node_b


async def test_a_member_on_a_hung_node_is_back_on_the_other_node_within_the_deadline(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    """Node A is frozen with SIGSTOP (its sockets stay open, nothing answers); the balancer
    sends new connections to node B. Alice (on A, through the balancer, REST too) types a
    message: she is back on B within the pong deadlines plus the backoff, her message is stored
    once, and what Bob said meanwhile reaches her once (her catch-up's REST may first go to the
    frozen A over a pooled connection: it is retried, the socket on B stays)."""
    node_a, node_b = two_nodes
    assert node_a.process is not None
    frozen_pid = node_a.process.pid
    balancer = await TcpProxy("127.0.0.1", node_a.port).start()
    alice = await signed_in(balancer.url, "Alice", pong_timeout=PONG_TIMEOUT, request_timeout=2.0)
    bob = await signed_in(node_b.url, "Bob")
    stopped = False
    try:
        theirs = await bob.create_meeting()
        ours = await alice.join_meeting(theirs.meeting_number)
        seen, others = Recorder(ours), Recorder(theirs)
        os.kill(frozen_pid, signal.SIGSTOP)
        stopped = True
        frozen = time.monotonic()
        balancer.target = ("127.0.0.1", node_b.port)  # its health check took A out
        meanwhile = await theirs.send_chat_message("said while A hung")
        typed = asyncio.create_task(ours.send_chat_message("typed into the hung node"))
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED,
            state_is(ConnectionState.RECONNECTING),
            timeout=20,
        )
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED, state_is(ConnectionState.CONNECTED), timeout=20
        )
        back_after = time.monotonic() - frozen
        # Noticed in about three pong deadlines (1.5 s) and a short backoff; the heartbeat
        # interval is 30 s, so before the fix this took more than 30 s.
        assert back_after < 15, f"back on node B after {back_after:.1f} s"
        mine = await asyncio.wait_for(typed, 20)
        await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.message_id == mine.message_id)
        await others.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.message_id == mine.message_id)
        await asyncio.sleep(0.5)
        assert [m.message_id for m in seen.of(MeetingEvent.CHAT_MESSAGE)] == [
            meanwhile.message_id,
            mine.message_id,
        ]
        assert [m.content for m in others.of(MeetingEvent.CHAT_MESSAGE)] == [
            "said while A hung",
            "typed into the hung node",
        ]
        assert ours.connection_state is ConnectionState.CONNECTED
        print(f"hung node: Alice back on node B {back_after:.2f} s after SIGSTOP")
    finally:
        if stopped:
            os.kill(frozen_pid, signal.SIGCONT)
        await alice.destroy()
        await bob.destroy()
        await balancer.stop()
