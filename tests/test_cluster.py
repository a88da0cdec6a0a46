"""Several nodes, one service (issue 5): real server processes sharing one PostgreSQL database
and one Redis, members of one meeting connected to different nodes.

Needs PostgreSQL (AIMEETING_TEST_DATABASE_URL) and Redis (AIMEETING_TEST_REDIS_URL, e.g.
redis://127.0.0.1:6379); `.ci/run` sets both and fails when either is unreachable. Each cluster
uses a Redis database number of its own. The tests that kill Redis start their own redis-server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from aimeeting.server.cluster.node import REDIS_CONNECTIONS, Node
from harness.server import ServerProcess
from tests.utils.api import (
    PASSWORD,
    User,
    assert_error,
    client,
    create_meeting,
    detail,
    join,
    new_ip,
    register,
    seat_ids,
)
from tests.utils.cluster import RedisProcess, as_seen_by
from tests.utils.ws import WsClient

REDIS_URL = os.environ.get("AIMEETING_TEST_REDIS_URL")
GRACE = 1.5
NODE_TIMEOUT = 1.5
TIMINGS = {"reconnect_grace": GRACE, "node_timeout": NODE_TIMEOUT}
Nodes = list[ServerProcess]


@pytest.fixture(scope="module")
def nodes(start_nodes: Callable[..., Nodes], redis_db: Callable[[], str]) -> Nodes:
    """Three nodes for the tests that leave them running (chat limited only by the bursts)."""
    return start_nodes(
        3, redis_db(), **TIMINGS, login_rate_limit="5/minute", chat_rate_limit="1000/second"
    )


@pytest.fixture
def pair(start_nodes: Callable[..., Nodes], redis_db: Callable[[], str]) -> Nodes:
    """Two nodes of a test's own, with the default chat limit, that it may kill."""
    return start_nodes(2, redis_db(), **TIMINGS)


@pytest.fixture
def pair_on_own_redis(start_nodes: Callable[..., Nodes], own_redis: RedisProcess) -> Nodes:
    return start_nodes(2, own_redis.url, **(TIMINGS | {"reconnect_grace": 3}))


def users(nodes: Nodes, count: int) -> list[User]:
    """``count`` users, the i-th registered through node i mod len(nodes)."""
    return [register(nodes[i % len(nodes)].url, nickname=f"成员{i}") for i in range(count)]


async def meet(nodes: Nodes, members: list[User]) -> tuple[dict[str, Any], list[WsClient]]:
    """members[0] creates a meeting; member i REST-joins and enters the room through node
    i mod len(nodes). Returns the meeting and the clients, all past the joins' events."""
    meeting = create_meeting(members[0])
    clients: list[WsClient] = []
    for i, member in enumerate(members):
        node = nodes[i % len(nodes)]
        assert join(as_seen_by(member, node.url), meeting["meeting_number"]).status_code == 200
        ws = await WsClient.connected(node.url, member)
        await ws.send("join_room", {"room_id": meeting["id"]})
        await ws.wait_for("room_state", room_id=meeting["id"])
        for earlier in clients:
            await earlier.wait_for("user_joined", room_id=meeting["id"])
        clients.append(ws)
    return meeting, clients


async def close_all(clients: list[WsClient]) -> None:
    await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)


def seat_holders(user: User, node: ServerProcess, meeting: dict[str, Any]) -> set[str]:
    return set(seat_ids(detail(as_seen_by(user, node.url), meeting["id"])))


# -- meeting across nodes -------------------------------------------------------------------


