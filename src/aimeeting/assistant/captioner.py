"""One transcription worker for the whole assistant process, fed by every speaker of every
meeting it captions.

Whisper uses both cores for one utterance at a time, so utterances queue here rather than run
side by side. Finals go first: they are what the transcript keeps. A partial caption is only a
preview, so one waiting is replaced by a newer one of the same speaker, and dropped when that
speaker's final arrives. The worker is serial, so each speaker's captions reach the meeting in
the order they were spoken (a partial in flight is sent before the final that follows it).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aimeeting.assistant.segmenter import Utterance
from aimeeting.assistant.speech import Transcriber

log = logging.getLogger(__name__)

Deliver = Callable[[Utterance, str], Awaitable[None]]
"""Where a caption goes once transcribed: the utterance and its text (never empty)."""

Speaker = tuple[str, str]  # (meeting id, user id)


@dataclass(frozen=True)
class _Job:
    speaker: Speaker
    utterance: Utterance
    language: str
    deliver: Deliver


class Captioner:
    """``submit`` utterances; ``run`` transcribes them until cancelled.

    ``transcriber(language)`` gives the engine for a meeting's language (loaded on first use;
    the same one is reused, from the worker thread only).
    """

    def __init__(self, transcriber: Callable[[str], Transcriber]) -> None:
        self._transcriber = transcriber
        self._finals: deque[_Job] = deque()
        self._partials: dict[Speaker, _Job] = {}  # the newest waiting partial per speaker
        self._ready = asyncio.Event()
        self._working = False  # a job is being transcribed or delivered
        # One thread: the engine is not shared between threads, and it uses the cores itself.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="transcribe")

    def submit(
        self, speaker: Speaker, utterance: Utterance, language: str, deliver: Deliver
    ) -> None:
        job = _Job(speaker, utterance, language, deliver)
        if utterance.final:
            self._partials.pop(speaker, None)
            self._finals.append(job)
        else:
            self._partials[speaker] = job
        self._ready.set()

    def forget(self, meeting_id: str) -> None:
        """Drop what waits for a meeting the assistant left."""
        self._finals = deque(job for job in self._finals if job.speaker[0] != meeting_id)
        for speaker in [s for s in self._partials if s[0] == meeting_id]:
            del self._partials[speaker]

    def idle(self) -> bool:
        """Nothing waits and nothing is being transcribed."""
        return not (self._finals or self._partials or self._working)

    async def run(self) -> None:
        try:
            while True:
                job = self._next()
                if job is None:
                    self._ready.clear()
                    await self._ready.wait()
                    continue
                self._working = True
                try:
                    await self._transcribe(job)
                finally:
                    self._working = False
        finally:
            self._thread.shutdown(wait=False, cancel_futures=True)

    def _text_of(self, job: _Job) -> str:
        """In the transcription thread: the engine for the job's language (loaded on first
        use), then its text."""
        language = None if job.language == "auto" else job.language
        return self._transcriber(job.language).transcribe(job.utterance.audio, language)

    def _next(self) -> _Job | None:
        if self._finals:
            return self._finals.popleft()
        if self._partials:
            speaker = next(iter(self._partials))  # the longest-waiting speaker
            return self._partials.pop(speaker)
        return None

    async def _transcribe(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(self._thread, self._text_of, job)
        except Exception:  # one bad utterance (or engine) must not stop the captions
            log.exception("meeting %s: transcription failed", job.speaker[0])
            return
        text = text.strip()
        if not text:
            return
        try:
            await job.deliver(job.utterance, text)
        except Exception as exc:  # the meeting is gone, or the caption refused: say, go on
            log.info("meeting %s: caption not delivered: %s", job.speaker[0], exc)
