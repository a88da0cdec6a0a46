"""The assistant as a child process of ``aimeeting serve`` (``AIMEETING_ASSISTANT=1``).

A separate process, so that speech recognition (CPU-bound, in native code) never competes with
the server's event loop, and a crash of the assistant leaves the server and its meetings as
they were. It is restarted when it dies, after a pause that grows while it keeps dying.
Standard library only: the server imports this without the ``ai`` extra.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0  # seconds before a restart; doubled while the child keeps dying young
MAX_PAUSE = 60.0
HEALTHY_AFTER = 60.0  # a child that lived this long starts the pauses over
STOP_TIMEOUT = 10.0


class AssistantProcess:
    def __init__(self, server_url: str, env: dict[str, str]) -> None:
        self.command = [sys.executable, "-m", "aimeeting", "assistant", "--server", server_url]
        self.env = {**os.environ, **env}
        self._child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # no child starts once stop() has looked
        self._thread = threading.Thread(target=self._keep_running, name="assistant", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """SIGTERM (it leaves its meetings), then SIGKILL after ``STOP_TIMEOUT``."""
        with self._lock:
            self._stopping.set()
            child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._thread.join(STOP_TIMEOUT)

    def _keep_running(self) -> None:
        pause = FIRST_PAUSE
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                began = time.monotonic()
                self._child = subprocess.Popen(self.command, env=self.env)  # noqa: S603 (ours)
            log.info("assistant started", extra={"pid": self._child.pid})
            code = self._child.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - began >= HEALTHY_AFTER:
                pause = FIRST_PAUSE
            log.warning("assistant exited; restarting", extra={"code": code, "pause": pause})
            self._stopping.wait(pause)
            pause = min(pause * 2, MAX_PAUSE)
