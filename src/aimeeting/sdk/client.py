"""``MeetingSDK``: the contract's entry point (initialize, create/join, devices, log level,
destroy) plus sign-in (register/login/logout, an extension)."""

from __future__ import annotations

import asyncio
import logging
import re
from types import TracebackType

from aimeeting.sdk.config import CreateMeetingOptions, JoinMeetingOptions, LogLevel, SDKConfig
from aimeeting.sdk.devices import list_devices
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, invalid_argument
from aimeeting.sdk.meeting import Meeting, open_meeting
from aimeeting.sdk.models import (
    AssistantInvitation,
    MediaDevices,
    Summary,
    TranscriptPage,
    User,
)
from aimeeting.sdk.rest import RestClient, Tokens

log = logging.getLogger("aimeeting")

# Any nine ASCII digits, as the server takes them (DECISIONS §2; it hands out 1-9 first).
MEETING_NUMBER = re.compile(r"[0-9]{9}")


class MeetingSDK:
    """``async with MeetingSDK(config) as sdk:`` initializes, and destroys on the way out."""

    def __init__(self, config: SDKConfig | None = None) -> None:
        self._config = config
        self._rest: RestClient | None = None
        self._meetings: list[Meeting] = []
        self._destroyed = False
        self.user: User | None = None

    async def initialize(self, config: SDKConfig | None = None) -> None:
        """Check the configuration and that the server answers; with tokens in the config,
        load the user they belong to. Every failure is INIT_FAILED (the cause in details)."""
        config = config or self._config
        if self._rest is not None or self._destroyed:
            raise MeetingError(SDKErrorCode.INIT_FAILED, "already initialized or destroyed")
        if config is None:
            raise MeetingError(SDKErrorCode.INIT_FAILED, "no configuration")
        if problems := config.problems():
            raise MeetingError(SDKErrorCode.INIT_FAILED, "invalid configuration", problems)
        if config.log_level is not None:
            self.set_log_level(config.log_level)
        rest = RestClient(config)
        try:
            await rest.health()
            if config.access_token or config.refresh_token:
                rest.tokens.access_token = rest.tokens.access_token or ""
                self.user = await rest.me()
        except MeetingError as exc:
            await rest.close()
            raise MeetingError(SDKErrorCode.INIT_FAILED, exc.message, exc.details) from exc
        self._config, self._rest = config, rest
        log.info("initialized for %s", config.api_base)

    # --- sign-in (extension) ----------------------------------------------------------------

    async def register(self, email: str, password: str, nickname: str) -> User:
        self.user = await self._api().register(email, password, nickname)
        return self.user

    async def login(self, email: str, password: str) -> User:
        self.user = await self._api().login(email, password)
        return self.user

    async def logout(self) -> None:
        """Leave every meeting, then end the session on the server (its tokens stop working)."""
        rest = self._api()
        await self._leave_all()
        try:
            await rest.logout()
        finally:
            self.user = None

    @property
    def tokens(self) -> Tokens:
        """The session's tokens (to save, and pass back in ``SDKConfig`` later)."""
        tokens = self._api().tokens
        return Tokens(tokens.access_token, tokens.refresh_token)

    # --- meetings ---------------------------------------------------------------------------

    async def create_meeting(self, options: CreateMeetingOptions | None = None) -> Meeting:
        """Create a meeting and join it; returns once the room is entered."""
        options = options or CreateMeetingOptions()
        if options.title is not None and not isinstance(options.title, str):
            raise invalid_argument("title must be a string", title="must be a string")
        meeting_number = await self._api().create_meeting(options.title)
        return await self.join_meeting(meeting_number, options.join_options())

    async def join_meeting(
        self, meeting_number: str, options: JoinMeetingOptions | None = None
    ) -> Meeting:
        """Take a seat with the initial mute state of ``options``, then enter the room and
        (with the media extra) call every member, publishing ``options``' tracks."""
        options = options or JoinMeetingOptions()
        if not isinstance(meeting_number, str) or not MEETING_NUMBER.fullmatch(meeting_number):
            raise invalid_argument("a meeting number is 9 digits", meeting_number="9 digits")
        rest = self._api()
        detail = await rest.join_meeting(meeting_number, options.audio_muted, options.video_muted)
        me = self.user or await rest.me()
        assert self._config is not None
        meeting = await open_meeting(rest, self._config, me, detail, options)
        self._meetings.append(meeting)
        return meeting

    # --- what the meeting assistant wrote (extension, docs/assistant.md) --------------------

    async def get_transcript(
        self, meeting_id: str, *, after: str | None = None, limit: int = 50
    ) -> TranscriptPage:
        """A meeting's transcript, oldest first (``after``: a segment id, to page on); for
        anyone who may see the meeting, during it and after."""
        return await self._api().transcript(meeting_id, after, limit)

    async def get_summary(self, meeting_id: str) -> Summary:
        """The summary written when the meeting ended (``status`` says whether it is yet)."""
        return await self._api().summary(meeting_id)

    async def assistant_invitations(self) -> list[AssistantInvitation]:
        """For the assistant's own account: the meetings it is invited to now."""
        return await self._api().assistant_invitations()

    # --- devices, logs, teardown ------------------------------------------------------------

    async def get_devices(self) -> MediaDevices:
        return await asyncio.to_thread(list_devices)

    def set_log_level(self, level: LogLevel) -> None:
        """The level of the SDK's logger, ``aimeeting`` (stdlib logging; no handler added)."""
        logging.getLogger("aimeeting").setLevel(LogLevel(level).logging_level)

    async def destroy(self) -> None:
        """Leave every meeting and close the connections. Idempotent."""
        if self._destroyed:
            return
        self._destroyed = True
        await self._leave_all()
        if self._rest is not None:
            await self._rest.close()
            self._rest = None

    async def __aenter__(self) -> MeetingSDK:
        if self._rest is None:
            await self.initialize()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.destroy()

    # --- helpers ----------------------------------------------------------------------------

    def _api(self) -> RestClient:
        if self._rest is None:
            state = "destroyed" if self._destroyed else "not initialized: call initialize()"
            raise MeetingError(SDKErrorCode.INIT_FAILED, f"the SDK is {state}")
        return self._rest

    async def _leave_all(self) -> None:
        meetings, self._meetings = self._meetings, []
        await asyncio.gather(*(meeting.leave() for meeting in meetings), return_exceptions=True)
