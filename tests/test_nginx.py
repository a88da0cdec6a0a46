"""nginx, run from the shipped ``deploy/nginx.conf``, in front of two real nodes (one PostgreSQL,
one Redis), tried as an operator would (docs/deployment.md):

- a rolling restart by the documented procedure (SIGTERM a node, start it again, wait for its
  ``/readyz``, then the next) while three SDK members chat through nginx: every member gets
  every message exactly once and in each sender's order, and REST through nginx answers every
  request, never 502;
- a node killed with ``kill -9`` that comes back is used again at once: with the other node
  killed right after, nothing is refused ("no live upstreams"), and every member is back;
- a frozen node (SIGSTOP) holds one REST call for the REST read timeout (15 s), not nginx's
  default minute;
- ``/metrics`` is not served through nginx; the API docs are.

The configuration shipped before (``max_fails=1 fail_timeout=10s`` per worker, one upstream
for REST and WebSockets, nginx's default timeouts) fails all four: a node that is back stays
marked down, and once the other one goes nginx has no node left.

Needs nginx (installed by .ci/run), AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from aimeeting import MeetingEvent, MeetingSDK
from aimeeting.sdk import ConnectionState, Meeting
from harness.server import UNLIMITED, ServerProcess
from tests.utils.api import register
from tests.utils.nginx import Nginx
from tests.utils.sdk import Recorder, signed_in

NODE_SETTINGS = {
    "reconnect_grace": 10,
    "node_timeout": 1.5,
    "heartbeat_timeout": 10,
    # What the chat limit does to a burst after a reconnect is tests/test_sdk_resilience.py's
    # subject; here every message is let through, so that the balancer alone is on trial.
    **UNLIMITED,
}
NAMES = ("Alice", "Bob", "Carol")
PACE = 0.1  # seconds between one member's messages
AT_LEAST = 100  # messages in all, over the whole run
BACK_WITHIN = 10.0  # seconds a member may be away after its node went (generous: 2 cores)


@pytest.fixture
def nodes(
    start_nodes: Callable[..., list[ServerProcess]], redis_db: Callable[[], str]
) -> tuple[ServerProcess, ServerProcess]:
    node_a, node_b = start_nodes(2, redis_db(), **NODE_SETTINGS)
    return node_a, node_b


@pytest.fixture
def balancer(nodes: tuple[ServerProcess, ServerProcess], tmp_path: Path) -> Iterator[Nginx]:
    nginx = Nginx(tmp_path / "nginx", (nodes[0].port, nodes[1].port))
    try:
        yield nginx.start()
    finally:
        nginx.stop()  # by its PID, whatever happened


class Room:
    """Members of one meeting, all through the balancer, chatting at a steady pace the way
    people do: a message every ``PACE`` s each, whether or not their socket is up just then
    (the SDK holds it until it is)."""

    def __init__(self, sdks: list[MeetingSDK], meetings: list[Meeting]) -> None:
        self.sdks = sdks
        self.meetings = meetings
        self.seen = {name: Recorder(m) for name, m in zip(NAMES, meetings, strict=True)}
        self.sent: dict[str, list[str]] = {name: [] for name in NAMES}
        self.away: dict[str, list[float]] = {name: [] for name in NAMES}  # seconds away, each
        self._sends: list[asyncio.Task[object]] = []
        self._stop = asyncio.Event()
        for name, meeting in zip(NAMES, meetings, strict=True):
            self._time_away(name, meeting)

    @classmethod
    async def open(cls, url: str) -> Room:
        sdks = [await signed_in(url, name) for name in NAMES]
        host = await sdks[0].create_meeting()
        meetings = [host] + [await sdk.join_meeting(host.meeting_number) for sdk in sdks[1:]]
        return cls(sdks, meetings)

    def _time_away(self, name: str, meeting: Meeting) -> None:
        since: list[float] = []

        def changed(event: object) -> None:
            state = getattr(event, "state", None)
            if state is ConnectionState.RECONNECTING and not since:
                since.append(time.monotonic())
            elif state is ConnectionState.CONNECTED and since:
                self.away[name].append(time.monotonic() - since.pop())

        meeting.on(MeetingEvent.CONNECTION_STATE_CHANGED, changed)

    async def chat(self) -> None:
        """Until ``stop``, and at least ``AT_LEAST`` messages in all."""

        async def one(name: str, meeting: Meeting) -> None:
            i = 0
            while not self._stop.is_set() or i * len(NAMES) < AT_LEAST:
                text = f"{name} {i}"
                self.sent[name].append(text)
                self._sends.append(asyncio.create_task(meeting.send_chat_message(text)))
                i += 1
                await asyncio.sleep(PACE)

        await asyncio.gather(*(one(n, m) for n, m in zip(NAMES, self.meetings, strict=True)))
        await asyncio.wait_for(asyncio.gather(*self._sends), 60)  # every send acknowledged

    def stop(self) -> None:
        self._stop.set()

    async def check(self) -> int:
        """Every member has every message exactly once, each sender's in sending order, and
        history holds them all; returns how many messages that was."""
        everything = sorted(text for texts in self.sent.values() for text in texts)

        def contents(name: str) -> list[str]:
            return [e.content for e in self.seen[name].of(MeetingEvent.CHAT_MESSAGE)]

        def has_all(name: str) -> bool:
            return len(contents(name)) >= len(everything)

        for name, recorder in self.seen.items():
            await recorder.until(partial(has_all, name), 30)
        await asyncio.sleep(0.3)  # nothing more arrives late
        for name, recorder in self.seen.items():
            assert sorted(contents(name)) == everything, name  # each exactly once
            for sender, texts in self.sent.items():
                own = [c for c in contents(name) if c.split()[0] == sender]
                assert own == texts, (name, sender)  # in the order sent
            assert not recorder.of(MeetingEvent.ERROR), (name, recorder.of(MeetingEvent.ERROR))
            assert not recorder.of(MeetingEvent.USER_LEFT), name  # nobody lost a seat
        stored: list[str] = []
        before = None
        while page := await self.meetings[0].chat_history(limit=100, before=before):
            stored += [m.content for m in page]
            before = page[-1].message_id
        assert sorted(stored) == everything
        for name, gaps in self.away.items():
            assert all(gap < BACK_WITHIN for gap in gaps), (name, gaps)
        return len(everything)

    async def close(self) -> None:
        for sdk in self.sdks:
            with contextlib.suppress(Exception):
                await sdk.destroy()


class RestProbe:
    """``GET /v1/users/me`` through the balancer, again and again: every answer is kept."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}/v1/users/me"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answers: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RestProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=30) as http:
            while True:
                try:
                    response = await http.get(self.url, headers=self.headers)
                    self.answers.append(response.status_code)
                except httpx.TransportError:
                    self.answers.append(0)
                await asyncio.sleep(0.05)

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def assert_all_answered(self) -> None:
        failed = Counter(status for status in self.answers if status != 200)
        assert len(self.answers) > 50, self.answers
        assert not failed, f"of {len(self.answers)} REST calls, failed (status: count): {failed}"


