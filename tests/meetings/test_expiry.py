"""Waiting meetings expire (dedicated server: a waiting meeting expires after ``EXPIRY`` seconds);
joined and ended ones keep their state."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.server import StartServer
from tests.utils.api import User, assert_error, create_meeting, join, register, seat_ids
from tests.utils.meetings import detail_data, end, ended, get_detail, joined, list_data, ts

EXPIRY = 1  # seconds a waiting meeting lives on the dedicated expiry server


@dataclass
class ExpirySetup:
    base_url: str
    creator: User
    guest: User
    expired: dict[str, Any]  # waiting, nobody joined: expired
    active: dict[str, Any]  # joined before the expiry: not expired
    ended_early: dict[str, Any]  # ended by its creator before the expiry


@pytest.fixture(scope="module")
def expiry(backend: str, start_server: StartServer) -> Iterator[ExpirySetup]:
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
    assert_error(get_detail(stranger, expiry.expired["id"]), 40402)
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
