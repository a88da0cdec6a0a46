"""One error catalogue (aimeeting.protocol.errors) and where its codes go: the HTTP status and
body the server answers with (aimeeting.server.api.envelope, aimeeting.server.errors), and the
``SDKErrorCode`` the Python SDK raises for each (aimeeting.sdk.errors, DECISIONS §8)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import orjson
import pytest
from starlette.requests import Request

from aimeeting.protocol import ErrorCode
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, sdk_code_for, server_error
from aimeeting.sdk.rest import _refusal
from aimeeting.server.api.envelope import error_response
from aimeeting.server.errors import Throttled, Unavailable
from aimeeting.server.language import language

E, S = ErrorCode, SDKErrorCode

# Every code, its HTTP status and the SDK code it becomes: written out, so that a change to
# any of the three is a change to this table.
TABLE: dict[ErrorCode, tuple[int, SDKErrorCode]] = {
    E.INVALID_EMAIL: (400, S.INVALID_ARGUMENT),
    E.INVALID_PASSWORD: (400, S.INVALID_ARGUMENT),
    E.MISSING_FIELD: (400, S.INVALID_ARGUMENT),
    E.INVALID_PARAMETER: (400, S.INVALID_ARGUMENT),
    E.MEETING_ENDED: (400, S.INVALID_ARGUMENT),
    E.MEETING_FULL: (400, S.INVALID_ARGUMENT),
    E.WRONG_CREDENTIALS: (401, S.PERMISSION_DENIED),
    E.TOKEN_EXPIRED: (401, S.PERMISSION_DENIED),
    E.TOKEN_INVALID: (401, S.PERMISSION_DENIED),
    E.FORBIDDEN: (403, S.PERMISSION_DENIED),
    E.ROUTE_NOT_FOUND: (404, S.INVALID_ARGUMENT),
    E.USER_NOT_FOUND: (404, S.INVALID_ARGUMENT),
    E.MEETING_NOT_FOUND: (404, S.MEETING_NOT_FOUND),
    E.METHOD_NOT_ALLOWED: (405, S.INVALID_ARGUMENT),
    E.EMAIL_TAKEN: (409, S.INVALID_ARGUMENT),
    E.PAYLOAD_TOO_LARGE: (413, S.INVALID_ARGUMENT),
    E.TOO_MANY_REQUESTS: (429, S.NETWORK_ERROR),
    E.ACCOUNT_LOCKED: (429, S.PERMISSION_DENIED),
    E.INTERNAL_ERROR: (500, S.NETWORK_ERROR),
    E.SERVICE_UNAVAILABLE: (503, S.NETWORK_ERROR),
}


def test_the_table_names_every_code_of_the_catalogue() -> None:
    assert set(TABLE) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.name)
def test_a_codes_http_status_is_its_first_three_digits_and_it_has_both_texts(
    code: ErrorCode,
) -> None:
    status, _ = TABLE[code]
    assert code.http_status == status == int(code) // 100
    assert 400 <= HTTPStatus(status) < 600  # a real status, and an error one
    zh, en = code.message("zh"), code.message("en")
    assert zh and en and zh != en
    assert en.isascii() and not zh.isascii()  # the English text is English, the default Chinese
    assert code.message() == zh


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.name)
def test_the_server_answers_a_code_with_its_status_and_envelope(code: ErrorCode) -> None:
    response = error_response("en", code, {"field": "why"}, {"Retry-After": "3"})
    assert response.status_code == TABLE[code][0]
    assert orjson.loads(response.body) == {
        "code": int(code),
        "message": code.message("en"),
        "details": {"field": "why"},
    }
    assert response.headers["Retry-After"] == "3"
    assert response.headers["content-type"] == "application/json"
    bare = error_response("zh", code)
    assert orjson.loads(bare.body) == {"code": int(code), "message": code.message("zh")}


@pytest.mark.parametrize(
    ("retry_after", "seconds"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.2, 2), (59.5, 60)]
)
def test_a_throttle_says_the_whole_seconds_to_wait_rounded_up_never_zero(
    retry_after: float, seconds: int
) -> None:
    throttled = Throttled(ErrorCode.TOO_MANY_REQUESTS, retry_after)
    assert throttled.code is ErrorCode.TOO_MANY_REQUESTS
    assert throttled.details == {"retry_after": seconds}
    assert throttled.headers == {"Retry-After": str(seconds)}


def test_unavailable_is_503_with_a_wait_only_when_given() -> None:
    plain = Unavailable({"redis": "unreachable"})
    assert (plain.code, plain.details, plain.headers) == (
        ErrorCode.SERVICE_UNAVAILABLE,
        {"redis": "unreachable"},
        {},
    )
    waiting = Unavailable({"redis": "unreachable"}, retry_after=2)
    assert waiting.details == {"redis": "unreachable", "retry_after": 2}
    assert waiting.headers == {"Retry-After": "2"}


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.name)
def test_the_sdk_maps_each_server_code(code: ErrorCode) -> None:
    assert sdk_code_for(int(code)) is TABLE[code][1]


@pytest.mark.parametrize(
    ("server_code", "sdk_code"),
    [(40099, S.INVALID_ARGUMENT), (40199, S.PERMISSION_DENIED), (40399, S.PERMISSION_DENIED),
     (40499, S.INVALID_ARGUMENT), (42999, S.NETWORK_ERROR), (50299, S.NETWORK_ERROR)],
)  # fmt: skip
def test_the_sdk_maps_codes_it_does_not_know_by_their_status(
    server_code: int, sdk_code: SDKErrorCode
) -> None:
    """A newer server's codes still land in the right family."""
    assert sdk_code_for(server_code) is sdk_code


