"""Meetings over the real REST API (contract §1, DECISIONS.md §1, §2, §4).

Every test drives a real server process over HTTP, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.utils.api import User, assert_error, client, create_meeting, join, register
from tests.utils.server import ServerProcess

MEETING_KEYS = {
    "id",
    "meeting_number",
    "title",
    "creator_id",
    "status",
    "started_at",
    "ended_at",
    "created_at",
}
PARTICIPANT_KEYS = {"user_id", "nickname", "avatar", "joined_at", "audio_muted", "video_muted"}
PAGINATION_KEYS = {"page", "limit", "total", "total_pages"}
NUMBER = re.compile(r"^[1-9][0-9]{8}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
CAPACITY = 4
EXPIRY = 1  # seconds a waiting meeting lives on the dedicated expiry server


# -- helpers ----------------------------------------------------------------------------------


def ok(response: httpx.Response, status: int = 200, message: str | None = None) -> Any:
    """The ``data`` of a success envelope with this HTTP status."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == 0, body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    assert "data" in body, body
    return body["data"]


def ts(value: Any) -> datetime:
    """An RFC 3339 UTC timestamp ending in ``Z``, parsed."""
    assert isinstance(value, str) and RFC3339_UTC.match(value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def detail(user: User, meeting_id: str) -> httpx.Response:
    return user.get(f"/meetings/{meeting_id}")


def detail_data(user: User, meeting_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(detail(user, meeting_id), message="成功")
    assert_detail_shape(data)
    return data


def end(user: User, meeting_id: str) -> httpx.Response:
    return user.post(f"/meetings/{meeting_id}/end")


def ended(response: httpx.Response) -> None:
    """A successful end: 200, code 0, the contract's message, and no ``data``."""
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    assert body["code"] == 0, body
    assert body["message"] == "会议已结束", body
    assert "data" not in body, body


def listing(user: User, **params: Any) -> httpx.Response:
    return user.get("/meetings", params=params)


def list_data(user: User, **params: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(listing(user, **params), message="成功")
    assert set(data) >= {"meetings", "pagination"}, data
    assert set(data["pagination"]) >= PAGINATION_KEYS, data
    for meeting in data["meetings"]:
        assert_meeting_shape(meeting)
    return data


def list_ids(user: User, **params: Any) -> list[str]:
    return [m["id"] for m in list_data(user, limit=100, **params)["meetings"]]


def post_raw(user: User, path: str, content: bytes) -> httpx.Response:
    headers = {**user.auth, "Content-Type": "application/json"}
    return user.http.post(path, content=content, headers=headers)


def seat_ids(data: dict[str, Any]) -> list[str]:
    return [p["user_id"] for p in data["participants"]]


def assert_meeting_shape(meeting: dict[str, Any]) -> None:
    assert set(meeting) >= MEETING_KEYS, meeting
    assert meeting["id"].startswith("meeting_"), meeting
    assert NUMBER.match(meeting["meeting_number"]), meeting
    assert meeting["status"] in ("waiting", "active", "ended"), meeting
    assert meeting["title"] is None or isinstance(meeting["title"], str), meeting
    ts(meeting["created_at"])
    for field in ("started_at", "ended_at"):
        if meeting[field] is not None:
            ts(meeting[field])


def assert_detail_shape(data: dict[str, Any]) -> None:
    assert_meeting_shape(data)
    assert isinstance(data["participants"], list), data
    assert data["participant_count"] == len(data["participants"]), data
    for participant in data["participants"]:
        assert set(participant) >= PARTICIPANT_KEYS, participant
        ts(participant["joined_at"])
        assert isinstance(participant["audio_muted"], bool), participant
        assert isinstance(participant["video_muted"], bool), participant
    assert len(set(seat_ids(data))) == len(data["participants"]), "a user holds two seats"


def joined(user: User, number: str, **body: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(join(user, number, **body), message="成功加入会议")
    assert_detail_shape(data)
    return data


def unknown_number() -> str:
    return str(100_000_000 + uuid.uuid4().int % 900_000_000)


@dataclass
class Room:
    creator: User
    meeting: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.meeting["id"])

    @property
    def number(self) -> str:
        return str(self.meeting["meeting_number"])


def new_room(base_url: str, title: str | None = "测试会议") -> Room:
    creator = register(base_url, nickname="创建者")
    return Room(creator, create_meeting(creator, title))


def fill(base_url: str, room: Room, count: int) -> list[User]:
    users = [register(base_url, nickname=f"参会者{i}") for i in range(count)]
    for user in users:
        joined(user, room.number)
    return users


def race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together by a barrier, so they are in flight at once."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=15)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(timeout=30) for future in futures]


# -- create -----------------------------------------------------------------------------------


def test_create_returns_201_envelope_with_a_waiting_meeting(base_url: str) -> None:
    alice = register(base_url)
    before = datetime.now(UTC)
    response = alice.post("/meetings", json={"title": "每周例会"})
    after = datetime.now(UTC)
    meeting = ok(response, status=201, message="会议创建成功")
    assert_meeting_shape(meeting)
    assert meeting["id"].startswith("meeting_")
    assert NUMBER.match(meeting["meeting_number"])
    assert meeting["title"] == "每周例会"
    assert meeting["creator_id"] == alice.id
    assert meeting["status"] == "waiting"
    assert meeting["started_at"] is None
    assert meeting["ended_at"] is None
    assert meeting["created_at"].endswith("Z")
    created = ts(meeting["created_at"])
    slack = timedelta(seconds=5)
    assert before - slack <= created <= after + slack


@pytest.mark.parametrize(
    "content",
    [None, b"", b"{}", b"  \n "],
    ids=["no-body", "empty-body", "empty-object", "blank-body"],
)
def test_create_title_is_optional(base_url: str, content: bytes | None) -> None:
    alice = register(base_url)
    response = alice.post("/meetings") if content is None else post_raw(alice, "/meetings", content)
    meeting = ok(response, status=201)
    assert meeting["title"] is None
    assert meeting["creator_id"] == alice.id
    assert meeting["status"] == "waiting"


@pytest.mark.parametrize("title", [" ", "   ", "\t\n "])
def test_create_whitespace_only_title_becomes_null(base_url: str, title: str) -> None:
    alice = register(base_url)
    meeting = ok(alice.post("/meetings", json={"title": title}), status=201)
    assert meeting["title"] is None
    assert detail_data(alice, meeting["id"])["title"] is None


def test_create_title_is_trimmed(base_url: str) -> None:
    alice = register(base_url)
    meeting = ok(alice.post("/meetings", json={"title": "  季度 复盘 \t"}), status=201)
    assert meeting["title"] == "季度 复盘"
    assert detail_data(alice, meeting["id"])["title"] == "季度 复盘"


@pytest.mark.parametrize(
    "title",
    ["a" * 100, "会" * 100, "  " + "b" * 96 + "  "],
    ids=["100-ascii", "100-cjk", "100-with-spaces"],
)
def test_create_title_of_100_characters_is_accepted(base_url: str, title: str) -> None:
    alice = register(base_url)
    meeting = ok(alice.post("/meetings", json={"title": title}), status=201)
    assert meeting["title"] == title.strip()
    assert detail_data(alice, meeting["id"])["title"] == title.strip()


@pytest.mark.parametrize(
    "title",
    ["a" * 101, "会" * 101, "x" * 1000, "\x1f" + "b" * 100],
    ids=["101", "101-cjk", "1k", "101-as-sent"],
)
def test_create_title_over_100_characters_is_40004(base_url: str, title: str) -> None:
    alice = register(base_url)
    body = assert_error(alice.post("/meetings", json={"title": title}), 40004)
    assert "title" in body.get("details", {}), body


# null too: the contract's title is a string when given (only required fields read null as absent).
@pytest.mark.parametrize("title", [None, 123, 1.5, True, ["会议"], {"text": "会议"}])
def test_create_title_of_wrong_type_is_40004(base_url: str, title: Any) -> None:
    alice = register(base_url)
    body = assert_error(alice.post("/meetings", json={"title": title}), 40004)
    assert "title" in body.get("details", {}), body


@pytest.mark.parametrize(
    "content",
    [b"[]", b'"x"', b"1", b"null", b"true", b'[{"title": "a"}]'],
    ids=["array", "string", "number", "null", "bool", "array-of-object"],
)
def test_create_body_not_a_json_object_is_40003(base_url: str, content: bytes) -> None:
    alice = register(base_url)
    assert_error(post_raw(alice, "/meetings", content), 40003)


@pytest.mark.parametrize(
    "content",
    [b"{title: 1}", b'{"title": "a"', b"not json", b"\xff\xfe"],
    ids=["unquoted-key", "truncated", "text", "bad-utf8"],
)
def test_create_body_not_json_is_40003(base_url: str, content: bytes) -> None:
    alice = register(base_url)
    assert_error(post_raw(alice, "/meetings", content), 40003)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer garbage"}, {"Authorization": "x"}],
    ids=["none", "empty-bearer", "garbage-token", "no-scheme"],
)
def test_create_without_valid_auth_is_40103(base_url: str, headers: dict[str, str]) -> None:
    with client(base_url) as anonymous:
        response = anonymous.post("/meetings", json={"title": "t"}, headers=headers)
    assert_error(response, 40103)


def test_many_meetings_get_distinct_numbers_and_ids(base_url: str) -> None:
    alice = register(base_url)
    meetings = [create_meeting(alice, f"会议 {i}") for i in range(40)]
    numbers = [m["meeting_number"] for m in meetings]
    assert all(NUMBER.match(number) for number in numbers), numbers
    assert len(set(numbers)) == len(numbers)
    assert len({m["id"] for m in meetings}) == len(meetings)
    assert list_data(alice, limit=100)["pagination"]["total"] == 40


def test_rejected_create_leaves_my_list_unchanged(base_url: str) -> None:
    alice = register(base_url)
    create_meeting(alice, "保留的会议")
    before = list_data(alice)
    assert before["pagination"]["total"] == 1
    assert_error(alice.post("/meetings", json={"title": "x" * 101}), 40004)
    assert_error(alice.post("/meetings", json={"title": 7}), 40004)
    assert_error(post_raw(alice, "/meetings", b"[]"), 40003)
    assert_error(post_raw(alice, "/meetings", b"{oops"), 40003)
    after = list_data(alice)
    assert after["pagination"]["total"] == 1
    assert [m["id"] for m in after["meetings"]] == [m["id"] for m in before["meetings"]]


# -- join -------------------------------------------------------------------------------------


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
    assert_error(detail(eve, room.id), 40402)


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
    assert_error(post_raw(bob, f"/meetings/{room.number}/join", content), 40003)
    assert detail_data(room.creator, room.id)["participant_count"] == 0


@pytest.mark.parametrize("content", [None, b"", b"{}"], ids=["no-body", "empty-body", "empty"])
def test_join_without_body_uses_defaults(base_url: str, content: bytes | None) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    path = f"/meetings/{room.number}/join"
    response = bob.post(path) if content is None else post_raw(bob, path, content)
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


# -- detail -----------------------------------------------------------------------------------


def test_detail_is_visible_to_creator_and_to_anyone_who_joined(base_url: str) -> None:
    room = new_room(base_url, "可见性")
    bob = register(base_url, nickname="鲍勃")
    carol = register(base_url, nickname="卡罗尔")
    joined(bob, room.number)
    joined(carol, room.number, video_muted=True)
    for viewer in (room.creator, bob, carol):
        data = detail_data(viewer, room.id)
        assert data["id"] == room.id
        assert data["title"] == "可见性"
        assert data["creator_id"] == room.creator.id
        assert data["participant_count"] == 2
        by_user = {p["user_id"]: p for p in data["participants"]}
        assert set(by_user) == {bob.id, carol.id}
        assert by_user[bob.id]["nickname"] == "鲍勃"
        assert by_user[carol.id]["nickname"] == "卡罗尔"
        assert by_user[carol.id]["video_muted"] is True
        assert by_user[carol.id]["audio_muted"] is False
        assert by_user[bob.id]["avatar"] is None


def test_detail_of_ended_meeting_stays_visible_to_former_participants(base_url: str) -> None:
    room = new_room(base_url)
    bob = register(base_url)
    joined(bob, room.number)
    ended(end(room.creator, room.id))
    for viewer in (room.creator, bob):
        data = detail_data(viewer, room.id)
        assert data["status"] == "ended"
        assert data["participants"] == []
        assert data["participant_count"] == 0


def test_detail_to_a_stranger_is_40402_like_an_unknown_id(base_url: str) -> None:
    room = new_room(base_url)
    joined(register(base_url), room.number)
    stranger = register(base_url)
    hidden = assert_error(detail(stranger, room.id), 40402)
    unknown = assert_error(detail(stranger, f"meeting_{uuid.uuid4().hex[:16]}"), 40402)
    assert hidden == unknown
    assert_error(detail(stranger, "nonsense"), 40402)
    # Knowing the number is not seeing the meeting: the detail is by id.
    assert_error(detail(stranger, room.number), 40402)


def test_detail_without_auth_is_40103(base_url: str) -> None:
    room = new_room(base_url)
    with client(base_url) as anonymous:
        assert_error(anonymous.get(f"/meetings/{room.id}"), 40103)


def test_detail_participants_are_the_seat_holders_with_all_fields(base_url: str) -> None:
    room = new_room(base_url)
    users = fill(base_url, room, 3)
    data = detail_data(room.creator, room.id)
    assert data["participant_count"] == 3 == len(data["participants"])
    assert {p["user_id"] for p in data["participants"]} == {u.id for u in users}
    for participant in data["participants"]:
        assert set(participant) >= PARTICIPANT_KEYS
        assert ts(participant["joined_at"]) >= ts(data["created_at"])
        assert participant["nickname"].startswith("参会者")


# -- end --------------------------------------------------------------------------------------


def test_end_by_creator_releases_every_seat(base_url: str) -> None:
    room = new_room(base_url)
    users = fill(base_url, room, 3)
    joined(room.creator, room.number)
    before = detail_data(room.creator, room.id)
    assert before["participant_count"] == 4

    response = end(room.creator, room.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == 0
    assert body["message"] == "会议已结束"
    assert "data" not in body, body

    data = detail_data(room.creator, room.id)
    assert data["status"] == "ended"
    ended_at = ts(data["ended_at"])
    assert ended_at >= ts(data["started_at"])
    assert data["started_at"] == before["started_at"]
    assert data["participants"] == []
    assert data["participant_count"] == 0
    for user in [*users, room.creator]:
        assert_error(join(user, room.number), 40005)
    # Former participants keep it in their history, as ended.
    for user in users:
        (item,) = list_data(user, type="history")["meetings"]
        assert (item["id"], item["status"], item["ended_at"]) == (
            room.id,
            "ended",
            data["ended_at"],
        )


def test_end_again_is_200_and_changes_nothing(base_url: str) -> None:
    room = new_room(base_url)
    joined(register(base_url), room.number)
    ok_first = end(room.creator, room.id)
    assert ok_first.status_code == 200, ok_first.text
    first = detail_data(room.creator, room.id)
    for _ in range(2):
        again = end(room.creator, room.id)
        assert again.status_code == 200, again.text
        assert again.json()["code"] == 0
        assert "data" not in again.json()
    assert detail_data(room.creator, room.id) == first


def test_end_a_waiting_meeting(base_url: str) -> None:
    room = new_room(base_url)
    response = end(room.creator, room.id)
    assert response.status_code == 200, response.text
    data = detail_data(room.creator, room.id)
    assert data["status"] == "ended"
    assert data["started_at"] is None
    ts(data["ended_at"])
    assert_error(join(register(base_url), room.number), 40005)


def test_end_by_a_participant_who_is_not_the_creator_is_40301(base_url: str) -> None:
    room = new_room(base_url)
    bob, carol = fill(base_url, room, 2)
    body = assert_error(end(bob, room.id), 40301)
    assert body["message"] == "无权限执行此操作"
    data = detail_data(room.creator, room.id)
    assert data["status"] == "active"
    assert data["ended_at"] is None
    assert sorted(seat_ids(data)) == sorted([bob.id, carol.id])
    joined(register(base_url), room.number)  # still open


def test_end_by_a_former_participant_of_an_ended_meeting_is_40301(base_url: str) -> None:
    room = new_room(base_url)
    (bob,) = fill(base_url, room, 1)
    ended(end(room.creator, room.id))
    assert_error(end(bob, room.id), 40301)


def test_end_by_a_stranger_is_40402(base_url: str) -> None:
    room = new_room(base_url)
    joined(register(base_url), room.number)
    stranger = register(base_url)
    assert_error(end(stranger, room.id), 40402)
    assert_error(end(stranger, f"meeting_{uuid.uuid4().hex[:16]}"), 40402)
    data = detail_data(room.creator, room.id)
    assert data["status"] == "active"
    assert data["participant_count"] == 1


def test_end_without_auth_is_40103(base_url: str) -> None:
    room = new_room(base_url)
    with client(base_url) as anonymous:
        assert_error(anonymous.post(f"/meetings/{room.id}/end"), 40103)
    assert detail_data(room.creator, room.id)["status"] == "waiting"


# -- lists ------------------------------------------------------------------------------------


def test_list_my_has_meetings_i_created_not_ones_i_only_joined(base_url: str) -> None:
    alice = register(base_url)
    bob = register(base_url)
    mine = create_meeting(alice, "我的")
    bobs = create_meeting(bob, "鲍勃的")
    joined(alice, bobs["meeting_number"])
    assert list_ids(alice, type="my") == [mine["id"]]
    assert list_ids(bob, type="my") == [bobs["id"]]
    data = list_data(alice, type="my")
    (item,) = data["meetings"]
    assert {k: item[k] for k in MEETING_KEYS} == {k: mine[k] for k in MEETING_KEYS}
    assert data["pagination"]["total"] == 1


def test_list_history_has_meetings_i_joined_including_ended(base_url: str) -> None:
    alice = register(base_url)
    bob = register(base_url)
    only_created = create_meeting(alice, "只创建")
    joined_active = create_meeting(bob, "进行中")
    joined_ended = create_meeting(bob, "已结束")
    joined(alice, joined_active["meeting_number"])
    joined(alice, joined_ended["meeting_number"])
    joined(alice, joined_ended["meeting_number"])  # idempotent: listed once
    ended(end(bob, joined_ended["id"]))

    data = list_data(alice, type="history")
    assert [m["id"] for m in data["meetings"]] == [joined_ended["id"], joined_active["id"]]
    assert data["pagination"]["total"] == 2
    statuses = {m["id"]: m["status"] for m in data["meetings"]}
    assert statuses == {joined_ended["id"]: "ended", joined_active["id"]: "active"}
    assert only_created["id"] not in [m["id"] for m in data["meetings"]]
    assert list_ids(bob, type="history") == []


def test_list_default_type_is_my(base_url: str) -> None:
    alice = register(base_url)
    bob = register(base_url)
    mine = create_meeting(alice)
    joined(alice, create_meeting(bob)["meeting_number"])
    data = ok(alice.get("/meetings"))
    assert [m["id"] for m in data["meetings"]] == [mine["id"]]
    assert data["pagination"] == {"page": 1, "limit": 20, "total": 1, "total_pages": 1}


def test_list_is_newest_first(base_url: str) -> None:
    alice = register(base_url)
    created = [create_meeting(alice, f"第{i}个") for i in range(6)]
    items = list_data(alice, type="my")["meetings"]
    assert [m["id"] for m in items] == [m["id"] for m in reversed(created)]
    stamps = [ts(m["created_at"]) for m in items]
    assert stamps == sorted(stamps, reverse=True)
    for newer, older in itertools.pairwise(items):
        if newer["created_at"] == older["created_at"]:
            assert newer["id"] > older["id"]


def test_list_history_is_ordered_by_meeting_creation_not_join_time(base_url: str) -> None:
    host = register(base_url)
    guest = register(base_url)
    older = create_meeting(host, "先创建")
    newer = create_meeting(host, "后创建")
    joined(guest, newer["meeting_number"])
    joined(guest, older["meeting_number"])
    assert list_ids(guest, type="history") == [newer["id"], older["id"]]


def test_list_pagination(base_url: str) -> None:
    alice = register(base_url)
    created = [create_meeting(alice, f"分页{i}") for i in range(5)]
    newest_first = [m["id"] for m in reversed(created)]

    pages = []
    for page, size in ((1, 2), (2, 2), (3, 1)):
        data = list_data(alice, type="my", page=page, limit=2)
        assert data["pagination"] == {"page": page, "limit": 2, "total": 5, "total_pages": 3}
        assert len(data["meetings"]) == size
        pages += [m["id"] for m in data["meetings"]]
    assert pages == newest_first

    data = list_data(alice, page=1, limit=5)
    assert data["pagination"] == {"page": 1, "limit": 5, "total": 5, "total_pages": 1}
    data = list_data(alice, page=1, limit=3)
    assert data["pagination"]["total_pages"] == 2


@pytest.mark.parametrize("page", [4, 10, 1000])
def test_list_page_past_the_end_is_empty_with_correct_totals(base_url: str, page: int) -> None:
    alice = register(base_url)
    for i in range(5):
        create_meeting(alice, f"越界{i}")
    data = list_data(alice, page=page, limit=2)
    assert data["meetings"] == []
    assert data["pagination"] == {"page": page, "limit": 2, "total": 5, "total_pages": 3}


def test_list_with_nothing_is_empty(base_url: str) -> None:
    alice = register(base_url)
    for kind in ("my", "history"):
        data = list_data(alice, type=kind)
        assert data["meetings"] == []
        assert data["pagination"]["total"] == 0
        assert data["pagination"]["page"] == 1
        assert data["pagination"]["limit"] == 20


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"type": "other"}, "type"),
        ({"type": "MY"}, "type"),
        ({"type": ""}, "type"),
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else None,
)
def test_list_bad_params_are_40004(base_url: str, params: dict[str, str], field: str) -> None:
    alice = register(base_url)
    body = assert_error(listing(alice, **params), 40004)
    assert field in body.get("details", {}), body


