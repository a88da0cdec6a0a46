from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

SummaryStatus = Literal["pending", "ready", "none"]


class ActionItem(BaseModel):
    text: str
    owner_user_id: str | None = Field(description="who said they would do it, or was asked")


class SummaryContent(BaseModel):
    key_points: list[str]
    decisions: list[str]
    action_items: list[ActionItem]
    keywords: list[str]


class SummaryOut(BaseModel):
    status: SummaryStatus = Field(
        description="pending: being written; ready; none: the meeting has no transcript (yet)"
    )
    summary: SummaryContent | None
