"""Chat over the real WebSocket API and its history endpoint (docs/realtime.md "Chat",
DECISIONS.md §5, §6).

Every test drives real server processes over real HTTP and WebSocket connections, on SQLite and
on PostgreSQL. Most tests use a server whose per-user chat limit is out of the way
(``chat_rate_limit=1000/second``); the rate-limit tests use the shared default server (10/second).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from harness.server import ServerProcess
from tests.utils.api import User, assert_error, client, create_meeting, join, ok, register
from tests.utils.ws import RFC3339_MS, Connections, Room, WsClient, enter_room, settle

CHAT_KEYS = {"message_id", "room_id", "sender", "content", "created_at", "client_msg_id"}
BURST = 50  # messages each member sends at once in the burst test
MEMBERS = 4


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def fast_url(backend: str, start_server: Callable[..., ServerProcess]) -> str:
    """A server whose per-user chat limit does not interfere with the test."""
    return start_server(backend, chat_rate_limit="1000/second").url


class Rooms(Connections):
    """Opens rooms and connections for one test; closes every connection afterwards."""

    async def room(self, base_url: str, size: int = 2) -> Room:
        """A meeting whose creator and ``size - 1`` others are seated and in the room, with
        every event of the entering already read."""
        users = [register(base_url, nickname=f"成员{i + 1}") for i in range(size)]
        meeting = create_meeting(users[0])
        clients = [await self.enter(base_url, user, meeting) for user in users]
        await asyncio.gather(*(settle(c) for c in clients))
        return Room(meeting, users, clients)

    async def enter(self, base_url: str, user: User, meeting: dict[str, Any]) -> WsClient:
        return await self.track(enter_room(base_url, user, meeting))

    async def connect(self, base_url: str, user: User) -> WsClient:
        return await self.track(WsClient.connected(base_url, user))


@pytest.fixture
async def rooms() -> AsyncIterator[Rooms]:
    tracker = Rooms()
    yield tracker
    await tracker.close_all()


async def say(ws: WsClient, room_id: str, content: Any = "hi", **data: Any) -> int:
    return await ws.send("chat_message", {"room_id": room_id, "content": content, **data})


async def chat(ws: WsClient, timeout: float = 5.0) -> dict[str, Any]:
    """The next message, which must be a ``chat_message``; its data."""
    data: dict[str, Any] = (await ws.expect("chat_message", timeout))["data"]
    return data


async def chats(ws: WsClient, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The next ``count`` messages, all ``chat_message`` with consecutive envelope seqs."""
    deadline = time.monotonic() + timeout
    messages = [await ws.recv(max(0.01, deadline - time.monotonic())) for _ in range(count)]
    for message in messages:
        assert message["type"] == "chat_message", message
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(seqs[0], seqs[0] + count)), f"server seqs with gaps: {seqs}"
    return [m["data"] for m in messages]


def history(user: User, meeting_id: str, **params: Any) -> httpx.Response:
    return user.get(f"/meetings/{meeting_id}/messages", params=params)


def page(user: User, meeting_id: str, **params: Any) -> tuple[list[dict[str, Any]], bool]:
    data = ok(history(user, meeting_id, **params))
    assert set(data) == {"messages", "has_more"}, data
    assert isinstance(data["has_more"], bool), data
    assert isinstance(data["messages"], list), data
    return data["messages"], data["has_more"]


def full_history(user: User, meeting_id: str) -> list[dict[str, Any]]:
    """Every message of the meeting, newest first, paged with ``before`` and ``limit=100``."""
    messages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    for _ in range(50):
        batch, has_more = page(user, meeting_id, **params)
        assert len(batch) <= 100
        messages += batch
        if not has_more:
            return messages
        assert len(batch) == 100, "has_more with a short page"
        params["before"] = batch[-1]["message_id"]
    raise AssertionError("history does not end")


def contents(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in messages]


def ids(messages: list[dict[str, Any]]) -> list[str]:
    return [m["message_id"] for m in messages]


def assert_chat(
    data: dict[str, Any],
    *,
    room_id: str,
    sender: User,
    content: str,
    client_msg_id: str | None = None,
) -> None:
    """A ``chat_message`` data object with exactly the spec's fields and these values."""
    assert set(data) == CHAT_KEYS, data
    assert isinstance(data["message_id"], str) and data["message_id"].startswith("msg_"), data
    assert data["room_id"] == room_id, data
    assert data["sender"] == {"id": sender.id, "nickname": sender.nickname, "avatar": None}, data
    assert data["content"] == content, data
    assert data["client_msg_id"] == client_msg_id, data
    assert isinstance(data["created_at"], str) and RFC3339_MS.match(data["created_at"]), data
    created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - created) < timedelta(seconds=30), data


