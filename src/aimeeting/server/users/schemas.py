from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from aimeeting.protocol.wire import UserBrief
from aimeeting.server.db import models
from aimeeting.server.schemas import Timestamp


class User(BaseModel):
    """The contract's ``User``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "user_5f2c9a1be3d04c7a",
                "email": "user@example.com",
                "nickname": "张三",
                "avatar": None,
                "created_at": "2026-02-13T10:00:00.000Z",
                "updated_at": "2026-02-14T10:00:00.000Z",
            }
        }
    )

    id: str = Field(description="用户 ID")
    email: str = Field(description="用户邮箱", json_schema_extra={"format": "email"})
    nickname: str = Field(description="用户昵称")
    avatar: str | None = Field(description="用户头像 URL", json_schema_extra={"format": "uri"})
    created_at: Timestamp = Field(description="创建时间")
    updated_at: Timestamp = Field(description="更新时间")

    @classmethod
    def of(cls, user: models.User) -> User:
        return cls(
            id=user.id,
            email=user.email,
            nickname=user.nickname,
            avatar=user.avatar,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class PublicUser(BaseModel):
    """What other members see of a user: ``user`` in ``user_joined``, ``sender`` in chat."""

    id: str
    nickname: str
    avatar: str | None

    @classmethod
    def of(cls, user: User) -> PublicUser:
        return cls(id=user.id, nickname=user.nickname, avatar=user.avatar)

    def to_wire(self) -> UserBrief:
        return {"id": self.id, "nickname": self.nickname, "avatar": self.avatar}
