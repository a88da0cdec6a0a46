"""The assistant: an ordinary participant on the Python SDK that captions meetings.

It signs in with the assistant account, asks the server every ``poll_interval`` which meetings
it is invited to, joins each (receive-only: it sends no audio or video), and turns every
member's audio into captions: a ``Segmenter`` per remote audio track cuts utterances, the
process-wide ``Captioner`` transcribes them, and ``send_caption`` gives them to the server,
which stores the final ones and shows them to the room. A meeting no longer listed (dismissed,
or ended) is left. A lost server is waited for: the loop keeps polling until it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aimeeting.assistant.audio import Resampler
from aimeeting.assistant.captioner import Captioner
from aimeeting.assistant.segmenter import Segmenter, Utterance
from aimeeting.assistant.speech import Transcriber, load_transcriber
from aimeeting.protocol import ErrorCode
from aimeeting.sdk import (
    AssistantInvitation,
    JoinMeetingOptions,
    Meeting,
    MeetingError,
    MeetingEvent,
    MeetingSDK,
    SDKConfig,
    TrackAddedEvent,
    TrackKind,
)

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 5.0  # seconds between attempts while the server is away


class SignInRefused(Exception):
    """The server refused the assistant's credentials: retrying will not help."""


@dataclass(frozen=True)
class AssistantConfig:
    server: str  # the server's origin, http://127.0.0.1:3000
    email: str
    password: str
    engine: str | None = None  # "package.module:factory" for another speech engine
    warm_language: str | None = "en"  # the model loaded at start (None: on first use)
    poll_interval: float = 1.0
    sdk: dict[str, Any] = field(default_factory=dict)  # more SDKConfig fields (STUN, timings)