async def stop(node: ServerProcess, sig: signal.Signals) -> None:
    code = await asyncio.to_thread(node.stop, sig, 30)
    if sig is signal.SIGTERM:
        assert code in (0, -signal.SIGTERM), node.logs()  # drained, exited by itself


async def start(node: ServerProcess) -> None:
    """Start it again on its port and wait for its own ``/readyz`` 200, as the guide says."""
    await asyncio.to_thread(node.launch)
    await asyncio.to_thread(node.wait_ready)


async def ws_connections(node: ServerProcess) -> float:
    """The node's own count of open WebSockets (its gauge, read at the node: nginx hides it)."""
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{node.url}/metrics")).text
    line = next(ln for ln in text.splitlines() if ln.startswith("aimeeting_ws_connections "))
    return float(line.split()[1])


async def until_connections(node: ServerProcess, count: int) -> None:
    deadline = time.monotonic() + BACK_WITHIN
    while (seen := await ws_connections(node)) != count:
        assert time.monotonic() < deadline, f"{seen} WebSockets on {node.url}, expected {count}"
        await asyncio.sleep(0.1)


async def test_a_rolling_restart_through_nginx_loses_and_doubles_nothing(
    nodes: tuple[ServerProcess, ServerProcess], balancer: Nginx
) -> None:
    room = await Room.open(balancer.url)
    probe = RestProbe(balancer.url, room.sdks[0].tokens.access_token or "").start()
    try:
        chatting = asyncio.create_task(room.chat())
        await asyncio.sleep(1)
        for node in nodes:  # the procedure of docs/deployment.md, one node after the other
            await stop(node, signal.SIGTERM)
            await start(node)
        await asyncio.sleep(1)
        room.stop()
        await chatting
        total = await room.check()
        assert total >= AT_LEAST
        probe.assert_all_answered()
        assert sum(len(gaps) for gaps in room.away.values()) >= len(NAMES)  # all moved once
    finally:
        await probe.stop()
        await room.close()
    assert "no live upstreams" not in balancer.error_log


