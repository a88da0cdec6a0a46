from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, JsonValue, field_validator

from aimeeting.protocol import ErrorCode
from aimeeting.server.users.schemas import User
from aimeeting.server.validation import (
    RequestModel,
    check_password,
    clean_text,
    normalize_email,
)

_EMAIL_SCHEMA: dict[str, JsonValue] = {"format": "email"}


class RegisterIn(RequestModel):
    field_codes: ClassVar = {
        "email": ErrorCode.INVALID_EMAIL,
        "password": ErrorCode.INVALID_PASSWORD,
    }

    # The contract's constraints are in the document (json_schema_extra) but enforced by the
    # validators below, which answer with the contract's codes (pydantic's own would not).
    email: str = Field(
        description="用户邮箱", examples=["user@example.com"], json_schema_extra=_EMAIL_SCHEMA
    )
    password: str = Field(
        description="用户密码（8-32位，包含字母和数字）",
        examples=["Password123"],
        json_schema_extra={"format": "password", "minLength": 8, "maxLength": 32},
    )
    nickname: str = Field(
        description="用户昵称（2-20 个字符）",
        examples=["张三"],
        json_schema_extra={"minLength": 2, "maxLength": 20},
    )

    _email = field_validator("email")(staticmethod(normalize_email))
    _password = field_validator("password")(staticmethod(check_password))

    @field_validator("nickname")
    @classmethod
    def _nickname(cls, value: str) -> str:
        return clean_text(value, field="nickname", min_length=2, max_length=20)


class LoginIn(RequestModel):
    field_codes: ClassVar = {"email": ErrorCode.INVALID_EMAIL}

    email: str = Field(examples=["user@example.com"], json_schema_extra=_EMAIL_SCHEMA)
    password: str = Field(examples=["Password123"], json_schema_extra={"format": "password"})

    _email = field_validator("email")(staticmethod(normalize_email))


class RefreshIn(RequestModel):
    refresh_token: str = Field(description="Refresh Token")


class TokenPair(BaseModel):
    access_token: str = Field(description="访问令牌（有效期 1 小时）")
    refresh_token: str = Field(description="刷新令牌（有效期 7 天）")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="访问令牌过期时间（秒）", examples=[3600])


class AuthOut(BaseModel):
    user: User
    tokens: TokenPair


class AccessTokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="过期时间（秒）", examples=[3600])