class Assistant:
    def __init__(
        self, config: AssistantConfig, transcriber: Callable[[str], Transcriber] | None = None
    ) -> None:
        self.config = config
        self._engines: dict[str, Transcriber] = {}
        self._load = transcriber or self._load_engine
        self.captioner = Captioner(self._engine)
        self._sessions: dict[str, asyncio.Task[None]] = {}  # meeting id → its session

    async def run(self, stop: asyncio.Event) -> None:
        """Caption every meeting the assistant is invited to, until ``stop`` is set."""
        sdk_config = SDKConfig.for_server(self.config.server, language="en", **self.config.sdk)
        worker = asyncio.create_task(self.captioner.run(), name="captioner")
        try:
            async with await self._signed_in(sdk_config, stop) as sdk:
                if self.config.warm_language:
                    await asyncio.to_thread(self._engine, self.config.warm_language)
                log.info("ready: signed in as %s", self.config.email)
                while not stop.is_set():
                    await self._follow_invitations(sdk)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.poll_interval)
                await self._leave_all()
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    # -- signing in and following invitations --------------------------------------------

    async def _signed_in(self, sdk_config: SDKConfig, stop: asyncio.Event) -> MeetingSDK:
        """An initialized, signed-in SDK; waits (with back-off) while the server is away."""
        delay = 0.2
        while True:
            sdk = MeetingSDK(sdk_config)
            try:
                await sdk.initialize()
                await sdk.login(self.config.email, self.config.password)
                return sdk
            except MeetingError as exc:
                await sdk.destroy()
                if exc.server_code in (ErrorCode.WRONG_CREDENTIALS, ErrorCode.ACCOUNT_LOCKED):
                    raise SignInRefused(f"{self.config.email}: {exc.message}") from exc
                log.info("server not reachable yet: %s", exc.message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                raise asyncio.CancelledError
            delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _follow_invitations(self, sdk: MeetingSDK) -> None:
        try:
            invitations = {i.meeting_id: i for i in await sdk.assistant_invitations()}
        except MeetingError as exc:
            log.info("invitations not read: %s", exc.message)
            return
        for meeting_id, session in list(self._sessions.items()):
            if session.done():
                del self._sessions[meeting_id]  # ended or lost: joined again below if invited
            elif meeting_id not in invitations:
                log.info("meeting %s: dismissed", meeting_id)
                session.cancel()
        for meeting_id, invitation in invitations.items():
            if meeting_id not in self._sessions:
                caption = CaptionSession(sdk, invitation, self.captioner)
                self._sessions[meeting_id] = asyncio.create_task(
                    caption.run(), name=f"caption-{meeting_id}"
                )

    async def _leave_all(self) -> None:
        for session in self._sessions.values():
            session.cancel()
        await asyncio.gather(*self._sessions.values(), return_exceptions=True)
        self._sessions.clear()

    # -- engines ---------------------------------------------------------------------------

    def _engine(self, language: str) -> Transcriber:
        """The engine for a language, loaded once (called from the transcription thread)."""
        if language not in self._engines:
            started = time.perf_counter()
            self._engines[language] = self._load(language)
            seconds = time.perf_counter() - started
            log.info("speech engine for %r loaded in %.1f s", language, seconds)
        return self._engines[language]

    def _load_engine(self, language: str) -> Transcriber:
        return load_transcriber(language, self.config.engine)


class CaptionSession:
    """One meeting: join it receive-only, caption each member's audio, leave when cancelled."""

    def __init__(
        self, sdk: MeetingSDK, invitation: AssistantInvitation, captioner: Captioner
    ) -> None:
        self.sdk = sdk
        self.invitation = invitation
        self.captioner = captioner
        self._listeners: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        meeting_id = self.invitation.meeting_id
        try:
            options = JoinMeetingOptions(audio_muted=True, video_muted=True)
            meeting = await self.sdk.join_meeting(self.invitation.meeting_number, options)
        except MeetingError as exc:
            log.info("meeting %s: not joined: %s", meeting_id, exc.message)
            return
        log.info("meeting %s: captioning", meeting_id)
        meeting.on(MeetingEvent.TRACK_ADDED, lambda event: self._listen(meeting, event))
        try:
            async for _ in meeting.events(MeetingEvent.MEETING_ENDED):
                break  # ended: the server writes the summary from the stored transcript
        finally:
            for listener in self._listeners:
                listener.cancel()
            self.captioner.forget(meeting_id)
            await asyncio.shield(meeting.leave())
            log.info("meeting %s: left", meeting_id)

    def _listen(self, meeting: Meeting, event: TrackAddedEvent) -> None:
        if event.kind is not TrackKind.AUDIO:
            return
        log.info("meeting %s: listening to %s", meeting.id, event.user_id)
        task = asyncio.create_task(self._caption_track(meeting, event))
        self._listeners.add(task)
        task.add_done_callback(self._listeners.discard)

    async def _caption_track(self, meeting: Meeting, event: TrackAddedEvent) -> None:
        """Cut one member's audio into utterances and queue them, until the track ends."""
        from aiortc.mediastreams import MediaStreamError  # the ai extra brings aiortc
        from av import AudioFrame

        speaker = (meeting.id, event.user_id)
        resampler, segmenter = Resampler(), Segmenter()

        async def deliver(utterance: Utterance, text: str) -> None:
            await meeting.send_caption(
                event.user_id, text, utterance.start_ms, utterance.end_ms, final=utterance.final
            )

        def queue(utterances: list[Utterance]) -> None:
            for utterance in utterances:
                self.captioner.submit(speaker, utterance, self.invitation.language, deliver)

        try:
            while True:
                frame = await event.track.recv()
                if not isinstance(frame, AudioFrame):
                    continue  # an audio track gives audio frames; this keeps mypy sure of it
                samples = resampler(frame)
                # The frame has just arrived: it ends now (network delay aside).
                at_ms = int(time.time() * 1000) - len(samples) * 1000 // 16000
                queue(segmenter.push(samples, at_ms))
        except MediaStreamError:
            queue(segmenter.flush())
        log.info("meeting %s: %s's audio ended", meeting.id, event.user_id)