async def test_a_killed_node_that_comes_back_is_used_again_at_once(
    nodes: tuple[ServerProcess, ServerProcess], balancer: Nginx
) -> None:
    node_a, node_b = nodes
    room = await Room.open(balancer.url)
    probe = RestProbe(balancer.url, room.sdks[0].tokens.access_token or "").start()
    try:
        chatting = asyncio.create_task(room.chat())
        await asyncio.sleep(1)
        await stop(node_a, signal.SIGKILL)  # its members go to node B
        await until_connections(node_b, len(NAMES))
        await start(node_a)
        # At once node B dies too: node A, back, must take everyone, REST and WebSockets.
        await stop(node_b, signal.SIGKILL)
        await until_connections(node_a, len(NAMES))
        await asyncio.sleep(1)
        room.stop()
        await chatting
        assert await room.check() >= AT_LEAST
        probe.assert_all_answered()
    finally:
        await probe.stop()
        await room.close()
    assert "no live upstreams" not in balancer.error_log


def test_metrics_are_not_served_through_the_balancer(
    nodes: tuple[ServerProcess, ServerProcess], balancer: Nginx
) -> None:
    assert httpx.get(f"{balancer.url}/metrics", timeout=10).status_code == 403
    assert httpx.get(f"{nodes[0].url}/metrics", timeout=10).status_code == 200  # at the node
    assert httpx.get(f"{balancer.url}/readyz", timeout=10).status_code == 200
    assert httpx.get(f"{balancer.url}/v1/docs", timeout=10).status_code == 200  # public, kept


def test_a_hung_node_costs_one_rest_call_the_read_timeout_not_a_minute(
    nodes: tuple[ServerProcess, ServerProcess], balancer: Nginx
) -> None:
    """A frozen node (SIGSTOP: its kernel still accepts connections, nobody answers) holds a
    REST call for nginx's read timeout on REST (15 s, not nginx's default 60 s); the call is
    then answered by the other node, and the frozen one is skipped for the next ones."""
    node_a = nodes[0]
    user = register(balancer.url)
    assert node_a.process is not None
    node_a.process.send_signal(signal.SIGSTOP)
    took: list[float] = []
    try:
        for _ in range(20):
            began = time.monotonic()
            assert user.get("/users/me", timeout=90).status_code == 200
            took.append(time.monotonic() - began)
    finally:
        node_a.process.send_signal(signal.SIGCONT)
    slow = [round(t, 1) for t in took if t > 5]
    assert len(slow) <= 2, took  # the calls that met the frozen node; the rest skip it
    assert all(t < 30 for t in took), took  # 15 s and a margin; 60 s before
