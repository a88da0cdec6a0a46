"""The assistant: its account, and its invitations to meetings (docs/assistant.md).

Inviting takes the assistant's seat through the meetings' own join (so a full meeting refuses,
and the rooms give the seat its reconnect grace until the assistant process connects);
dismissing only marks the invitation inactive: the process leaves when its poll of
``/v1/assistant/invitations`` no longer lists the meeting.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from aimeeting.protocol import ErrorCode, MeetingStatus
from aimeeting.server.assistant.schemas import (
    AssistantInvitation,
    AssistantInvitations,
    AssistantLanguage,
    AssistantState,
)
from aimeeting.server.auth.passwords import PasswordHasher
from aimeeting.server.db import Database, models
from aimeeting.server.errors import Forbidden, InvalidInput
from aimeeting.server.ids import new_id, utcnow
from aimeeting.server.meetings.schemas import JoinMeetingIn, MeetingDetail
from aimeeting.server.meetings.service import MeetingService
from aimeeting.server.users.schemas import PublicUser

log = logging.getLogger(__name__)

# The assistant's seat: it sends no media, it only listens.
_SEAT = JoinMeetingIn(audio_muted=True, video_muted=True)


class AssistantService:
    def __init__(
        self,
        db: Database,
        meetings: MeetingService,
        hasher: PasswordHasher,
        *,
        email: str,
        nickname: str,
        password: str,
        default_language: AssistantLanguage,
    ) -> None:
        self.db = db
        self.meetings = meetings
        self.hasher = hasher
        self.email = email
        self.nickname = nickname
        self.default_language: AssistantLanguage = default_language
        self._password = password
        self._user: PublicUser | None = None

    @property
    def user(self) -> PublicUser:
        """The assistant's account (known once ``start`` has run)."""
        if self._user is None:
            raise RuntimeError("AssistantService.start() has not run")
        return self._user

    def is_assistant(self, user_id: str) -> bool:
        return self._user is not None and user_id == self._user.id

    # -- the account --------------------------------------------------------------------

    async def start(self) -> None:
        """Make sure the account exists and takes the configured password. Created at start-up
        so that nobody else can register the address; several nodes may do it at once."""
        row = await self._find_account()
        if row is None:
            await self._create_account()
            row = await self._find_account()
            assert row is not None
            log.info("assistant account created", extra={"user_id": row.id})
        elif not await self.hasher.verify(self._password, row.password_hash):
            # The configured password changed (or the JWT secret it derives from): the server
            # decides what the assistant's password is.
            await self._set_password(row.id)
            log.info("assistant password updated", extra={"user_id": row.id})
        self._user = PublicUser(id=row.id, nickname=row.nickname, avatar=row.avatar)

    async def _find_account(self) -> models.User | None:
        async with self.db.read() as session:
            found: models.User | None = await session.scalar(
                select(models.User).where(models.User.email == self.email)
            )
            return found

    async def _create_account(self) -> None:
        now = utcnow()
        password_hash = await self.hasher.hash(self._password)  # bcrypt, off the event loop
        insert = self.db.insert_or_ignore(  # another node may create it at the same moment
            models.User,
            id=new_id("user"),
            email=self.email,
            password_hash=password_hash,
            nickname=self.nickname,
            avatar=None,
            created_at=now,
            updated_at=now,
        )
        async with self.db.write() as session:
            await session.execute(insert)

    async def _set_password(self, user_id: str) -> None:
        password_hash = await self.hasher.hash(self._password)
        async with self.db.write() as session:
            await session.execute(
                update(models.User)
                .where(models.User.id == user_id)
                .values(password_hash=password_hash, updated_at=utcnow())
            )

    # -- invitations ----------------------------------------------------------------------

    async def state(self, meeting_id: str, user_id: str) -> AssistantState:
        """For whoever may see the meeting (else 40402)."""
        await self.meetings.check_visible(meeting_id, user_id)
        async with self.db.read() as session:
            row = await session.get(models.MeetingAssistant, meeting_id)
        return self._state(row)

    async def invite(
        self, meeting_id: str, user_id: str, language: AssistantLanguage | None
    ) -> AssistantState:
        """Take the assistant's seat and make the invitation active; idempotent (a second call
        may change the language). 40402, 40005 (ended), 40301 (no right), 40006 (full)."""
        detail = await self.meetings.get(meeting_id, user_id)
        if detail.status == MeetingStatus.ENDED:
            raise InvalidInput(ErrorCode.MEETING_ENDED)
        _check_may_change(detail, user_id)
        await self.meetings.join(detail.meeting_number, self.user.id, _SEAT)
        async with self.db.write() as session:
            row = await self._activate(session, meeting_id, user_id, language)
        log.info("assistant invited", extra={"meeting_id": meeting_id, "user_id": user_id})
        return self._state(row)

    async def _activate(
        self,
        session: AsyncSession,
        meeting_id: str,
        user_id: str,
        language: AssistantLanguage | None,
    ) -> models.MeetingAssistant:
        now = utcnow()
        # The row first, if two invitations race; then both update it in turn.
        await session.execute(
            self.db.insert_or_ignore(
                models.MeetingAssistant,
                meeting_id=meeting_id,
                active=False,
                language=self.default_language,
                invited_by=user_id,
                invited_at=now,
            )
        )
        row = await session.get(
            models.MeetingAssistant, meeting_id, with_for_update=True, populate_existing=True
        )
        assert row is not None
        if not row.active:  # a new invitation: who and when
            row.active, row.invited_by, row.invited_at = True, user_id, now
            row.language = language or self.default_language
        elif language is not None:
            row.language = language
        return row

    async def dismiss(self, meeting_id: str, user_id: str) -> AssistantState:
        """Make the invitation inactive; idempotent. Its seat stays until the assistant process
        leaves (or, with no process connected, until the reconnect grace runs out)."""
        detail = await self.meetings.get(meeting_id, user_id)
        _check_may_change(detail, user_id)
        async with self.db.write() as session:
            await session.execute(
                update(models.MeetingAssistant)
                .where(models.MeetingAssistant.meeting_id == meeting_id)
                .values(active=False)
            )
            row = await session.get(models.MeetingAssistant, meeting_id)
        log.info("assistant dismissed", extra={"meeting_id": meeting_id, "user_id": user_id})
        return self._state(row)

    async def is_invited(self, meeting_id: str) -> bool:
        """Whether the assistant's invitation to the meeting is active now."""
        async with self.db.read() as session:
            row = await session.get(models.MeetingAssistant, meeting_id)
        return row is not None and row.active

    async def invitations(self, user_id: str) -> AssistantInvitations:
        """The active invitations of meetings not ended: for the assistant's account only."""
        if not self.is_assistant(user_id):
            raise Forbidden({"user": "only the assistant's account has invitations"})
        async with self.db.read() as session:
            rows = await session.execute(
                select(models.MeetingAssistant, models.Meeting)
                .join(models.Meeting, models.Meeting.id == models.MeetingAssistant.meeting_id)
                .where(models.MeetingAssistant.active, models.Meeting.status != MeetingStatus.ENDED)
                .order_by(models.MeetingAssistant.invited_at, models.MeetingAssistant.meeting_id)
            )
            now = utcnow()
            items = [
                AssistantInvitation(
                    meeting_id=meeting.id,
                    meeting_number=meeting.meeting_number,
                    language=row.language,  # checked by the table
                    invited_at=row.invited_at,
                )
                for row, meeting in rows
                if self.meetings.status_of(meeting, now)[0] != MeetingStatus.ENDED
            ]
        return AssistantInvitations(items=items)

    def _state(self, row: models.MeetingAssistant | None) -> AssistantState:
        if row is None:
            return AssistantState(
                active=False,
                user_id=self.user.id,
                language=self.default_language,
                invited_by=None,
                invited_at=None,
            )
        return AssistantState(
            active=row.active,
            user_id=self.user.id,
            language=row.language,  # checked by the table
            invited_by=row.invited_by,
            invited_at=row.invited_at,
        )


def _check_may_change(detail: MeetingDetail, user_id: str) -> None:
    """Inviting and dismissing: the creator, or anyone holding a seat now (else 40301)."""
    seated = any(seat.user_id == user_id for seat in detail.participants)
    if detail.creator_id != user_id and not seated:
        raise Forbidden({"meeting_id": "only its creator or a member holding a seat"})
