from __future__ import annotations

from pydantic import BaseModel, Field

from aimeeting.server.schemas import Timestamp


class TranscriptSegment(BaseModel):
    id: str = Field(examples=["seg_5f2c9a1be3d04c7a"])
    user_id: str = Field(description="the speaker")
    nickname: str
    text: str
    start: Timestamp = Field(description="when the speech began")
    end: Timestamp = Field(description="when it ended")


class TranscriptPage(BaseModel):
    items: list[TranscriptSegment] = Field(description="oldest first")
    has_more: bool = Field(description="more after the last item (pass its id as after)")
