"""Scenario ``assistant``: how soon a caption is shown after speech ends, and how many meetings
one assistant process captions at once.

One ``aimeeting serve`` with ``AIMEETING_ASSISTANT=1`` (so the assistant is the real child
process, with the packaged tiny.en model) in a private loopback-only network (as root). For each
step N: N meetings, each with a listener (no media) who invites the assistant and a speaker
(the Python SDK on aiortc) whose microphone loops espeak-ng sentences with pauses. After a
warm-up, for ``seconds``:

- **latency** of each final caption: when the listener got it, minus its ``end_ms`` (the end
  of the speech as the assistant heard it; one machine, one clock). It includes the pause the
  segmenter waits for before it calls an utterance done (``end_silence``, 0.6 s).
- **throughput**: final captions per minute against the sentences spoken per minute, and the
  assistant process's CPU. A step "runs" when latency stays near the one-meeting figure and no
  sentence goes uncaptioned.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
from aiortc.contrib.media import MediaPlayer

from aimeeting import CaptionEvent, JoinMeetingOptions, MeetingEvent, MeetingSDK
from bench.media import SERVER_ENV, _summary
from bench.pybots import _bot
from harness.netns import private_network
from harness.server import ServerProcess
from harness.speech import EN_SENTENCES, conversation, write_wav

STEPS = (1, 2, 4, 6)
QUICK_STEPS = (1,)
PASSWORD = "assistant-Pass1"


def _assistant(server: ServerProcess) -> psutil.Process:
    assert server.process is not None
    for child in psutil.Process(server.process.pid).children(recursive=True):
        if "assistant" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("no assistant process")


async def _step(
    url: str, meetings: int, wav: Path, warmup: float, seconds: float
) -> dict[str, Any]:
    sdks: list[MeetingSDK] = []
    latencies: list[float] = []
    finals = 0
    counting = False

    def on_caption(event: CaptionEvent) -> None:
        nonlocal finals
        if event.final and counting:
            finals += 1
            latencies.append(time.time() * 1000 - event.end_ms)

    try:
        for i in range(meetings):
            listener = await _bot(url, f"Listener{i}", media=False)
            speaker = await _bot(url, f"Speaker{i}")
            sdks += [listener, speaker]
            meeting = await listener.create_meeting()
            meeting.on(MeetingEvent.CAPTION, on_caption)
            await meeting.invite_assistant()
            player = MediaPlayer(str(wav), loop=True)
            await speaker.join_meeting(
                meeting.meeting_number, JoinMeetingOptions(audio_track=player.audio)
            )
        await asyncio.sleep(warmup)
        counting = True
        await asyncio.sleep(seconds)
        counting = False
    finally:
        for sdk in sdks:
            await sdk.destroy()
    return {
        "meetings": meetings,
        "finals": finals,
        "latency_ms": _summary(latencies) if latencies else None,
    }


def run(data_dir: Path, steps: tuple[int, ...] = STEPS, seconds: float = 30.0) -> dict[str, Any]:
    said = conversation(EN_SENTENCES[:4], pause=1.5, rate=48000)
    wav = write_wav(data_dir / "speaker.wav", said.samples, 48000)
    loop_seconds = len(said.samples) / said.rate
    env = {**SERVER_ENV, "AIMEETING_ASSISTANT": "1", "AIMEETING_ASSISTANT_PASSWORD": PASSWORD}
    results = []
    with private_network(), ServerProcess(data_dir, env) as server:
        assistant = _assistant(server)
        for meetings in steps:
            assistant.cpu_percent()
            step = asyncio.run(_step(server.url, meetings, wav, warmup=8.0, seconds=seconds))
            step["assistant_cpu_percent"] = round(assistant.cpu_percent(), 1)
            step["sentences"] = round(meetings * len(said.texts) * seconds / loop_seconds, 1)
            print(f"bench assistant: {step}", flush=True)
            results.append(step)
            time.sleep(2)  # the assistant leaves the ended meetings
    return {
        "seconds": seconds,
        "loop_seconds": round(loop_seconds, 2),
        "sentences_per_loop": len(said.texts),
        "steps": results,
    }