@pytest.mark.parametrize("kind", ["my", "history"])
def test_list_accepts_limit_100_and_page_1(base_url: str, kind: str) -> None:
    alice = register(base_url)
    create_meeting(alice)
    data = list_data(alice, type=kind, page=1, limit=100)
    assert data["pagination"]["page"] == 1
    assert data["pagination"]["limit"] == 100
    data = list_data(alice, type=kind, limit=1)
    assert data["pagination"]["limit"] == 1


def test_list_without_auth_is_40103(base_url: str) -> None:
    with client(base_url) as anonymous:
        assert_error(anonymous.get("/meetings"), 40103)


def test_lists_are_per_user(base_url: str) -> None:
    alice = register(base_url)
    bob = register(base_url)
    create_meeting(alice)
    create_meeting(alice)
    assert list_data(bob)["pagination"]["total"] == 0
    assert list_data(alice)["pagination"]["total"] == 2


# -- expiry (dedicated server: a waiting meeting expires after EXPIRY seconds) ------------------


@dataclass
class ExpirySetup:
    base_url: str
    creator: User
    guest: User
    expired: dict[str, Any]  # waiting, nobody joined: expired
    active: dict[str, Any]  # joined before the expiry: not expired
    ended_early: dict[str, Any]  # ended by its creator before the expiry


