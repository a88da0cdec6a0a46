"""A real nginx running the shipped ``deploy/nginx.conf``, for tests of the load balancer.

Only what cannot be shared with a test is rewritten: the nodes' ports, the listening port, and
``daemon off`` (so that the test holds the master's PID and stops it by that PID). Every other
directive is the file's own, so the tests exercise what an operator deploys. A rewrite that
finds nothing to replace fails loudly rather than testing some other configuration.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.server import free_port

SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NODE_PORTS = (3001, 3002)  # as the shipped file names the nodes
LISTEN = "listen 127.0.0.1:8080;"


def nginx_binary() -> str:
    """The nginx binary; skipped without it, failed without it when CI is set."""
    binary = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )
    if binary is None:
        missing = "nginx is not installed (apt-get install nginx-light)"
        if os.environ.get("CI"):
            pytest.fail(f"{missing} (CI is set: the nginx tests must run here)", pytrace=False)
        pytest.skip(missing)
    return binary


def rewritten(text: str, node_ports: tuple[int, int], port: int) -> str:
    """``text`` (deploy/nginx.conf) with the test's ports, in the foreground."""
    replacements = [
        (f"127.0.0.1:{shipped}", f"127.0.0.1:{ours}")
        for shipped, ours in zip(NODE_PORTS, node_ports, strict=True)
    ]
    replacements += [(LISTEN, f"listen 127.0.0.1:{port};"), ("daemon on;", "daemon off;")]
    for old, new in replacements:
        assert old in text, f"deploy/nginx.conf no longer has {old!r}: update tests/utils/nginx.py"
        text = text.replace(old, new)
    return text


class Nginx:
    """nginx from ``config`` (default: the shipped file) in front of two nodes."""

    def __init__(self, prefix: Path, node_ports: tuple[int, int], config: str | None = None):
        self.prefix = prefix
        self.port = free_port()
        text = config if config is not None else SHIPPED.read_text()
        self.config = rewritten(text, node_ports, self.port)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Nginx:
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        (self.prefix / "nginx.conf").write_text(self.config)
        command = [nginx_binary(), "-p", f"{self.prefix}/", "-c", "nginx.conf"]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen(
            [*command, "-e", "error.log"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the workers go with the master
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"nginx exited:\n{self.error_log}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen within 10 s:\n{self.error_log}")

    def stop(self) -> None:
        """Stop the master by its PID (it stops its workers); SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
