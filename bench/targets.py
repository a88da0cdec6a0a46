"""The systems under test, each started fresh for a run: ours, the bare limit, and the peers."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from harness.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).with_name("peers") / "node"
TARGETS = ("ours", "bare", "socketio", "node")


@dataclass
class Running:
    name: str
    url: str  # http://host:port
    pid: int
    wire: str  # bench.wire.WIRES key

    @property
    def ws_base(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def cpu_seconds(self) -> float:
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def rss_bytes(self) -> int:
        return int(self.process.memory_info().rss)


def ours_env(*, heartbeat_timeout: float = 120) -> dict[str, str]:
    """Shipped defaults except what the workload needs (see docs/benchmarks.md)."""
    return {
        # Registering thousands of bench users is not what is measured: bcrypt at its lowest cost.
        "AIMEETING_BCRYPT_ROUNDS": "4",
        "AIMEETING_LOGIN_RATE_LIMIT": "1000000/minute",
        "AIMEETING_LOGIN_LOCKOUT": "1000000,1",
        # The fan-out sweep sends up to tens of messages per second per member.
        "AIMEETING_CHAT_RATE_LIMIT": "100000/second",
        "AIMEETING_WS_RATE_LIMIT": "100000/second",
        # Hold pings every 30 s by default; the shipped 60 s leaves too little slack under load.
        "AIMEETING_HEARTBEAT_TIMEOUT": str(heartbeat_timeout),
        # Seats are taken over REST for a whole step (thousands of users) before the sockets
        # join; the shipped 30 s grace would release the first ones before their turn.
        "AIMEETING_RECONNECT_GRACE": "3600",
    }


@contextlib.contextmanager
def start(name: str, *, heartbeat_timeout: float = 120) -> Iterator[Running]:
    if name == "ours":
        with (
            tempfile.TemporaryDirectory() as data_dir,
            ServerProcess(Path(data_dir), ours_env(heartbeat_timeout=heartbeat_timeout)) as server,
        ):
            assert server.process is not None
            yield Running(name, server.url, server.process.pid, "plain")
        return
    port = free_port()
    if name == "bare":
        command = [sys.executable, "-m", "bench.peers.bare", "--port", str(port)]
    elif name == "socketio":
        command = [sys.executable, "-m", "bench.peers.socketio_server", "--port", str(port)]
    elif name == "node":
        ensure_node_modules()
        command = ["node", str(NODE_DIR / "server.js"), str(port)]
    else:
        raise ValueError(f"unknown target {name!r}")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        _wait_listening(port, process)
        yield Running(name, f"http://127.0.0.1:{port}", process.pid, _wire(name))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _wire(name: str) -> str:
    return "socketio" if name == "socketio" else "plain"


def ensure_node_modules() -> None:
    """node_modules is not committed: ``npm ci`` from the lock file when it is missing."""
    if (NODE_DIR / "node_modules" / "ws").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the node peer needs node and npm on PATH")
    print(f"bench: running npm ci in {NODE_DIR} (node_modules missing)", file=sys.stderr)
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"peer exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"peer not listening on {port} within {timeout}s")
