"""Keyset paging over a meeting's rows ordered by ``(created_at, id)``: the chat history
(newest first, ``before``) and the transcript (oldest first, ``after``) page the same way."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol import ErrorCode
from aimeeting.server.db import models
from aimeeting.server.errors import InvalidInput
from aimeeting.server.ids import is_well_formed

Row = TypeVar("Row", models.ChatMessage, models.TranscriptSegment)


async def cursor_row(
    session: AsyncSession,
    model: type[Row],
    value: str,
    *,
    prefix: str,
    meeting_id: str,
    field: str,
    what: str,
) -> Row:
    """The row ``value`` names, when it is one of this meeting's (else 40004 on ``field``)."""
    row = await session.get(model, value) if is_well_formed(prefix, value) else None
    if row is None or row.meeting_id != meeting_id:
        raise InvalidInput(ErrorCode.INVALID_PARAMETER, {field: f"not a {what} of this meeting"})
    return row


def beyond(model: type[Row], cursor: Row, *, later: bool) -> ColumnElement[bool]:
    """Rows stored after ``cursor`` (``later``) or before it, in ``(created_at, id)`` order."""
    if later:
        return or_(
            model.created_at > cursor.created_at,
            and_(model.created_at == cursor.created_at, model.id > cursor.id),
        )
    return or_(
        model.created_at < cursor.created_at,
        and_(model.created_at == cursor.created_at, model.id < cursor.id),
    )
