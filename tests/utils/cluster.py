"""Several real server nodes sharing one PostgreSQL database and one Redis, and a Redis of
the test's own for the tests that stop it."""

from __future__ import annotations

import dataclasses
import random
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import redis

from tests.utils.api import User, client
from tests.utils.server import free_port

JWT_SECRET = "cluster-test-secret-0123456789abcdef"


def as_seen_by(user: User, base_url: str) -> User:
    """The same user (same tokens) talking to another node."""
    return dataclasses.replace(user, http=client(base_url))


class RedisDatabases:
    """Redis database numbers 1-15 for test clusters, each claimed by one test run at a time
    (a key in database 0 with an expiry), so that runs side by side never share one."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.owner = uuid.uuid4().hex
        self._claimed: list[int] = []

    def claim(self) -> str:
        control = redis.Redis.from_url(f"{self.base_url}/0")
        try:
            for number in random.sample(range(1, 16), 15):
                if control.set(f"aimeeting-test:db:{number}", self.owner, nx=True, ex=3600):
                    self._claimed.append(number)
                    url = f"{self.base_url}/{number}"
                    clear(url)  # whatever a crashed run left
                    return url
        finally:
            control.close()
        raise RuntimeError("all Redis test databases (1-15) are in use")

    def release_all(self) -> None:
        control = redis.Redis.from_url(f"{self.base_url}/0")
        try:
            for number in self._claimed:
                clear(f"{self.base_url}/{number}")
                if control.get(f"aimeeting-test:db:{number}") == self.owner.encode():
                    control.delete(f"aimeeting-test:db:{number}")
        finally:
            control.close()


def clear(url: str) -> None:
    """Forget every key of ours in the Redis database of ``url`` (nothing else is touched)."""
    connection = redis.Redis.from_url(url)
    try:
        keys = list(connection.scan_iter("aimeeting:*", count=1000))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


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
