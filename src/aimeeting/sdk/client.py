"""``MeetingSDK``: the contract's entry point (initialize, create/join, devices, log level,
destroy) plus sign-in (register/login/logout, an extension)."""

from __future__ import annotations

import asyncio
import logging
import re
from types import TracebackType
from typing import Any

from aimeeting.sdk.config import CreateMeetingOptions, JoinMeetingOptions, LogLevel, SDKConfig
from aimeeting.sdk.devices import list_devices
from aimeeting.sdk.errors import MeetingError, SDKErrorCode, invalid_argument
from aimeeting.sdk.meeting import Meeting
from aimeeting.sdk.models import (
    AssistantInvitation,
    MediaDevices,
    Summary,
    TranscriptPage,
    TranscriptSegment,
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
                self.user = User.of(await rest.call("GET", "/users/me"))
        except MeetingError as exc:
            await rest.close()
            raise MeetingError(SDKErrorCode.INIT_FAILED, exc.message, exc.details) from exc
        self._config, self._rest = config, rest
        log.info("initialized for %s", config.api_base)

    # --- sign-in (extension) ----------------------------------------------------------------

    async def register(self, email: str, password: str, nickname: str) -> User:
        body = {"email": email, "password": password, "nickname": nickname}
        return self._signed_in(
            await self._api().call("POST", "/auth/register", json=body, auth=False)
        )

    async def login(self, email: str, password: str) -> User:
        body = {"email": email, "password": password}
        return self._signed_in(await self._api().call("POST", "/auth/login", json=body, auth=False))

    async def logout(self) -> None:
        """Leave every meeting, then end the session on the server (its tokens stop working)."""
        rest = self._api()
        await self._leave_all()
        try:
            await rest.call("POST", "/auth/logout")
        finally:
            rest.tokens.access_token = rest.tokens.refresh_token = None
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
        body = {"title": options.title} if options.title is not None else None
        created = await self._api().call("POST", "/meetings", json=body)
        return await self.join_meeting(created["meeting_number"], options.join_options())

    async def join_meeting(
        self, meeting_number: str, options: JoinMeetingOptions | None = None
    ) -> Meeting:
        """Take a seat with the initial mute state of ``options``, then enter the room and
        (with the media extra) call every member, publishing ``options``' tracks."""
        options = options or JoinMeetingOptions()
        if not isinstance(meeting_number, str) or not MEETING_NUMBER.fullmatch(meeting_number):
            raise invalid_argument("a meeting number is 9 digits", meeting_number="9 digits")
        rest = self._api()
        body = {"audio_muted": options.audio_muted, "video_muted": options.video_muted}
        detail = await rest.call("POST", f"/meetings/{meeting_number}/join", json=body)
        me = self.user or User.of(await rest.call("GET", "/users/me"))
        assert self._config is not None
        meeting = Meeting(rest, self._config, me, detail, options)
        await meeting.start()
        self._meetings.append(meeting)
        return meeting

    # --- what the meeting assistant wrote (extension, docs/assistant.md) --------------------

    async def get_transcript(
        self, meeting_id: str, *, after: str | None = None, limit: int = 50
    ) -> TranscriptPage:
        """A meeting's transcript, oldest first (``after``: a segment id, to page on); for
        anyone who may see the meeting, during it and after."""
        params: dict[str, Any] = {"limit": limit} | ({"after": after} if after else {})
        data = await self._api().call("GET", f"/meetings/{meeting_id}/transcript", params=params)
        items = [TranscriptSegment.of(item) for item in data["items"]]
        return TranscriptPage(items, bool(data["has_more"]))

    async def get_summary(self, meeting_id: str) -> Summary:
        """The summary written when the meeting ended (``status`` says whether it is yet)."""
        return Summary.of(await self._api().call("GET", f"/meetings/{meeting_id}/summary"))

    async def assistant_invitations(self) -> list[AssistantInvitation]:
        """For the assistant's own account: the meetings it is invited to now."""
        data = await self._api().call("GET", "/assistant/invitations")
        return [AssistantInvitation.of(item) for item in data["items"]]

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

    def _signed_in(self, data: dict[str, Any]) -> User:
        tokens = self._api().tokens
        tokens.access_token = data["tokens"]["access_token"]
        tokens.refresh_token = data["tokens"]["refresh_token"]
        self.user = User.of(data["user"])
        return self.user

    async def _leave_all(self) -> None:
        meetings, self._meetings = self._meetings, []
        await asyncio.gather(*(meeting.leave() for meeting in meetings), return_exceptions=True)
