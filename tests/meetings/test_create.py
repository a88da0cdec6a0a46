"""``POST /meetings``: the meeting it creates, its optional title, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.utils.api import assert_error, client, create_meeting, ok, register
from tests.utils.meetings import NUMBER, assert_meeting_shape, detail_data, list_data, ts


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
    response = alice.post("/meetings") if content is None else alice.post_raw("/meetings", content)
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
    assert_error(alice.post_raw("/meetings", content), 40003)


@pytest.mark.parametrize(
    "content",
    [b"{title: 1}", b'{"title": "a"', b"not json", b"\xff\xfe"],
    ids=["unquoted-key", "truncated", "text", "bad-utf8"],
)
def test_create_body_not_json_is_40003(base_url: str, content: bytes) -> None:
    alice = register(base_url)
    assert_error(alice.post_raw("/meetings", content), 40003)


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
    assert_error(alice.post_raw("/meetings", b"[]"), 40003)
    assert_error(alice.post_raw("/meetings", b"{oops"), 40003)
    after = list_data(alice)
    assert after["pagination"]["total"] == 1
    assert [m["id"] for m in after["meetings"]] == [m["id"] for m in before["meetings"]]
