"""SIGTERM with hundreds of sockets open (issue 17): in-flight work finishes, every socket is
closed with 1001, the process exits within 30 s, and nothing acknowledged is lost. With two
nodes, the clients of the stopped node are back in their rooms on the other within 5 s.

The multi-node test needs AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from aimeeting import MeetingEvent, MeetingSDK
from aimeeting.sdk import ChatMessage, ConnectionState, Meeting
from harness.history import History, merge
from harness.server import UNLIMITED, ServerProcess
from tests.utils.cluster import JWT_SECRET, as_seen_by
from tests.utils.members import Member, enter_all, room_history, seated_groups
from tests.utils.metrics import metric
from tests.utils.proxy import TcpProxy
from tests.utils.sdk import Recorder, signed_in

# 5 groups x 10 users x 10 rooms: 500 sockets in 50 rooms of 10.
GROUPS, USERS, ROOMS = 5, 10, 10
CHATTERS = 20  # rooms with someone chatting when the signal comes
CHAT_EVERY = 0.05
BURST = 25
EXIT_WITHIN = 30.0
NODE_SETTINGS = {
    "max_participants": USERS,
    **UNLIMITED,
    "jwt_secret": JWT_SECRET,  # the tokens still hold after the restart
}


async def sigterm(server: ServerProcess) -> tuple[int | None, float]:
    """Send SIGTERM; the exit code and the seconds until the process was gone."""
    assert server.process is not None
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    try:
        code = await asyncio.to_thread(server.process.wait, EXIT_WITHIN + 10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        code = None
    return code, time.monotonic() - signalled


async def test_sigterm_with_500_sockets_open_closes_each_1001_and_loses_no_chat(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", **NODE_SETTINGS)
    groups = await asyncio.to_thread(seated_groups, server.url, GROUPS, USERS, ROOMS)
    seats = [
        (user, meeting["id"], f"g{g}/r{r}/u{u}")
        for g, (users, meetings) in enumerate(groups)
        for r, meeting in enumerate(meetings)
        for u, user in enumerate(users)
    ]
    members = await enter_all(server.url, seats)
    rooms: dict[str, list[Member]] = defaultdict(list)
    for member in members:
        rooms[member.room_id].append(member)
    assert len(members) == GROUPS * USERS * ROOMS == 500 and len(rooms) == 50

    sent: dict[str, list[tuple[Member, str, str]]] = defaultdict(list)

    async def chat(member: Member) -> None:
        with contextlib.suppress(ConnectionClosed):
            while member.close_code is None:
                ident, text = await member.chat()
                sent[member.room_id].append((member, ident, text))
                await asyncio.sleep(CHAT_EVERY)

    talking = [room[0] for room in list(rooms.values())[:CHATTERS]]
    chatters = [asyncio.create_task(chat(member)) for member in talking]
    await asyncio.sleep(1.0)  # chat flowing in 20 rooms
    for member in talking:  # and a burst each, still being handled when the signal comes
        for _ in range(BURST):
            ident, text = await member.chat()
            sent[member.room_id].append((member, ident, text))
    acked_before = sum(len(m.acked) for m in members)
    exit_code, took = await sigterm(server)
    codes = await asyncio.gather(*(member.until_closed(10) for member in members))
    await asyncio.wait_for(asyncio.gather(*chatters), 10)

    assert exit_code in (0, -signal.SIGTERM), (exit_code, server.logs()[-3000:])
    assert took < EXIT_WITHIN, f"the process took {took:.1f} s to exit"
    assert Counter(codes) == {1001: 500}, Counter(codes)

    # What was acknowledged is stored, and what is stored reached every member before the close.
    # The history is read from the same database, by the server started again.
    with ServerProcess(server.data_dir, server.env) as restarted:
        reports = []
        for room_id, room in rooms.items():
            history = History(room_id)
            for member, ident, text in sent[room_id]:
                history.sent(member.user.id, text, ident, must_arrive=ident in member.acked)
            stored = room_history(as_seen_by(room[0].user, restarted.url), room_id)
            for member in room:
                for data in member.chats:
                    history.seen_live(member.name, data)
                history.seen_in_history(member.name, stored)
            reports.append(history.report())
    report = merge(reports)
    report.assert_whole()
    assert report.total("missed_live") == 0, report.summary()
    acked = sum(len(m.acked) for m in members)
    assert acked > acked_before, "no chat was in flight when the signal came"
    print(
        f"SIGTERM, 500 sockets: exit after {took:.2f} s; {report.sent} chat messages sent, "
        f"{acked} acknowledged ({acked - acked_before} after the first second), "
        f"all stored and seen by every member"
    )


# Two nodes: rooms of 10 SDK clients, all on node A through a balancer. CI runs 10 rooms (100
# clients): all of them, their two nodes and PostgreSQL share two cores there. The 200
# (docs/reliability.md has the figures): AIMEETING_TEST_FAILOVER_ROOMS=20.
SDK_ROOMS = int(os.environ.get("AIMEETING_TEST_FAILOVER_ROOMS", "10"))
SDK_MEMBERS = 10
BACK_WITHIN = 5.0
CLUSTER_SETTINGS = {
    "max_participants": SDK_MEMBERS,
    "reconnect_grace": 30,  # seats are kept: clients come back long before
    "node_timeout": 1.5,
    **UNLIMITED,
    "login_rate_limit": "10000/minute",
}


@pytest.fixture
def two_nodes(
    start_nodes: Callable[..., list[ServerProcess]], redis_db: Callable[[], str]
) -> tuple[ServerProcess, ServerProcess]:
    node_a, node_b = start_nodes(2, redis_db(), **CLUSTER_SETTINGS)
    return node_a, node_b


async def test_sigterm_on_one_of_two_nodes_moves_its_clients_to_the_other_within_5_s(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    node_a, node_b = two_nodes
    balancer = await TcpProxy("127.0.0.1", node_a.port).start()
    sdks: list[MeetingSDK] = []
    try:
        await _failover(node_a, node_b, balancer, sdks)
    finally:
        await asyncio.gather(*(sdk.destroy() for sdk in sdks), return_exceptions=True)
        await balancer.stop()


async def _failover(
    node_a: ServerProcess, node_b: ServerProcess, balancer: TcpProxy, sdks: list[MeetingSDK]
) -> None:
    limit = asyncio.Semaphore(20)

    async def sign_in(n: int) -> MeetingSDK:
        async with limit:
            sdk = await signed_in(balancer.url, f"Member{n}", reconnect_max_delay=0.3)
            sdks.append(sdk)
            return sdk

    people = await asyncio.gather(*(sign_in(n) for n in range(SDK_ROOMS * SDK_MEMBERS)))
    hosts = people[:SDK_ROOMS]
    firsts = await asyncio.gather(*(host.create_meeting() for host in hosts))

    async def join(n: int) -> Meeting:
        async with limit:
            return await people[n].join_meeting(firsts[n % SDK_ROOMS].meeting_number)

    others = await asyncio.gather(*(join(n) for n in range(SDK_ROOMS, len(people))))
    meetings = [*firsts, *others]
    recorders = [Recorder(meeting) for meeting in meetings]
    back_at: dict[int, float] = {}
    for i, meeting in enumerate(meetings):
        meeting.on(MeetingEvent.CONNECTION_STATE_CHANGED, partial(_note_back, back_at, i))
    assert await ws_connections(node_a) == len(meetings) and await ws_connections(node_b) == 0
    seats = {m.id: sorted(p.user_id for p in m.participants) for m in firsts}
    assert all(len(held) == SDK_MEMBERS for held in seats.values())

    # One member of each room chats all along, across the move.
    sent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    done = asyncio.Event()

    async def chat(meeting: Meeting) -> None:
        n = 0
        while not done.is_set():
            text = f"{meeting.local_user_id} says {n}"
            sent[meeting.id].append((meeting.local_user_id, text))
            await meeting.send_chat_message(text)  # queued and resent across the move
            n += 1
            await asyncio.sleep(0.1)

    chatters = [asyncio.create_task(chat(meeting)) for meeting in others[:SDK_ROOMS]]
    await asyncio.sleep(1.0)
    # The balancer sees node A go (its health check) and sends new connections to node B.
    balancer.target = ("127.0.0.1", node_b.port)
    signalled = time.monotonic()
    exit_code, took = await sigterm(node_a)
    assert exit_code in (0, -signal.SIGTERM), (exit_code, node_a.logs()[-3000:])
    deadline = signalled + BACK_WITHIN + 10
    while len(back_at) < len(meetings) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    late = sorted(t - signalled for t in back_at.values() if t - signalled > BACK_WITHIN)
    assert len(back_at) == len(meetings), f"{len(meetings) - len(back_at)} never came back"
    slowest = max(back_at.values()) - signalled
    times = sorted(t - signalled for t in back_at.values())
    assert not late, f"{len(late)} clients back after more than {BACK_WITHIN} s: {late[:5]}"
    await asyncio.sleep(1.0)
    done.set()
    await asyncio.wait_for(asyncio.gather(*chatters), 30)
    assert await ws_connections(node_b) == len(meetings)

    # Seats kept: the same people hold the same seats, and nobody saw anyone leave or come.
    for meeting in meetings:
        assert sorted(p.user_id for p in meeting.participants) == seats[meeting.id]
    for recorder in recorders:
        assert not recorder.of(MeetingEvent.USER_LEFT), recorder.of(MeetingEvent.USER_LEFT)
        assert not recorder.of(MeetingEvent.USER_JOINED), recorder.of(MeetingEvent.USER_JOINED)

    # No chat lost or doubled, live (with the SDK's catch-up) and in history.
    reports = []
    for first in firsts:
        history = History(first.id)
        for sender, text in sent[first.id]:
            history.sent(sender, text)
        stored = await _whole_history(first)
        for meeting, recorder in zip(meetings, recorders, strict=True):
            if meeting.id == first.id:
                name = f"{first.id}/{meeting.local_user_id}"
                for message in recorder.of(MeetingEvent.CHAT_MESSAGE):
                    history.seen_live(name, message)
                history.seen_in_history(name, stored)
        reports.append(history.report())
    report = merge(reports)
    report.assert_whole()
    print(
        f"SIGTERM, 2 nodes: node A exited after {took:.2f} s; {len(meetings)} clients back on "
        f"node B after {times[0]:.2f} s (first), {times[len(times) // 2]:.2f} s (median), "
        f"{slowest:.2f} s (last); {report.sent} chat messages, none lost"
    )


async def ws_connections(node: ServerProcess) -> float:
    return await asyncio.to_thread(metric, node.url, "aimeeting_ws_connections")


def _note_back(back_at: dict[int, float], i: int, event: Any) -> None:
    if event.state is ConnectionState.CONNECTED:
        back_at.setdefault(i, time.monotonic())


async def _whole_history(meeting: Meeting) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    while True:
        page = await meeting.chat_history(100, messages[-1].message_id if messages else None)
        messages += page
        if len(page) < 100:
            return messages
