"""Scenario 3, join storm: U connected users REST-join and ``join_room`` into U/4 meetings all at
once; the time until every member has seen every member (``user_joined`` for those who came
after it, ``room_state`` for those already there). Ours only: the peers have no seats.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import accounts, targets
from bench.wsload import (
    Client,
    WorkerPool,
    WorkerState,
    error_summary,
    open_rooms,
    percentile,
    shard,
)

API_PARALLEL = 64  # REST joins in flight per worker, like a crowd behind a few NATs


async def _connect(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    return await open_rooms(state, args["rooms"], join=False)


def _seen_ids(kind: str, data: dict[str, Any]) -> list[str]:
    if kind == "user_joined":
        return [data["user"]["id"]]
    if kind == "room_state":
        return [p["user_id"] for p in data.get("participants", [])]
    return []


async def _storm(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    clients = state.clients
    room_users: dict[str, set[str]] = {}
    for client in clients:
        room_users.setdefault(client.member.room_id, set()).add(str(client.user_id))
    seen: dict[int, set[str]] = {id(c): set() for c in clients}
    done_ms: dict[int, float] = {}
    start_ns = args["start_at_ns"]
    all_seen = asyncio.Event()
    errors: list[str] = []

    def on_event(client: Client, event: tuple[str, dict[str, Any]]) -> None:
        if event[0] == "error":
            errors.append(f"{event[1].get('code')}")
        known = seen[id(client)]
        known.update(_seen_ids(*event))
        if id(client) not in done_ms and known >= room_users[client.member.room_id]:
            done_ms[id(client)] = (time.monotonic_ns() - start_ns) / 1e6
            if len(done_ms) == len(clients):
                all_seen.set()

    for client in clients:
        client.on_event = on_event
    semaphore = asyncio.Semaphore(API_PARALLEL)
    api = args["api"]

    async def join(client: Client) -> None:
        headers = {"Authorization": f"Bearer {client.member.token}"}
        url = f"{api}/meetings/{client.member.meeting_number}/join"
        try:
            async with semaphore, state.session.post(url, headers=headers) as response:
                if response.status != 200:
                    errors.append(f"REST join {response.status}")
                    return
            await client.send("join_room", {"room_id": client.member.room_id})
        except Exception as exc:
            errors.append(repr(exc))

    await asyncio.sleep(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
    await asyncio.gather(*(join(c) for c in clients))
    rest_done_ms = (time.monotonic_ns() - start_ns) / 1e6
    try:
        await asyncio.wait_for(all_seen.wait(), args["timeout"])
    except TimeoutError:
        errors.append(f"timeout: {len(clients) - len(done_ms)} members incomplete")
    return {
        "members": len(clients),
        "complete": len(done_ms),
        "done_ms": sorted(done_ms.values()),
        "rest_done_ms": rest_done_ms,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


COMMANDS = {"connect": _connect, "storm": _storm}


def run(*, users: int, processes: int, timeout: float = 60.0) -> dict[str, Any]:
    with (
        targets.start("ours") as server,
        WorkerPool(processes, server.ws_base, server.wire, COMMANDS) as pool,
    ):
        rooms = accounts.ours_rooms(server.url, users // 4, seat=False)
        connected = pool.call("connect", [{"rooms": s} for s in shard(rooms, processes)])
        start_at_ns = time.monotonic_ns() + 500_000_000
        args = {"start_at_ns": start_at_ns, "api": f"{server.url}/v1", "timeout": timeout}
        cpu = server.cpu_seconds()
        answers = pool.call_all("storm", args)
        cpu = server.cpu_seconds() - cpu
    done = sorted(ms for a in answers for ms in a.get("done_ms", []))
    result = {
        "target": "ours",
        "users": users,
        "meetings": users // 4,
        "connected": sum(c.get("connected", 0) for c in connected),
        "complete": sum(a.get("complete", 0) for a in answers),
        "all_seen_ms": round(done[-1], 1) if done else None,
        "member_p50_ms": _r(percentile(done, 50)),
        "member_p99_ms": _r(percentile(done, 99)),
        "rest_joins_done_ms": _r(max((a.get("rest_done_ms", 0) for a in answers), default=None)),
        "server_cpu_seconds": round(cpu, 2),
        **error_summary(answers),
    }
    print(f"joinstorm: {result}", flush=True)
    return result


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
