"""Real responses of a realistic scenario validate against the contract's schemas (strictly for
2xx: every property the contract lists is present; timestamps RFC 3339 in UTC with ``Z``)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from harness.server import ServerProcess, StartServer
from tests.utils.api import PASSWORD, client, register, unique_email
from tests.utils.contract import body_problems


def check(response: httpx.Response, path: str, method: str | None = None) -> dict[str, Any]:
    """Assert that a real response conforms to the contract's operation; return its body."""
    method = (method or response.request.method).lower()
    problems = body_problems(
        path,
        method,
        response.status_code,
        response.text,
        response.headers.get("content-type", ""),
    )
    assert not problems, "\n".join(problems)
    body: dict[str, Any] = response.json()
    return body


def check_error(
    response: httpx.Response, path: str, code: int, method: str | None = None
) -> dict[str, Any]:
    body = check(response, path, method)
    assert (response.status_code, body["code"]) == (code // 100, code), response.text
    return body


# --------------------------------------------------------------------------- 2. real responses


def test_auth_responses_match_contract(base_url: str) -> None:
    http = client(base_url)
    email = unique_email("contract")
    registered = http.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "nickname": "契约用户"}
    )
    assert registered.status_code == 201, registered.text
    data = check(registered, "/auth/register")["data"]
    assert data["user"]["email"] == email and data["tokens"]["token_type"] == "Bearer"
    assert data["user"]["id"].startswith("user_"), data

    logged_in = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    tokens = check(logged_in, "/auth/login")["data"]["tokens"]
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    refreshed = http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert check(refreshed, "/auth/refresh")["data"]["token_type"] == "Bearer"

    me = http.get("/users/me", headers=auth)
    assert me.status_code == 200, me.text
    assert check(me, "/users/me")["data"]["email"] == email

    logout = http.post("/auth/logout", headers=auth)
    assert logout.status_code == 200, logout.text
    check(logout, "/auth/logout")

    # The errors, each against the contract's response for its status.
    check_error(http.get("/users/me", headers=auth), "/users/me", 40103)
    check_error(http.post("/auth/logout", headers=auth), "/auth/logout", 40103)
    check_error(
        http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        "/auth/refresh",
        40103,
    )
    check_error(http.get("/users/me"), "/users/me", 40103)
    check_error(
        http.get("/users/me", headers={"Authorization": "Bearer not.a.jwt"}), "/users/me", 40103
    )
    check_error(
        http.post("/auth/refresh", json={"refresh_token": "not-a-token"}), "/auth/refresh", 40103
    )
    other = client(base_url)
    check_error(
        other.post("/auth/login", json={"email": email, "password": "Wrong1234"}),
        "/auth/login",
        40101,
    )
    check_error(
        other.post("/auth/login", json={"email": unique_email(), "password": PASSWORD}),
        "/auth/login",
        40101,
    )
    register_path = "/auth/register"
    valid = {"email": unique_email(), "password": PASSWORD, "nickname": "测试用户"}
    check_error(http.post(register_path, json={**valid, "email": email}), register_path, 40901)
    check_error(
        http.post(register_path, json={**valid, "email": "not-an-email"}), register_path, 40001
    )
    check_error(
        http.post(register_path, json={**valid, "password": "short1"}), register_path, 40002
    )
    check_error(
        http.post(register_path, json={**valid, "password": "lettersonly"}), register_path, 40002
    )
    check_error(
        http.post(register_path, json={"email": valid["email"], "password": PASSWORD}),
        register_path,
        40003,
    )
    check_error(
        http.post(register_path, content=b"{", headers={"Content-Type": "application/json"}),
        register_path,
        40003,
    )
    check_error(http.post("/auth/login", json={"email": email}), "/auth/login", 40003)
    check_error(
        http.post("/auth/login", json={"email": "nope", "password": PASSWORD}),
        "/auth/login",
        40001,
    )


