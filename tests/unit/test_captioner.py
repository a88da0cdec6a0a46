"""The assistant's transcription queue (aimeeting.assistant.captioner): finals first, a waiting
partial replaced by a newer one and dropped by its speaker's final, each speaker's captions in
the order spoken, and a failing engine or meeting that stops nothing. The engine here is a
stand-in that returns what it is told: the queue is what is under test, not speech."""

from __future__ import annotations

import asyncio

import numpy as np
import numpy.typing as npt

from aimeeting.assistant.captioner import Captioner, Deliver
from aimeeting.assistant.segmenter import Utterance


class Words:
    """An engine that "hears" the text written into the utterance's first sample's slot."""

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts
        self.heard: list[str] = []

    def transcribe(self, audio: npt.NDArray[np.float32], language: str | None = None) -> str:
        text = self.texts[int(audio[0])]
        self.heard.append(text)
        if text == "boom":
            raise RuntimeError("engine failure")
        return text


def utterance(key: int, final: bool, start_ms: int = 0) -> Utterance:
    return Utterance(np.full(1600, key, dtype=np.float32), start_ms, start_ms + 100, final)


async def captions_of(captioner: Captioner, jobs: list[tuple[str, Utterance]]) -> list[str]:
    """Submit every job before the worker runs, then run it until all is said."""
    said: list[str] = []

    def deliver_for(user: str) -> Deliver:
        async def deliver(u: Utterance, text: str) -> None:
            if text == "refused":
                raise RuntimeError("the meeting refused it")
            said.append(f"{user}:{text}:{'final' if u.final else 'partial'}")

        return deliver

    for user, job in jobs:
        captioner.submit(("m1", user), job, "en", deliver_for(user))
    await drain(captioner)
    return said


async def drain(captioner: Captioner) -> None:
    worker = asyncio.create_task(captioner.run())
    try:
        async with asyncio.timeout(5):
            while not captioner.idle():
                await asyncio.sleep(0.01)
    finally:
        worker.cancel()


async def test_finals_go_first_and_a_newer_partial_replaces_a_waiting_one() -> None:
    words = Words({1: "one", 2: "one two", 3: "three", 4: "one two three"})
    captioner = Captioner(lambda language: words)
    said = await captions_of(
        captioner,
        [
            ("bob", utterance(1, final=False)),
            ("bob", utterance(2, final=False)),  # replaces "one", which never ran
            ("amy", utterance(3, final=True)),
        ],
    )
    assert said == ["amy:three:final", "bob:one two:partial"]
    assert words.heard == ["three", "one two"]


async def test_a_final_drops_its_speakers_waiting_partial() -> None:
    words = Words({1: "one", 2: "one two."})
    captioner = Captioner(lambda language: words)
    said = await captions_of(
        captioner, [("bob", utterance(1, final=False)), ("bob", utterance(2, final=True))]
    )
    assert said == ["bob:one two.:final"]


async def test_an_engine_failure_or_a_refused_caption_stops_nothing() -> None:
    words = Words({1: "boom", 2: "refused", 3: "", 4: "still here"})
    captioner = Captioner(lambda language: words)
    said = await captions_of(
        captioner,
        [
            (user, utterance(key, final=True))
            for user, key in (("a", 1), ("b", 2), ("c", 3), ("d", 4))
        ],
    )
    assert said == ["d:still here:final"]  # an empty text is no caption


async def test_forget_drops_what_waits_for_a_meeting_left() -> None:
    words = Words({1: "gone", 2: "kept"})
    captioner = Captioner(lambda language: words)
    captioner.submit(("left", "u"), utterance(1, final=True), "en", ignore)
    captioner.submit(("stay", "u"), utterance(2, final=True), "en", ignore)
    captioner.forget("left")
    await drain(captioner)
    assert words.heard == ["kept"]


async def ignore(u: Utterance, text: str) -> None:
    return None
