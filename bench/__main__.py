"""``python -m bench rest [--quick]``: start a server, load it, print and keep the figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench import rest
from tests.utils.server import ServerProcess

RESULTS = Path(__file__).with_name("results")


def _machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("scenario", choices=["rest"])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--database-url", help="default: SQLite in a temporary data dir")
    parser.add_argument("--processes", type=int, default=1, help="load generator processes")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, help="per phase (default 10, quick 3)")
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)

    env = {
        # The shipped defaults (bcrypt cost 12, info logs) except: logins are not throttled,
        # since the bench logs in from one address.
        "AIMEETING_BCRYPT_ROUNDS": "12",
        "AIMEETING_LOGIN_RATE_LIMIT": "1000000/minute",
        "AIMEETING_LOGIN_LOCKOUT": "1000000,1",
    }
    if args.database_url:
        env["AIMEETING_DATABASE_URL"] = args.database_url
    with tempfile.TemporaryDirectory() as data_dir, ServerProcess(Path(data_dir), env) as server:
        assert server.process is not None
        process = psutil.Process(server.process.pid)

        def server_cpu() -> float:
            times = process.cpu_times()
            return float(times.user + times.system)

        started = time.monotonic()
        figures = rest.run(
            server.url,
            server_cpu,
            concurrency=args.concurrency,
            seconds=seconds,
            processes=args.processes,
        )
    result = {
        "scenario": args.scenario,
        "quick": args.quick,
        "database": "postgresql" if args.database_url else "sqlite",
        "machine": _machine(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total_seconds": round(time.monotonic() - started, 1),
        **figures,
    }
    text = json.dumps(result, indent=2, ensure_ascii=False)
    print(text)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        name = f"{args.scenario}-{result['database']}.json"
        (RESULTS / name).write_text(text + "\n")
    errors = sum(phase["errors"] for phase in figures["phases"])
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
