"""A meeting's summary (docs/assistant.md, DECISIONS §10, extension)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from aimeeting.server.api.deps import CurrentUser, Lang, SummariesDep
from aimeeting.server.api.envelope import Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.api.routes.meetings import MeetingId
from aimeeting.server.summaries.schemas import SummaryOut

router = APIRouter(prefix=f"{API_PREFIX}/meetings", tags=["会议助手（扩展）"])


@router.get(
    "/{meeting_id}/summary",
    operation_id="getMeetingSummary",
    summary="获取会议纪要（扩展）",
    response_model=Envelope[SummaryOut],
    openapi_extra=operation(contract=(401, 404)),
)
async def get_summary(
    summaries: SummariesDep, claims: CurrentUser, meeting_id: MeetingId, lang: Lang
) -> Response:
    """**Extension**: written when a meeting with a transcript ends (`pending` until then is
    written, `none` when nothing was said), for whoever may see the meeting."""
    return success(lang, "ok", await summaries.get(meeting_id, claims.user_id))
