"""Summaries: written when a meeting with a transcript ends, stored, posted to its chat.

The node that ends the meeting marks the summary ``pending`` before the end's answer goes out,
then writes it in the background (a language model when one is configured, else, or when it
fails, the extractive rules) and posts it to the meeting's chat as the assistant. A summary
still pending twice the model's timeout after its last touch was orphaned (its node died): the
next ``get`` claims it and writes it itself.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime, timedelta

from sqlalchemy import update

from aimeeting.protocol.messages import MAX_CHAT_LENGTH
from aimeeting.server.assistant.service import AssistantService
from aimeeting.server.chat.service import ChatService, NewMessage
from aimeeting.server.db import Database, models
from aimeeting.server.ids import utcnow
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.summaries import extractive
from aimeeting.server.summaries.provider import ChatCompletionsProvider
from aimeeting.server.summaries.schemas import SummaryContent, SummaryOut
from aimeeting.server.transcripts.service import TranscriptService
from aimeeting.tasks import Background

log = logging.getLogger(__name__)

_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN_WORD = re.compile("[A-Za-z]+")
# Chat headings: (title, key points, decisions, action items, keywords, nothing, owner).
_HEADINGS = {
    "en": (
        "Meeting summary",
        "Key points:",
        "Decisions:",
        "Action items:",
        "Keywords: ",
        "Nothing to summarize.",
        " ({})",
    ),
    "zh": ("会议纪要", "要点：", "决定：", "待办：", "关键词：", "没有可总结的内容。", "（{}）"),
}


class SummaryService:
    """A ``MeetingListener``: it acts when a meeting ends."""

    def __init__(
        self,
        db: Database,
        meetings: MeetingService,
        transcripts: TranscriptService,
        chat: ChatService,
        assistant: AssistantService,
        *,
        provider: ChatCompletionsProvider | None,
        timeout: float,
    ) -> None:
        self.db = db
        self.meetings = meetings
        self.transcripts = transcripts
        self.chat = chat
        self.assistant = assistant
        self.provider = provider
        self.timeout = timeout
        self._orphaned_after = timedelta(seconds=2 * timeout)
        self._writing = Background()

    # -- MeetingListener ------------------------------------------------------------------

    async def seat_taken(self, meeting_id: str, user_id: str) -> None:
        """Nothing to do until the meeting ends."""

    async def meeting_ended(self, meeting_id: str, ended_at: datetime) -> None:
        try:
            if not await self.transcripts.has_any(meeting_id):
                return  # nothing was said: the summary reads "none"
            await self._mark_pending(meeting_id)
        except Exception:  # the meeting has ended all the same; a GET cannot repair this one
            log.exception("summary not started", extra={"meeting_id": meeting_id})
            return
        self._writing.spawn(self._write_logged(meeting_id), name=f"summary-{meeting_id}")

    async def stop(self) -> None:
        """Stop the summaries being written; they stay pending, and a later GET writes them."""
        await self._writing.stop()

    # -- reading --------------------------------------------------------------------------

    async def get(self, meeting_id: str, user_id: str) -> SummaryOut:
        """For whoever may see the meeting (else 40402)."""
        await self.meetings.check_visible(meeting_id, user_id)
        async with self.db.read() as session:
            row = await session.get(models.MeetingSummary, meeting_id)
        if row is None:
            return SummaryOut(status="none", summary=None)
        if row.status == "ready" and row.content is not None:
            summary = SummaryContent.model_validate_json(row.content)
            return SummaryOut(status="ready", summary=summary)
        if utcnow() - row.updated_at > self._orphaned_after and await self._claim(row):
            log.info("orphaned summary taken over", extra={"meeting_id": meeting_id})
            return SummaryOut(status="ready", summary=await self._write(meeting_id))
        return SummaryOut(status="pending", summary=None)

    # -- writing --------------------------------------------------------------------------

    async def _mark_pending(self, meeting_id: str) -> None:
        now = utcnow()
        insert = self.db.insert_or_ignore(
            models.MeetingSummary,
            meeting_id=meeting_id,
            status="pending",
            content=None,
            created_at=now,
            updated_at=now,
        )
        async with self.db.write() as session:
            await session.execute(insert)

    async def _claim(self, row: models.MeetingSummary) -> bool:
        """Take an orphaned summary over: whoever touches it first (several GETs may race)."""
        async with self.db.write() as session:
            claimed = await session.execute(
                update(models.MeetingSummary)
                .where(
                    models.MeetingSummary.meeting_id == row.meeting_id,
                    models.MeetingSummary.status == "pending",
                    models.MeetingSummary.updated_at == row.updated_at,
                )
                .values(updated_at=utcnow())
            )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]

    async def _write_logged(self, meeting_id: str) -> None:
        try:
            await self._write(meeting_id)
        except Exception:  # left pending: a GET writes it once it is orphaned
            log.exception("summary not written", extra={"meeting_id": meeting_id})

    async def _write(self, meeting_id: str) -> SummaryContent:
        """Summarize, store as ready, post to the chat; the summary."""
        segments = await self.transcripts.all(meeting_id)
        members = await self.meetings.members(meeting_id)
        members.pop(self.assistant.user.id, None)  # nobody gives the assistant a task
        utterances = [extractive.Utterance(s.user_id, s.text) for s in segments]
        content = await self._summarize(meeting_id, utterances, members)
        async with self.db.write() as session:
            await session.execute(
                update(models.MeetingSummary)
                .where(models.MeetingSummary.meeting_id == meeting_id)
                .values(status="ready", content=content.model_dump_json(), updated_at=utcnow())
            )
        await self._post(meeting_id, content, members)
        log.info("summary written", extra={"meeting_id": meeting_id})
        return content

    async def _summarize(
        self, meeting_id: str, utterances: list[extractive.Utterance], members: dict[str, str]
    ) -> SummaryContent:
        if self.provider is not None:
            try:
                # httpx's timeout is per read; this one bounds the whole call.
                async with asyncio.timeout(self.timeout):
                    return await self.provider.summarize(utterances, members)
            except Exception as exc:  # any failure: the offline summary instead
                reason = str(exc) or type(exc).__name__  # ProviderError texts hold no secret
                log.warning(
                    "summary provider failed, extractive summary used",
                    extra={"meeting_id": meeting_id, "reason": reason},
                )
        return extractive.summarize(utterances, members)

    async def _post(
        self, meeting_id: str, content: SummaryContent, members: dict[str, str]
    ) -> None:
        """Into the meeting's chat history, as the assistant; once, however often written."""
        message = NewMessage(
            room_id=meeting_id,
            sender=self.assistant.user,
            content=chat_text(content, members),
            client_msg_id=f"summary:{meeting_id}",
        )
        await self.chat.store([message])


def chat_text(content: SummaryContent, members: dict[str, str]) -> str:
    """The summary as a readable chat message, in the meeting's language, at most
    ``MAX_CHAT_LENGTH`` characters (what does not fit is cut, with an ellipsis)."""
    title, points, decisions, actions, keywords, nothing, owner = _HEADINGS[_language(content)]
    lines = [title]
    for heading, items in ((points, content.key_points), (decisions, content.decisions)):
        if items:
            lines += [heading, *(f"• {item}" for item in items)]
    if content.action_items:
        lines.append(actions)
        for item in content.action_items:
            name = members.get(item.owner_user_id or "")
            lines.append(f"• {item.text}" + (owner.format(name) if name else ""))
    if content.keywords:
        lines.append(keywords + ", ".join(content.keywords))
    if len(lines) == 1:
        lines.append(nothing)
    return _fit("\n".join(lines), MAX_CHAT_LENGTH)


def _language(content: SummaryContent) -> str:
    """Chinese when the summary has more ideographs than English words."""
    texts = [*content.key_points, *content.decisions, *(a.text for a in content.action_items)]
    text = " ".join([*texts, *content.keywords])
    return "zh" if len(_CJK.findall(text)) > len(_LATIN_WORD.findall(text)) else "en"


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
