"""A real server process on a free port, for tests to talk to over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

STARTUP_TIMEOUT = 30.0

# Short everything, so tests never wait long; bcrypt at its lowest cost.
TEST_DEFAULTS = {
    "AIMEETING_BCRYPT_ROUNDS": "4",
    "AIMEETING_LOG_LEVEL": "info",
    "AIMEETING_TRUSTED_PROXIES": "127.0.0.1",
    # A test session keeps dozens of PostgreSQL nodes alive at once: each keeps few idle
    # connections, or together they reach PostgreSQL's max_connections (100 by default).
    "AIMEETING_DATABASE_POOL_SIZE": "2",
}
# Settings (for ``start_server``) that keep the rate limits out of the way of a test about
# something else: one that chats in bursts, or signs many users in.
UNLIMITED = {
    "chat_rate_limit": "1000/second",
    "ws_rate_limit": "1000/second",
    "login_rate_limit": "100/minute",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``aimeeting serve`` in a subprocess, with its own data dir and log file."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.port = free_port()
        self.env = {**TEST_DEFAULTS, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerProcess:
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> None:
        """Start the process without waiting for it to be ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIMEETING_")}
        env |= {"AIMEETING_DATA_DIR": str(self.data_dir), "AIMEETING_LOG_FILE": str(self.log_path)}
        env |= self.env
        env["AIMEETING_PORT"] = str(self.port)  # the environment's way; --host is the flag's
        # The child keeps its own copy of the log file's descriptor; ours closes at once.
        with (self.data_dir / "stderr.log").open("ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "aimeeting", "serve", "--host", self.host],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server not ready within {STARTUP_TIMEOUT}s:\n{self.logs()}")

    def logs(self) -> str:
        parts = [
            p.read_text(errors="replace")
            for p in (self.log_path, self.data_dir / "stderr.log")
            if p.exists()
        ]
        return "\n".join(parts)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# The ``start_server`` fixture (tests/conftest.py): ``start_server(backend, **settings)``.
StartServer = Callable[..., ServerProcess]