# -- the burst --------------------------------------------------------------------------------


@pytest.mark.parametrize("round_", [1, 2, 3])
async def test_burst_of_200_reaches_everyone_once_in_one_order_matching_history(
    fast_url: str, rooms: Rooms, round_: int
) -> None:
    """4 members send 50 messages each at once: every member gets all 200 exactly once, in
    the same order for all, each sender's own in sending order; history has the same order."""
    room = await rooms.room(fast_url, MEMBERS)
    sent = {
        user.id: [f"r{round_}-u{k}-{i:02d}" for i in range(BURST)]
        for k, user in enumerate(room.users)
    }

    async def send_all(ws: WsClient, user: User) -> None:
        for content in sent[user.id]:
            await say(ws, room.id, content)

    await asyncio.gather(*(send_all(ws, u) for ws, u in zip(room.clients, room.users, strict=True)))
    received = await asyncio.gather(*(chats(ws, MEMBERS * BURST) for ws in room.clients))
    await asyncio.gather(*(ws.silent(0.3) for ws in room.clients))

    users = {u.id: u for u in room.users}
    live = received[0]
    assert len(set(ids(live))) == MEMBERS * BURST, "a message arrived twice"
    for data in live:
        assert_chat(
            data, room_id=room.id, sender=users[data["sender"]["id"]], content=data["content"]
        )
    for user in room.users:
        own = [m["content"] for m in live if m["sender"]["id"] == user.id]
        assert own == sent[user.id], f"{user.nickname}'s messages out of sending order"
    for member, other in zip(room.users[1:], received[1:], strict=True):
        assert ids(other) == ids(live), f"{member.nickname} saw another order"
        assert other == live

    stored = full_history(room.users[1], room.id)
    assert len(stored) == MEMBERS * BURST
    assert ids(list(reversed(stored))) == ids(live), "history order differs from the live order"
    assert list(reversed(stored)) == live


# -- storage and the message's shape ----------------------------------------------------------


async def test_message_is_in_history_as_soon_as_anyone_receives_it(
    fast_url: str, rooms: Rooms
) -> None:
    """Stored before broadcast: at the echo (and at the other member's receipt) the history
    already holds the message."""
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    for i in range(6):
        await say(alice, room.id, f"m{i}")
        first, second = (alice, bob) if i % 2 == 0 else (bob, alice)
        data = await chat(first)
        newest, _ = page(room.creator, room.id, limit=1)
        assert newest == [data], f"message {i} not yet stored when received"
        assert await chat(second) == data


async def test_chat_message_data_has_every_field(fast_url: str, rooms: Rooms) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(alice, room.id, "  hi  ")
    echo = await alice.expect("chat_message")
    assert set(echo) >= {"type", "seq", "timestamp", "data"}, echo
    assert isinstance(echo["seq"], int) and isinstance(echo["timestamp"], int), echo
    assert abs(echo["timestamp"] - time.time() * 1000) < 30_000, echo
    assert_chat(echo["data"], room_id=room.id, sender=room.users[0], content="hi")
    assert await chat(bob) == echo["data"]

    await say(bob, room.id, "with id", client_msg_id="client-1")
    data = await chat(bob)
    assert_chat(
        data, room_id=room.id, sender=room.users[1], content="with id", client_msg_id="client-1"
    )
    assert await chat(alice) == data
    assert data["message_id"] != echo["data"]["message_id"]
    assert page(room.users[1], room.id) == ([data, echo["data"]], False)


# -- content rules ----------------------------------------------------------------------------

ACCEPTED = {
    "one character": ("x", "x"),
    "2000 characters": ("x" * 2000, "x" * 2000),
    "2000 CJK characters": ("中" * 2000, "中" * 2000),
    "2000 after trimming": ("  " + "y" * 2000 + "  ", "y" * 2000),
    "trimmed": ("  hi  ", "hi"),
    "newline and tab kept": ("a\nb\tc", "a\nb\tc"),
    "inner newlines kept, outer trimmed": ("\n line1\n\nline2 \t\n", "line1\n\nline2"),
    "emoji CJK RTL": (
        "你好，世界 👋🏽 👨‍👩‍👧 مرحبا بالعالم שלום ‏עולם 🇨🇳",
        "你好，世界 👋🏽 👨‍👩‍👧 مرحبا بالعالم שלום ‏עולם 🇨🇳",
    ),
    "json and html look-alikes": ('{"a": 1} <b>x</b> \\n', '{"a": 1} <b>x</b> \\n'),
}


