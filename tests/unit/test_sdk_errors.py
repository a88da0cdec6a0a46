"""The Python SDK's ``MeetingError`` subclasses (aimeeting.sdk.errors): one per family of server
codes, chosen by the one factory (``server_error``) from the one catalogue (``ErrorCode``)."""

from __future__ import annotations

import pytest

from aimeeting.protocol import ErrorCode
from aimeeting.sdk import errors
from aimeeting.sdk.errors import (
    AccountLockedError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    MeetingEndedError,
    MeetingError,
    MeetingFullError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    ServerRefusedError,
    ServiceUnavailableError,
    error_class_for,
    server_error,
)
from aimeeting.sdk.rest import _refusal

E = ErrorCode

# Every code and the class it raises as: written out, so a change to either is a change here.
CLASSES: dict[ErrorCode, type[ServerRefusedError]] = {
    E.INVALID_EMAIL: BadRequestError,
    E.INVALID_PASSWORD: BadRequestError,
    E.MISSING_FIELD: BadRequestError,
    E.INVALID_PARAMETER: BadRequestError,
    E.MEETING_ENDED: MeetingEndedError,
    E.MEETING_FULL: MeetingFullError,
    E.WRONG_CREDENTIALS: AuthenticationError,
    E.TOKEN_EXPIRED: AuthenticationError,
    E.TOKEN_INVALID: AuthenticationError,
    E.FORBIDDEN: PermissionDeniedError,
    E.ROUTE_NOT_FOUND: NotFoundError,
    E.USER_NOT_FOUND: NotFoundError,
    E.MEETING_NOT_FOUND: NotFoundError,
    E.METHOD_NOT_ALLOWED: MethodNotAllowedError,
    E.EMAIL_TAKEN: ConflictError,
    E.PAYLOAD_TOO_LARGE: PayloadTooLargeError,
    E.TOO_MANY_REQUESTS: RateLimitedError,
    E.ACCOUNT_LOCKED: AccountLockedError,
    E.INTERNAL_ERROR: InternalServerError,
    E.SERVICE_UNAVAILABLE: ServiceUnavailableError,
}


def test_the_table_names_every_code_of_the_catalogue() -> None:
    assert set(CLASSES) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.name)
def test_each_server_code_raises_as_its_class_with_its_code_typed(code: ErrorCode) -> None:
    error = server_error(int(code), "refused", {"retry_after": 3})
    assert type(error) is CLASSES[code]
    assert isinstance(error, MeetingError)  # ``except MeetingError`` still catches it
    assert error.server_code is code  # the catalogue's member, not a bare int
    assert error.http_status == code.http_status  # its family is its HTTP status


def test_every_family_holds_a_code_of_the_catalogue() -> None:
    """No class for a status the catalogue does not use, and none missing for one it does."""
    families = {cls for cls in vars(errors).values() if _is_family(cls)}
    assert {cls.http_status for cls in families} == {code.http_status for code in ErrorCode}


def _is_family(cls: object) -> bool:
    return (
        isinstance(cls, type)
        and issubclass(cls, ServerRefusedError)
        and "http_status" in vars(cls)
        and cls is not ServerRefusedError
    )


@pytest.mark.parametrize(
    ("server_code", "cls"),
    [(40099, BadRequestError), (40199, AuthenticationError), (40499, NotFoundError),
     (42999, RateLimitedError), (50399, ServiceUnavailableError), (41801, ServerRefusedError),
     (50201, ServerRefusedError)],
)  # fmt: skip
def test_codes_the_sdk_does_not_know_land_in_their_family(
    server_code: int, cls: type[ServerRefusedError]
) -> None:
    """A newer server's code: its family's class, its code a plain int."""
    assert error_class_for(server_code) is cls
    error = server_error(server_code, "new")
    assert type(error) is cls and error.server_code == server_code
    assert not isinstance(error.server_code, ErrorCode)


def test_a_rate_limit_says_how_long_to_wait() -> None:
    limited = server_error(E.TOO_MANY_REQUESTS, "slow down", {"retry_after": 12})
    locked = server_error(E.ACCOUNT_LOCKED, "locked", {"retry_after": 840})
    assert isinstance(locked, RateLimitedError)
    assert (limited.retry_after, locked.retry_after) == (12.0, 840.0)
    assert repr(locked).startswith("AccountLockedError(PERMISSION_DENIED, 'locked'")


def test_a_rest_refusal_is_made_by_the_same_factory() -> None:
    refused = _refusal(409, {"code": 40901, "message": "Email already registered"})
    assert isinstance(refused, ConflictError) and refused.server_code is E.EMAIL_TAKEN
    other = _refusal(502, {"error": "nope"})  # not our envelope: no server code, no family
    assert type(other) is MeetingError and other.server_code is None
