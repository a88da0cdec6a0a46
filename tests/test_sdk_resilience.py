"""The SDK when the network fails: a TCP proxy we control sits between one member and the
server. Cut mid chat burst, silent network, away longer than the grace, expired tokens, and a
server restart: every member ends with every message exactly once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from aimeeting import MeetingEvent, MeetingSDK
from aimeeting.sdk import ChatMessage, ConnectionState, Meeting, NetworkQuality
from harness.server import UNLIMITED, ServerProcess
from tests.utils.metrics import metric
from tests.utils.proxy import TcpProxy
from tests.utils.sdk import Recorder, meet, signed_in

GRACE = 1.5
FAST = {"heartbeat_timeout": 2, "reconnect_grace": GRACE, **UNLIMITED}


@pytest.fixture(scope="module")
def flaky_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", **FAST)


@pytest.fixture
async def proxy(flaky_server: ServerProcess) -> AsyncIterator[TcpProxy]:
    proxy = await TcpProxy("127.0.0.1", flaky_server.port).start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def pair(
    flaky_server: ServerProcess, proxy: TcpProxy
) -> AsyncIterator[tuple[MeetingSDK, MeetingSDK]]:
    """Alice behind the proxy, Bob connected directly."""
    alice = await signed_in(proxy.url, "Alice")
    bob = await signed_in(flaky_server.url, "Bob")
    yield alice, bob
    await alice.destroy()
    await bob.destroy()


def chat_contents(recorder: Recorder) -> list[str]:
    return [event.content for event in recorder.of(MeetingEvent.CHAT_MESSAGE)]


@pytest.mark.parametrize("round", range(5))
async def test_a_drop_in_a_chat_burst_loses_and_doubles_nothing(
    pair: tuple[MeetingSDK, MeetingSDK], proxy: TcpProxy, round: int
) -> None:
    alice, bob = pair
    ours, theirs = await meet(alice, bob)
    seen = {"Alice": Recorder(ours), "Bob": Recorder(theirs)}
    sent: list[str] = []

    async def burst(meeting: Meeting, name: str) -> None:
        sends = []
        for i in range(25):
            sent.append(f"{name} {i}")
            sends.append(asyncio.create_task(meeting.send_chat_message(f"{name} {i}")))
            await asyncio.sleep(0.005)
        await asyncio.wait_for(asyncio.gather(*sends), 20)

    async def cut_midway() -> None:
        await asyncio.sleep(0.04 + 0.02 * round)
        assert proxy.cut(down_for=0.1 * round) >= 1

    await asyncio.gather(burst(ours, "Alice"), burst(theirs, "Bob"), cut_midway())
    everything = sorted(sent)
    for name, recorder in seen.items():
        await recorder.until(lambda r=recorder: len(chat_contents(r)) >= len(everything))
        await asyncio.sleep(0.2)  # nothing more arrives late
        assert sorted(chat_contents(recorder)) == everything, name  # each exactly once
        for sender in ("Alice", "Bob"):  # and each sender's messages in their order
            own = [c for c in chat_contents(recorder) if c.startswith(sender)]
            assert own == [f"{sender} {i}" for i in range(25)], (name, own)
    stored = [m.content for m in await theirs.chat_history(limit=100)]
    assert sorted(stored) == everything
    assert list(reversed(stored)) == chat_contents(seen["Bob"])  # one order for everyone
    states = [e.state for e in seen["Alice"].of(MeetingEvent.CONNECTION_STATE_CHANGED)]
    assert states[-2:] == [ConnectionState.RECONNECTING, ConnectionState.CONNECTED]
    assert not seen["Bob"].of(MeetingEvent.USER_LEFT)  # back within the grace: no churn
    assert [p.nickname for p in ours.participants] == ["Bob", "Alice"]


async def test_a_silent_network_is_noticed_by_missed_pongs_and_reconnected(
    pair: tuple[MeetingSDK, MeetingSDK], proxy: TcpProxy
) -> None:
    alice, bob = pair
    ours, theirs = await meet(alice, bob)
    seen = Recorder(ours)
    await seen.wait(
        MeetingEvent.NETWORK_QUALITY_CHANGED, lambda e: e.quality is NetworkQuality.GOOD
    )
    proxy.freeze()
    poor = await seen.wait(
        MeetingEvent.NETWORK_QUALITY_CHANGED, lambda e: e.quality is NetworkQuality.POOR
    )
    assert poor.missed_pongs == 1 and poor.rtt_ms is None
    await seen.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.RECONNECTING
    )
    proxy.cut()
    proxy.thaw()
    await seen.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.CONNECTED
    )
    await seen.wait(
        MeetingEvent.NETWORK_QUALITY_CHANGED,
        lambda e: e.quality is NetworkQuality.GOOD and e.previous is NetworkQuality.LOST,
    )
    message = await theirs.send_chat_message("still there?")
    received = await seen.wait(MeetingEvent.CHAT_MESSAGE)
    assert received.message_id == message.message_id


async def test_away_longer_than_the_grace_takes_a_seat_again(
    pair: tuple[MeetingSDK, MeetingSDK], proxy: TcpProxy
) -> None:
    alice, bob = pair
    ours, theirs = await meet(alice, bob)
    await ours.mute_audio(True)
    seen, others = Recorder(ours), Recorder(theirs)
    proxy.cut(down_for=GRACE + 1.5)
    await others.wait(MeetingEvent.USER_LEFT, timeout=GRACE + 5)  # the seat was released
    missed = await theirs.send_chat_message("said while you were away")
    await others.wait(MeetingEvent.USER_JOINED, timeout=10)  # back, with a new seat
    await seen.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.CONNECTED
    )
    caught_up = await seen.wait(MeetingEvent.CHAT_MESSAGE)
    assert caught_up.message_id == missed.message_id  # fetched from history, once
    mine = next(p for p in theirs.participants if p.user_id == ours.local_user_id)
    assert mine.audio_muted is True  # the new seat kept the mute state
    await ours.send_chat_message("back")
    await others.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.content == "back")
    await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.content == "back")
    assert chat_contents(seen) == ["said while you were away", "back"]


async def test_expired_access_tokens_are_refreshed_for_rest_and_for_reconnects(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", access_token_ttl=1, **FAST)
    proxy = await TcpProxy("127.0.0.1", server.port).start()
    alice = await signed_in(proxy.url, "Alice")
    try:
        first = alice.tokens.access_token
        await asyncio.sleep(2.1)  # the access token has expired
        meeting = await alice.create_meeting()  # REST refreshes and carries on
        assert alice.tokens.access_token != first
        seen = Recorder(meeting)
        await asyncio.sleep(2.1)  # expired again; the open socket is not affected
        proxy.cut()
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.CONNECTED
        )
        message = await meeting.send_chat_message("refreshed")
        assert message.content == "refreshed"
        assert not seen.of(MeetingEvent.ERROR)
    finally:
        await alice.destroy()
        await proxy.stop()


async def test_a_websocket_refused_with_40102_at_reconnect_is_refreshed_and_reopened(
    start_server: Callable[..., ServerProcess], caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK refreshes a token about to expire before it reconnects, so to make the server
    refuse one the proxy holds the reconnect's WebSocket until that fresh token expired."""
    server = start_server("sqlite", access_token_ttl=1, **(FAST | {"reconnect_grace": 10}))
    proxy = await TcpProxy("127.0.0.1", server.port).start()
    alice = await signed_in(proxy.url, "Alice")
    bob = await signed_in(server.url, "Bob")
    try:
        ours, theirs = await meet(alice, bob)
        seen, others = Recorder(ours), Recorder(theirs)
        caplog.set_level(logging.INFO, logger="aimeeting.sdk")
        ws_opened = len(proxy.opened_matching("GET /v1/ws"))
        # exp is at most 2 s after the refresh (1 s, rounded up): held 2.3 s, it has expired.
        proxy.hold_next("GET /v1/ws", 2.3)
        proxy.cut()
        await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED,
            lambda e: e.previous is ConnectionState.RECONNECTING,
            timeout=15,
        )
        assert ours.connection_state is ConnectionState.CONNECTED
        # Two sockets in one reconnect attempt: the first refused (40102), the second after a
        # refresh. (A socket that failed otherwise would have cost an attempt.)
        assert len(proxy.opened_matching("GET /v1/ws")) - ws_opened == 2
        logged = [r.getMessage() for r in caplog.records]
        assert "reconnected after 1 attempt(s)" in logged, logged
        assert logged.count("access token refreshed") >= 2, logged  # before, and on the 40102
        message = await ours.send_chat_message("carried on")
        received = await others.wait(MeetingEvent.CHAT_MESSAGE)
        assert received.message_id == message.message_id
        answer = await theirs.send_chat_message("welcome back")
        await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.message_id == answer.message_id)
        assert not seen.of(MeetingEvent.ERROR)
        assert not others.of(MeetingEvent.USER_LEFT)  # back within the grace
        assert [p.nickname for p in ours.participants] == ["Bob", "Alice"]
    finally:
        await alice.destroy()
        await bob.destroy()
        await proxy.stop()


