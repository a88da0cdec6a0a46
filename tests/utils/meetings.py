"""Requests and shape checks of the meeting tests (``tests/meetings/``)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from tests.utils.api import RFC3339_UTC, User, create_meeting, join, ok, register, seat_ids
from tests.utils.ws import Room

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


def ts(value: Any) -> datetime:
    """An RFC 3339 UTC timestamp ending in ``Z``, parsed."""
    assert isinstance(value, str) and RFC3339_UTC.match(value), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def get_detail(user: User, meeting_id: str) -> httpx.Response:
    return user.get(f"/meetings/{meeting_id}")


def detail_data(user: User, meeting_id: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(get_detail(user, meeting_id), message="成功")
    assert_detail_shape(data)
    return data


def end(user: User, meeting_id: str) -> httpx.Response:
    return user.post(f"/meetings/{meeting_id}/end")


def ended(response: httpx.Response) -> None:
    """A successful end: 200, code 0, the contract's message, and no ``data``."""
    ok(response, message="会议已结束", has_data=False)


def listing(user: User, **params: Any) -> httpx.Response:
    return user.get("/meetings", params=params)


def list_data(user: User, **params: Any) -> dict[str, Any]:
    data: dict[str, Any] = ok(listing(user, **params), message="成功")
    assert set(data) >= {"meetings", "pagination"}, data
    assert set(data["pagination"]) >= PAGINATION_KEYS, data
    for meeting in data["meetings"]:
        assert_meeting_shape(meeting)
    return data


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


def new_room(base_url: str, title: str | None = "测试会议") -> Room:
    creator = register(base_url, nickname="创建者")
    return Room(create_meeting(creator, title), [creator])


def fill(base_url: str, room: Room, count: int) -> list[User]:
    users = [register(base_url, nickname=f"参会者{i}") for i in range(count)]
    for user in users:
        joined(user, room.number)
    return users
