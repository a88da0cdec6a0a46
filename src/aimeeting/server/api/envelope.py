"""The response envelope of DECISIONS.md §1, for success and for errors, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response

from aimeeting.protocol import ErrorCode, Language

T = TypeVar("T")

# The contract's success texts, with the English of the Accept-Language extension.
SUCCESS_MESSAGES: dict[str, tuple[str, str]] = {
    "registered": ("注册成功", "Registered"),
    "logged_in": ("登录成功", "Logged in"),
    "refreshed": ("Token 刷新成功", "Token refreshed"),
    "logged_out": ("登出成功", "Logged out"),
    "ok": ("成功", "OK"),
    "meeting_created": ("会议创建成功", "Meeting created"),
    "meeting_joined": ("成功加入会议", "Joined the meeting"),
    "meeting_ended": ("会议已结束", "Meeting ended"),
}


class Envelope(BaseModel, Generic[T]):
    code: int = Field(0, examples=[0])
    message: str
    data: T


class EmptyEnvelope(BaseModel):
    code: int = Field(0, examples=[0])
    message: str


class ErrorBody(BaseModel):
    """The contract's ``Error``."""

    code: int = Field(description="错误码")
    message: str = Field(description="错误消息")
    details: dict[str, Any] | None = Field(None, description="详细错误信息（可选）")


def success(
    lang: Language, message: str, data: BaseModel | None = None, *, status: int = 200
) -> Response:
    zh, en = SUCCESS_MESSAGES[message]
    text = en if lang == "en" else zh
    if data is None:
        body = orjson.dumps({"code": 0, "message": text})
    else:
        # Pydantic serializes the data (timestamps and all); the envelope is spliced around it.
        body = b'{"code":0,"message":%b,"data":%b}' % (
            orjson.dumps(text),
            data.model_dump_json().encode(),
        )
    return Response(body, status_code=status, media_type="application/json")


def error_response(
    lang: Language,
    code: ErrorCode,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    content: dict[str, Any] = {"code": int(code), "message": code.message(lang)}
    if details:
        content["details"] = details
    return Response(
        orjson.dumps(content),
        status_code=code.http_status,
        media_type="application/json",
        headers=headers,
    )