@pytest.mark.parametrize(("sent", "stored"), list(ACCEPTED.values()), ids=list(ACCEPTED))
async def test_content_accepted(fast_url: str, rooms: Rooms, sent: str, stored: str) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(alice, room.id, sent)
    data = await chat(alice)
    assert_chat(data, room_id=room.id, sender=room.users[0], content=stored)
    assert await chat(bob) == data
    assert page(room.users[1], room.id) == ([data], False)


REFUSED: dict[str, tuple[dict[str, Any], int]] = {
    "empty": ({"content": ""}, 40004),
    "spaces only": ({"content": "   "}, 40004),
    "whitespace only": ({"content": " \n\t \n"}, 40004),
    "2001 characters": ({"content": "x" * 2001}, 40004),
    "2001 after trimming": ({"content": "  " + "x" * 2001 + "  "}, 40004),
    "NUL": ({"content": "a\x00b"}, 40004),
    "BEL": ({"content": "ring\x07"}, 40004),
    "ESC": ({"content": "\x1b[31mred"}, 40004),
    "missing": ({}, 40003),
    "null": ({"content": None}, 40003),
    "number": ({"content": 42}, 40004),
    "list": ({"content": ["hi"]}, 40004),
    "object": ({"content": {"text": "hi"}}, 40004),
    "client_msg_id empty": ({"content": "x", "client_msg_id": ""}, 40004),
    "client_msg_id 65": ({"content": "x", "client_msg_id": "c" * 65}, 40004),
    "client_msg_id number": ({"content": "x", "client_msg_id": 7}, 40004),
    "client_msg_id list": ({"content": "x", "client_msg_id": ["c"]}, 40004),
}


@pytest.mark.parametrize(("data", "code"), list(REFUSED.values()), ids=list(REFUSED))
async def test_invalid_chat_is_refused_and_neither_stored_nor_broadcast(
    fast_url: str, rooms: Rooms, data: dict[str, Any], code: int
) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    seq = await alice.send("chat_message", {"room_id": room.id, **data})
    await alice.error(code, seq)
    # The next message proves nothing was broadcast in between, and that the socket still works.
    await say(alice, room.id, "after")
    after = await chat(alice)
    assert await chat(bob) == after
    assert contents(page(room.users[1], room.id)[0]) == ["after"]


@pytest.mark.parametrize("client_msg_id", ["a", "c" * 64, "重试-🙂", "550e8400-e29b-41d4"])
async def test_client_msg_id_of_1_to_64_characters_is_echoed(
    fast_url: str, rooms: Rooms, client_msg_id: str
) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(alice, room.id, "hello", client_msg_id=client_msg_id)
    data = await chat(alice)
    assert_chat(
        data, room_id=room.id, sender=room.users[0], content="hello", client_msg_id=client_msg_id
    )
    assert await chat(bob) == data
    assert page(room.users[0], room.id)[0] == [data]


# -- client_msg_id: repeats -------------------------------------------------------------------


async def test_repeated_client_msg_id_returns_the_original_to_the_sender_only(
    fast_url: str, rooms: Rooms
) -> None:
    room = await rooms.room(fast_url, 3)
    alice, bob, carol = room.clients
    await say(alice, room.id, "first", client_msg_id="dup-1")
    original = await chat(alice)
    assert await chat(bob) == original == await chat(carol)

    for repeat in ("first", "something else entirely"):
        await say(alice, room.id, repeat, client_msg_id="dup-1")
        assert await chat(alice) == original  # same message_id, created_at, content
    await asyncio.gather(bob.silent(0.3), carol.silent(0.3), alice.silent(0.3))
    assert page(room.users[2], room.id) == ([original], False)


async def test_same_client_msg_id_from_two_senders_is_two_messages(
    fast_url: str, rooms: Rooms
) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(alice, room.id, "from alice", client_msg_id="same")
    first = await chat(alice)
    assert await chat(bob) == first
    await say(bob, room.id, "from bob", client_msg_id="same")
    second = await chat(bob)
    assert await chat(alice) == second
    assert_chat(
        second, room_id=room.id, sender=room.users[1], content="from bob", client_msg_id="same"
    )
    assert first["message_id"] != second["message_id"]
    assert page(room.users[0], room.id) == ([second, first], False)


