"""The served OpenAPI document: the contract's paths, texts and servers, extensions marked."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from aimeeting.server.api.links import add_links
from aimeeting.server.api.openapi_operations import finish

DESCRIPTION = """\
企业级视频会议系统 RESTful API（AI Meeting MVP v0.1 契约）。

## 认证方式
大部分接口需要 JWT Token 认证，在请求头中携带 `Authorization: Bearer {access_token}`。

## 错误码规范
错误码采用 5 位数字格式 XYZNN：XYZ 为 HTTP 状态码，NN 为具体业务错误（例如 40101）。
所有错误都以 `{"code", "message", "details"?}` 返回。

## Extensions beyond the contract
Marked `x-extension: true`: error codes 40004, 40005, 40006, 40400, 40500, 41301, 42902,
50301; the optional body of `POST /meetings/{meeting_number}/join`; `screen_sharing` on a
meeting's participants; `Accept-Language: en` for English messages; the chat history;
`GET /v1/rtc/ice-servers`; the meeting assistant (`/v1/meetings/{meeting_id}/assistant`,
`/v1/assistant/invitations`, `/v1/meetings/{meeting_id}/transcript`,
`/v1/meetings/{meeting_id}/summary`); `/healthz`, `/readyz`, `/metrics`.
"""

SERVERS = [
    {"url": "http://localhost:3000", "description": "开发环境 (paths include /v1)"},
]

TAGS = [
    {"name": "认证", "description": "用户注册、登录、登出等认证相关接口"},
    {"name": "用户", "description": "用户信息管理"},
    {"name": "会议", "description": "会议创建、加入、管理等接口"},
    {"name": "实时媒体（扩展）", "description": "ICE servers for WebRTC (extension)"},
    {
        "name": "会议助手（扩展）",
        "description": "The meeting assistant: invitations, transcripts, summaries (extension)",
    },
    {"name": "运维（扩展）", "description": "Health, readiness and metrics (extension)"},
]

_EXTENSION_OPERATIONS = {
    ("/healthz", "get"),
    ("/readyz", "get"),
    ("/metrics", "get"),
    ("/v1/meetings/{meeting_id}/messages", "get"),
    ("/v1/rtc/ice-servers", "get"),
    ("/v1/meetings/{meeting_id}/assistant", "post"),
    ("/v1/meetings/{meeting_id}/assistant", "delete"),
    ("/v1/meetings/{meeting_id}/assistant", "get"),
    ("/v1/assistant/invitations", "get"),
    ("/v1/meetings/{meeting_id}/transcript", "get"),
    ("/v1/meetings/{meeting_id}/summary", "get"),
}


def describe(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=DESCRIPTION,
            routes=app.routes,
            servers=SERVERS,
            tags=TAGS,
        )
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                if (path, method) in _EXTENSION_OPERATIONS:
                    operation["x-extension"] = True
        finish(schema)
        add_links(schema)
        join = schema["paths"]["/v1/meetings/{meeting_number}/join"]["post"]
        join["requestBody"]["x-extension"] = True
        app.openapi_schema = schema
    return app.openapi_schema
