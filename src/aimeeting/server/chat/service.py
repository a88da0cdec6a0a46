"""Chat: storing messages (in batches, with the client's retry key) and reading history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol import ErrorCode
from aimeeting.server.chat.schemas import ChatHistory, ChatMessage
from aimeeting.server.db import Database, models
from aimeeting.server.errors import InvalidInput
from aimeeting.server.ids import is_well_formed, new_id, utcnow
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.users.schemas import PublicUser

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class NewMessage:
    room_id: str
    sender: PublicUser
    content: str
    client_msg_id: str | None


@dataclass(frozen=True, slots=True)
class Stored:
    message: ChatMessage
    is_new: bool  # False: a repeat of (sender, client_msg_id); ``message`` is the original


class ChatService:
    def __init__(self, db: Database, meetings: MeetingService) -> None:
        self.db = db
        self.meetings = meetings
        self._last = utcnow()

    def _next_time(self, after: datetime | None) -> datetime:
        # Strictly increasing: history's order (created_at, id) is the order messages were sent.
        self._last = max(utcnow(), self._last + _TICK, after + _TICK if after else self._last)
        return self._last

    async def store(
        self, batch: list[NewMessage], after: Mapping[str, datetime] | None = None
    ) -> list[Stored]:
        """Store a batch in one transaction, in order; repeats of a retry key are not stored.
        ``after``: per room, a time its new messages must come after (another node's last)."""
        try:
            return await self._store(batch, after or {})
        except IntegrityError:  # another writer stored one of these retry keys meanwhile
            return await self._store(batch, after or {})

    async def _store(self, batch: list[NewMessage], after: Mapping[str, datetime]) -> list[Stored]:
        async with self.db.write() as session:
            known = await self._originals(session, batch)
            results: list[Stored] = []
            rows: list[dict[str, object]] = []
            for item in batch:
                key = (item.sender.id, item.client_msg_id)
                original = known.get(key) if item.client_msg_id else None
                if original is not None:
                    results.append(Stored(original, is_new=False))
                    continue
                message = ChatMessage(
                    message_id=new_id("msg"),
                    room_id=item.room_id,
                    sender=item.sender,
                    content=item.content,
                    created_at=self._next_time(after.get(item.room_id)),
                    client_msg_id=item.client_msg_id,
                )
                rows.append(
                    {
                        "id": message.message_id,
                        "meeting_id": message.room_id,
                        "sender_id": message.sender.id,
                        "content": message.content,
                        "client_msg_id": message.client_msg_id,
                        "created_at": message.created_at,
                    }
                )
                if item.client_msg_id:
                    known[key] = message
                results.append(Stored(message, is_new=True))
            if rows:  # one multi-row INSERT, no ORM unit of work: this is chat's hot path
                await session.execute(insert(models.ChatMessage), rows)
        return results

    async def _originals(
        self, session: AsyncSession, batch: list[NewMessage]
    ) -> dict[tuple[str, str | None], ChatMessage]:
        keyed = {item.sender.id: item.sender for item in batch if item.client_msg_id}
        if not keyed:
            return {}
        retry_keys = {item.client_msg_id for item in batch if item.client_msg_id}
        rows = await session.scalars(
            select(models.ChatMessage).where(
                models.ChatMessage.sender_id.in_(keyed),
                models.ChatMessage.client_msg_id.in_(retry_keys),
            )
        )
        return {(row.sender_id, row.client_msg_id): _out(row, keyed[row.sender_id]) for row in rows}

    async def history(
        self, meeting_id: str, user_id: str, before: str | None, limit: int
    ) -> ChatHistory:
        """Newest first; ``before`` a message id of this meeting to page on."""
        await self.meetings.check_visible(meeting_id, user_id)
        query = (
            select(models.ChatMessage, models.User)
            .join(models.User, models.User.id == models.ChatMessage.sender_id)
            .where(models.ChatMessage.meeting_id == meeting_id)
        )
        async with self.db.read() as session:
            if before is not None:
                cursor = (
                    await session.get(models.ChatMessage, before)
                    if is_well_formed("msg", before)
                    else None
                )
                if cursor is None or cursor.meeting_id != meeting_id:
                    raise InvalidInput(
                        ErrorCode.INVALID_PARAMETER, {"before": "not a message of this meeting"}
                    )
                query = query.where(
                    or_(
                        models.ChatMessage.created_at < cursor.created_at,
                        and_(
                            models.ChatMessage.created_at == cursor.created_at,
                            models.ChatMessage.id < cursor.id,
                        ),
                    )
                )
            rows = (
                await session.execute(
                    query.order_by(
                        models.ChatMessage.created_at.desc(), models.ChatMessage.id.desc()
                    ).limit(limit + 1)
                )
            ).all()
            messages = [
                _out(row, PublicUser(id=user.id, nickname=user.nickname, avatar=user.avatar))
                for row, user in rows
            ]
        return ChatHistory(messages=messages[:limit], has_more=len(messages) > limit)


def _out(row: models.ChatMessage, sender: PublicUser) -> ChatMessage:
    return ChatMessage(
        message_id=row.id,
        room_id=row.meeting_id,
        sender=sender,
        content=row.content,
        created_at=row.created_at,
        client_msg_id=row.client_msg_id,
    )