async def test_client_msg_id_is_per_sender_across_rooms(fast_url: str, rooms: Rooms) -> None:
    """The pair is (sender, client_msg_id): a repeat in another room is the same message, and
    the original comes back (it names its own room)."""
    room = await rooms.room(fast_url, 2)
    alice = room.users[0]
    other = create_meeting(alice)
    elsewhere = await rooms.enter(fast_url, alice, other)
    await say(room.clients[0], room.id, "once", client_msg_id="k-1")
    original = await chat(room.clients[0])
    assert await chat(room.clients[1]) == original
    await say(elsewhere, other["id"], "again", client_msg_id="k-1")
    assert await chat(elsewhere) == original
    await asyncio.gather(room.clients[0].silent(0.3), room.clients[1].silent(0.3))
    assert page(alice, other["id"]) == ([], False)
    assert page(alice, room.id) == ([original], False)


async def test_retry_on_a_new_connection_gets_the_original_and_nobody_else_anything(
    fast_url: str, rooms: Rooms
) -> None:
    """The SDK's case: the message went out, the connection dropped before the echo was seen,
    the client reconnects and sends it again with the same client_msg_id."""
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(alice, room.id, "maybe lost", client_msg_id="retry-1")
    original = await chat(bob)
    await alice.close()

    again = await rooms.enter(fast_url, room.users[0], room.meeting)  # inside the grace
    await settle(again)
    await say(again, room.id, "maybe lost", client_msg_id="retry-1")
    assert await chat(again) == original
    await asyncio.gather(bob.silent(0.3), again.silent(0.3))
    assert page(room.users[1], room.id) == ([original], False)


# -- where chat is refused --------------------------------------------------------------------


async def test_chat_in_a_room_not_joined_is_40301(fast_url: str, rooms: Rooms) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    # Seated over REST and connected, but no join_room on this connection.
    carol = register(fast_url, nickname="卡罗尔")
    assert join(carol, room.meeting["meeting_number"]).status_code == 200
    outside = await rooms.connect(fast_url, carol)
    seq = await say(outside, room.id, "knock knock")
    await outside.error(40301, seq)
    # An unknown room and a malformed one: not joined either (checked before anything else).
    seq = await say(alice, f"meeting_{uuid.uuid4().hex[:16]}", "hi")
    await alice.error(40301, seq)
    seq = await say(alice, "nonsense", "hi")
    await alice.error(40301, seq)
    # The room of another meeting the sender created but did not enter.
    mine = create_meeting(room.users[0])
    seq = await say(alice, mine["id"], "hi")
    await alice.error(40301, seq)
    # After leave_room.
    await bob.send("leave_room", {"room_id": room.id})
    await settle(bob)
    seq = await say(bob, room.id, "gone")
    await bob.error(40301, seq)
    await alice.wait_for("user_left", user_id=room.users[1].id)
    await asyncio.gather(alice.silent(0.3), outside.silent(0.3))
    assert page(room.creator, room.id) == ([], False)


async def test_no_chat_after_the_meeting_ended(fast_url: str, rooms: Rooms) -> None:
    room = await rooms.room(fast_url, 2)
    alice, bob = room.clients
    await say(bob, room.id, "before the end")
    before = await chat(bob)
    assert await chat(alice) == before
    response = room.creator.post(f"/meetings/{room.id}/end")
    assert response.status_code == 200, response.text
    for ws in (alice, bob):
        events = await ws.closed(4410)
        assert [e["type"] for e in events] == ["meeting_ended"], events
    with pytest.raises(ConnectionClosed):
        await say(bob, room.id, "too late")
        await bob.recv(2)
    # A new connection cannot enter the ended room, so it cannot chat there either.
    again = await rooms.connect(fast_url, room.users[1])
    seq = await again.send("join_room", {"room_id": room.id})
    await again.error(40005, seq)
    seq = await say(again, room.id, "too late")
    await again.error(40301, seq)
    for viewer in room.users:
        assert page(viewer, room.id) == ([before], False)


# -- rate limit (default server: 10/second per user) ------------------------------------------


