"""``POST /meetings/{number}/join``: seats (four at most, one per user), the join body's media
flags, refusals, and concurrent joins that never overfill a meeting."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from harness.server import StartServer
from tests.utils.api import assert_error, client, create_meeting, join, ok, register, seat_ids
from tests.utils.meetings import (
    detail_data,
    end,
    ended,
    fill,
    get_detail,
    joined,
    list_data,
    new_room,
    ts,
)

CAPACITY = 4


def unknown_number() -> str:
    return str(100_000_000 + uuid.uuid4().int % 900_000_000)


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together by a barrier, so they are in flight at once."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=15)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=30) for future in futures]


def test_join_unknown_number_is_40402(base_url: str) -> None:
    alice = register(base_url)
    body = assert_error(join(alice, unknown_number()), 40402)
    assert body["message"] == "会议不存在"


def test_join_number_with_leading_zero_is_well_formed_but_unknown(base_url: str) -> None:
    alice = register(base_url)
    assert_error(join(alice, "012345678"), 40402)


@pytest.mark.parametrize(
    "number",
    [
        "12345678",
        "1234567890",
        "12345678a",
        "abcdefghi",
        "١٢٣٤٥٦٧٨٩",
        "１２３４５６７８９",
        "-12345678",
    ],
    ids=["8-digits", "10-digits", "letter", "letters", "arabic-indic", "fullwidth", "negative"],
)
def test_join_malformed_number_is_40004(base_url: str, number: str) -> None:
    alice = register(base_url)
    body = assert_error(join(alice, number), 40004)
    assert "meeting_number" in body.get("details", {}), body


def test_join_without_auth_is_40103(base_url: str) -> None:
    room = new_room(base_url)
    with client(base_url) as anonymous:
        assert_error(anonymous.post(f"/meetings/{room.number}/join"), 40103)
    assert detail_data(room.creator, room.id)["participant_count"] == 0


def test_creator_holds_no_seat_until_joining(base_url: str) -> None:
    room = new_room(base_url)
    data = detail_data(room.creator, room.id)
    assert data["participants"] == []
    assert data["participant_count"] == 0
    assert data["status"] == "waiting"
    assert data["started_at"] is None
    assert data["ended_at"] is None
    assert list_data(room.creator, type="history")["meetings"] == []

    data = joined(room.creator, room.number)
    assert seat_ids(data) == [room.creator.id]
    assert data["participant_count"] == 1
    assert [m["id"] for m in list_data(room.creator, type="history")["meetings"]] == [room.id]


def test_first_join_makes_meeting_active_with_started_at(base_url: str) -> None:
    room = new_room(base_url, "启动会")
    bob = register(base_url, nickname="鲍勃")
    before = datetime.now(UTC)
    data = joined(bob, room.number)
    after = datetime.now(UTC)
    assert data["id"] == room.id
    assert data["meeting_number"] == room.number
    assert data["title"] == "启动会"
    assert data["creator_id"] == room.creator.id
    assert data["status"] == "active"
    assert data["ended_at"] is None
    started = ts(data["started_at"])
    slack = timedelta(seconds=5)
    assert before - slack <= started <= after + slack
    assert started >= ts(data["created_at"])
    assert data["participant_count"] == 1
    (seat,) = data["participants"]
    assert seat["user_id"] == bob.id
    assert seat["nickname"] == "鲍勃"
    assert seat["avatar"] is None
    assert seat["audio_muted"] is False
    assert seat["video_muted"] is False
    assert ts(seat["joined_at"]) == started

    again = detail_data(room.creator, room.id)
    assert again["status"] == "active"
    assert again["started_at"] == data["started_at"]

    # A second person joining does not move started_at.
    carol = register(base_url)
    later = joined(carol, room.number)
    assert later["started_at"] == data["started_at"]
    assert later["status"] == "active"


def test_join_again_while_seated_is_idempotent(base_url: str) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    carol = register(base_url)
    first = joined(bob, room.number)
    joined(carol, room.number)
    for _ in range(3):
        again = joined(bob, room.number)
        assert again["participant_count"] == 2
        assert sorted(seat_ids(again)) == sorted([bob.id, carol.id])
        (bob_seat,) = [p for p in again["participants"] if p["user_id"] == bob.id]
        assert bob_seat["joined_at"] == first["participants"][0]["joined_at"]
        assert again["started_at"] == first["started_at"]
    data = detail_data(room.creator, room.id)
    assert data["participant_count"] == 2
    assert list_data(bob, type="history")["pagination"]["total"] == 1


def test_fifth_person_is_refused_with_40006_while_four_hold_seats(base_url: str) -> None:
    room = new_room(base_url)
    seated = fill(base_url, room, CAPACITY)
    eve = register(base_url)
    body = assert_error(join(eve, room.number), 40006)
    assert body["message"] == "会议人数已满"

    # Rejected: nothing changed.
    data = detail_data(room.creator, room.id)
    assert data["participant_count"] == CAPACITY
    assert sorted(seat_ids(data)) == sorted(u.id for u in seated)
    history = list_data(eve, type="history")
    assert history["meetings"] == []
    assert history["pagination"]["total"] == 0
    # The refused user never joined: the meeting stays invisible to them.
    assert_error(get_detail(eve, room.id), 40402)


def test_creator_is_refused_with_40006_when_four_others_hold_seats(base_url: str) -> None:
    room = new_room(base_url)
    fill(base_url, room, CAPACITY)
    assert_error(join(room.creator, room.number), 40006)
    data = detail_data(room.creator, room.id)
    assert data["participant_count"] == CAPACITY
    assert room.creator.id not in seat_ids(data)


def test_seated_user_may_rejoin_a_full_meeting(base_url: str) -> None:
    room = new_room(base_url)
    seated = fill(base_url, room, CAPACITY)
    data = joined(seated[2], room.number)
    assert data["participant_count"] == CAPACITY
    assert sorted(seat_ids(data)) == sorted(u.id for u in seated)


def test_join_body_sets_initial_media_flags(base_url: str) -> None:
    room = new_room(base_url)
    muted = register(base_url, nickname="静音者")
    audio_only = register(base_url, nickname="只关麦")
    plain = register(base_url, nickname="默认者")

    data = joined(muted, room.number, audio_muted=True, video_muted=True)
    (seat,) = data["participants"]
    assert (seat["audio_muted"], seat["video_muted"]) == (True, True)

    data = joined(audio_only, room.number, audio_muted=True)
    flags = {p["user_id"]: (p["audio_muted"], p["video_muted"]) for p in data["participants"]}
    assert flags[audio_only.id] == (True, False)

    data = joined(plain, room.number, audio_muted=False, video_muted=False)
    flags = {p["user_id"]: (p["audio_muted"], p["video_muted"]) for p in data["participants"]}
    assert flags[plain.id] == (False, False)

    data = detail_data(room.creator, room.id)
    flags = {p["user_id"]: (p["audio_muted"], p["video_muted"]) for p in data["participants"]}
    assert flags == {
        muted.id: (True, True),
        audio_only.id: (True, False),
        plain.id: (False, False),
    }


@pytest.mark.parametrize(
    "body",
    [
        {"audio_muted": "yes"},
        {"video_muted": "true"},
        {"audio_muted": 1},
        {"video_muted": 0},
        {"audio_muted": [True]},
        {"audio_muted": True, "video_muted": {"on": True}},
    ],
    ids=["audio-str", "video-str", "audio-int", "video-int", "audio-list", "video-object"],
)
def test_join_body_of_wrong_types_is_40004_and_takes_no_seat(
    base_url: str, body: dict[str, Any]
) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    error = assert_error(bob.post(f"/meetings/{room.number}/join", json=body), 40004)
    assert set(error.get("details", {})) & {"audio_muted", "video_muted"}, error
    data = detail_data(room.creator, room.id)
    assert data["participant_count"] == 0
    assert data["status"] == "waiting"
    assert list_data(bob, type="history")["pagination"]["total"] == 0


@pytest.mark.parametrize("content", [b"[]", b'"x"', b"{nope"], ids=["array", "string", "not-json"])
def test_join_body_not_a_json_object_is_40003(base_url: str, content: bytes) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    assert_error(bob.post_raw(f"/meetings/{room.number}/join", content), 40003)
    assert detail_data(room.creator, room.id)["participant_count"] == 0


@pytest.mark.parametrize("content", [None, b"", b"{}"], ids=["no-body", "empty-body", "empty"])
def test_join_without_body_uses_defaults(base_url: str, content: bytes | None) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    path = f"/meetings/{room.number}/join"
    response = bob.post(path) if content is None else bob.post_raw(path, content)
    data = ok(response, message="成功加入会议")
    (seat,) = data["participants"]
    assert (seat["user_id"], seat["audio_muted"], seat["video_muted"]) == (bob.id, False, False)


def test_join_ended_meeting_is_40005(base_url: str) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    joined(bob, room.number)
    ended(end(room.creator, room.id))
    body = assert_error(join(bob, room.number), 40005)
    assert body["message"] == "会议已结束"
    assert_error(join(register(base_url), room.number), 40005)
    assert_error(join(room.creator, room.number), 40005)
    assert detail_data(room.creator, room.id)["participant_count"] == 0


def test_join_ended_waiting_meeting_is_40005(base_url: str) -> None:
    room = new_room(base_url)
    ended(end(room.creator, room.id))
    assert_error(join(register(base_url), room.number), 40005)


# -- concurrency ------------------------------------------------------------------------------


def test_concurrent_joins_for_the_last_seat_admit_exactly_one(base_url: str) -> None:
    for _ in range(3):
        room = new_room(base_url)
        seated = fill(base_url, room, CAPACITY - 1)
        racers = [register(base_url, nickname=f"抢座{i}") for i in range(6)]
        for racer in racers:  # warm the connections, so that the race is the requests only
            ok(racer.get("/users/me"))

        number = room.number
        responses = race([lambda r=racer, n=number: join(r, n) for racer in racers])

        winners = [r for r, resp in zip(racers, responses, strict=True) if resp.status_code == 200]
        statuses = sorted(resp.status_code for resp in responses)
        assert statuses == [200, 400, 400, 400, 400, 400], [x.text for x in responses]
        for response in responses:
            if response.status_code != 200:
                assert_error(response, 40006)
        (winner,) = winners
        data = detail_data(room.creator, room.id)
        assert data["participant_count"] == CAPACITY
        assert sorted(seat_ids(data)) == sorted([*(u.id for u in seated), winner.id])
        for racer in racers:
            expected = [room.id] if racer is winner else []
            assert [m["id"] for m in list_data(racer, type="history")["meetings"]] == expected


def test_same_user_joining_concurrently_takes_one_seat(base_url: str) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    clients = [client(base_url) for _ in range(5)]
    try:
        for http in clients:
            http.get("/healthz")  # not under /v1: the status does not matter, the connection does
        path = f"/meetings/{room.number}/join"
        responses = race([lambda h=http: h.post(path, headers=bob.auth) for http in clients])
    finally:
        for http in clients:
            http.close()
    for response in responses:
        data = ok(response)
        assert seat_ids(data) == [bob.id], data
        assert data["participant_count"] == 1
    data = detail_data(room.creator, room.id)
    assert seat_ids(data) == [bob.id]
    assert data["status"] == "active"
    assert list_data(bob, type="history")["pagination"]["total"] == 1


def test_concurrent_joins_of_an_empty_meeting_fill_exactly_four_seats(base_url: str) -> None:
    room = new_room(base_url)
    racers = [register(base_url) for _ in range(8)]
    for racer in racers:
        ok(racer.get("/users/me"))
    responses = race([lambda r=racer: join(r, room.number) for racer in racers])
    admitted = {r.id for r, resp in zip(racers, responses, strict=True) if resp.status_code == 200}
    assert len(admitted) == CAPACITY, [x.text for x in responses]
    for response in responses:
        if response.status_code != 200:
            assert_error(response, 40006)
    data = detail_data(room.creator, room.id)
    assert set(seat_ids(data)) == admitted
    assert data["participant_count"] == CAPACITY
    assert data["status"] == "active"
    started = {ok(r)["started_at"] for r in responses if r.status_code == 200}
    assert started == {data["started_at"]}, "started_at was set more than once"


def test_concurrent_joins_of_several_meetings_each_keep_their_own_rules(base_url: str) -> None:
    """Joins in flight together (which the server may write in one transaction) are judged
    one by one: a refused one changes nothing, and refuses nobody else."""
    ended_room, full_room, open_room = new_room(base_url), new_room(base_url), new_room(base_url)
    fill(base_url, ended_room, 1)
    ended(end(ended_room.creator, ended_room.id))
    fill(base_url, full_room, CAPACITY)
    full_before = detail_data(full_room.creator, full_room.id)
    racers = {
        room.number: [register(base_url) for _ in range(count)]
        for room, count in ((ended_room, 2), (full_room, 2), (open_room, 3))
    }
    calls = [(number, user) for number, users in racers.items() for user in users]
    for _, user in calls:
        ok(user.get("/users/me"))
    responses = dict(
        zip(
            [user.id for _, user in calls],
            race([lambda n=number, u=user: join(u, n) for number, user in calls]),
            strict=True,
        )
    )
    for user in racers[ended_room.number]:
        assert_error(responses[user.id], 40005)
    for user in racers[full_room.number]:
        assert_error(responses[user.id], 40006)
    newcomers = {user.id for user in racers[open_room.number]}
    for user in racers[open_room.number]:
        assert user.id in seat_ids(ok(responses[user.id]))
    assert set(seat_ids(detail_data(open_room.creator, open_room.id))) == newcomers
    assert detail_data(full_room.creator, full_room.id) == full_before
    assert detail_data(ended_room.creator, ended_room.id)["participants"] == []
    for number in (ended_room.number, full_room.number):
        for user in racers[number]:
            assert list_data(user, type="history")["meetings"] == []


def test_capacity_follows_max_participants(backend: str, start_server: StartServer) -> None:
    server = start_server(backend, max_participants=2)
    creator = register(server.url)
    meeting = create_meeting(creator)
    number = meeting["meeting_number"]
    for user in (creator, register(server.url)):
        assert join(user, number).status_code == 200
    assert_error(join(register(server.url), number), 40006)
    assert detail_data(creator, meeting["id"])["participant_count"] == 2
