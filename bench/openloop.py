"""Open-loop REST load: requests start on a fixed schedule (``rate`` per second), whatever the
answers do, over at most ``clients`` keep-alive connections. Latency counts from the scheduled
start, so time spent waiting for a free connection is the server's (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import aiohttp

from bench.loadgen import Request
from bench.wsload import percentile


async def _run(
    request: Request,
    setup: dict[str, Any],
    rate: float,
    clients: int,
    start_at: float,
    seconds: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(index: int, scheduled: float) -> None:
            try:
                await request(session, index, setup)
            except Exception as exc:
                errors.append(repr(exc))
                return
            latencies.append((time.monotonic() - scheduled) * 1000)

        total, tasks = int(rate * seconds), []
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu = time.process_time()
        for i in range(total):
            scheduled = start_at + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        cpu = time.process_time() - cpu
    return {
        "latencies": latencies,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "cpu": cpu,
    }


def _worker(*args: Any) -> dict[str, Any]:
    import uvloop

    return uvloop.run(_run(*args))


def run_phase(
    name: str,
    request: Request,
    *,
    rate: float,
    clients: int,
    seconds: float,
    setup: dict[str, Any],
    server_cpu: Callable[[], float],
    processes: int = 1,
) -> dict[str, Any]:
    start_at = time.monotonic() + 1.0
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(
                _worker,
                request,
                setup,
                rate / processes,
                max(1, clients // processes),
                start_at,
                seconds,
            )
            for _ in range(processes)
        ]
        time.sleep(max(0.0, start_at - time.monotonic()))
        cpu_before = server_cpu()
        time.sleep(seconds)
        server = (server_cpu() - cpu_before) / seconds
        results = [future.result() for future in futures]
    ordered = sorted(x for r in results for x in r["latencies"])
    return {
        "phase": name,
        "open_loop_rate": rate,
        "max_connections": clients,
        "seconds": seconds,
        "requests": len(ordered),
        "errors": sum(r["errors"] for r in results),
        "req_per_s": round(len(ordered) / seconds, 1),
        "p50_ms": _r(percentile(ordered, 50)),
        "p99_ms": _r(percentile(ordered, 99)),
        "max_ms": _r(ordered[-1] if ordered else None),
        "server_cpu_cores": round(server, 2),
        "generator_cpu_cores": round(sum(r["cpu"] for r in results) / seconds, 2),
        "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
