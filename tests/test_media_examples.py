"""The README's Python bot and the media examples, run as written against a real server, with a
real browser on the other side (inside a private loopback-only network,
tests/browser_fixtures.py): the bot shows up as a video tile in the browser and is heard there,
and examples/recorder.py writes what the browser says to a WAV file."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import av

from harness.browser import VIDEO_SIZE, Chromium, write_tone_wav
from harness.sdk_page import SdkUser
from harness.server import ServerProcess
from tests.utils.media import wav_frequency
from tests.utils.webapp import AppUser

ROOT = Path(__file__).resolve().parents[1]
BROWSER_TONE, SOUND_FILE_TONE = 300.0, 660.0


def readme_python_bot() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A Python bot in the meeting", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


class Script:
    """A Python script run as a process: its output in a file, stopped with SIGTERM."""

    def __init__(self, path: Path, output: Path, *args: str, stdin: str = "") -> None:
        self.output = output
        with output.open("w") as sink:
            self.process = subprocess.Popen(
                [sys.executable, str(path), *args],
                stdin=subprocess.PIPE,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
            )
        assert self.process.stdin is not None
        self.process.stdin.write(stdin)
        self.process.stdin.close()

    async def printed(self, text: str, timeout: float = 20.0) -> str:
        for _ in range(int(timeout / 0.1)):
            if text in (out := self.output.read_text()):
                return out
            assert self.process.poll() is None, out
            await asyncio.sleep(0.1)
        raise AssertionError(f"{text!r} never printed:\n{self.output.read_text()}")

    async def stop(self, timeout: float = 15.0) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.process.wait), timeout)
        finally:
            self.process.kill()
        return self.output.read_text()


async def members(user: SdkUser, nicknames: set[str], timeout: float = 20.0) -> dict[str, str]:
    """Nickname → user id of the members ``user`` saw join, once all of ``nicknames`` did."""
    for _ in range(int(timeout / 0.1)):
        seen = {e["user"]["nickname"]: e["userId"] for e in await user.events("user_joined")}
        if nicknames <= set(seen):
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"{user.nickname} saw only {seen} join")


async def test_the_readme_bot_is_seen_and_heard_and_the_recorder_writes_the_browser(
    netns_server: ServerProcess,
    launch_chromium: Callable[..., Awaitable[Chromium]],
    tmp_path: Path,
) -> None:
    code = readme_python_bot()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12, code
    assert "http://localhost:3000" in code
    bot_script = tmp_path / "readme_bot.py"
    bot_script.write_text(code.replace("http://localhost:3000", netns_server.url))
    browser = await launch_chromium(
        fake_audio_file=write_tone_wav(tmp_path / "b.wav", BROWSER_TONE)
    )
    alice = await SdkUser(
        await browser.new_participant("Alice"), netns_server.url, "Alice"
    ).install()
    number = await alice.create()
    sound = write_tone_wav(tmp_path / "sound.wav", SOUND_FILE_TONE)
    out = tmp_path / "recordings"
    scripts = [
        Script(bot_script, tmp_path / "bot.out", stdin=f"{number}\n"),
        Script(
            ROOT / "examples" / "media_bot.py",
            tmp_path / "media_bot.out",
            *("--server", netns_server.url, "--sound", str(sound), number),
        ),
        Script(
            ROOT / "examples" / "recorder.py",
            tmp_path / "recorder.out",
            *("--server", netns_server.url, "--out", str(out), "--seconds", "8", number),
        ),
    ]
    try:
        _, media_bot, recorder = scripts
        await media_bot.printed("joined")
        await recorder.printed("joined")
        users = await members(alice, {"PyBot", "MediaBot", "Recorder"})
        # The README bot and the media bot: tiles in Alice's page, 320x240, and their tones.
        for name, tone in (("PyBot", 440.0), ("MediaBot", SOUND_FILE_TONE)):
            member = SdkUser(alice.participant, netns_server.url, name, users[name])
            video = await alice.sees(member)
            assert (video["width"], video["height"]) == VIDEO_SIZE, video
            await alice.tone_until(member, lambda t, f=tone: abs(t["frequency"] - f) < 25)
        written = await recorder.stop(timeout=20)
    finally:
        for script in scripts:
            await script.stop()
    # The recorder heard Alice's microphone (and the bots), and kept their cameras' frames.
    assert abs(wav_frequency(out / "Alice.wav") - BROWSER_TONE) < 10, written
    assert abs(wav_frequency(out / "PyBot.wav") - 440.0) < 10, written
    assert abs(wav_frequency(out / "MediaBot.wav") - SOUND_FILE_TONE) < 10, written
    for name, size in (("Alice", VIDEO_SIZE), ("PyBot", (320, 240))):
        pictures = sorted(out.glob(f"{name}-*.png"))
        assert pictures, written
        with av.open(str(pictures[0])) as image:
            frame = next(image.decode(video=0))
        assert (frame.width, frame.height) == size
    assert "wrote" in written


async def test_the_readme_bot_is_a_tile_in_the_web_app(
    netns_server: ServerProcess, chromium: Chromium, tmp_path: Path
) -> None:
    """Issue 13's "done when", in the web app itself: the bot's picture and tone in its tile."""
    bot_script = tmp_path / "readme_bot.py"
    bot_script.write_text(readme_python_bot().replace("http://localhost:3000", netns_server.url))
    alice = await AppUser(
        await chromium.new_participant("Alice"), netns_server.url, "Alice"
    ).sign_up()
    number = await alice.start(title="With a bot")
    bot = Script(bot_script, tmp_path / "bot.out", stdin=f"{number}\n")
    try:
        pybot = AppUser(alice.participant, netns_server.url, "PyBot")
        video = await alice.sees(pybot)
        assert (video["width"], video["height"]) == (320, 240), video
        heard = await alice.hears(pybot)
        assert abs(heard["frequency"] - 440.0) < 25, heard
        assert await alice.tiles() == ["Alice (you)", "PyBot"]
    finally:
        await bot.stop()
    await alice.page.locator(".tile").nth(1).wait_for(state="detached", timeout=20_000)
