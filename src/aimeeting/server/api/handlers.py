"""Every exception becomes the error envelope here, and only here."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from aimeeting.protocol import ErrorCode
from aimeeting.server.api.envelope import error_response
from aimeeting.server.errors import AppError
from aimeeting.server.language import language
from aimeeting.server.validation import to_invalid_input

log = logging.getLogger(__name__)

_HTTP_CODES = {
    404: ErrorCode.ROUTE_NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
}


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(language(request), exc.code, exc.details, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    """Path and query parameters that FastAPI checked (bodies are parsed by our own code)."""
    assert isinstance(exc, RequestValidationError)
    # loc is ("query", "page"): the parameter's name is what the client knows.
    errors = [{**err, "loc": tuple(err["loc"][1:])} for err in exc.errors()]
    error = to_invalid_input(errors)
    return error_response(language(request), error.code, error.details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code)
    if code is None:
        code = ErrorCode.INTERNAL_ERROR if exc.status_code >= 500 else ErrorCode.INVALID_PARAMETER
    headers = dict(exc.headers or {})
    allowed = _allowed_methods(request.app, request.url.path) if exc.status_code == 405 else []
    if allowed:
        # The router names only the first route on the path; a path may serve several methods.
        # Paths outside the OpenAPI document (the /sdk/ files) keep the raiser's own Allow.
        headers["Allow"] = ", ".join(allowed)
    # An unknown address: say where the API is described (the JSON twin of a help page).
    details = {"docs": "/v1/docs"} if code == ErrorCode.ROUTE_NOT_FOUND else None
    return error_response(language(request), code, details, headers)


def _path_patterns(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a regex, with its methods; built once, kept on app.state."""
    known: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "path_methods", None
    )
    if known is not None:
        return known
    patterns = []
    for path, operations in app.openapi()["paths"].items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path))
        methods = {method.upper() for method in operations}
        if "GET" in methods:
            methods.add("HEAD")
        patterns.append((re.compile(regex), frozenset(methods)))
    app.state.path_methods = patterns
    return patterns


def _allowed_methods(app: FastAPI, path: str) -> list[str]:
    allowed: set[str] = set()
    for pattern, methods in _path_patterns(app):
        if pattern.fullmatch(path):
            allowed |= methods
    return sorted(allowed)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(language(request), ErrorCode.INTERNAL_ERROR)


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
