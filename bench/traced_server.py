"""``aimeeting serve`` under tracemalloc: SIGUSR1 writes a snapshot to $BENCH_SNAPSHOT_DIR.
For ``bench.memprofile`` only (tracing slows the server several times over)."""

from __future__ import annotations

import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType

tracemalloc.start(4)

from aimeeting.server.cli import serve  # noqa: E402 - imports traced too
from aimeeting.server.config import Settings  # noqa: E402


def _dump(signum: int, frame: FrameType | None) -> None:
    folder = Path(os.environ["BENCH_SNAPSHOT_DIR"])
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    snapshot.dump(str(folder / ".snapshot.tmp"))
    os.replace(folder / ".snapshot.tmp", folder / "snapshot.pickle")


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _dump)
    serve(Settings())
