"""The README's two-terminal tour, for real: two `examples/meet.py` processes meet, chat, mute
and leave through a real server; what they print when the meeting ends, the server goes away
or the server refuses (one line, never a traceback); and `examples/bot.py` beside another bot."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from aimeeting import ChatMessage, MeetingEvent
from harness.server import ServerProcess
from tests.utils.api import PASSWORD, create_meeting, join, register, unique_email
from tests.utils.sdk import Recorder, signed_in

ROOT = Path(__file__).resolve().parents[1]
MEET = ROOT / "examples" / "meet.py"
BOT = ROOT / "examples" / "bot.py"
ENGLISH = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


class Program:
    """One example's process: we type into its stdin and read what it printed."""

    def __init__(self, output: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.output = output
        self.file = self.output.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=self.file,
            stderr=subprocess.STDOUT,
            env=env or ENGLISH,
        )

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8")

    def wait_for(self, needle: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in (text := self.text()):
                return text
            assert self.process.poll() is None, f"exited early:\n{text}"
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} never printed:\n{self.text()}")

    def finish(self, timeout: float = 10.0) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self.process.kill()
            self.file.close()


class Terminal(Program):
    """`meet.py` with a new account, or the one given."""

    def __init__(
        self, server: ServerProcess, nickname: str, *extra: str, email: str | None = None
    ) -> None:
        command = [str(MEET), "--server", server.url, "--email", email or unique_email()]
        output = server.data_dir / f"{nickname}-{time.monotonic_ns()}.out"
        super().__init__(output, [*command, "--nickname", nickname, *extra])


def refusal(server: ServerProcess, *args: str) -> str:
    """What `meet.py` printed when refused: exactly one line, and exit status 1."""
    terminal = Terminal(server, "Refused", *args)
    terminal.process.stdin.close()  # type: ignore[union-attr]
    assert terminal.finish() == 1, terminal.text()
    text = terminal.text()
    assert "Traceback" not in text and text.count("\n") == 1 and text.startswith("! "), text
    return text.strip()


