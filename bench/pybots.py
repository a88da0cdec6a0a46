"""Scenario ``pybots``: Python media bots (the SDK on aiortc) at 320×240.

Everything runs in a private loopback-only network namespace (as root), as the media tests do,
against one ``aimeeting serve`` (SQLite):

- **join → first remote frame**: a bot that publishes sits in a meeting; another bot joins it,
  ``joins`` times, and we time from ``join_meeting`` called to the first decoded video frame of
  the publisher (the joiner offers, gathers, connects, decodes). p50/p95.
- **capacity**: meetings of two bots, each sending a 320×240 picture at 15 fps and a tone and
  receiving the other's, spread over 2 worker processes (one per core). For each step (number
  of bots) the workers' CPU over a ``seconds`` window after a warm-up, and the video frames
  each bot received per second: a machine "runs" N bots while they still get ~15 fps.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from aimeeting import CreateMeetingOptions, JoinMeetingOptions, MeetingEvent, MeetingSDK, SDKConfig
from aimeeting.sdk import Meeting, TrackAddedEvent
from aimeeting.sdk.media.sources import PictureTrack, ToneTrack, name_card
from bench.media import SERVER_ENV, _summary
from harness.netns import private_network
from harness.server import ServerProcess

FPS = 15
STEPS = (2, 4, 8, 12, 16, 20, 24, 28, 32)
QUICK_STEPS = (2, 4)


async def _bot(url: str, name: str, **config: Any) -> MeetingSDK:
    """A signed-up member (``config``: more ``SDKConfig`` fields, e.g. ``media=False``)."""
    sdk = MeetingSDK(SDKConfig.for_server(url, request_timeout=30, **config))
    await sdk.initialize()
    await sdk.register(f"{name}-{uuid.uuid4().hex[:8]}@example.com", "Passw0rd!", name)
    return sdk


def _publishing(name: str) -> dict[str, Any]:
    return {"audio_track": ToneTrack(440), "video_track": PictureTrack(name_card(name), FPS)}


async def _first_frame(meeting: Meeting, timeout: float = 30.0) -> None:
    async for event in meeting.events(MeetingEvent.TRACK_ADDED):
        if isinstance(event, TrackAddedEvent) and event.kind == "video":
            await asyncio.wait_for(event.track.recv(), timeout)
            return


async def join_times(url: str, joins: int) -> list[float]:
    host = await _bot(url, "Host")
    meeting = await host.create_meeting(CreateMeetingOptions(**_publishing("Host")))
    times = []
    try:
        for i in range(joins):
            guest = await _bot(url, f"Guest{i}")
            started = time.monotonic()
            joined = await guest.join_meeting(meeting.meeting_number)
            await asyncio.wait_for(_first_frame(joined), 30)
            times.append((time.monotonic() - started) * 1000)
            await guest.destroy()
    finally:
        await host.destroy()
    return times


async def _pairs(url: str, pairs: int, seconds: float, results: Any) -> None:
    """One worker: ``pairs`` meetings of two bots; counts the frames each bot receives."""
    received = [0]

    async def count(meeting: Meeting) -> None:
        async for event in meeting.events(MeetingEvent.TRACK_ADDED):
            if isinstance(event, TrackAddedEvent) and event.kind == "video":
                while True:
                    await event.track.recv()
                    received[0] += 1

    sdks, counters = [], []
    for p in range(pairs):
        a, b = await _bot(url, f"A{p}"), await _bot(url, f"B{p}")
        sdks += [a, b]
        first = await a.create_meeting(CreateMeetingOptions(**_publishing(f"A{p}")))
        second = await b.join_meeting(first.meeting_number, JoinMeetingOptions(**_publishing("B")))
        counters += [asyncio.create_task(count(m)) for m in (first, second)]
    results.put(("ready", 0))
    await asyncio.sleep(3.0)  # warm-up: links up, encoders settled
    before = received[0]
    results.put(("start", 0))
    await asyncio.sleep(seconds)
    results.put(("frames", received[0] - before))
    for task in counters:
        task.cancel()
    for sdk in sdks:
        await sdk.destroy()


def _worker(url: str, pairs: int, seconds: float, results: Any) -> None:
    asyncio.run(_pairs(url, pairs, seconds, results))


def capacity_step(url: str, bots: int, seconds: float) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    shares = [bots // 4 + (i < (bots // 2) % 2) for i in range(2)]  # pairs per worker
    workers = [
        context.Process(target=_worker, args=(url, n, seconds, results)) for n in shares if n
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert results.get(timeout=120)[0] == "ready"
    processes = [psutil.Process(w.pid) for w in workers]
    for _ in workers:
        results.get(timeout=30)  # "start", after each worker's warm-up
    cpu_before = sum(sum(p.cpu_times()[:2]) for p in processes)
    started = time.monotonic()
    frames = sum(results.get(timeout=seconds + 60)[1] for _ in workers)
    cpu = sum(sum(p.cpu_times()[:2]) for p in processes) - cpu_before
    elapsed = time.monotonic() - started
    for worker in workers:
        worker.join(60)
    return {
        "bots": bots,
        "cpu_percent": round(100 * cpu / elapsed, 1),
        "cpu_percent_per_bot": round(100 * cpu / elapsed / bots, 1),
        "fps_per_bot": round(frames / elapsed / bots, 1),
    }


def run(data_dir: Path, joins: int = 20, steps: tuple[int, ...] = STEPS) -> dict[str, Any]:
    figures: dict[str, Any] = {"fps_sent": FPS, "size": "320x240"}
    with private_network(), ServerProcess(data_dir, SERVER_ENV) as server:
        times = asyncio.run(join_times(server.url, joins))
        figures["join_to_first_frame_ms"] = _summary(times) | {"joins": len(times)}
        print(f"pybots join → first frame: {figures['join_to_first_frame_ms']}", flush=True)
        figures["steps"] = []
        for bots in steps:
            step = capacity_step(server.url, bots, seconds=10.0)
            figures["steps"].append(step)
            print(f"pybots {step}", flush=True)
            if step["fps_per_bot"] < 0.9 * FPS:
                break  # past what the machine runs
    return figures
