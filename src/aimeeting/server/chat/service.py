"""Chat: storing messages (in batches, with the client's retry key) and reading history."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol.wire import ChatMessageData
from aimeeting.server.chat.schemas import ChatHistory, ChatMessage
from aimeeting.server.db import Database, models
from aimeeting.server.ids import Clock, new_id
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.pages import beyond, cursor_row
from aimeeting.server.schemas import format_timestamp
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
    message: ChatMessageData  # the ``chat_message`` event's data
    created_at: datetime
    is_new: bool  # False: a repeat of (sender, client_msg_id); ``message`` is the original


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A message about to be stored (plain values: no model is built on the hot path)."""

    message_id: str
    room_id: str
    sender: PublicUser
    content: str
    client_msg_id: str | None
    created_at: datetime

    def stored(self, *, is_new: bool) -> Stored:
        data = _wire(
            self.message_id,
            self.room_id,
            self.sender,
            self.content,
            self.created_at,
            self.client_msg_id,
        )
        return Stored(data, self.created_at, is_new)


# What the SQLite path writes, in this order; the ORM path writes the same columns.
_COLUMNS = ("id", "meeting_id", "sender_id", "content", "client_msg_id", "created_at")
# The table's and the columns' names are ours (no input): the values are bound.
_TABLE, _NAMES, _MARKS = ChatMessageTable.name, ", ".join(_COLUMNS), ", ".join("?" * len(_COLUMNS))
_INSERT = f"INSERT INTO {_TABLE} ({_NAMES}) VALUES ({_MARKS}) ON CONFLICT DO NOTHING"  # noqa: S608
_SELECT = f"SELECT {_NAMES} FROM {_TABLE} WHERE "  # noqa: S608


