"""What ends a member's connection: the meeting ending, a logout, a server restart (the seats
survive it for the grace)."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from pathlib import Path

import pytest

from harness.server import ServerProcess
from tests.utils.api import PASSWORD, User, client, create_meeting, detail, ok, seat_ids
from tests.utils.ws_rooms import (
    GRACE,
    RFC3339_MS,
    Sockets,
    end_meeting,
    enter,
    error,
    expected_joined,
    join_room,
    left,
    members,
    new_meeting,
    quiet,
    quiet_until,
    users,
)

# -- meeting end ------------------------------------------------------------------------------


async def test_meeting_end_tells_members_then_closes_their_connections(
    base_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, base_url, 2)
    room = meeting["id"]
    elsewhere = create_meeting(bob)
    b_other = await enter(sockets, base_url, bob, elsewhere)  # same user, another room

    end_meeting(creator, room)
    rest = detail(creator, room)
    assert rest["status"] == "ended"
    assert rest["participants"] == [] and rest["participant_count"] == 0
    for ws in (a, b):
        messages = await ws.closed(4410)
        assert [m["type"] for m in messages] == ["meeting_ended"], messages
        assert messages[0]["data"] == {"room_id": room, "ended_at": rest["ended_at"]}
        assert RFC3339_MS.match(rest["ended_at"]), rest

    await quiet(b_other)
    await b_other.ack()
    assert seat_ids(detail(bob, elsewhere["id"])) == [bob.id]
    again = await sockets.connect(base_url, bob)
    await error(again, 40005, "join_room", {"room_id": room})


# -- logout -----------------------------------------------------------------------------------


async def test_logout_closes_that_sessions_connections_and_the_seat_follows_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, grace_url, 2)
    room = meeting["id"]
    login = creator.http.post("/auth/login", json={"email": creator.email, "password": PASSWORD})
    second_session = ok(login)["tokens"]["access_token"]
    a_idle = await sockets.connect(grace_url, creator)  # same session, in no room
    a_other = await sockets.connect(grace_url, creator, second_session)

    ok(creator.post("/auth/logout"), has_data=False)
    logged_out = time.monotonic()
    for ws in (a, a_idle):
        messages = await ws.closed(4401, timeout=1.0)
        assert [(m["type"], m["data"]["code"], m["data"]["request_seq"]) for m in messages] == [
            ("error", 40103, None)
        ], messages
    assert time.monotonic() - logged_out < 1.0

    await a_other.ack()  # the other session goes on
    await quiet_until(logged_out + GRACE * 0.5, b, a_other)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]
    assert (await b.expect("user_left", timeout=5))["data"] == left(creator, room, 1)
    assert seat_ids(detail(bob, room)) == [bob.id]
    await quiet(a_other)


# -- restart ----------------------------------------------------------------------------------


def rebased(user: User, base_url: str) -> User:
    """The same user (same tokens) talking to another server address."""
    return dataclasses.replace(user, http=client(base_url))


async def test_restart_keeps_seats_for_the_grace(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sockets: Sockets
) -> None:
    """SIGTERM closes with 1001; after a restart on the same data, members who come back within
    the grace are back silently, and the seat of one who does not is released."""
    env = {"AIMEETING_RECONNECT_GRACE": str(GRACE)}
    if backend == "postgres":
        make_database = request.getfixturevalue("postgres_url")
        env["AIMEETING_DATABASE_URL"] = await asyncio.to_thread(make_database)
    data_dir = tmp_path / "data"
    first = ServerProcess(data_dir, env).start()
    try:
        creator, meeting = new_meeting(first.url)
        bob, carol = users(first.url, 2)
        room = meeting["id"]
        a = await enter(sockets, first.url, creator, meeting)
        b = await enter(sockets, first.url, bob, meeting, a)
        c = await enter(sockets, first.url, carol, meeting, a, b)
        stopped = await asyncio.gather(
            asyncio.to_thread(first.stop), a.closed(1001), b.closed(1001), c.closed(1001)
        )
        # uvicorn ends by re-raising the signal once the graceful shutdown is complete.
        assert stopped[0] in (0, -signal.SIGTERM), first.logs()
        assert stopped[1:] == [[], [], []], stopped
    finally:
        first.stop()

    second = ServerProcess(data_dir, env)
    try:
        second.start()
        creator, bob = rebased(creator, second.url), rebased(bob, second.url)
        a = await sockets.connect(second.url, creator)
        joined, state = await join_room(a, room)
        b = await sockets.connect(second.url, bob)
        joined_b, state_b = await join_room(b, room)
        rest = detail(creator, room)
        assert seat_ids(rest) == [creator.id, bob.id, carol.id], "a seat was lost in the restart"
        assert joined == expected_joined(rest, creator)
        assert joined_b == expected_joined(rest, bob)
        assert state["participants"] == state_b["participants"] == rest["participants"]

        # Carol does not come back: both hear that she left, and nothing else.
        for ws in (a, b):
            assert (await ws.expect("user_left", timeout=5))["data"] == left(carol, room, 2)
        rest = detail(bob, room)
        assert seat_ids(rest) == [creator.id, bob.id]
        assert rest["participant_count"] == 2
        await quiet(a, b)
    finally:
        await asyncio.to_thread(second.stop)  # the loop runs on: clients answer the 1001
