"""``GET /meetings``: my meetings and my history, their order, pagination and parameters."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.utils.api import User, assert_error, client, create_meeting, ok, register
from tests.utils.meetings import MEETING_KEYS, end, ended, joined, list_data, listing, ts


def list_ids(user: User, **params: Any) -> list[str]:
    return [m["id"] for m in list_data(user, limit=100, **params)["meetings"]]


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
