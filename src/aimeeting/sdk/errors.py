"""``MeetingError`` and ``SDKErrorCode`` (contract §3), how server codes map to them
(DECISIONS §8; docs/sdk.md lists the choices for 409, 429 and 5xx), and one subclass per
family of server codes (its HTTP status), so callers can ``except NotFoundError``.

The families are keyed by the one catalogue, :class:`aimeeting.protocol.ErrorCode`: a class
names its HTTP status (or its one code), never a list of codes of its own.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar

from aimeeting.protocol import ErrorCode


class SDKErrorCode(IntEnum):
    INIT_FAILED = 10001
    NETWORK_ERROR = 10002
    PERMISSION_DENIED = 10003
    DEVICE_UNAVAILABLE = 10004
    MEETING_NOT_FOUND = 10005
    INVALID_ARGUMENT = 10006


class MeetingError(Exception):
    """What every SDK call raises: an ``SDKErrorCode``, a message, and ``details``.

    When the server refused, ``details["server_code"]`` is its code (e.g. 40005) and
    ``details["server_message"]`` its text; the server's own ``details`` follow under
    ``details["server_details"]``.
    """

    def __init__(self, code: SDKErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def server_code(self) -> ErrorCode | int | None:
        """The server's error code, when the server answered with one: an ``ErrorCode`` when
        the catalogue knows it (a newer server's code stays a plain ``int``)."""
        code = self.details.get("server_code") if isinstance(self.details, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            return None
        return _known(code) or code

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, when the server said so: too many requests
        (42901, e.g. logins from one address, chat messages) or a locked account (42902)."""
        server = self.details.get("server_details") if isinstance(self.details, dict) else None
        wait = server.get("retry_after") if isinstance(server, dict) else None
        return float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.name}, {self.message!r}, {self.details!r})"


class ServerRefusedError(MeetingError):
    """The server answered with an error code (``server_code``); its subclasses below are its
    families. One of a family this SDK does not know (a newer server's) is this class."""

    # The codes a subclass stands for: a family, every code whose HTTP status (its first three
    # digits, ``ErrorCode.http_status``) is ``http_status``; or one code, ``server_code_only``.
    http_status: ClassVar[int | None] = None
    server_code_only: ClassVar[ErrorCode | None] = None


class BadRequestError(ServerRefusedError):
    """400xx: the request itself is wrong (invalid field, meeting ended or full)."""

    http_status = 400


class MeetingEndedError(BadRequestError):
    server_code_only = ErrorCode.MEETING_ENDED


class MeetingFullError(BadRequestError):
    server_code_only = ErrorCode.MEETING_FULL


class AuthenticationError(ServerRefusedError):
    """401xx: wrong email or password, or a token expired or invalid (signed out)."""

    http_status = 401


class PermissionDeniedError(ServerRefusedError):
    """403xx: signed in, but not allowed (e.g. ending a meeting you did not create)."""

    http_status = 403


class NotFoundError(ServerRefusedError):
    """404xx: no such meeting, user or endpoint."""

    http_status = 404


class MethodNotAllowedError(ServerRefusedError):
    http_status = 405


class ConflictError(ServerRefusedError):
    """409xx: e.g. the email is already registered."""

    http_status = 409


class PayloadTooLargeError(ServerRefusedError):
    http_status = 413


class RateLimitedError(ServerRefusedError):
    """429xx: too many requests; ``retry_after`` says how long to wait."""

    http_status = 429


class AccountLockedError(RateLimitedError):
    """Too many failed logins: the account is locked for ``retry_after`` seconds."""

    server_code_only = ErrorCode.ACCOUNT_LOCKED


class InternalServerError(ServerRefusedError):
    http_status = 500


class ServiceUnavailableError(ServerRefusedError):
    """503xx: the server cannot serve now (e.g. its database is unreachable): try again."""

    http_status = 503


# Keyed by the catalogue: a family by its HTTP status (``ErrorCode.http_status``), a single-code
# class by its ``ErrorCode``.
_BY_STATUS: dict[int, type[ServerRefusedError]] = {
    family.http_status: family
    for family in (
        BadRequestError,
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PayloadTooLargeError,
        RateLimitedError,
        InternalServerError,
        ServiceUnavailableError,
    )
    if family.http_status is not None
}
_BY_CODE: dict[int, type[ServerRefusedError]] = {
    single.server_code_only: single
    for single in (MeetingEndedError, MeetingFullError, AccountLockedError)
    if single.server_code_only is not None
}


def error_class_for(server_code: int) -> type[ServerRefusedError]:
    """The ``MeetingError`` subclass of a server code: its own class, else its family's
    (its HTTP status), else ``ServerRefusedError``."""
    return _BY_CODE.get(server_code) or _BY_STATUS.get(server_code // 100) or ServerRefusedError


def _known(code: int) -> ErrorCode | None:
    try:
        return ErrorCode(code)
    except ValueError:
        return None


def sdk_code_for(server_code: int) -> SDKErrorCode:
    """The SDK code of a server error code.

    Contract and DECISIONS §8: 40402 → MEETING_NOT_FOUND, other 400xx → INVALID_ARGUMENT,
    401xx/403xx → PERMISSION_DENIED. Our choices: a locked account (42902) is
    PERMISSION_DENIED; 429 (too many requests) and 5xx are transient, NETWORK_ERROR like a
    failed connection (retry later); every other 4xx (404xx, 405, 409, 413) is the caller's
    argument, INVALID_ARGUMENT.
    """
    status = server_code // 100
    if server_code == ErrorCode.MEETING_NOT_FOUND:
        return SDKErrorCode.MEETING_NOT_FOUND
    if status in (401, 403) or server_code == ErrorCode.ACCOUNT_LOCKED:
        return SDKErrorCode.PERMISSION_DENIED
    if status == 429 or status >= 500:
        return SDKErrorCode.NETWORK_ERROR
    return SDKErrorCode.INVALID_ARGUMENT


def server_error(code: int, message: str, details: Any = None) -> ServerRefusedError:
    """The ``MeetingError`` for an error the server answered with (REST or WebSocket): the
    one place its subclass is chosen."""
    info: dict[str, Any] = {"server_code": code, "server_message": message}
    if details is not None:
        info["server_details"] = details
    return error_class_for(code)(sdk_code_for(code), message, info)


def network_error(message: str, **details: Any) -> MeetingError:
    return MeetingError(SDKErrorCode.NETWORK_ERROR, message, details or None)


def invalid_argument(message: str, **details: Any) -> MeetingError:
    return MeetingError(SDKErrorCode.INVALID_ARGUMENT, message, details or None)