async def test_a_server_restart_closes_with_1001_and_the_sdk_comes_back(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", **(FAST | {"reconnect_grace": 10}))
    alice = await signed_in(server.url, "Alice", reconnect_timeout=30)
    bob = await signed_in(server.url, "Bob", reconnect_timeout=30)
    try:
        ours, theirs = await meet(alice, bob)
        seen, others = Recorder(ours), Recorder(theirs)
        await asyncio.to_thread(server.stop)
        lost = await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED,
            lambda e: e.state is ConnectionState.RECONNECTING,
        )
        assert lost.close_code == 1001
        pending = asyncio.create_task(ours.send_chat_message("sent while the server was down"))
        await asyncio.to_thread(server.start)
        message = await asyncio.wait_for(pending, 20)
        received = await others.wait(MeetingEvent.CHAT_MESSAGE, timeout=20)
        assert received.message_id == message.message_id
        assert ours.connection_state is ConnectionState.CONNECTED
    finally:
        await alice.destroy()
        await bob.destroy()


async def queue_while_away(
    proxy: TcpProxy, ours: Meeting, count: int
) -> tuple[list[str], list[asyncio.Task[ChatMessage]]]:
    """Cut Alice's network and send ``count`` messages while she is away: all queued."""
    seen = Recorder(ours)
    proxy.cut(down_for=1.0)  # a long reconnect: the backoff is at most 0.5 s
    await seen.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.RECONNECTING
    )
    contents = [f"queued {i}" for i in range(count)]
    sends = [asyncio.create_task(ours.send_chat_message(text)) for text in contents]
    await asyncio.sleep(0.1)
    assert ours.connection_state is ConnectionState.RECONNECTING  # still away: all queued
    return contents, sends