async def test_members_on_three_nodes_meet_mute_signal_leave_and_see_the_end(nodes: Nodes) -> None:
    alice, bob, carol = users(nodes, 3)
    meeting, (a, b, c) = await meet(nodes, [alice, bob, carol])
    room = meeting["id"]
    try:
        # room_state on every node agrees with the REST view of any node.
        assert seat_holders(alice, nodes[2], meeting) == {alice.id, bob.id, carol.id}

        await b.send("media_control", {"room_id": room, "action": "mute_audio", "value": True})
        for ws in (a, b, c):
            changed = await ws.wait_for("media_state_changed", room_id=room)
            assert changed["data"]["user_id"] == bob.id
            assert changed["data"]["audio_muted"] is True
        seen = detail(as_seen_by(carol, nodes[0].url), meeting["id"])
        seats = {s["user_id"]: s for s in seen["participants"]}
        assert seats[bob.id]["audio_muted"] is True

        signal_body = {"type": "offer", "sdp": "v=0 across nodes"}
        await a.send(
            "webrtc_signal", {"room_id": room, "to_user_id": carol.id, "signal": signal_body}
        )
        relayed = await c.wait_for("webrtc_signal", room_id=room)
        assert relayed["data"] == {"room_id": room, "from_user_id": alice.id, "signal": signal_body}
        await b.silent(0.3)  # only its addressee gets a signal

        await c.send("leave_room", {"room_id": room})
        for ws in (a, b):
            left = await ws.wait_for("user_left", room_id=room)
            assert left["data"]["user_id"] == carol.id and left["data"]["participant_count"] == 2
        assert seat_holders(alice, nodes[1], meeting) == {alice.id, bob.id}

        # The creator ends it through a node where neither remaining member is connected.
        response = as_seen_by(alice, nodes[2].url).post(f"/meetings/{room}/end")
        assert response.status_code == 200, response.text
        for ws in (a, b):
            messages = await ws.closed(4410)
            assert [m["type"] for m in messages][-1] == "meeting_ended"
        assert seat_holders(alice, nodes[0], meeting) == set()
    finally:
        await close_all([a, b, c])


@pytest.mark.parametrize("round_", range(3))
async def test_chat_burst_across_nodes_reaches_everyone_once_in_one_order(
    nodes: Nodes, round_: int
) -> None:
    """Four members on three nodes each send 50 at once: every member gets all 200 exactly
    once, all in the same order, each sender's own in sending order; history holds them all,
    in that same order."""
    members = users(nodes, 4)
    meeting, clients = await meet(nodes, members)
    room = meeting["id"]
    try:

        async def send_all(i: int, ws: WsClient) -> None:
            for n in range(50):
                await ws.send(
                    "chat_message",
                    {
                        "room_id": room,
                        "content": f"m{i}-{n}",
                        "client_msg_id": f"r{round_}-{i}-{n}",
                    },
                )

        async def receive_all(ws: WsClient) -> list[str]:
            contents: list[str] = []
            while len(contents) < 200:
                message = await ws.wait_for("chat_message", room_id=room, timeout=15)
                contents.append(message["data"]["content"])
            await ws.silent(0.3)  # and nothing more
            return contents

        receiving = [asyncio.create_task(receive_all(ws)) for ws in clients]
        await asyncio.gather(*(send_all(i, ws) for i, ws in enumerate(clients)))
        seen = await asyncio.gather(*receiving)

        expected = {f"m{i}-{n}" for i in range(4) for n in range(50)}
        for contents in seen:
            assert len(contents) == 200 and set(contents) == expected
            assert contents == seen[0]  # one order for every member, wherever connected
            for i in range(4):
                own = [c for c in contents if c.startswith(f"m{i}-")]
                assert own == [f"m{i}-{n}" for n in range(50)]

        history: list[str] = []
        before = None
        while True:
            params = {"limit": 100, **({"before": before} if before else {})}
            page = as_seen_by(members[3], nodes[1].url).get(
                f"/meetings/{room}/messages", params=params
            )
            assert page.status_code == 200, page.text
            data = page.json()["data"]
            history += [m["content"] for m in data["messages"]]
            if not data["has_more"]:
                break
            before = data["messages"][-1]["message_id"]
        assert history[::-1] == seen[0]  # history keeps the order everyone saw live
    finally:
        await close_all(clients)


