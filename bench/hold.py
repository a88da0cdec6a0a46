"""Scenario 1, hold: N connections in rooms of 4, each pinging every ``ping_interval`` seconds;
N ramps up in steps until connections fail, drop, or the steps run out.

Per step: RSS per connection, the server's CPU at rest (pings only), pong latency and drops.
What bounds N here is the open-files limit (20,000, hard): one socket is one descriptor, in the
server and in the generator alike.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import accounts, targets
from bench.wsload import Client, WorkerPool, WorkerState, open_rooms, percentile, shard

STEPS = (1_000, 5_000, 10_000, 15_000, 19_000)
QUICK_STEPS = (200, 400)


class Pinger:
    """Pings every client of the worker every ``interval`` s, spread evenly, from the first step
    on: connections held from earlier steps keep their heartbeat while later ones open."""

    def __init__(self, state: WorkerState, interval: float) -> None:
        self.state = state
        self.interval = interval
        self.pings = 0
        self.pongs_ms: list[float] = []
        self._sent_at: dict[int, int] = {}
        self._task = asyncio.create_task(self._run())

    def on_event(self, client: Client, event: tuple[str, dict[str, Any]]) -> None:
        if event[0] == "pong" and id(client) in self._sent_at:
            self.pongs_ms.append((time.monotonic_ns() - self._sent_at.pop(id(client))) / 1e6)

    async def _run(self) -> None:
        while True:
            clients = [c for c in self.state.clients if not c.dropped]
            if not clients:  # the first step is still opening
                await asyncio.sleep(0.1)
                continue
            gap = self.interval / len(clients)
            started = time.monotonic()
            for j, client in enumerate(clients):
                await asyncio.sleep(max(0.0, started + j * gap - time.monotonic()))
                if client.dropped:
                    continue
                client.on_event = self.on_event
                self._sent_at[id(client)] = time.monotonic_ns()
                try:
                    await client.send("ping", {})
                except Exception:  # dropped meanwhile: counted as a drop
                    continue
                self.pings += 1
            await asyncio.sleep(max(0.0, started + self.interval - time.monotonic()))


_pingers: dict[int, Pinger] = {}  # one per worker state


async def _open(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    opened = await open_rooms(state, args["rooms"], parallel=args.get("parallel", 100))
    if id(state) not in _pingers:  # after the first step is open: its first round pings all
        _pingers[id(state)] = Pinger(state, args["ping_interval"])
    return opened


async def _hold(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    """The pings and pongs of the next ``seconds``, and the drops so far."""
    pinger = _pingers[id(state)]
    pinger.pings, pinger.pongs_ms = 0, []
    await asyncio.sleep(args["seconds"])
    codes = [c.close_code for c in state.clients if c.dropped]
    return {
        "pings": pinger.pings,
        "pongs_ms": pinger.pongs_ms,
        "drops": len(codes),
        "drop_codes": sorted(set(map(str, codes))),
    }


COMMANDS = {"open": _open, "hold": _hold}


def run(
    target: str,
    *,
    steps: tuple[int, ...],
    hold_seconds: float,
    ping_interval: float,
    processes: int,
) -> dict[str, Any]:
    with (
        targets.start(target) as server,
        WorkerPool(processes, server.ws_base, server.wire, COMMANDS) as pool,
    ):
        time.sleep(1.0)
        rss_at_start = server.rss_bytes()
        rooms_held, ws_rss, results = 0, 0, []
        for n in steps:
            new_rooms = accounts.rooms_for(
                target, server.url, n // 4 - rooms_held, first=rooms_held
            )
            rooms_held = n // 4
            rss_before = server.rss_bytes()  # after the step's REST setup: WS memory alone next
            shards = shard(new_rooms, processes)
            opened = pool.call(
                "open", [{"rooms": s, "ping_interval": ping_interval} for s in shards]
            )
            time.sleep(2.0)  # let the last joins settle
            rss = server.rss_bytes()
            ws_rss += rss - rss_before
            cpu_before, wall = server.cpu_seconds(), time.monotonic()
            held = pool.call_all("hold", {"seconds": hold_seconds})
            wall = time.monotonic() - wall
            step = _step(n, opened, held, rss, rss_at_start, ws_rss)
            step["server_cpu_cores"] = round((server.cpu_seconds() - cpu_before) / wall, 3)
            step["generator_cpu_cores"] = round(
                sum(h["generator_cpu_seconds"] for h in held) / wall, 3
            )
            results.append(step)
            print(f"hold {target}: {step}", flush=True)
            if step["failed"] or step["drops"]:
                break
    return {"target": target, "rss_at_start_mb": round(rss_at_start / 2**20, 1), "steps": results}


def _step(
    n: int,
    opened: list[dict[str, Any]],
    held: list[dict[str, Any]],
    rss: int,
    rss_at_start: int,
    ws_rss: int,
) -> dict[str, Any]:
    connected = sum(o.get("connected", 0) for o in opened)
    pongs = sorted(p for h in held for p in h.get("pongs_ms", []))
    errors = [o["error"] for o in opened + held if "error" in o]
    return {
        "connections": n,
        "connected": connected,
        "failed": sum(o.get("failed", 0) for o in opened) + len(errors),
        "first_error": next((o["first_error"] for o in opened if o.get("first_error")), None)
        or (errors[0] if errors else None),
        "connect_seconds": round(max(o.get("seconds", 0) for o in opened), 1),
        "rss_mb": round(rss / 2**20, 1),
        "rss_per_connection_kb": round(ws_rss / max(1, connected) / 1024, 1),
        "rss_per_connection_all_in_kb": round((rss - rss_at_start) / max(1, connected) / 1024, 1),
        "pings": sum(h.get("pings", 0) for h in held),
        "pongs": len(pongs),
        "pong_p50_ms": _round(percentile(pongs, 50)),
        "pong_p99_ms": _round(percentile(pongs, 99)),
        "drops": sum(h.get("drops", 0) for h in held),
        "drop_codes": sorted({c for h in held for c in h.get("drop_codes", [])}),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