@pytest.mark.parametrize(("limit", "count"), [("10/second", 30), ("4/second", 12)])
async def test_chat_queued_through_a_long_reconnect_is_paced_retried_and_all_delivered(
    start_server: Callable[..., ServerProcess], limit: str, count: int
) -> None:
    """The server's chat limit refuses a burst (42901). Queued messages go out paced (8 a
    second, under the default 10/s: none refused); under a lower limit the refused ones are
    sent again after ``retry_after``. Either way each arrives once, in order, and every send
    returns the stored message."""
    server = start_server("sqlite", **(FAST | {"chat_rate_limit": limit}))
    proxy = await TcpProxy("127.0.0.1", server.port).start()
    alice = await signed_in(proxy.url, "Alice")
    bob = await signed_in(server.url, "Bob")
    try:
        ours, theirs = await meet(alice, bob)
        others, seen = Recorder(theirs), Recorder(ours)
        contents, sends = await queue_while_away(proxy, ours, count)
        stored = await asyncio.wait_for(asyncio.gather(*sends), 30)
        assert [m.content for m in stored] == contents
        await others.until(lambda: len(chat_contents(others)) >= count, timeout=15)
        await seen.until(lambda: len(chat_contents(seen)) >= count)
        await asyncio.sleep(0.3)  # nothing more arrives late
        assert chat_contents(others) == contents  # each once, in order
        assert chat_contents(seen) == contents
        history = [m.content for m in await theirs.chat_history(limit=100)]
        assert history[::-1] == contents
        assert not seen.of(MeetingEvent.ERROR)
        refused = metric(server.url, 'aimeeting_chat_refused_total{code="42901"}')
        if limit == "10/second":
            assert refused == 0, "paced re-sends stay under the default limit"
        else:
            assert refused > 0, "the lower limit refused some: they were retried"
            logged = [line for line in server.logs().splitlines() if "chat refused" in line]
            assert len(logged) == refused
            assert not any("queued" in line or "eyJ" in line for line in logged)
    finally:
        await alice.destroy()
        await bob.destroy()
        await proxy.stop()
