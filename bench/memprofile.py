"""Where ours spends memory per held connection: ``python -m bench.memprofile [--connections N]``.

Starts ``aimeeting serve`` under tracemalloc (``bench.traced_server``), takes a snapshot once the
REST setup is done and another once N connections have joined their rooms, and prints the
allocation sites that grew most, per connection. tracemalloc sees Python allocations only (not
the kernel's socket buffers, nor allocator slack), so its total is below the RSS growth; the
RSS growth is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from bench import accounts, hold
from bench.targets import ROOT, ours_env
from bench.wsload import WorkerPool, raise_fd_limit, shard
from harness.server import free_port


def _snapshot(process: subprocess.Popen[bytes], path: Path) -> str:
    path.unlink(missing_ok=True)
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # written aside and renamed: complete once it is there
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memprofile")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIMEETING_")}
        env |= ours_env() | {"AIMEETING_DATA_DIR": data_dir, "AIMEETING_PORT": str(port)}
        env |= {"AIMEETING_LOG_FILE": f"{data_dir}/server.log"}
        snapshots = Path(data_dir)
        env["BENCH_SNAPSHOT_DIR"] = str(snapshots)
        command = [sys.executable, "-m", "bench.traced_server"]
        server = subprocess.Popen(command, cwd=ROOT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(url)
            rooms = accounts.ours_rooms(url, args.connections // 4)
            rss0 = psutil.Process(server.pid).memory_info().rss
            base = _snapshot(server, snapshots / "snapshot.pickle")
            os.rename(base, snapshots / "before.pickle")
            with WorkerPool(2, url.replace("http", "ws"), "plain", hold.COMMANDS) as pool:
                # A few at a time: the traced server is several times slower than the real one.
                shards = [{"rooms": s, "parallel": 8, "ping_interval": 30} for s in shard(rooms, 2)]
                opened = pool.call("open", shards)
                connected = sum(o.get("connected", 0) for o in opened)
                failed = [o.get("first_error") for o in opened if o.get("failed")]
                if failed:
                    print(f"some connections failed (tracing is slow): {failed[0]}")
                time.sleep(2)
                rss1 = psutil.Process(server.pid).memory_info().rss
                after = _snapshot(server, snapshots / "snapshot.pickle")
            _report(snapshots / "before.pickle", Path(after), connected, rss1 - rss0, args.top)
        finally:
            server.terminate()
            server.wait(15)


def _report(before: Path, after: Path, connected: int, rss_growth: int, top: int) -> None:
    import tracemalloc

    old = tracemalloc.Snapshot.load(str(before))
    new = tracemalloc.Snapshot.load(str(after))
    diffs = new.compare_to(old, "traceback")
    total = sum(d.size_diff for d in diffs)
    print(
        f"{connected} connections: RSS +{rss_growth / connected / 1024:.1f} KB each, "
        f"tracemalloc +{total / connected / 1024:.1f} KB each"
    )
    for diff in diffs[:top]:
        # Most recent call first (tracemalloc keeps the oldest first).
        frames = [
            f"{f.filename.split('site-packages/')[-1].split('src/')[-1]}:{f.lineno}"
            for f in reversed(diff.traceback[-4:])
        ]
        print(
            f"{diff.size_diff / connected:8.0f} B/conn {diff.count_diff / connected:6.1f} "
            f"blocks/conn  {' < '.join(frames)}"
        )


def _wait_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("traced server not ready")


if __name__ == "__main__":
    main()
