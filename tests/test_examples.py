"""The README's two-terminal tour, for real: two `examples/meet.py` processes meet, chat, mute
and leave through a real server."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.utils.api import unique_email
from tests.utils.server import ServerProcess

MEET = Path(__file__).resolve().parents[1] / "examples" / "meet.py"


class Terminal:
    """One `meet.py` process: we type into its stdin and read what it printed."""

    def __init__(self, server: ServerProcess, nickname: str, *extra: str) -> None:
        self.output = server.data_dir / f"{nickname}.out"
        self.file = self.output.open("wb")
        command = [sys.executable, str(MEET), "--server", server.url, "--email", unique_email()]
        self.process = subprocess.Popen(
            [*command, "--nickname", nickname, *extra],
            stdin=subprocess.PIPE,
            stdout=self.file,
            stderr=subprocess.STDOUT,
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

    def finish(self) -> int:
        try:
            return self.process.wait(10)
        finally:
            self.process.kill()
            self.file.close()


def test_two_terminals_meet_chat_mute_and_leave(server: ServerProcess) -> None:
    alice = Terminal(server, "Alice")
    number = alice.wait_for("meeting number:").split("meeting number:")[1].split()[0]
    alice.wait_for("* here: Alice (mic on, camera on)")
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
    alice.process.stdin.close()  # Ctrl-D leaves too
    alice.wait_for("* you left")
    assert alice.finish() == 0