@pytest.fixture(scope="module")
def expiry(backend: str, start_server: Callable[..., ServerProcess]) -> Iterator[ExpirySetup]:
    server = start_server(backend, meeting_expiry=EXPIRY)
    creator = register(server.url, nickname="创建者")
    guest = register(server.url, nickname="来宾")
    expired = create_meeting(creator, "过期")
    active = create_meeting(creator, "进行中")
    ended_early = create_meeting(creator, "提前结束")
    joined(guest, active["meeting_number"])
    ended(end(creator, ended_early["id"]))
    before = detail_data(creator, expired["id"])
    assert before["status"] == "waiting", "setup too slow: the meeting expired already"
    deadline = ts(expired["created_at"]) + timedelta(seconds=EXPIRY, milliseconds=100)
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()))
    yield ExpirySetup(server.url, creator, guest, expired, active, ended_early)


def test_join_expired_waiting_meeting_is_40402(expiry: ExpirySetup) -> None:
    stranger = register(expiry.base_url)
    body = assert_error(join(stranger, expiry.expired["meeting_number"]), 40402)
    assert body["message"] == "会议不存在"
    assert_error(join(expiry.creator, expiry.expired["meeting_number"]), 40402)
    # The refused join changed nothing.
    assert list_data(stranger, type="history")["meetings"] == []
    assert detail_data(expiry.creator, expiry.expired["id"])["participant_count"] == 0


