"""OpenAPI helpers: request bodies and error responses described the contract's way."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from aimeeting.protocol import ErrorCode
from aimeeting.server.api.envelope import ErrorBody

_STATUS_TEXT = {
    400: "请求参数错误",
    401: "未认证或认证失败",
    403: "无权限",
    404: "资源不存在",
    409: "资源冲突",
    413: "请求体过大（扩展）",
    429: "请求过于频繁",
    500: "服务器内部错误",
}

EXTENSION_CODES = {
    ErrorCode.INVALID_PARAMETER,
    ErrorCode.MEETING_ENDED,
    ErrorCode.MEETING_FULL,
    ErrorCode.PAYLOAD_TOO_LARGE,
    ErrorCode.ACCOUNT_LOCKED,
}


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body that the handler parses itself."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("title", None)
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


def errors(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entries for these error codes (plus 500), grouped by HTTP status."""
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in (*codes, ErrorCode.INTERNAL_ERROR):
        by_status[code.http_status].append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, members in sorted(by_status.items()):
        examples = {
            code.name.lower(): {
                "summary": f"{int(code)}{' (extension)' if code in EXTENSION_CODES else ''}",
                "value": {"code": int(code), "message": code.message()},
            }
            for code in members
        }
        responses[status] = {
            "model": ErrorBody,
            "description": _STATUS_TEXT.get(status, "错误"),
            "content": {"application/json": {"examples": examples}},
        }
    return responses
