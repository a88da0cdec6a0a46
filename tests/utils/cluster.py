"""Several real server nodes sharing one PostgreSQL database and one Redis, and a Redis of
the test's own for the tests that stop it."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import time
from pathlib import Path

from harness.redis_databases import RedisDatabases
from harness.server import free_port
from tests.utils.api import User, client

__all__ = ["JWT_SECRET", "RedisDatabases", "RedisProcess", "as_seen_by"]

JWT_SECRET = "cluster-test-secret-0123456789abcdef"


def as_seen_by(user: User, base_url: str) -> User:
    """The same user (same tokens) talking to another node."""
    return dataclasses.replace(user, http=client(base_url))


class RedisProcess:
    """A ``redis-server`` of the test's own on a spare port: it may be stopped and restarted
    while the shared one stays untouched."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed for this test"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