def test_expired_meeting_reads_as_ended_at_created_plus_expiry(expiry: ExpirySetup) -> None:
    created_at = ts(expiry.expired["created_at"])
    data = detail_data(expiry.creator, expiry.expired["id"])
    assert data["status"] == "ended"
    assert data["started_at"] is None
    assert ts(data["ended_at"]) == created_at + timedelta(seconds=EXPIRY)
    assert data["participants"] == []

    items = {m["id"]: m for m in list_data(expiry.creator, type="my")["meetings"]}
    listed = items[expiry.expired["id"]]
    assert listed["status"] == "ended"
    assert listed["ended_at"] == data["ended_at"]
    assert ts(listed["ended_at"]) == created_at + timedelta(seconds=EXPIRY)


def test_expired_meeting_stays_hidden_from_strangers(expiry: ExpirySetup) -> None:
    stranger = register(expiry.base_url)
    assert_error(detail(stranger, expiry.expired["id"]), 40402)
    assert_error(end(stranger, expiry.expired["id"]), 40402)


def test_ending_an_expired_meeting_is_200_and_keeps_its_expiry_time(expiry: ExpirySetup) -> None:
    # An expired meeting reads as ended, and ending an ended meeting again is 200.
    before = detail_data(expiry.creator, expiry.expired["id"])
    response = end(expiry.creator, expiry.expired["id"])
    assert response.status_code == 200, response.text
    assert response.json()["code"] == 0
    after = detail_data(expiry.creator, expiry.expired["id"])
    assert after["status"] == "ended"
    assert after["ended_at"] == before["ended_at"]
    assert_error(join(register(expiry.base_url), expiry.expired["meeting_number"]), 40402)


