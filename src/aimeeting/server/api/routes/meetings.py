from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from aimeeting.server.api.deps import ChatDep, CurrentUser, Lang, MeetingsDep, RawBody
from aimeeting.server.api.envelope import EmptyEnvelope, Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.chat.schemas import ChatHistory
from aimeeting.server.meetings.schemas import (
    CreateMeetingIn,
    JoinMeetingIn,
    ListType,
    Meeting,
    MeetingDetail,
    MeetingListOut,
)
from aimeeting.server.validation import parse_json_body

router = APIRouter(prefix=f"{API_PREFIX}/meetings", tags=["会议"])

MeetingId = Annotated[str, Path(description="会议 ID")]
MeetingNumber = Annotated[
    str, Path(description="9 位会议号", pattern=r"^[0-9]{9}$", examples=["123456789"])
]


@router.post(
    "",
    operation_id="createMeeting",
    summary="创建会议",
    status_code=201,
    response_model=Envelope[Meeting],
    openapi_extra=operation(
        contract=(401,), extension=(400, 413), body=CreateMeetingIn, body_required=False
    ),
)
async def create_meeting(
    meetings: MeetingsDep, claims: CurrentUser, body: RawBody, lang: Lang
) -> Response:
    """Create a meeting with a unique 9-digit number; unused, it expires after 24 hours."""
    data = parse_json_body(body, CreateMeetingIn, optional=True)
    return success(lang, "meeting_created", await meetings.create(claims.user_id, data), status=201)


@router.get(
    "",
    operation_id="getMeetings",
    summary="获取会议列表",
    response_model=Envelope[MeetingListOut],
    openapi_extra=operation(contract=(401,), extension=(400,)),
)
async def list_meetings(
    meetings: MeetingsDep,
    claims: CurrentUser,
    lang: Lang,
    type: Annotated[
        ListType, Query(description="my: 我创建的会议; history: 我参加过的会议")
    ] = "my",
    page: Annotated[int, Query(ge=1, le=2**31 - 1, description="页码")] = 1,
    limit: Annotated[int, Query(ge=1, le=100, description="每页数量")] = 20,
) -> Response:
    """Newest first (created_at, then id, descending)."""
    result = await meetings.list_meetings(claims.user_id, type, page, limit)
    return success(lang, "ok", result)


@router.post(
    "/{meeting_number}/join",
    operation_id="joinMeeting",
    summary="加入会议",
    response_model=Envelope[MeetingDetail],
    openapi_extra=operation(
        contract=(400, 401, 404), extension=(413,), body=JoinMeetingIn, body_required=False
    ),
)
async def join_meeting(
    meetings: MeetingsDep,
    claims: CurrentUser,
    meeting_number: MeetingNumber,
    body: RawBody,
    lang: Lang,
) -> Response:
    """Take a seat (at most 4 held at once). Joining again while seated changes nothing.

    **Extension**: an optional body `{"audio_muted": bool, "video_muted": bool}` sets the
    seat's initial media state.
    """
    data = parse_json_body(body, JoinMeetingIn, optional=True)
    result = await meetings.join(meeting_number, claims.user_id, data)
    return success(lang, "meeting_joined", result)


@router.get(
    "/{meeting_id}",
    operation_id="getMeetingDetail",
    summary="获取会议详情",
    response_model=Envelope[MeetingDetail],
    openapi_extra=operation(contract=(401, 404)),
)
async def get_meeting(
    meetings: MeetingsDep, claims: CurrentUser, meeting_id: MeetingId, lang: Lang
) -> Response:
    """Visible to the creator and to anyone who ever joined; to others it does not exist."""
    return success(lang, "ok", await meetings.get(meeting_id, claims.user_id))


@router.post(
    "/{meeting_id}/end",
    operation_id="endMeeting",
    summary="结束会议",
    response_model=EmptyEnvelope,
    openapi_extra=operation(contract=(401, 403, 404)),
)
async def end_meeting(
    meetings: MeetingsDep, claims: CurrentUser, meeting_id: MeetingId, lang: Lang
) -> Response:
    """Creator only. Every seat is released; ending an ended meeting again is a success."""
    await meetings.end(meeting_id, claims.user_id)
    return success(lang, "meeting_ended")


@router.get(
    "/{meeting_id}/messages",
    operation_id="getMeetingMessages",
    summary="获取聊天记录（扩展）",
    response_model=Envelope[ChatHistory],
    openapi_extra=operation(contract=(401, 404), extension=(400,)),
)
async def list_messages(
    chat: ChatDep,
    claims: CurrentUser,
    meeting_id: MeetingId,
    lang: Lang,
    before: Annotated[
        str | None, Query(description="上一页最后一条的 message_id：只返回更早的消息")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="每页数量")] = 50,
) -> Response:
    """**Extension**: the chat history, newest first, for whoever may see the meeting."""
    return success(lang, "ok", await chat.history(meeting_id, claims.user_id, before, limit))