def test_meeting_responses_match_contract(base_url: str) -> None:
    alice, bob, carol = register(base_url), register(base_url), register(base_url)

    created = alice.post("/meetings", json={"title": "契约会议"})
    assert created.status_code == 201, created.text
    meeting = check(created, "/meetings")["data"]
    assert re.fullmatch(r"\d{9}", meeting["meeting_number"]), meeting
    assert meeting["status"] == "waiting" and meeting["creator_id"] == alice.id, meeting
    assert meeting["started_at"] is None and meeting["ended_at"] is None, meeting
    untitled = alice.post("/meetings")
    assert untitled.status_code == 201, untitled.text
    assert check(untitled, "/meetings")["data"]["title"] is None

    join_path, detail_path = "/meetings/{meeting_number}/join", "/meetings/{meeting_id}"
    end_path = "/meetings/{meeting_id}/end"
    number, meeting_id = meeting["meeting_number"], meeting["id"]

    joined = alice.post(f"/meetings/{number}/join")
    assert joined.status_code == 200, joined.text
    detail = check(joined, join_path)["data"]
    assert detail["status"] == "active" and detail["started_at"] is not None, detail
    joined = bob.post(f"/meetings/{number}/join")
    assert joined.status_code == 200, joined.text
    detail = check(joined, join_path)["data"]
    assert detail["participant_count"] == len(detail["participants"]) == 2, detail

    for user in (alice, bob):
        response = user.get(f"/meetings/{meeting_id}")
        assert response.status_code == 200, response.text
        assert check(response, detail_path)["data"]["id"] == meeting_id

    for user, kind in ((alice, "my"), (bob, "history"), (carol, "my")):
        response = user.get("/meetings", params={"type": kind, "page": 1, "limit": 1})
        assert response.status_code == 200, response.text
        listing = check(response, "/meetings")["data"]
        assert listing["pagination"]["limit"] == 1, listing
    past_end = alice.get("/meetings", params={"page": 99})
    assert past_end.status_code == 200, past_end.text
    assert check(past_end, "/meetings")["data"]["meetings"] == []

    check_error(carol.get(f"/meetings/{meeting_id}"), detail_path, 40402)
    check_error(carol.post(f"/meetings/{meeting_id}/end"), end_path, 40402)
    check_error(bob.post(f"/meetings/{meeting_id}/end"), end_path, 40301)
    check_error(alice.get("/meetings/meeting_doesnotexist"), detail_path, 40402)
    check_error(carol.post("/meetings/100000000/join"), join_path, 40402)
    check_error(carol.post("/meetings/12345/join"), join_path, 40004)
    check_error(carol.http.post("/meetings"), "/meetings", 40103)
    check_error(carol.http.get("/meetings"), "/meetings", 40103)
    check_error(carol.http.get(f"/meetings/{meeting_id}"), detail_path, 40103)
    check_error(carol.http.post(f"/meetings/{number}/join"), join_path, 40103)
    check_error(carol.http.post(f"/meetings/{meeting_id}/end"), end_path, 40103)
    # DECISIONS §2 extensions, on operations whose contract lists no 400: the Error shape still.
    check_error(alice.get("/meetings", params={"type": "all"}), "/meetings", 40004)
    check_error(alice.post("/meetings", json={"title": "长" * 101}), "/meetings", 40004)

    ended = alice.post(f"/meetings/{meeting_id}/end")
    assert ended.status_code == 200, ended.text
    check(ended, end_path)
    again = alice.post(f"/meetings/{meeting_id}/end")
    assert again.status_code == 200, again.text
    check(again, end_path)
    response = bob.get(f"/meetings/{meeting_id}")
    assert response.status_code == 200, response.text
    detail = check(response, detail_path)["data"]
    assert detail["status"] == "ended" and detail["ended_at"] is not None, detail
    check_error(carol.post(f"/meetings/{number}/join"), join_path, 40005)


@pytest.fixture(scope="module")
def tight_server(backend: str, start_server: StartServer) -> ServerProcess:
    """One login a minute per IP, access tokens that live one second."""
    return start_server(backend, login_rate_limit="1/minute", access_token_ttl=1)


def test_throttled_and_expired_responses_match_contract(tight_server: ServerProcess) -> None:
    base_url = tight_server.url
    user = register(base_url)
    issued = time.monotonic()
    http = client(base_url)
    first = http.post("/auth/login", json={"email": user.email, "password": user.password})
    assert first.status_code == 200, first.text
    check(first, "/auth/login")
    second = http.post("/auth/login", json={"email": user.email, "password": user.password})
    check_error(second, "/auth/login", 42901)
    assert int(second.headers["Retry-After"]) >= 1, second.headers

    # A 1 s token lives up to 2 s: ``exp`` is rounded up to whole seconds.
    time.sleep(max(0.0, issued + 2.05 - time.monotonic()))
    check_error(user.get("/users/me"), "/users/me", 40102)
    check_error(user.post("/meetings"), "/meetings", 40102)
    check_error(user.post("/auth/logout"), "/auth/logout", 40102)
