"""Bad input of every kind: a clear 4xx in the error envelope, never a 5xx, nothing changed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.utils.api import PASSWORD, assert_error, client, create_meeting, register, unique_email

ODD_NICKNAMES = [
    "👩‍👩‍👧‍👦 家",  # ZWJ emoji sequence
    "שלום עולם",  # right-to-left
    "e\u0301e\u0301",  # combining accents
    "';DROP TABLE users--",
    "' OR '1'='1",
    "名前\u200bテスト",  # zero-width space
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # astral plane
]


def test_unknown_route_answers_in_the_envelope(base_url: str) -> None:
    for path in ("/v1/nope", "/nope", "/v1/meetings/x/y/z", "/v1/auth"):
        body = assert_error(httpx.get(base_url + path, timeout=10), 40400)
        assert "detail" not in body


def test_wrong_method_answers_405_with_allow(base_url: str) -> None:
    response = httpx.delete(f"{base_url}/v1/users/me", timeout=10)
    assert_error(response, 40500)
    assert "GET" in response.headers["allow"]
    assert_error(httpx.put(f"{base_url}/v1/auth/login", timeout=10), 40500)
    assert_error(httpx.get(f"{base_url}/v1/auth/register", timeout=10), 40500)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[1,2]", b'"text"', b"42", b"null", b"\xff\xfe", b"[" * 5000],
    ids=["truncated", "text", "array", "string", "number", "null", "bad-utf8", "deep-nesting"],
)
def test_malformed_bodies_are_40003(base_url: str, raw: bytes) -> None:
    """40003 (DECISIONS §2: "not JSON, not an object"), with details saying which it was."""
    http = client(base_url)
    user = register(base_url)
    responses = [http.post(path, content=raw) for path in ("/auth/register", "/auth/login")]
    responses += [http.post("/auth/refresh", content=raw), user.post("/meetings", content=raw)]
    for response in responses:
        problem = assert_error(response, 40003)["details"]["body"]
        if raw in (b"[1,2]", b'"text"', b"42", b"null"):  # JSON, but not an object
            assert problem.startswith("must be a JSON object, not "), problem
        else:
            assert re.fullmatch(r"malformed JSON: .+ at line \d+ column \d+", problem), problem


def test_lone_surrogate_in_json_is_rejected(base_url: str) -> None:
    raw = b'{"email": "a@b.co", "password": "Password1", "nickname": "\\ud800x"}'
    response = client(base_url).post("/auth/register", content=raw)
    assert response.status_code == 400, response.text


def test_body_over_the_cap_is_413(base_url: str) -> None:
    http = client(base_url)
    huge = b'{"email": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    assert_error(http.post("/auth/register", content=huge), 41301)


def test_chunked_body_over_the_cap_is_413(base_url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"nickname": "'
        for _ in range(200):
            yield b"x" * 1024
        yield b'"}'

    # A generator body is sent chunked, with no Content-Length to refuse it by.
    assert_error(client(base_url).post("/auth/register", content=chunks()), 41301)


def test_odd_unicode_and_sql_looking_text_round_trips(base_url: str) -> None:
    for nickname in ODD_NICKNAMES:
        user = register(base_url, nickname=nickname)
        me = user.get("/users/me").json()["data"]
        assert me["nickname"] == nickname.strip()
        meeting = create_meeting(user, title=nickname)
        assert meeting["title"] == nickname.strip()
    # The tables are still there and working.
    assert register(base_url).get("/users/me").status_code == 200


@pytest.mark.parametrize(
    "email",
    [
        "<script>@x.com",
        "x@y.com'; DROP TABLE users;--",
        "nul\u0000@x.com",
        "a@b",
        " @x.com",
        "a" * 300,
    ],
)
def test_bad_emails_are_40001_and_create_nothing(base_url: str, email: str) -> None:
    http = client(base_url)
    body = {"email": email, "password": PASSWORD, "nickname": "someone"}
    assert_error(http.post("/auth/register", json=body), 40001)
    assert_error(http.post("/auth/login", json={"email": email, "password": PASSWORD}), 40001)


def test_control_characters_in_text_are_40004(base_url: str) -> None:
    http = client(base_url)
    email = unique_email()
    body = {"email": email, "password": PASSWORD, "nickname": "bad\u0000name"}
    assert_error(http.post("/auth/register", json=body), 40004)
    user = register(base_url)
    assert_error(user.post("/meetings", json={"title": "a\u0000b"}), 40004)
    assert_error(user.post("/meetings", json={"title": "a\u001bb"}), 40004)
    # The refused registration left nothing behind: the same email registers now.
    body["nickname"] = "goodname"
    assert http.post("/auth/register", json=body).status_code == 201


@pytest.mark.parametrize(
    "meeting_id",
    ["' OR 1=1 --", "meeting_%00", "meeting_" + "f" * 5000, "%5C..%5Cetc", "meeting_ZZZZ", "😀"],
)
def test_odd_meeting_ids_are_not_found(base_url: str, meeting_id: str) -> None:
    user = register(base_url)
    assert_error(user.get(f"/meetings/{meeting_id}"), 40402)
    assert_error(user.post(f"/meetings/{meeting_id}/end"), 40402)


@pytest.mark.parametrize(
    "query",
    ["page=%00", "type=%00", "limit=1e3", "page=99999999999999999999999", "page=1.5", "limit="],
)
def test_odd_query_parameters_are_40004(base_url: str, query: str) -> None:
    user = register(base_url)
    assert_error(user.get(f"/meetings?{query}"), 40004)


def test_wrong_json_types_are_40004_and_create_nothing(base_url: str) -> None:
    user = register(base_url)
    before = user.get("/meetings").json()["data"]["pagination"]["total"]
    for title in (123, True, ["a"], {"a": 1}, 1.5):
        assert_error(user.post("/meetings", json={"title": title}), 40004)
    assert user.get("/meetings").json()["data"]["pagination"]["total"] == before


def test_no_response_uses_the_framework_shapes(base_url: str) -> None:
    """Never a 422, never {"detail": ...}: probe the places frameworks answer by themselves."""
    user = register(base_url)
    probes = [
        user.get("/meetings?page=x"),
        user.post("/meetings/12/join"),
        user.http.post("/auth/login", content=b"", headers={"content-type": "application/json"}),
        user.http.post("/auth/login", content=b"a=b", headers={"content-type": "text/plain"}),
        httpx.options(f"{base_url}/v1/users/me", timeout=10),
    ]
    for response in probes:
        assert response.status_code != 422, response.text
        assert response.status_code < 500, response.text
        assert "detail" not in response.json(), response.text
