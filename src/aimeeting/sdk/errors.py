"""``MeetingError`` and ``SDKErrorCode`` (contract §3), and how server codes map to them
(DECISIONS §8; docs/sdk.md lists the choices for 409, 429 and 5xx)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

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
    def server_code(self) -> int | None:
        """The server's error code, when the server answered with one."""
        if isinstance(self.details, dict):
            code = self.details.get("server_code")
            return code if isinstance(code, int) else None
        return None

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before trying again, when the server said so: too many requests
        (42901, e.g. logins from one address, chat messages) or a locked account (42902)."""
        server = self.details.get("server_details") if isinstance(self.details, dict) else None
        wait = server.get("retry_after") if isinstance(server, dict) else None
        return float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None

    def __repr__(self) -> str:
        return f"MeetingError({self.code.name}, {self.message!r}, {self.details!r})"


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


def server_error(code: int, message: str, details: Any = None) -> MeetingError:
    """The ``MeetingError`` for an error the server answered with."""
    info: dict[str, Any] = {"server_code": code, "server_message": message}
    if details is not None:
        info["server_details"] = details
    return MeetingError(sdk_code_for(code), message, info)


def network_error(message: str, **details: Any) -> MeetingError:
    return MeetingError(SDKErrorCode.NETWORK_ERROR, message, details or None)


def invalid_argument(message: str, **details: Any) -> MeetingError:
    return MeetingError(SDKErrorCode.INVALID_ARGUMENT, message, details or None)
