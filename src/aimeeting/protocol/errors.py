"""Every error code of the API, with its texts: the one place server and SDK read them from.

A code is five digits ``XYZNN``: ``XYZ`` is the HTTP status, ``NN`` the case (contract §1, §4).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

Language = Literal["zh", "en"]


class ErrorCode(IntEnum):
    # Contract §4.1
    INVALID_EMAIL = 40001
    INVALID_PASSWORD = 40002
    MISSING_FIELD = 40003
    WRONG_CREDENTIALS = 40101
    TOKEN_EXPIRED = 40102
    TOKEN_INVALID = 40103
    FORBIDDEN = 40301
    USER_NOT_FOUND = 40401
    MEETING_NOT_FOUND = 40402
    EMAIL_TAKEN = 40901
    TOO_MANY_REQUESTS = 42901
    INTERNAL_ERROR = 50001
    # Extensions (DECISIONS.md §1-§4)
    INVALID_PARAMETER = 40004
    MEETING_ENDED = 40005
    MEETING_FULL = 40006
    ROUTE_NOT_FOUND = 40400
    METHOD_NOT_ALLOWED = 40500
    PAYLOAD_TOO_LARGE = 41301
    ACCOUNT_LOCKED = 42902
    SERVICE_UNAVAILABLE = 50301

    @property
    def http_status(self) -> int:
        return int(self) // 100

    def message(self, lang: Language = "zh") -> str:
        zh, en = _MESSAGES[self]
        return en if lang == "en" else zh


_MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.INVALID_EMAIL: ("邮箱格式不正确", "Invalid email address"),
    ErrorCode.INVALID_PASSWORD: (
        "密码长度至少 8 位，且包含字母和数字",
        "Password must be 8-32 characters and contain a letter and a digit",
    ),
    ErrorCode.MISSING_FIELD: ("缺少必填字段", "Missing required field"),
    ErrorCode.INVALID_PARAMETER: ("参数错误", "Invalid parameter"),
    ErrorCode.MEETING_ENDED: ("会议已结束", "The meeting has ended"),
    ErrorCode.MEETING_FULL: ("会议人数已满", "The meeting is full"),
    ErrorCode.WRONG_CREDENTIALS: ("邮箱或密码错误", "Wrong email or password"),
    ErrorCode.TOKEN_EXPIRED: ("Token 已过期", "Token expired"),
    ErrorCode.TOKEN_INVALID: ("Token 无效", "Invalid token"),
    ErrorCode.FORBIDDEN: ("无权限执行此操作", "Permission denied"),
    ErrorCode.ROUTE_NOT_FOUND: ("接口不存在", "No such endpoint"),
    ErrorCode.USER_NOT_FOUND: ("用户不存在", "User not found"),
    ErrorCode.MEETING_NOT_FOUND: ("会议不存在", "Meeting not found"),
    ErrorCode.METHOD_NOT_ALLOWED: ("请求方法不允许", "Method not allowed"),
    ErrorCode.EMAIL_TAKEN: ("邮箱已被注册", "Email already registered"),
    ErrorCode.PAYLOAD_TOO_LARGE: ("请求体过大", "Request body too large"),
    ErrorCode.TOO_MANY_REQUESTS: ("请求过于频繁，请稍后再试", "Too many requests, try again later"),
    ErrorCode.ACCOUNT_LOCKED: ("账号已锁定", "Account locked"),
    ErrorCode.INTERNAL_ERROR: ("服务器内部错误", "Internal server error"),
    ErrorCode.SERVICE_UNAVAILABLE: ("服务暂不可用", "Service unavailable"),
}
