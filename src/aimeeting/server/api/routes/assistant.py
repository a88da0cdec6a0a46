"""The meeting assistant (docs/assistant.md, DECISIONS §10, extension): invite, dismiss, read."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from aimeeting.server.api.deps import AssistantDep, CurrentUser, Lang, RawBody
from aimeeting.server.api.envelope import Envelope, success
from aimeeting.server.api.openapi_operations import operation
from aimeeting.server.api.routes import API_PREFIX
from aimeeting.server.api.routes.meetings import MeetingId
from aimeeting.server.assistant.schemas import (
    AssistantInvitations,
    AssistantState,
    InviteAssistantIn,
)
from aimeeting.server.validation import parse_json_body

router = APIRouter(prefix=API_PREFIX, tags=["会议助手（扩展）"])


@router.post(
    "/meetings/{meeting_id}/assistant",
    operation_id="inviteAssistant",
    summary="邀请会议助手（扩展）",
    response_model=Envelope[AssistantState],
    openapi_extra=operation(
        contract=(400, 401, 403, 404),
        extension=(413,),
        body=InviteAssistantIn,
        body_required=False,
    ),
)
async def invite_assistant(
    assistant: AssistantDep, claims: CurrentUser, meeting_id: MeetingId, body: RawBody, lang: Lang
) -> Response:
    """**Extension**: the creator, or anyone holding a seat, brings the assistant in: it takes a
    seat at once (muted), captions everyone, and a summary is written when the meeting ends.
    Idempotent; a second call may change the language. 40005 when the meeting has ended, 40006
    when no seat is free for it, 40301 for a member without a seat."""
    data = parse_json_body(body, InviteAssistantIn, optional=True)
    return success(lang, "ok", await assistant.invite(meeting_id, claims.user_id, data.language))


@router.delete(
    "/meetings/{meeting_id}/assistant",
    operation_id="dismissAssistant",
    summary="请会议助手离开（扩展）",
    response_model=Envelope[AssistantState],
    openapi_extra=operation(contract=(401, 403, 404)),
)
async def dismiss_assistant(
    assistant: AssistantDep, claims: CurrentUser, meeting_id: MeetingId, lang: Lang
) -> Response:
    """**Extension**: the creator, or anyone holding a seat; the assistant leaves the room
    within about a second. Idempotent."""
    return success(lang, "ok", await assistant.dismiss(meeting_id, claims.user_id))


@router.get(
    "/meetings/{meeting_id}/assistant",
    operation_id="getAssistant",
    summary="会议助手状态（扩展）",
    response_model=Envelope[AssistantState],
    openapi_extra=operation(contract=(401, 404)),
)
async def get_assistant(
    assistant: AssistantDep, claims: CurrentUser, meeting_id: MeetingId, lang: Lang
) -> Response:
    """**Extension**: whether the assistant is invited, for whoever may see the meeting."""
    return success(lang, "ok", await assistant.state(meeting_id, claims.user_id))


@router.get(
    "/assistant/invitations",
    operation_id="getAssistantInvitations",
    summary="会议助手的邀请（扩展）",
    response_model=Envelope[AssistantInvitations],
    openapi_extra=operation(contract=(401, 403)),
)
async def list_invitations(assistant: AssistantDep, claims: CurrentUser, lang: Lang) -> Response:
    """**Extension**: for the assistant's own account (40301 for anyone else): the meetings it
    is invited to now, which its process polls."""
    return success(lang, "ok", await assistant.invitations(claims.user_id))
