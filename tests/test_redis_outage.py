"""A Redis outage (issue 17): two real nodes on one PostgreSQL database and a ``redis-server``
of the test's own, stopped for ``AIMEETING_TEST_REDIS_OUTAGE`` seconds (8 by default; the issue's
15 s: ``AIMEETING_TEST_REDIS_OUTAGE=15``) while members on both nodes chat, mute and join, then
started again, empty, on the same port.

While Redis is away each node serves its own sockets (chat and mute between members on the
same node) and ``/readyz`` says why it is not ready. Within ``WHOLE_WITHIN`` seconds of Redis
coming back, without a restart: the other node's members have had the outage's chat live
(each message once, in history's order), every member sees every member's mute and camera
state as it is, a seat taken over REST during the outage by someone who never entered the
room is released while one whose join was retried keeps it, and ``/readyz`` said 200 only
once its node had rebuilt its cluster state. ``/metrics`` counts the outage.

Needs AIMEETING_TEST_DATABASE_URL and ``redis-server`` (AIMEETING_TEST_REDIS_URL, as the
other multi-node tests, so that CI runs it with them).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

import httpx
import pytest
import redis

from harness.history import History
from harness.server import ServerProcess
from tests.utils.api import User, assert_error, create_meeting, detail, join, register
from tests.utils.cluster import RedisProcess, as_seen_by
from tests.utils.members import Member, room_history
from tests.utils.metrics import metric
from tests.utils.ws import WsClient

REDIS_URL = os.environ.get("AIMEETING_TEST_REDIS_URL")
OUTAGE = float(os.environ.get("AIMEETING_TEST_REDIS_OUTAGE", "8"))
WHOLE_WITHIN = 10.0  # seconds after Redis is back (the bound)
# Longer than WHOLE_WITHIN: a grace that began again when Redis came back (instead of when the
# seat was taken) would hold an unused seat past the bound.
GRACE = 12.0
OUTAGE_CHAT = 30  # messages sent on node A while Redis is away
SETTINGS = {
    "reconnect_grace": GRACE,
    "node_timeout": 1.5,
    "max_participants": 8,
    "chat_rate_limit": "100/second",
}

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="AIMEETING_TEST_REDIS_URL is not set")


@pytest.fixture
def pair(
    start_nodes: Callable[..., list[ServerProcess]], own_redis: RedisProcess
) -> list[ServerProcess]:
    return start_nodes(2, own_redis.url, **SETTINGS)


def media_view(member: Member) -> dict[str, tuple[bool, bool]]:
    """Who ``member`` believes holds a seat, with their (audio muted, video muted), from what
    it was sent, read as the SDKs read it: ``room_state`` is the whole room, the others are
    changes to it."""
    view: dict[str, tuple[bool, bool]] = {}
    for message in [*member.ws.received, *member.messages]:  # before it was a Member, then
        data = message["data"]
        if message["type"] == "room_state":
            view = {
                p["user_id"]: (p["audio_muted"], p["video_muted"]) for p in data["participants"]
            }
        elif message["type"] == "user_joined":
            view[data["user"]["id"]] = (data["audio_muted"], data["video_muted"])
        elif message["type"] == "user_left":
            view.pop(data["user_id"], None)
        elif message["type"] == "media_state_changed":
            view[data["user_id"]] = (data["audio_muted"], data["video_muted"])
    return view


def seats(user: User, node: ServerProcess, room: str) -> dict[str, tuple[bool, bool]]:
    """The meeting's seats as REST shows them, with each one's mute and camera state."""
    data = detail(as_seen_by(user, node.url), room)
    return {p["user_id"]: (p["audio_muted"], p["video_muted"]) for p in data["participants"]}


async def until(what: str, deadline: float, check: Callable[[], object]) -> None:
    """Poll ``check`` (true when done; it may raise AssertionError meanwhile) until ``deadline``."""
    while True:
        try:
            if check():
                return
            problem = "not yet"
        except AssertionError as exc:
            problem = str(exc)
        assert time.monotonic() < deadline, f"{what}: {problem}"
        await asyncio.sleep(0.05)


async def first_ready(node: ServerProcess, presence: redis.Redis, room: str) -> set[str]:
    """Poll ``/readyz`` until 200; who Redis lists in the room at that very moment."""
    async with httpx.AsyncClient(timeout=5) as http:
        deadline = time.monotonic() + WHOLE_WITHIN
        while (await http.get(f"{node.url}/readyz")).status_code != 200:
            assert time.monotonic() < deadline, "node did not become ready again"
            await asyncio.sleep(0.01)
    return {key.decode() for key in presence.hkeys(f"aimeeting:room:{room}")}


async def retry_join(ws: WsClient, room: str, deadline: float) -> WsClient:
    """Send ``join_room`` again while it is refused (50301, Redis not back yet), as the SDKs
    do; the client once its ``room_state`` came."""
    while True:
        seq = await ws.send("join_room", {"room_id": room})
        while True:
            message = await ws.recv(timeout=5)
            if message["type"] == "room_state":
                return ws
            if message["type"] == "error" and message["data"]["request_seq"] == seq:
                assert message["data"]["code"] == 50301, message
                break
        assert time.monotonic() < deadline, "join_room kept failing"
        await asyncio.sleep(0.5)


async def test_after_a_redis_outage_both_nodes_are_whole_again_within_10_s(
    pair: list[ServerProcess], own_redis: RedisProcess
) -> None:
    node_a, node_b = pair
    alice, carol, eve = (register(node_a.url, nickname=n) for n in ("Alice", "Carol", "Eve"))
    bob, dave, frank = (register(node_b.url, nickname=n) for n in ("Bob", "Dave", "Frank"))
    meeting = create_meeting(alice)
    room, number = meeting["id"], meeting["meeting_number"]
    on = {"alice": node_a, "carol": node_a, "bob": node_b, "dave": node_b}
    people = {"alice": alice, "carol": carol, "bob": bob, "dave": dave}
    members: dict[str, Member] = {}
    for name, user in people.items():
        assert join(as_seen_by(user, on[name].url), number).status_code == 200
        members[name] = await Member.enter(on[name].url, user, room, name)
    history = History(room)
    presence = redis.Redis.from_url(own_redis.url)
    eve_ws: WsClient | None = None
    try:
        # Before: a message from node B reaches everyone (every node has a last chat).
        ident, text = await members["bob"].chat()
        history.sent(bob.id, text, ident)
        await until(
            "chat before", time.monotonic() + 10, lambda: all(m.chats for m in members.values())
        )

        own_redis.kill()
        lost = time.monotonic()
        for node in (node_a, node_b):
            details = assert_error(httpx.get(f"{node.url}/readyz", timeout=5), 50301)["details"]
            assert details == {"redis": "unreachable"}, details
            await until(
                "redis_up 0", lost + 5, lambda n=node: metric(n.url, "aimeeting_redis_up") == 0
            )

        # During: Alice and Carol chat on node A; Alice mutes, Carol turns her camera off.
        for i in range(OUTAGE_CHAT):
            sender, user = (members["alice"], alice) if i % 2 == 0 else (members["carol"], carol)
            ident, text = await sender.chat()
            history.sent(user.id, text, ident)
        await members["alice"].ws.send(
            "media_control", {"room_id": room, "action": "mute_audio", "value": True}
        )
        await members["carol"].ws.send(
            "media_control", {"room_id": room, "action": "mute_video", "value": True}
        )
        # Eve takes a seat over REST on node A; her join_room fails (Redis is away) and is
        # retried once it is back. Frank takes one on node B, fails to enter, and goes away.
        assert join(as_seen_by(eve, node_a.url), number).status_code == 200
        eve_ws = await WsClient.connected(node_a.url, eve)
        await eve_ws.send("join_room", {"room_id": room})
        await eve_ws.error(50301, 1)
        assert join(as_seen_by(frank, node_b.url), number).status_code == 200
        async with await WsClient.connected(node_b.url, frank) as frank_ws:
            await frank_ws.send("join_room", {"room_id": room})
            await frank_ws.error(50301, 1)

        # Node A serves its own sockets alone: its members have everything, node B's nothing.
        def node_a_served() -> bool:
            for name in ("alice", "carol"):
                assert len(members[name].chats) == 1 + OUTAGE_CHAT, name
                assert media_view(members[name]).get(alice.id) == (True, False), name
                assert media_view(members[name]).get(carol.id) == (False, True), name
            return True

        await until("node A alone", lost + OUTAGE, node_a_served)
        for name in ("bob", "dave"):
            assert len(members[name].chats) == 1, name
            assert media_view(members[name]).get(alice.id) == (False, False), name
        await asyncio.sleep(max(0.0, lost + OUTAGE - time.monotonic()))

        own_redis.start()  # same port, empty
        back = time.monotonic()
        deadline = back + WHOLE_WITHIN
        eve_entering = asyncio.create_task(retry_join(eve_ws, room, deadline))
        # /readyz says 200 only once the node has told Redis again who is connected to it.
        listed_a, listed_b = await asyncio.gather(
            first_ready(node_a, presence, room), first_ready(node_b, presence, room)
        )
        ready_after = time.monotonic() - back
        assert {alice.id, carol.id} <= listed_a, "node A ready before its members were back"
        assert {bob.id, dave.id} <= listed_b, "node B ready before its members were back"
        members["eve"] = Member(await eve_entering, room, "eve")
        people["eve"] = eve

        # Whole again: node B's members had the outage's chat live, everyone sees the room
        # as it is (mute, camera, who holds a seat), and Frank's unused seat is gone.
        expected = {
            alice.id: (True, False),
            carol.id: (False, True),
            bob.id: (False, False),
            dave.id: (False, False),
            eve.id: (False, False),
        }

        def whole() -> bool:
            for name in ("bob", "dave"):
                assert len(members[name].chats) == 1 + OUTAGE_CHAT, (name, len(members[name].chats))
            assert seats(alice, node_a, room) == expected
            for name, member in members.items():
                assert media_view(member) == expected, (name, media_view(member))
            return True

        await until("whole again", deadline, whole)
        whole_after = time.monotonic() - back

        # And it stays so: Eve, who is there, keeps her seat past any grace; chat from both
        # nodes reaches everyone after the outage's.
        for name, member in (("bob", members["bob"]), ("alice", members["alice"])):
            ident, text = await member.chat()
            history.sent(people[name].id, text, ident)
        total = 1 + OUTAGE_CHAT + 2
        await until(
            "chat after",
            time.monotonic() + 10,
            lambda: all(len(members[n].chats) == total for n in ("alice", "carol", "bob", "dave")),
        )
        await asyncio.sleep(max(0.0, back + GRACE + 1 - time.monotonic()))
        assert seats(alice, node_b, room) == expected
        for name, member in members.items():
            assert media_view(member) == expected, name

        for name, member in members.items():
            if name != "eve":  # entered after the outage: the rest it was never sent
                for message in member.chats:
                    history.seen_live(name, message)
        history.seen_in_history("history", room_history(alice, room))
        report = history.assert_whole()
        assert report.total("seen_live") == 4 * total

        # The outage is counted; node B delivered the missed chat, node A had nothing to.
        for node in (node_a, node_b):
            assert metric(node.url, "aimeeting_redis_up") == 1
            assert metric(node.url, "aimeeting_cluster_in_sync") == 1
            assert metric(node.url, "aimeeting_redis_outages_total") == 1
            assert metric(node.url, "aimeeting_cluster_recoveries_total") >= 1
        assert metric(node_b.url, "aimeeting_chat_caught_up_total") == OUTAGE_CHAT
        assert metric(node_a.url, "aimeeting_chat_caught_up_total") == 0
        print(
            f"redis outage {OUTAGE:.0f} s: both nodes ready {ready_after:.2f} s and whole again"
            f" {whole_after:.2f} s after it came back;"
            f" {report.sent} messages checked, {report.faults} faults"
        )
    finally:
        presence.close()
        await asyncio.gather(*(m.close() for m in members.values()), return_exceptions=True)
        if eve_ws is not None and "eve" not in members:
            await eve_ws.close()
