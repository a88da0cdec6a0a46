"""The assistant's REST shapes (docs/assistant.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from aimeeting.server.schemas import Timestamp
from aimeeting.server.validation import RequestModel

AssistantLanguage = Literal["en", "zh", "auto"]


class InviteAssistantIn(RequestModel):
    language: AssistantLanguage | None = Field(
        None, description="en, zh or auto (detected); absent: the server's default"
    )


class AssistantState(BaseModel):
    active: bool = Field(description="whether the assistant is invited now")
    user_id: str = Field(description="the assistant's own user id")
    language: AssistantLanguage
    invited_by: str | None = Field(description="who invited it last; null if nobody ever did")
    invited_at: Timestamp | None


class AssistantInvitation(BaseModel):
    meeting_id: str
    meeting_number: str
    language: AssistantLanguage
    invited_at: Timestamp


class AssistantInvitations(BaseModel):
    items: list[AssistantInvitation] = Field(
        description="active invitations of meetings not ended, oldest first"
    )