# -- sessions, throttles, takeover ----------------------------------------------------------


async def test_logout_on_one_node_closes_the_socket_on_another_within_a_second(
    nodes: Nodes,
) -> None:
    (user,) = users(nodes, 1)
    other_session = as_seen_by(user, nodes[0].url).http.post(
        "/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    assert other_session.status_code == 200
    other_token = other_session.json()["data"]["tokens"]["access_token"]
    ws = await WsClient.connected(nodes[1].url, user)
    survivor = await WsClient.open(nodes[2].url, other_token)
    await survivor.expect("connected")
    try:
        started = time.monotonic()
        response = user.post("/auth/logout")  # through node 0
        assert response.status_code == 200, response.text
        messages = await ws.closed(4401, timeout=2)
        assert time.monotonic() - started < 1.0
        assert messages[-1]["type"] == "error" and messages[-1]["data"]["code"] == 40103
        # Every node refuses the session's token at once; the other session lives on.
        for node in nodes:
            assert_error(as_seen_by(user, node.url).get("/users/me"), 40103)
        await survivor.send("ping")
        await survivor.expect("pong")
    finally:
        await close_all([ws, survivor])


def test_the_login_limit_counts_across_nodes(nodes: Nodes) -> None:
    """5 logins a minute per client address, wherever they land (the fixture's setting)."""
    (user,) = users(nodes, 1)
    ip = new_ip()
    body = {"email": user.email, "password": PASSWORD}
    for attempt in range(5):
        with client(nodes[attempt % 3].url, ip=ip) as http:
            assert http.post("/auth/login", json=body).status_code == 200
    for node in nodes:
        with client(node.url, ip=ip) as http:
            response = http.post("/auth/login", json=body)
        assert_error(response, 42901)
        assert int(response.headers["Retry-After"]) >= 1


def test_the_account_lockout_counts_failures_across_nodes(nodes: Nodes) -> None:
    (user,) = users(nodes, 1)
    wrong = {"email": user.email, "password": "Wrong-password-1"}
    for attempt in range(5):  # from five addresses, so the address limit is not what stops it
        with client(nodes[attempt % 3].url) as http:
            assert_error(http.post("/auth/login", json=wrong), 40101)
    with client(nodes[2].url) as http:
        response = http.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429, response.text


async def test_the_chat_limit_counts_a_user_across_nodes(pair: Nodes) -> None:
    """10 messages a second per user (the default): 7 through one node, 7 through another."""
    nodes = pair
    alice, bob = users(nodes, 2)
    meeting, (a, b) = await meet(nodes, [alice, bob])
    room = meeting["id"]
    a2 = await WsClient.connected(nodes[1].url, alice)  # Alice's second connection, another room
    second = create_meeting(alice)
    assert join(as_seen_by(alice, nodes[1].url), second["meeting_number"]).status_code == 200
    await a2.send("join_room", {"room_id": second["id"]})
    await a2.wait_for("room_state")
    try:
        for n in range(7):
            await a.send("chat_message", {"room_id": room, "content": f"a{n}"})
            await a2.send("chat_message", {"room_id": second["id"], "content": f"b{n}"})
        outcomes: list[str] = []
        for ws in (a, a2):
            for _ in range(7):
                message = await ws.recv()
                while message["type"] not in ("chat_message", "error"):
                    message = await ws.recv()
                outcomes.append(
                    message["type"]
                    if message["type"] == "chat_message"
                    else str(message["data"]["code"])
                )
        assert outcomes.count("chat_message") == 10, outcomes
        assert outcomes.count("42901") == 4, outcomes
    finally:
        await close_all([a, b, a2])


async def test_a_second_connection_on_another_node_takes_over(nodes: Nodes) -> None:
    alice, bob = users(nodes, 2)
    meeting, (a, b) = await meet(nodes, [alice, bob])  # Bob on node 1
    room = meeting["id"]
    b2 = await WsClient.connected(nodes[2].url, bob)
    try:
        await b2.send("join_room", {"room_id": room})
        joined = await b2.expect("user_joined")
        assert joined["data"]["user"]["id"] == bob.id
        await b2.expect("room_state")
        await b.closed(4409)
        await a.silent(GRACE + 0.7)  # nobody left, nobody new
        # The new connection is the one in the room: a chat reaches it, and Alice.
        await b2.send("chat_message", {"room_id": room, "content": "从新连接"})
        for ws in (a, b2):
            assert (await ws.wait_for("chat_message"))["data"]["content"] == "从新连接"
        assert seat_holders(alice, nodes[0], meeting) == {alice.id, bob.id}
    finally:
        await close_all([a, b, b2])


# -- the grace across nodes -----------------------------------------------------------------


async def test_reconnecting_to_another_node_inside_the_grace_is_not_a_departure(
    nodes: Nodes,
) -> None:
    alice, bob = users(nodes, 2)
    meeting, (a, b) = await meet(nodes, [alice, bob])  # Bob on node 1
    room = meeting["id"]
    await b.close()
    await asyncio.sleep(GRACE / 3)
    back = await WsClient.connected(nodes[2].url, bob)
    try:
        await back.send("join_room", {"room_id": room})
        assert (await back.expect("user_joined"))["data"]["user"]["id"] == bob.id
        state = await back.expect("room_state")
        assert {p["user_id"] for p in state["data"]["participants"]} == {alice.id, bob.id}
        await a.silent(GRACE + 0.7)  # no user_left, no second user_joined
        assert seat_holders(alice, nodes[0], meeting) == {alice.id, bob.id}
    finally:
        await close_all([a, back])


async def test_a_drop_past_the_grace_is_seen_on_every_node(nodes: Nodes) -> None:
    alice, bob, carol = users(nodes, 3)
    meeting, (a, b, c) = await meet(nodes, [alice, bob, carol])
    try:
        await b.close()
        for ws in (a, c):
            left = await ws.wait_for("user_left", timeout=GRACE + 3)
            assert left["data"]["user_id"] == bob.id and left["data"]["participant_count"] == 2
        await a.silent(0.5)  # once, though three nodes watch the grace
        assert seat_holders(alice, nodes[2], meeting) == {alice.id, carol.id}
    finally:
        await close_all([a, c])


# -- failures -------------------------------------------------------------------------------


async def test_a_killed_node_releases_its_members_seats_after_the_grace(pair: Nodes) -> None:
    """Even when the room is busy as the survivor hands the dead node's members over: its lock
    not won within LOCK_WAIT (10 s; as when the node takes a storm of returning members), that
    member is tried again. One such failure used to end the whole hand-over, and since a dead
    node is claimed once, the member kept the seat for ever."""
    alice, bob = users(pair, 2)
    meeting, (a, b) = await meet(pair, [alice, bob])  # Bob on node 1
    try:
        busy = redis.Redis.from_url(pair[0].env["AIMEETING_REDIS_URL"])
        busy.set(f"aimeeting:lock:{meeting['id']}", "a-busy-nodes-token", px=12_000)
        busy.close()
        pair[1].stop(signal.SIGKILL)
        started = time.monotonic()
        left = await a.wait_for("user_left", timeout=12 + NODE_TIMEOUT + GRACE + 10)
        assert left["data"]["user_id"] == bob.id
        assert time.monotonic() - started >= GRACE  # not before the grace
        assert seat_holders(alice, pair[0], meeting) == {alice.id}
        # The surviving node carries on.
        await a.send("chat_message", {"room_id": meeting["id"], "content": "还在"})
        assert (await a.wait_for("chat_message"))["data"]["content"] == "还在"
        # Bob comes back through the living node and sits down again.
        assert join(as_seen_by(bob, pair[0].url), meeting["meeting_number"]).status_code == 200
        back = await WsClient.connected(pair[0].url, bob)
        await back.send("join_room", {"room_id": meeting["id"]})
        await back.wait_for("room_state")
        assert (await a.wait_for("user_joined"))["data"]["user"]["id"] == bob.id
        await back.close()
    finally:
        await close_all([a, b])


async def test_nodes_carry_on_after_redis_restarts(
    pair_on_own_redis: Nodes, own_redis: RedisProcess
) -> None:
    pair, own = pair_on_own_redis, own_redis
    alice, bob = users(pair, 2)
    meeting, (a, b) = await meet(pair, [alice, bob])
    room = meeting["id"]

    own.kill()
    assert_error(httpx.get(f"{pair[0].url}/readyz", timeout=5), 50301)
    # Chat sent meanwhile is stored (its sender gets it back) and reaches history.
    await a.send("chat_message", {"room_id": room, "content": "断线时发的"})
    assert (await a.wait_for("chat_message"))["data"]["content"] == "断线时发的"

    own.start()  # same port, empty
    for node in pair:
        deadline = time.monotonic() + 10
        while httpx.get(f"{node.url}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "node did not find Redis again"
            await asyncio.sleep(0.1)
    # Ready means caught up: Bob's node has handed him the chat he missed (issue 17).
    assert (await b.wait_for("chat_message", timeout=1))["data"]["content"] == "断线时发的"

    await b.send("chat_message", {"room_id": room, "content": "恢复了"})
    for ws in (a, b):
        assert (await ws.wait_for("chat_message", timeout=5))["data"]["content"] == "恢复了"
    history = as_seen_by(bob, pair[1].url).get(f"/meetings/{room}/messages")
    contents = [m["content"] for m in history.json()["data"]["messages"]]
    assert contents == ["恢复了", "断线时发的"]
    # Presence came back too: nobody was released, and a leave is heard across nodes.
    await a.silent(3.5)
    assert seat_holders(alice, pair[0], meeting) == {alice.id, bob.id}
    await b.send("leave_room", {"room_id": room})
    assert (await a.wait_for("user_left"))["data"]["user_id"] == bob.id
    await close_all([a, b])


async def test_after_redis_returns_nodes_catch_up_on_logouts_and_ended_meetings(
    pair_on_own_redis: Nodes, own_redis: RedisProcess
) -> None:
    """What happened while Redis was away reaches the other node once it is back: a logout
    closes the session's socket there (4401), an ended meeting closes its room there (4410)."""
    pair = pair_on_own_redis
    alice, bob, dave = users(pair, 3)
    meeting, (a, b) = await meet(pair, [alice, bob])  # Bob on node 1
    d = await WsClient.connected(pair[1].url, dave)
    try:
        own_redis.kill()
        assert as_seen_by(dave, pair[0].url).post("/auth/logout").status_code == 200
        ended = as_seen_by(alice, pair[0].url).post(f"/meetings/{meeting['id']}/end")
        assert ended.status_code == 200, ended.text
        assert [m["type"] for m in await a.closed(4410)][-1] == "meeting_ended"  # same node
        await b.silent(0.5)  # node 1 cannot know yet
        await d.silent(0.1)

        own_redis.start()
        messages = await b.closed(4410, timeout=10)
        assert messages[-1]["type"] == "meeting_ended"
        assert messages[-1]["data"]["room_id"] == meeting["id"]
        messages = await d.closed(4401, timeout=5)
        assert messages[-1]["data"]["code"] == 40103
    finally:
        await close_all([a, b, d])


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"AIMEETING_REDIS_URL": "redis://127.0.0.1:1/0"}, "AIMEETING_JWT_SECRET"),
        (
            {"AIMEETING_REDIS_URL": "redis://127.0.0.1:1/0", "AIMEETING_JWT_SECRET": "x" * 32},
            "AIMEETING_DATABASE_URL",
        ),
    ],
)
def test_several_nodes_need_a_shared_secret_and_database(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    server = ServerProcess(tmp_path, env)
    server.launch()
    assert server.process is not None
    assert server.process.wait(30) == 2
    assert says in server.logs()


@pytest.fixture
def slow_lease_node(
    start_nodes: Callable[..., Nodes], redis_db: Callable[[], str]
) -> tuple[ServerProcess, str]:
    """A node whose room-lock lease (node timeout) outlasts its heartbeat timeout."""
    redis_url = redis_db()
    (node,) = start_nodes(1, redis_url, heartbeat_timeout=1.5, node_timeout=5)
    return node, redis_url


async def test_a_join_waiting_on_a_dead_nodes_room_lock_keeps_a_pinging_socket(
    slow_lease_node: tuple[ServerProcess, str],
) -> None:
    """Issue 17: the socket was closed 4408 while its join waited, though its client pinged."""
    node, redis_url = slow_lease_node
    alice = register(node.url)
    meeting = create_meeting(alice)
    assert join(alice, meeting["meeting_number"]).status_code == 200
    # A node that died holding the room's lock: its lease runs on (here 4 s, over twice the
    # heartbeat timeout).
    held = redis.Redis.from_url(redis_url)
    held.set(f"aimeeting:lock:{meeting['id']}", "a-dead-nodes-token", px=4000)
    held.close()

    async with await WsClient.connected(node.url, alice) as ws:
        await ws.send("join_room", {"room_id": meeting["id"]})

        async def keep_pinging() -> None:
            while True:
                await ws.send("ping")
                await asyncio.sleep(0.3)

        pinging = asyncio.create_task(keep_pinging())
        try:
            state = await ws.wait_for("room_state", timeout=10)
        finally:
            pinging.cancel()
    assert [p["user_id"] for p in state["data"]["participants"]] == [alice.id]
    assert not [m for m in ws.received if m["type"] == "error"], ws.received


def test_a_node_with_another_jwt_secret_refuses_to_start(
    start_nodes: Callable[..., Nodes],
    redis_db: Callable[[], str],
    tmp_path: Path,
) -> None:
    """Issue 17: it used to pass /readyz and then refuse every token the others issued."""
    redis_url = redis_db()
    (first,) = start_nodes(1, redis_url)
    database_url = first.env["AIMEETING_DATABASE_URL"]
    stranger = ServerProcess(
        tmp_path,
        {
            "AIMEETING_REDIS_URL": redis_url,
            "AIMEETING_DATABASE_URL": database_url,
            "AIMEETING_JWT_SECRET": "another-secret-" + "0123456789abcdef" * 3,
        },
    )
    stranger.launch()
    assert stranger.process is not None
    try:
        assert stranger.process.wait(30) != 0
    finally:
        if stranger.process.poll() is None:
            stranger.stop()
    assert "AIMEETING_JWT_SECRET differs from the other nodes'" in stranger.logs()
    # The same secret starts as the first node's peer.
    peer = ServerProcess(tmp_path / "peer", {**first.env}).start()
    try:
        assert httpx.get(f"{peer.url}/readyz", timeout=10).status_code == 200
    finally:
        peer.stop()


async def test_a_node_waits_for_a_free_redis_connection_instead_of_failing() -> None:
    """More calls at once than the pool holds (a storm of joins) wait their turn: redis-py's
    plain pool refused the excess with MaxConnectionsError, which the node reported as Redis
    unreachable (50301) to thousands of joins in the 5,000-member failover storm."""
    if not REDIS_URL:
        pytest.skip("AIMEETING_TEST_REDIS_URL is not set: multi-node tests not run")
    node = Node(REDIS_URL, timeout=NODE_TIMEOUT)  # it only waits on keys nobody writes
    try:
        keys = [f"aimeeting:test:{i}" for i in range(REDIS_CONNECTIONS + 50)]
        calls = [node.redis.blpop([key], 0.2) for key in keys]  # each holds a connection 0.2 s
        assert await asyncio.wait_for(asyncio.gather(*calls), 10) == [None] * len(calls)
    finally:
        await node.redis.aclose()
