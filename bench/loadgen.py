"""A closed-loop load generator: many clients on asyncio, spread over a few processes.

Each worker process runs ``concurrency / processes`` clients, each sending its next request as
soon as the previous one is answered, for a fixed time. Workers report every latency and their
own CPU time, so that a run can show the generator was not the bottleneck.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# (session, client index, shared setup data) -> None; raises on an unexpected answer.
Request = Callable[[aiohttp.ClientSession, int, dict[str, Any]], Awaitable[None]]


@dataclass
class WorkerResult:
    latencies: list[float]
    errors: int
    cpu_seconds: float
    first_error: str | None = None


@dataclass
class PhaseResult:
    name: str
    concurrency: int
    seconds: float
    requests: int
    errors: int
    generator_cpu: float  # cores' worth of CPU the generator used, e.g. 0.4
    server_cpu: float
    latencies_ms: list[float] = field(repr=False)
    first_error: str | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "concurrency": self.concurrency,
            "seconds": round(self.seconds, 2),
            "requests": self.requests,
            "errors": self.errors,
            "req_per_s": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
            "server_cpu_cores": round(self.server_cpu, 2),
            "generator_cpu_cores": round(self.generator_cpu, 2),
            "first_error": self.first_error,
        }


async def _client(
    request: Request,
    session: aiohttp.ClientSession,
    index: int,
    setup: dict[str, Any],
    deadline: float,
    result: WorkerResult,
) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            await request(session, index, setup)
        except Exception as exc:
            result.errors += 1
            result.first_error = result.first_error or repr(exc)
            continue
        result.latencies.append((time.perf_counter() - started) * 1000)


async def _run_clients(
    request: Request, indexes: list[int], setup: dict[str, Any], start_at: float, seconds: float
) -> WorkerResult:
    result = WorkerResult(latencies=[], errors=0, cpu_seconds=0)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        cpu = time.process_time()
        await asyncio.gather(
            *(_client(request, session, i, setup, start_at + seconds, result) for i in indexes)
        )
        result.cpu_seconds = time.process_time() - cpu
    return result


def _worker(
    request: Request, indexes: list[int], setup: dict[str, Any], start_at: float, seconds: float
) -> WorkerResult:
    return asyncio.run(_run_clients(request, indexes, setup, start_at, seconds))


def run_phase(
    name: str,
    request: Request,
    *,
    concurrency: int,
    seconds: float,
    setup: dict[str, Any],
    server_cpu: Callable[[], float],
    processes: int = 1,
) -> PhaseResult:
    """Run ``concurrency`` clients for ``seconds`` over ``processes`` worker processes."""
    shards = [list(range(p, concurrency, processes)) for p in range(processes)]
    # Every worker starts its clients at the same moment, once the processes are up; the
    # server's CPU is read at that moment and when the clients stop.
    start_at = time.monotonic() + 1.0
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(_worker, request, shard, setup, start_at, seconds)
            for shard in shards
            if shard
        ]
        time.sleep(max(0.0, start_at - time.monotonic()))
        cpu_before = server_cpu()
        time.sleep(seconds)
        cpu_after = server_cpu()
        results = [future.result() for future in futures]
    elapsed = seconds
    latencies = [latency for result in results for latency in result.latencies]
    first_error = next((r.first_error for r in results if r.first_error), None)
    return PhaseResult(
        name=name,
        concurrency=concurrency,
        seconds=elapsed,
        requests=len(latencies),
        errors=sum(result.errors for result in results),
        generator_cpu=sum(result.cpu_seconds for result in results) / elapsed,
        server_cpu=(cpu_after - cpu_before) / elapsed,
        latencies_ms=latencies,
        first_error=first_error,
    )