async def test_rate_limit_refuses_what_is_over_10_per_second(base_url: str, rooms: Rooms) -> None:
    room = await rooms.room(base_url, 2)
    alice, bob = room.clients
    seqs = [await say(alice, room.id, f"n{i:02d}") for i in range(15)]
    answers = [await alice.recv() for _ in range(15)]
    echoes = [a["data"] for a in answers if a["type"] == "chat_message"]
    errors = [a["data"] for a in answers if a["type"] == "error"]
    assert len(echoes) == 10 and len(errors) == 5, answers
    assert contents(echoes) == [f"n{i:02d}" for i in range(10)]
    assert [e["request_seq"] for e in errors] == seqs[10:], errors
    for error in errors:
        assert error["code"] == 42901, error
        retry_after = error["details"]["retry_after"]
        assert type(retry_after) is int and 1 <= retry_after <= 2, error
    assert await chats(bob, 10) == echoes
    await bob.silent(0.3)
    stored = page(room.users[1], room.id)[0]
    assert contents(stored) == [f"n{i:02d}" for i in reversed(range(10))]

    # A limit, not a ban: after retry_after seconds the next message goes through.
    await asyncio.sleep(max(e["details"]["retry_after"] for e in errors) + 0.1)
    await say(alice, room.id, "later")
    assert (await chat(alice))["content"] == "later"
    assert (await chat(bob))["content"] == "later"
    assert len(page(room.users[1], room.id)[0]) == 11


async def test_rate_limit_is_per_user_across_connections_and_rooms(
    base_url: str, rooms: Rooms
) -> None:
    alice = register(base_url, nickname="爱丽丝")
    first, second = create_meeting(alice), create_meeting(alice)
    one = await rooms.enter(base_url, alice, first)
    two = await rooms.enter(base_url, alice, second)
    for i in range(6):
        await say(one, first["id"], f"one-{i}")
    assert contents(await chats(one, 6)) == [f"one-{i}" for i in range(6)]
    seqs = [await say(two, second["id"], f"two-{i}") for i in range(6)]
    answers = [await two.recv() for _ in range(6)]
    assert [a["type"] for a in answers] == ["chat_message"] * 4 + ["error"] * 2, answers
    assert [a["data"]["code"] for a in answers[4:]] == [42901, 42901], answers
    assert [a["data"]["request_seq"] for a in answers[4:]] == seqs[4:], answers
    assert contents(page(alice, second["id"])[0]) == [f"two-{i}" for i in reversed(range(4))]
    assert len(page(alice, first["id"])[0]) == 6


# -- history ----------------------------------------------------------------------------------


@dataclass
class Hundred:
    room: Room
    live: list[dict[str, Any]]  # oldest first, as received


@pytest.fixture(scope="module")
async def hundred(fast_url: str) -> AsyncIterator[Hundred]:
    """A meeting with exactly 100 messages (two members, 50 each, sent at once)."""
    tracker = Rooms()
    room = await tracker.room(fast_url, 2)

    async def send_all(ws: WsClient, k: int) -> None:
        for i in range(50):
            await say(ws, room.id, f"h{k}-{i:02d}")

    await asyncio.gather(*(send_all(ws, k) for k, ws in enumerate(room.clients)))
    received = await asyncio.gather(*(chats(ws, 100) for ws in room.clients))
    assert received[0] == received[1]
    yield Hundred(room, received[0])
    for ws in tracker.opened:
        await ws.close()


def test_history_default_limit_is_50_newest_first(hundred: Hundred) -> None:
    messages, has_more = page(hundred.room.creator, hundred.room.id)
    assert messages == hundred.live[::-1][:50]
    assert has_more is True


def test_history_pages_of_50_over_exactly_100_messages(hundred: Hundred) -> None:
    """has_more tells whether older messages exist: true after the first page, false after
    the second (the last message is on it)."""
    viewer = hundred.room.users[1]
    first, more = page(viewer, hundred.room.id, limit=50)
    assert more is True
    second, more = page(viewer, hundred.room.id, limit=50, before=first[-1]["message_id"])
    assert more is False
    assert first + second == hundred.live[::-1]


@pytest.mark.parametrize(
    ("limit", "count", "has_more"), [(1, 1, True), (99, 99, True), (100, 100, False)]
)
def test_history_limit_edges(hundred: Hundred, limit: int, count: int, has_more: bool) -> None:
    messages, more = page(hundred.room.creator, hundred.room.id, limit=limit)
    assert messages == hundred.live[::-1][:count]
    assert more is has_more


