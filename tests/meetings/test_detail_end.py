"""``GET /meetings/{id}`` and ``POST /meetings/{id}/end``: who may see and end a meeting, and what
ending it does to the seats."""

from __future__ import annotations

import uuid

from tests.utils.api import assert_error, client, join, register, seat_ids
from tests.utils.meetings import (
    PARTICIPANT_KEYS,
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
    hidden = assert_error(get_detail(stranger, room.id), 40402)
    unknown = assert_error(get_detail(stranger, f"meeting_{uuid.uuid4().hex[:16]}"), 40402)
    assert hidden == unknown
    assert_error(get_detail(stranger, "nonsense"), 40402)
    # Knowing the number is not seeing the meeting: the detail is by id.
    assert_error(get_detail(stranger, room.number), 40402)


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