def readme_block(heading: str) -> str:
    """The first shell block of a README section."""
    section = (ROOT / "README.md").read_text().split(f"## {heading}\n", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def readme_sample() -> list[str]:
    """The output the README shows for the first terminal of "Meet from two terminals"."""
    block = readme_block("Meet from two terminals")
    return [line.removeprefix("# ") for line in block.splitlines() if line.startswith("# ")]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_curl_tour_runs_as_written(server: ServerProcess) -> None:
    script = readme_block("A short tour with curl").replace("http://localhost:3000", server.url)
    script = script.replace("alice@example.com", unique_email("alice"))  # once per server
    assert "..." not in script.replace("{...}", "").replace('...",...}', "")  # no placeholder
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers, text, decoder = [], result.stdout.strip(), json.JSONDecoder()
    while text:  # curl -s prints no newline after an answer
        answer, end = decoder.raw_decode(text)
        answers.append(answer)
        text = text[end:].strip()
    codes = [answer["code"] for answer in answers]
    assert codes == [0, 0, 0, 0, 0, 0, 0, 40103], result.stdout  # the last one is the error
    assert answers[-1]["message"] == "Invalid token"


def test_two_terminals_meet_chat_mute_and_leave(server: ServerProcess) -> None:
    alice = Terminal(server, "Alice")
    number = alice.wait_for("meeting number:").split("meeting number:")[1].split()[0]
    alice.wait_for("* here: Alice (mic on, camera on)")
    sample = [line.replace("123456789", number) for line in readme_sample()]
    assert alice.text().splitlines() == sample  # what the README shows, line for line
    bob = Terminal(server, "Bob", "--join", number)
    bob.wait_for("* here: Alice (mic on, camera on), Bob (mic on, camera on)")
    alice.wait_for("* Bob joined (2 here)")

    alice.type("你好, Bob")
    bob.wait_for("[Alice] 你好, Bob")
    bob.type("/mute")
    alice.wait_for("* Bob: mic off, camera on")
    bob.type("/camera-off")
    alice.wait_for("* Bob: mic off, camera off")

    bob.type("/leave")
    bob.wait_for("* you left")
    alice.wait_for("* Bob left")
    assert bob.finish() == 0
    alice.process.stdin.close()  # type: ignore[union-attr]  # Ctrl-D leaves too
    alice.wait_for("* you left")
    assert alice.finish() == 0
    assert "Traceback" not in alice.text() + bob.text()


def test_the_end_of_the_meeting_is_shown_at_once(server: ServerProcess) -> None:
    host = register(server.url)
    meeting = create_meeting(host)
    bob = Terminal(server, "Bob", "--join", meeting["meeting_number"])
    bob.wait_for("* here: Bob (mic on, camera on)")
    assert host.post(f"/meetings/{meeting['id']}/end").json()["code"] == 0
    bob.wait_for("* the meeting has ended")  # nobody typed anything
    assert bob.finish() == 0
    assert "Traceback" not in bob.text()


def test_a_server_shutdown_is_shown_at_once(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "server") as server:
        meeting = create_meeting(register(server.url))
        bob = Terminal(server, "Bob", "--join", meeting["meeting_number"])
        bob.wait_for("* here: Bob (mic on, camera on)")
    bob.wait_for("! the server is shutting down")
    assert bob.finish() == 1
    assert "Traceback" not in bob.text()


def test_refusals_are_one_line(server: ServerProcess) -> None:
    host = register(server.url)
    owner = f"--email={host.email}"  # registered with PASSWORD, not meet.py's default
    assert "registered with another password" in refusal(server, owner)
    assert "Meeting not found" in refusal(server, "--join", "000000001")  # any 9 digits

    full = create_meeting(host)
    for _ in range(4):
        assert join(register(server.url), full["meeting_number"]).json()["code"] == 0
    assert refusal(server, "--join", full["meeting_number"]).endswith("The meeting is full")

    ended = create_meeting(host)
    host.post(f"/meetings/{ended['id']}/end")
    assert refusal(server, "--join", ended["meeting_number"]).endswith("The meeting has ended")

    nowhere = ServerProcess(server.data_dir)  # never started: nothing listens on its port
    assert f"cannot reach the server at http://127.0.0.1:{nowhere.port}" in refusal(nowhere)


def test_login_limits_are_one_line_with_the_wait(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", login_rate_limit="3/minute", login_lockout="1,15")
    locked, other = register(server.url), register(server.url)
    refusal(server, f"--email={locked.email}")  # a wrong password: locked from now on
    assert refusal(server, f"--email={locked.email}", f"--password={PASSWORD}") == (
        "! Account locked (wait 15 min)"
    )
    # The third login of the minute passes, the fourth is refused with the wait.
    right = Terminal(server, "Other", f"--password={PASSWORD}", email=other.email)
    right.wait_for("* here: ")
    right.process.stdin.close()  # type: ignore[union-attr]
    assert right.finish() == 0
    line = refusal(server, f"--email={other.email}", f"--password={PASSWORD}")
    assert re.fullmatch(r"! Too many requests, try again later \(wait \d+ s\)", line), line


def test_errors_speak_the_language_of_the_locale(server: ServerProcess) -> None:
    chinese = {**ENGLISH, "LANG": "zh_CN.UTF-8"}
    terminal = Program(
        server.data_dir / "zh.out",
        [str(MEET), "--server", server.url, "--email", unique_email(), "--join", "000000002"],
        env=chinese,
    )
    assert terminal.finish() == 1
    assert terminal.text() == "! cannot join 000000002: 会议不存在\n"


# --- examples/bot.py ----------------------------------------------------------------------


def start_bot(server: ServerProcess, number: str, nickname: str, *extra: str) -> Program:
    argv = [str(BOT), "--server", server.url, "--email", unique_email(), "--nickname", nickname]
    output = server.data_dir / f"{nickname}-{time.monotonic_ns()}.out"
    return Program(output, [*argv, *extra, number])


async def test_two_bots_ignore_each_other_and_outlive_the_chat_limit(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("sqlite", chat_rate_limit="2/second")
    host, guest = await signed_in(server.url, "Host"), await signed_in(server.url, "Guest")
    bots: list[Program] = []
    try:
        meeting = await host.create_meeting()
        other = await guest.join_meeting(meeting.meeting_number)
        seen = Recorder(meeting)
        for nickname in ("HelperBot", "EchoBot"):
            bots.append(start_bot(server, meeting.meeting_number, nickname))
            await seen.wait(MeetingEvent.USER_JOINED, lambda e, n=nickname: e.user.nickname == n)

        def chat() -> list[str]:
            return [f"{m.sender.nickname}: {m.content}" for m in seen.of(MeetingEvent.CHAT_MESSAGE)]

        await meeting.send_chat_message("hello")
        await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda m: m.sender.nickname == "EchoBot")
        await asyncio.sleep(1.5)  # time enough for bots that answered bots to do so
        assert sorted(chat()) == [
            "EchoBot: Host said: hello",
            "HelperBot: Host said: hello",
            "Host: hello",
        ]

        # Four messages at once, two from each person, when a bot may send two a second:
        # refused (42901), its answers are late (the SDK sends them again after the wait the
        # server names, or the bot says which it could not send), and it lives on.
        await asyncio.sleep(1.0)
        for sender in (meeting, other, meeting, other):
            await sender.send_chat_message("quick")
        await asyncio.sleep(1.0)
        await meeting.send_chat_message("!time")

        def is_time(message: ChatMessage) -> bool:
            return re.fullmatch(r"it is \d\d:\d\d:\d\d here", message.content) is not None

        for nickname in ("HelperBot", "EchoBot"):
            await seen.wait(
                MeetingEvent.CHAT_MESSAGE,
                lambda m, n=nickname: m.sender.nickname == n and is_time(m),
                timeout=20,
            )
        assert all(bot.process.poll() is None for bot in bots)
    finally:
        await host.destroy()
        await guest.destroy()
        for bot in bots:
            bot.process.terminate()
            bot.finish()
    assert "Traceback" not in "".join(bot.text() for bot in bots)


@pytest.mark.parametrize("case", ["wrong password", "unknown number"])
def test_a_bot_refused_says_why_in_one_line(server: ServerProcess, case: str) -> None:
    if case == "wrong password":
        user = register(server.url)
        number = create_meeting(user)["meeting_number"]
        bot = Program(
            server.data_dir / "refused-bot.out",
            [str(BOT), "--server", server.url, "--email", user.email, number],
        )
        expected = f"! {user.email} is registered with another password: give it --password\n"
    else:
        bot = start_bot(server, "000000003", "LostBot")
        expected = "! Meeting not found\n"
    assert bot.finish() == 1
    assert bot.text() == expected
