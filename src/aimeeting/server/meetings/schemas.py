from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from aimeeting.protocol import MeetingStatus
from aimeeting.protocol.wire import ParticipantData
from aimeeting.server.schemas import Timestamp, format_timestamp
from aimeeting.server.validation import RequestModel, clean_text

# Every member, as a Literal: the OpenAPI document shows it inline, as the contract does
# (the enum itself would become a `$ref`); mypy holds it equal to the enum.
StatusField = Literal[MeetingStatus.WAITING, MeetingStatus.ACTIVE, MeetingStatus.ENDED]
ListType = Literal["my", "history"]


class CreateMeetingIn(RequestModel):
    # A string when given (null is a wrong type, 40004); empty or blank means no title.
    title: str = Field(
        "",
        description="会议主题（可选，最多 100 个字符）",
        examples=["每周例会"],
        json_schema_extra={"maxLength": 100},  # enforced by _title, with our error code
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return clean_text(value, field="title", min_length=0, max_length=100)


class JoinMeetingIn(RequestModel):
    """**Extension**: the initial media state of the seat taken (both default to false)."""

    audio_muted: bool = Field(False, description="加入时是否静音（扩展）")
    video_muted: bool = Field(False, description="加入时是否关闭摄像头（扩展）")


class Meeting(BaseModel):
    """The contract's ``Meeting``."""

    id: str = Field(description="会议 ID", examples=["meeting_5f2c9a1be3d04c7a"])
    meeting_number: str = Field(description="9 位会议号", examples=["123456789"])
    title: str | None = Field(description="会议主题")
    creator_id: str = Field(description="创建者 ID")
    status: StatusField = Field(description="waiting: 等待中 / active: 进行中 / ended: 已结束")
    started_at: Timestamp | None = Field(description="开始时间")
    ended_at: Timestamp | None = Field(description="结束时间")
    created_at: Timestamp = Field(description="创建时间")


class Participant(BaseModel):
    """The contract's ``Participant``: a user holding a seat now."""

    user_id: str
    nickname: str
    avatar: str | None = Field(json_schema_extra={"format": "uri"})
    joined_at: Timestamp
    audio_muted: bool
    video_muted: bool
    screen_sharing: bool = Field(
        description="是否正在共享屏幕（扩展）", json_schema_extra={"x-extension": True}
    )

    def to_wire(self) -> ParticipantData:
        """A seat of the ``room_state`` event (what ``model_dump(mode="json")`` gives, typed)."""
        return {
            "user_id": self.user_id,
            "nickname": self.nickname,
            "avatar": self.avatar,
            "joined_at": format_timestamp(self.joined_at),
            "audio_muted": self.audio_muted,
            "video_muted": self.video_muted,
            "screen_sharing": self.screen_sharing,
        }


class MeetingDetail(Meeting):
    """The contract's ``MeetingDetail``."""

    participants: list[Participant] = Field(description="参与者列表（当前占有席位的用户）")
    participant_count: int = Field(description="参与人数")


class Pagination(BaseModel):
    page: int
    limit: int
    total: int
    total_pages: int


class MeetingListOut(BaseModel):
    meetings: list[Meeting]
    pagination: Pagination