def test_history_before_returns_strictly_older_messages(hundred: Hundred) -> None:
    live, user, room_id = hundred.live, hundred.room.creator, hundred.room.id
    assert page(user, room_id, before=live[0]["message_id"]) == ([], False)
    assert page(user, room_id, before=live[1]["message_id"]) == ([live[0]], False)
    assert page(user, room_id, before=live[2]["message_id"], limit=1) == ([live[1]], True)
    messages, more = page(user, room_id, before=live[60]["message_id"], limit=100)
    assert messages == live[:60][::-1] and more is False
    messages, more = page(user, room_id, before=live[99]["message_id"], limit=10)
    assert messages == live[89:99][::-1] and more is True


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "1.5"])
def test_history_limit_out_of_range_is_40004(hundred: Hundred, limit: str) -> None:
    assert_error(history(hundred.room.creator, hundred.room.id, limit=limit), 40004)


async def test_history_before_not_a_message_of_this_meeting_is_40004(
    fast_url: str, hundred: Hundred, rooms: Rooms
) -> None:
    room = await rooms.room(fast_url, 2)
    await say(room.clients[0], room.id, "elsewhere")
    foreign = (await chat(room.clients[0]))["message_id"]
    user, room_id = hundred.room.creator, hundred.room.id
    for before in (foreign, f"msg_{uuid.uuid4().hex[:16]}", "nonsense", "msg_", room_id):
        assert_error(history(user, room_id, before=before), 40004)


def test_history_of_a_meeting_without_messages(fast_url: str) -> None:
    creator = register(fast_url)
    meeting = create_meeting(creator)
    assert ok(history(creator, meeting["id"])) == {"messages": [], "has_more": False}
    assert ok(history(creator, meeting["id"], limit=1)) == {"messages": [], "has_more": False}


async def test_history_is_visible_to_creator_and_anyone_who_ever_joined(
    fast_url: str, rooms: Rooms
) -> None:
    """The creator (never seated), members, a member who left, a REST-only joiner; also after
    the meeting ended. Strangers get 40402, like an unknown meeting."""
    creator = register(fast_url, nickname="创建者")
    meeting = create_meeting(creator)
    bob, carol, dave = (register(fast_url, nickname=n) for n in ("鲍勃", "卡罗尔", "戴夫"))
    bob_ws = await rooms.enter(fast_url, bob, meeting)
    carol_ws = await rooms.enter(fast_url, carol, meeting)
    assert join(dave, meeting["meeting_number"]).status_code == 200
    await say(carol_ws, meeting["id"], "one")
    messages = [(await carol_ws.wait_for("chat_message"))["data"]]
    await carol_ws.send("leave_room", {"room_id": meeting["id"]})
    await settle(carol_ws)
    await say(bob_ws, meeting["id"], "two")
    messages.insert(0, (await bob_ws.wait_for("chat_message", content="two"))["data"])
    viewers = [creator, bob, carol, dave]
    for viewer in viewers:
        assert page(viewer, meeting["id"]) == (messages, False)

    response = creator.post(f"/meetings/{meeting['id']}/end")
    assert response.status_code == 200, response.text
    for viewer in viewers:
        assert page(viewer, meeting["id"]) == (messages, False)

    stranger = register(fast_url, nickname="陌生人")
    hidden = assert_error(history(stranger, meeting["id"]), 40402)
    unknown = assert_error(history(stranger, f"meeting_{uuid.uuid4().hex[:16]}"), 40402)
    assert hidden == unknown
    assert_error(history(stranger, "nonsense"), 40402)
    assert_error(history(creator, f"meeting_{uuid.uuid4().hex[:16]}"), 40402)


def test_history_without_auth_is_40103(fast_url: str) -> None:
    creator = register(fast_url)
    meeting = create_meeting(creator)
    with client(fast_url) as anonymous:
        assert_error(anonymous.get(f"/meetings/{meeting['id']}/messages"), 40103)
        headers = {"Authorization": "Bearer not-a-token"}
        assert_error(anonymous.get(f"/meetings/{meeting['id']}/messages", headers=headers), 40103)


def test_history_endpoint_is_in_the_openapi_document_as_an_extension(base_url: str) -> None:
    response = httpx.get(f"{base_url}/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    operation = response.json()["paths"]["/v1/meetings/{meeting_id}/messages"]["get"]
    assert operation.get("x-extension") is True, operation
    names = {p["name"] for p in operation.get("parameters", [])}
    assert {"meeting_id", "before", "limit"} <= names, operation["parameters"]
