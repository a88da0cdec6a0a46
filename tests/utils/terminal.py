"""A program on a real pseudo-terminal: type lines into it, wait for what it prints."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import time

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


class PtyProgram:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: its stdin, stdout and controlling terminal are the pty
            os.execve(argv[0], argv, env or dict(os.environ))
        self.pid, self.fd = pid, fd
        self.output = b""
        self.exit_status: int | None = None

    def text(self) -> str:
        return ANSI.sub(b"", self.output).decode(errors="replace").replace("\r\n", "\n")

    def _pump(self, wait: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                time.sleep(wait)

    def wait_for(self, needle: str, timeout: float = 10.0, since: int = 0) -> str:
        """Read until ``needle`` was printed (after the first ``since`` characters of the
        text, to wait for a prompt asked again); returns everything printed so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in (text := self.text())[since:]:
                return text
            self._pump(0.05)
        raise AssertionError(f"{needle!r} never printed within {timeout}s:\n{self.text()}")

    def type(self, line: str) -> None:
        os.write(self.fd, f"{line}\r".encode())

    def send_eof(self) -> None:
        os.write(self.fd, b"\x04")

    def wait_exit(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._pump(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
                return self.exit_status
        raise AssertionError(f"still running after {timeout}s:\n{self.text()}")

    def close(self) -> None:
        if self.exit_status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)
