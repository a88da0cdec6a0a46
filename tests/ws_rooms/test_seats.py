"""Seats: four at most, one connection per user (takeover), and the reconnect grace that keeps a
seat for a member who drops (run on a server with a short grace)."""

from __future__ import annotations

import time

from tests.utils.api import assert_error, detail, join, seat_ids
from tests.utils.ws_rooms import (
    GRACE,
    Sockets,
    enter,
    error,
    expected_joined,
    join_room,
    left,
    members,
    new_meeting,
    quiet,
    quiet_until,
    rest_join,
    users,
)

# -- seats ------------------------------------------------------------------------------------


async def test_fifth_user_is_refused_until_someone_leaves(base_url: str, sockets: Sockets) -> None:
    creator, meeting = new_meeting(base_url)
    bob, carol, dave, eve = users(base_url, 4)
    room = meeting["id"]
    a = await enter(sockets, base_url, creator, meeting)
    b = await enter(sockets, base_url, bob, meeting, a)
    c = await enter(sockets, base_url, carol, meeting, a, b)
    d = await enter(sockets, base_url, dave, meeting, a, b, c)
    assert_error(join(eve, meeting["meeting_number"]), 40006)
    e = await sockets.connect(base_url, eve)
    await error(e, 40402, "join_room", {"room_id": room})  # never joined: cannot see it

    await d.send("leave_room", {"room_id": room})
    for ws in (a, b, c):
        assert (await ws.expect("user_left"))["data"] == left(dave, room, 3)
    e = await enter(sockets, base_url, eve, meeting, a, b, c)
    rest = detail(creator, room)
    assert seat_ids(rest) == [creator.id, bob.id, carol.id, eve.id]
    await quiet(a, b, c, d, e)


# -- takeover ---------------------------------------------------------------------------------


async def test_takeover_closes_the_older_connection_without_churn(
    grace_url: str, sockets: Sockets
) -> None:
    """4409 for the old connection; the others hear nothing, then or after the grace."""
    creator, meeting = new_meeting(grace_url)
    (bob,) = users(grace_url, 1)
    room = meeting["id"]
    a1 = await enter(sockets, grace_url, creator, meeting)
    b = await enter(sockets, grace_url, bob, meeting, a1)

    a2 = await sockets.connect(grace_url, creator)
    await a2.send("join_room", {"room_id": room})
    took_over = time.monotonic()
    assert await a1.closed(4409) == []
    joined = (await a2.expect("user_joined"))["data"]
    state = (await a2.expect("room_state"))["data"]
    rest = detail(creator, room)
    assert joined == expected_joined(rest, creator)
    assert joined["participant_count"] == 2
    assert sorted(state.pop("in_room")) == sorted([creator.id, bob.id])
    assert state == {"room_id": room, "participants": rest["participants"]}
    await quiet(b)

    await b.send("chat_message", {"room_id": room, "content": "接管之后"})
    sent = (await b.expect("chat_message"))["data"]
    assert sent["sender"]["id"] == bob.id and sent["content"] == "接管之后", sent
    assert (await a2.expect("chat_message"))["data"] == sent

    # A takeover is not a drop: no grace runs out for the creator's seat.
    await quiet_until(took_over + GRACE + 0.6, a2, b)
    assert seat_ids(detail(creator, room)) == [creator.id, bob.id]


# -- reconnect grace --------------------------------------------------------------------------


async def test_reconnect_within_the_grace_is_silent(grace_url: str, sockets: Sockets) -> None:
    meeting, (creator, bob), (a, b) = await members(sockets, grace_url, 2)
    room = meeting["id"]

    a.abort()
    dropped = time.monotonic()
    await quiet(b)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]
    back = await sockets.connect(grace_url, creator)
    joined, state = await join_room(back, room)
    assert time.monotonic() - dropped < GRACE - 0.5, "too slow to test the grace"
    rest = detail(bob, room)
    assert joined == expected_joined(rest, creator)
    assert joined["participant_count"] == 2
    assert state["participants"] == rest["participants"]
    await quiet_until(dropped + GRACE + 0.6, b, back)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id]


async def test_a_drop_without_return_releases_the_seat_after_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    meeting, (creator, bob, carol), (a, b, c) = await members(sockets, grace_url, 3)
    room = meeting["id"]

    await c.close()
    dropped = time.monotonic()
    await quiet(a, b, within=GRACE * 0.5)
    assert seat_ids(detail(bob, room)) == [creator.id, bob.id, carol.id]
    for ws in (a, b):
        assert (await ws.expect("user_left", timeout=5))["data"] == left(carol, room, 2)
    assert time.monotonic() - dropped >= GRACE * 0.5
    rest = detail(bob, room)
    assert seat_ids(rest) == [creator.id, bob.id]
    assert rest["participant_count"] == 2
    await quiet(a, b)


async def test_a_rest_seat_never_used_is_released_after_the_grace(
    grace_url: str, sockets: Sockets
) -> None:
    creator, meeting = new_meeting(grace_url)
    (carol,) = users(grace_url, 1)
    room = meeting["id"]
    rest_join(carol, meeting)  # never used over the WebSocket
    seated = time.monotonic()
    a = await enter(sockets, grace_url, creator, meeting)
    assert seat_ids(detail(creator, room)) == [carol.id, creator.id]
    await quiet_until(seated + GRACE * 0.5, a)
    assert (await a.expect("user_left", timeout=5))["data"] == left(carol, room, 1)
    rest = detail(creator, room)
    assert seat_ids(rest) == [creator.id]
    assert rest["participant_count"] == 1
    await quiet(a)
