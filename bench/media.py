"""Scenario ``media``: time from ``joinMeeting`` called to the first remote video frame, in real
headless Chromium pages on the browser SDK, for meetings of 2 and of 4 people.

Everything runs in a private loopback-only network namespace (as root), as the browser tests
do: one ``aimeeting serve`` (SQLite), one Chromium, a fresh browser context per person. Each
meeting: the first person creates it, the others join one after another; for each joiner we
record, from the moment ``joinMeeting`` was called (the page's clock):

- ``first_ms``: the first video frame of anyone already there (``requestVideoFrameCallback``
  on the remote ``<video>``): the moment a person sees someone;
- ``all_ms``: the first frame of the last of them: the moment they see everyone.

A fresh meeting each round (people leave and their contexts close), so rounds don't add load.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bench.wsload import percentile
from harness.browser import Chromium
from harness.netns import private_network
from harness.sdk_page import SdkUser
from harness.server import ServerProcess

FRAME_TIMEOUT = 30.0
# The server's defaults, but bcrypt at its cheapest: sign-ups are not what is measured.
SERVER_ENV = {"AIMEETING_BCRYPT_ROUNDS": "4", "AIMEETING_LOGIN_RATE_LIMIT": "100000/minute"}

# Milliseconds from joinMeeting called to the first frame of each member already in the room.
FRAMES_JS = """(others) => new Promise((resolve, reject) => {
  const fail = () => reject(new Error('no frames: ' + JSON.stringify(t.frames)));
  const timer = setTimeout(fail, TIMEOUT);
  const check = () => {
    if (!others.every((u) => u in t.frames)) return setTimeout(check, 20);
    clearTimeout(timer);
    resolve(others.map((u) => t.frames[u] - t.joinCalledAt));
  };
  check();
})""".replace("TIMEOUT", str(int(FRAME_TIMEOUT * 1000)))


async def _meeting(
    browser: Chromium, server: ServerProcess, size: int, round_: int
) -> list[dict[str, float]]:
    users: list[SdkUser] = []
    try:
        for i in range(size):
            participant = await browser.new_participant(f"r{round_}p{i}")
            users.append(await SdkUser(participant, server.url, f"Bench{i}").install())
        number = await users[0].create()
        joins = []
        for index, joiner in enumerate(users[1:], start=1):
            await joiner.join(number)
            others = [u.user_id for u in users[:index]]
            frames = await joiner.js(FRAMES_JS, others)
            joins.append({"members_there": index, "first_ms": min(frames), "all_ms": max(frames)})
        return joins
    finally:
        for user in users:
            await user.js("t.meeting && t.meeting.leave()")
            await user.participant.context.close()


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(percentile(ordered, 50), 1),
        "p95": round(percentile(ordered, 95), 1),
        "max": round(ordered[-1], 1),
    }


async def _run(data_dir: Path, sizes: tuple[int, ...], joins: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"sizes": {}}
    with private_network(), ServerProcess(data_dir, SERVER_ENV) as server:
        async with Chromium(data_dir / "browser") as browser:
            for size in sizes:
                samples: list[dict[str, float]] = []
                round_ = 0
                started = time.monotonic()
                while len(samples) < joins:
                    samples += await _meeting(browser, server, size, round_)
                    round_ += 1
                figures["sizes"][str(size)] = {
                    "joins": len(samples),
                    "meetings": round_,
                    "first_frame_ms": _summary([s["first_ms"] for s in samples]),
                    "all_frames_ms": _summary([s["all_ms"] for s in samples]),
                    "seconds": round(time.monotonic() - started, 1),
                    "samples": samples,
                }
                print(f"media {size}: {figures['sizes'][str(size)]['first_frame_ms']}", flush=True)
    return figures


def run(data_dir: Path, joins: int = 20, sizes: tuple[int, ...] = (2, 4)) -> dict[str, Any]:
    return asyncio.run(_run(data_dir, sizes, joins))