def test_a_server_error_keeps_the_servers_code_text_and_details() -> None:
    error = server_error(42902, "Account locked", {"retry_after": 840})
    assert error.code is S.PERMISSION_DENIED and error.message == "Account locked"
    assert error.details == {
        "server_code": 42902,
        "server_message": "Account locked",
        "server_details": {"retry_after": 840},
    }
    assert (error.server_code, error.retry_after) == (42902, 840.0)
    bare = server_error(40402, "Meeting not found")
    assert bare.details == {"server_code": 40402, "server_message": "Meeting not found"}
    assert (bare.server_code, bare.retry_after) == (40402, None)


@pytest.mark.parametrize(
    "details",
    [None, "text", {"server_code": "42901"}, {"server_details": {"retry_after": True}},
     {"server_details": {"retry_after": "5"}}, {"server_details": [5]}],
)  # fmt: skip
def test_odd_details_give_no_server_code_or_wait(details: Any) -> None:
    error = MeetingError(S.NETWORK_ERROR, "odd", details)
    assert (error.server_code, error.retry_after) == (None, None)


def test_an_answer_that_is_not_our_envelope_is_a_network_error() -> None:
    refused = _refusal(409, {"code": 40901, "message": "Email already registered"})
    assert (refused.code, refused.server_code) == (S.INVALID_ARGUMENT, 40901)
    for body in ({"error": "nope"}, ["x"], {"code": "40901"}):
        other = _refusal(502, body)
        assert other.code is S.NETWORK_ERROR and other.server_code is None
        assert other.details == {"http_status": 502}
        assert other.message == "unexpected answer (HTTP 502)"


@pytest.mark.parametrize(
    ("accept", "lang"),
    [("", "zh"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
     ("en;q=0.5, zh;q=0.6", "zh"), ("zh;q=0.4, en;q=0.6", "en"), ("fr, de", "zh"),
     ("en;q=oops", "zh"), ("fr, en;q=0.1", "en")],
)  # fmt: skip
def test_the_error_texts_language_follows_accept_language(accept: str, lang: str) -> None:
    scope = {"type": "http", "headers": [(b"accept-language", accept.encode())]}
    assert language(Request(scope)) == lang
