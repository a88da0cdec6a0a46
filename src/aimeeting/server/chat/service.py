"""Chat: storing messages (in batches, with the client's retry key) and reading history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.server.chat.schemas import ChatHistory, ChatMessage
from aimeeting.server.db import Database, models
from aimeeting.server.ids import Clock, new_id
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.pages import beyond, cursor_row
from aimeeting.server.users.schemas import PublicUser


@dataclass(frozen=True, slots=True)
class NewMessage:
    room_id: str
    sender: PublicUser
    content: str
    client_msg_id: str | None


RetryKey = tuple[str, str | None]  # (sender id, client_msg_id)
ChatMessageTable = cast(Table, models.ChatMessage.__table__)


@dataclass(frozen=True, slots=True)
class Stored:
    message: ChatMessage
    is_new: bool  # False: a repeat of (sender, client_msg_id); ``message`` is the original


class ChatService:
    def __init__(self, db: Database, meetings: MeetingService) -> None:
        self.db = db
        self.meetings = meetings
        # Strictly increasing: history's order (created_at, id) is the order messages were sent.
        self._clock = Clock()

    async def store(
        self, batch: list[NewMessage], after: Mapping[str, datetime] | None = None
    ) -> list[Stored]:
        """Store a batch in one transaction, in order; repeats of a retry key are not stored.
        ``after``: per room, a time its new messages must come after (another node's last)."""
        after = after or {}
        # The first message of each retry key in the batch is a candidate; later ones repeat it.
        candidates: list[ChatMessage] = []
        first_of: dict[RetryKey, int] = {}
        position: list[int] = []  # batch item → its candidate
        for item in batch:
            key = (item.sender.id, item.client_msg_id)
            if item.client_msg_id and key in first_of:
                position.append(first_of[key])
                continue
            if item.client_msg_id:
                first_of[key] = len(candidates)
            position.append(len(candidates))
            candidates.append(self._new_message(item, after.get(item.room_id)))
        table = ChatMessageTable
        # One Core statement (the ORM's bulk path costs more than the insert itself); rows whose
        # retry key is taken already are skipped, not refused.
        insert = self.db.insert_or_ignore(table).returning(table.c.id)
        async with self.db.write() as session:
            connection = await session.connection()
            result = await connection.execute(insert, [_row(m) for m in candidates])
            inserted = set(result.scalars())
            taken = [c for c in candidates if c.message_id not in inserted]
            originals = await self._originals(session, taken) if taken else {}
        results: list[Stored] = []
        seen: set[int] = set()
        for index in position:
            candidate = candidates[index]
            if candidate.message_id in inserted:
                results.append(Stored(candidate, is_new=index not in seen))
            else:
                original = originals[(candidate.sender.id, candidate.client_msg_id)]
                results.append(Stored(original, is_new=False))
            seen.add(index)
        return results

    def _new_message(self, item: NewMessage, after: datetime | None) -> ChatMessage:
        return ChatMessage(
            message_id=new_id("msg"),
            room_id=item.room_id,
            sender=item.sender,
            content=item.content,
            created_at=self._clock.next(after),
            client_msg_id=item.client_msg_id,
        )

    @staticmethod
    async def _originals(
        session: AsyncSession, taken: list[ChatMessage]
    ) -> dict[RetryKey, ChatMessage]:
        """The stored messages of retry keys that were taken (rare: retries after a drop)."""
        senders = {message.sender.id: message.sender for message in taken}
        pairs = [
            and_(
                models.ChatMessage.sender_id == message.sender.id,
                models.ChatMessage.client_msg_id == message.client_msg_id,
            )
            for message in taken
        ]
        rows = await session.scalars(select(models.ChatMessage).where(or_(*pairs)))
        return {
            (row.sender_id, row.client_msg_id): _out(row, senders[row.sender_id]) for row in rows
        }

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
                cursor = await cursor_row(
                    session,
                    models.ChatMessage,
                    before,
                    prefix="msg",
                    meeting_id=meeting_id,
                    field="before",
                    what="message",
                )
                query = query.where(beyond(models.ChatMessage, cursor, later=False))
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


def _row(message: ChatMessage) -> dict[str, object]:
    return {
        "id": message.message_id,
        "meeting_id": message.room_id,
        "sender_id": message.sender.id,
        "content": message.content,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at,
    }


def _out(row: models.ChatMessage, sender: PublicUser) -> ChatMessage:
    return ChatMessage(
        message_id=row.id,
        room_id=row.meeting_id,
        sender=sender,
        content=row.content,
        created_at=row.created_at,
        client_msg_id=row.client_msg_id,
    )
