"""The server's one exception hierarchy: raised by domain code, turned into responses once."""

from __future__ import annotations

from typing import Any

from aimeeting.protocol import ErrorCode


class AppError(Exception):
    """A request the server refuses, with the contract's code and optional ``details``."""

    def __init__(
        self,
        code: ErrorCode,
        details: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code.name)
        self.code = code
        self.details = details
        self.headers = headers or {}


class InvalidInput(AppError):
    """400: the request's data breaks a rule (codes 40001-40006)."""


class Unauthorized(AppError):
    """401: no valid credentials."""


class Forbidden(AppError):
    def __init__(self, details: dict[str, Any] | None = None) -> None:
        super().__init__(ErrorCode.FORBIDDEN, details)


class NotFound(AppError):
    """404: missing, or not visible to the caller."""


class Conflict(AppError):
    pass


class Throttled(AppError):
    """429, with the seconds to wait."""

    def __init__(self, code: ErrorCode, retry_after: float) -> None:
        seconds = max(1, int(retry_after + 0.999))
        super().__init__(code, {"retry_after": seconds}, headers={"Retry-After": str(seconds)})


class Unavailable(AppError):
    """503: a service the server needs (Redis, the database) cannot be reached for now; try
    again (after ``retry_after`` seconds when given: in ``details`` and ``Retry-After``)."""

    def __init__(
        self, details: dict[str, Any] | None = None, *, retry_after: int | None = None
    ) -> None:
        headers = None
        if retry_after is not None:
            details = {**(details or {}), "retry_after": retry_after}
            headers = {"Retry-After": str(retry_after)}
        super().__init__(ErrorCode.SERVICE_UNAVAILABLE, details, headers=headers)
