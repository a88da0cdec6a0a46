"""A meeting's transcript (docs/assistant.md, DECISIONS §10, extension)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from aimeeting.server.api.deps import CurrentUser, Lang, TranscriptsDep
from aimeeting.server.api.envelope import Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.api.routes.meetings import MeetingId
from aimeeting.server.transcripts.schemas import TranscriptPage

router = APIRouter(prefix=f"{API_PREFIX}/meetings", tags=["会议助手（扩展）"])


@router.get(
    "/{meeting_id}/transcript",
    operation_id="getMeetingTranscript",
    summary="获取会议转写（扩展）",
    response_model=Envelope[TranscriptPage],
    openapi_extra=operation(contract=(401, 404), extension=(400,)),
)
async def get_transcript(
    transcripts: TranscriptsDep,
    claims: CurrentUser,
    meeting_id: MeetingId,
    lang: Lang,
    after: Annotated[str | None, Query(description="上一页最后一段的 id：只返回其后的段落")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="每页数量")] = 50,
) -> Response:
    """**Extension**: the final captions, oldest first, for whoever may see the meeting
    (during it and after). An `after` that is not a segment of this meeting is 40004."""
    return success(lang, "ok", await transcripts.page(meeting_id, claims.user_id, after, limit))