class ChatService:
    def __init__(self, db: Database, meetings: MeetingService) -> None:
        self.db = db
        self.meetings = meetings
        # Strictly increasing: history's order (created_at, id) is the order messages were sent.
        self._clock = Clock()
        # SQLite keeps times as the model's type makes them (text); the direct path does too.
        created_at = ChatMessageTable.c.created_at.type
        self._to_sqlite_time = created_at.bind_processor(db.engine.dialect) or _same

    async def store(
        self, batch: list[NewMessage], after: Mapping[str, datetime] | None = None
    ) -> list[Stored]:
        """Store a batch in one transaction, in order; repeats of a retry key are not stored.
        ``after``: per room, a time its new messages must come after (another node's last)."""
        after = after or {}
        # The first message of each retry key in the batch is a candidate; later ones repeat it.
        candidates: list[_Candidate] = []
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
        if self.db.writes_directly:
            inserted, originals = await self._insert_sqlite(candidates)
        else:
            inserted, originals = await self._insert_orm(candidates)
        results: list[Stored] = []
        seen: set[int] = set()
        for index in position:
            candidate = candidates[index]
            if candidate.message_id in inserted:
                results.append(candidate.stored(is_new=index not in seen))
            else:
                results.append(originals[(candidate.sender.id, candidate.client_msg_id)])
            seen.add(index)
        return results

    async def _insert_orm(
        self, candidates: list[_Candidate]
    ) -> tuple[set[str], dict[RetryKey, Stored]]:
        """The new rows' ids, and the originals of retry keys taken already."""
        table = ChatMessageTable
        # One Core statement (the ORM's bulk path costs more than the insert itself); rows whose
        # retry key is taken already are skipped, not refused.
        insert = self.db.insert_or_ignore(table).returning(table.c.id)
        rows = [dict(zip(_COLUMNS, _values(c), strict=True)) for c in candidates]
        async with self.db.write() as session:
            connection = await session.connection()
            result = await connection.execute(insert, rows)
            inserted = set(result.scalars())
            taken = [c for c in candidates if c.message_id not in inserted]
            originals = await self._originals(session, taken) if taken else {}
        return inserted, {
            key: Stored(message.to_wire(), message.created_at, is_new=False)
            for key, message in originals.items()
        }

    async def _insert_sqlite(
        self, candidates: list[_Candidate]
    ) -> tuple[set[str], dict[RetryKey, Stored]]:
        """``_insert_orm`` in one hop on SQLite's own driver (the hot path on SQLite)."""
        to_time = self._to_sqlite_time
        rows = [(*_values(c)[:5], to_time(c.created_at)) for c in candidates]
        work = partial(_insert_rows, rows)
        inserted, found = await self.db.write_directly(work, len(rows))
        senders = {c.sender.id: c.sender for c in candidates}
        originals: dict[RetryKey, Stored] = {}
        for message_id, room_id, sender_id, content, client_msg_id, created_at in found:
            when = datetime.fromisoformat(created_at).replace(tzinfo=UTC)  # stored in UTC
            data = _wire(message_id, room_id, senders[sender_id], content, when, client_msg_id)
            originals[(sender_id, client_msg_id)] = Stored(data, when, is_new=False)
        return inserted, originals

    def _new_message(self, item: NewMessage, after: datetime | None) -> _Candidate:
        return _Candidate(
            message_id=new_id("msg"),
            room_id=item.room_id,
            sender=item.sender,
            content=item.content,
            client_msg_id=item.client_msg_id,
            created_at=self._clock.next(after),
        )

    @staticmethod
    async def _originals(
        session: AsyncSession, taken: list[_Candidate]
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

    async def stored_after(
        self, meeting_id: str, after: str | None, since: datetime, limit: int
    ) -> list[ChatMessage]:
        """Oldest first: the meeting's messages stored after the message ``after`` (or, when
        None or not found, after the time ``since``), at most ``limit``."""
        query = (
            select(models.ChatMessage, models.User)
            .join(models.User, models.User.id == models.ChatMessage.sender_id)
            .where(models.ChatMessage.meeting_id == meeting_id)
        )
        async with self.db.read() as session:
            cursor = await session.get(models.ChatMessage, after) if after else None
            if cursor is not None and cursor.meeting_id == meeting_id:
                query = query.where(beyond(models.ChatMessage, cursor, later=True))
            else:
                query = query.where(models.ChatMessage.created_at > since)
            order = (models.ChatMessage.created_at, models.ChatMessage.id)
            rows = (await session.execute(query.order_by(*order).limit(limit))).all()
            return [
                _out(row, PublicUser(id=user.id, nickname=user.nickname, avatar=user.avatar))
                for row, user in rows
            ]


def _values(message: _Candidate) -> tuple[Any, ...]:
    """The row's values, in ``_COLUMNS``' order."""
    return (
        message.message_id,
        message.room_id,
        message.sender.id,
        message.content,
        message.client_msg_id,
        message.created_at,
    )


def _insert_rows(
    rows: list[tuple[Any, ...]], connection: sqlite3.Connection
) -> tuple[set[str], list[tuple[Any, ...]]]:
    """In the writer's thread: insert ``rows`` but those whose retry key is taken; the ids
    inserted, and the stored rows of the keys that were taken (rare: retries after a drop)."""
    cursor = connection.executemany(_INSERT, rows)
    if cursor.rowcount == len(rows):
        return {row[0] for row in rows}, []
    inserted: set[str] = set()
    found: list[tuple[Any, ...]] = []
    for row in rows:
        if connection.execute(_SELECT + "id = ?", (row[0],)).fetchone() is not None:
            inserted.add(row[0])
            continue
        key = "sender_id = ? AND client_msg_id = ?"
        original = connection.execute(_SELECT + key, (row[2], row[4])).fetchone()
        if original is not None:
            found.append(tuple(original))
    return inserted, found


def _wire(
    message_id: str,
    room_id: str,
    sender: PublicUser,
    content: str,
    created_at: datetime,
    client_msg_id: str | None,
) -> ChatMessageData:
    return {
        "message_id": message_id,
        "room_id": room_id,
        "sender": sender.to_wire(),
        "content": content,
        "created_at": format_timestamp(created_at),
        "client_msg_id": client_msg_id,
    }


def _same(value: Any) -> Any:
    return value


def _out(row: models.ChatMessage, sender: PublicUser) -> ChatMessage:
    return ChatMessage(
        message_id=row.id,
        room_id=row.meeting_id,
        sender=sender,
        content=row.content,
        created_at=row.created_at,
        client_msg_id=row.client_msg_id,
    )