def test_joined_meeting_does_not_expire(expiry: ExpirySetup) -> None:
    data = detail_data(expiry.creator, expiry.active["id"])
    assert data["status"] == "active"
    assert data["ended_at"] is None
    assert seat_ids(data) == [expiry.guest.id]
    late = register(expiry.base_url)
    data = joined(late, expiry.active["meeting_number"])
    assert data["status"] == "active"
    assert sorted(seat_ids(data)) == sorted([expiry.guest.id, late.id])


def test_meeting_ended_before_expiry_keeps_its_end_time(expiry: ExpirySetup) -> None:
    data = detail_data(expiry.creator, expiry.ended_early["id"])
    assert data["status"] == "ended"
    ended_at = ts(data["ended_at"])
    assert ended_at < ts(expiry.ended_early["created_at"]) + timedelta(seconds=EXPIRY)
    assert_error(join(register(expiry.base_url), expiry.ended_early["meeting_number"]), 40005)


def test_capacity_follows_max_participants(
    backend: str, start_server: Callable[..., ServerProcess]
) -> None:
    server = start_server(backend, max_participants=2)
    creator = register(server.url)
    meeting = create_meeting(creator)
    number = meeting["meeting_number"]
    for user in (creator, register(server.url)):
        assert join(user, number).status_code == 200
    assert_error(join(register(server.url), number), 40006)
    assert detail_data(creator, meeting["id"])["participant_count"] == 2
