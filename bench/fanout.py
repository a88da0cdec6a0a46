"""Scenario 2, chat fan-out: R rooms × 4 members, each member sending r chat messages/s, open
loop (sends go out on a fixed schedule whatever the answers do), for a fixed time per step;
r sweeps up until the target saturates.

``--kind signal`` sends ``webrtc_signal`` instead: each member relays a candidate-sized signal
to the next member of its room, so each message is one delivery (what a join's offer, answer
and candidates cost the server, without the database).

Every message carries its scheduled send time (``time.monotonic_ns``, one clock for all the
processes of this machine) and its id in ``content``; every member's receipt of it, the
sender's echo included, is one delivery whose latency is receipt − scheduled send. Measuring
from the schedule rather than the actual send charges any backlog to the latency (no
coordinated omission); the generator's own lag behind its schedule is reported beside it.
"""

from __future__ import annotations

import array
import asyncio
import time
from collections import Counter
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

ROOM_SIZE = 4
# Messages/s per member: fine steps low down, where ours turns, coarser up to the peers' knees.
RATES = (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 10, 12, 15, 20, 25, 30)
QUICK_RATES = (2, 8)
CONTENT_CHARS = 64  # about a short chat line; the same bytes for every target
KINDS = ("chat", "signal")
# A trickled ICE candidate as browsers write it: the size of most signals in a join.
CANDIDATE = "candidate:842163049 1 udp 1677729535 192.0.2.10 50000 typ srflx raddr 0.0.0.0 rport 0"


def receivers(kind: str) -> int:
    """Deliveries per message: the whole room for chat (the echo included), one for a signal."""
    return ROOM_SIZE if kind == "chat" else 1


async def _open(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    return await open_rooms(state, args["rooms"])


class Tally:
    """One worker's receipts during a step."""

    def __init__(self, window_end: int) -> None:
        self.window_end = window_end
        self.latencies = array.array("f")
        self.receipts: Counter[str] = Counter()
        self.in_window = 0
        self.errors = 0
        self.first_error: str | None = None

    def on_event(self, client: Client, event: tuple[str, dict[str, Any]]) -> None:
        kind, data = event
        if kind == "chat_message":
            self._receipt(data["content"])
        elif kind == "webrtc_signal":
            self._receipt(data["signal"]["candidate"]["candidate"])
        elif kind == "error":
            self.errors += 1
            self.first_error = self.first_error or f"{data.get('code')} {data.get('message')}"

    def _receipt(self, text: str) -> None:
        now = time.monotonic_ns()
        scheduled, key, _ = text.split(" ", 2)
        self.latencies.append((now - int(scheduled)) / 1e6)
        self.receipts[key] += 1
        self.in_window += now <= self.window_end


def _content(scheduled_ns: int, key: str) -> str:
    text = f"{scheduled_ns} {key} "
    return text + "x" * max(1, CONTENT_CHARS - len(text))


def _chat(client: Client, scheduled: int, key: str, retry_key: bool) -> dict[str, Any]:
    data: dict[str, Any] = {"room_id": client.member.room_id}
    if retry_key:  # what our SDK sends, so that a resend is not stored twice
        # Unique across steps too: a repeated key is a retry, answered to its sender only.
        data["client_msg_id"] = f"{scheduled}:{client.member.index}"
    data["content"] = _content(scheduled, key)
    return data


def _signal(client: Client, to_user_id: str, scheduled: int, key: str) -> dict[str, Any]:
    candidate = {"candidate": f"{scheduled} {key} {CANDIDATE}", "sdpMid": "0", "sdpMLineIndex": 0}
    signal = {"kind": "candidate", "candidate": candidate}
    return {"room_id": client.member.room_id, "to_user_id": to_user_id, "signal": signal}


def _next_in_room(clients: list[Client]) -> dict[int, str]:
    """Per client (by index), the user a signal goes to: the next member of its room."""
    rooms: dict[str, list[Client]] = {}
    for client in clients:
        rooms.setdefault(client.member.room_id, []).append(client)
    return {
        member.member.index: str(room[(i + 1) % len(room)].user_id)
        for room in rooms.values()
        for i, member in enumerate(room)
    }


async def _fanout(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    clients = [c for c in state.clients if not c.dropped]
    start_ns, seconds, rate = args["start_at_ns"], args["seconds"], args["rate"]
    tally = Tally(start_ns + int(seconds * 1e9))
    for client in clients:
        client.on_event = tally.on_event
    gap_ns = int(1e9 / (rate * len(clients)))  # all members' sends, spread evenly
    total = int(seconds * rate * len(clients))
    kind, fan = args.get("kind", "chat"), receivers(args.get("kind", "chat"))
    peer_of = _next_in_room(clients)
    lags: list[float] = []
    j = 0
    while j < total:
        await asyncio.sleep(max(0.0, (start_ns + j * gap_ns - time.monotonic_ns()) / 1e9))
        now = time.monotonic_ns()
        while j < total and start_ns + j * gap_ns <= now:
            client, scheduled = clients[j % len(clients)], start_ns + j * gap_ns
            key = f"{client.member.index}:{j}"
            if kind == "chat":
                await client.send("chat_message", _chat(client, scheduled, key, args["retry_key"]))
            else:
                to_user_id = peer_of[client.member.index]
                await client.send("webrtc_signal", _signal(client, to_user_id, scheduled, key))
            lags.append((time.monotonic_ns() - scheduled) / 1e6)
            j += 1
    expected = total * fan
    drain_until = time.monotonic() + args["drain"]
    while sum(tally.receipts.values()) < expected and time.monotonic() < drain_until:
        await asyncio.sleep(0.05)
    lags.sort()
    return {
        "sent": total,
        "accepted": len(tally.receipts),
        "received": sum(tally.receipts.values()),
        "in_window": tally.in_window,
        "lost": sum(
            max(0, fan - tally.receipts[f"{c.member.index}:{j}"])
            for j, c in ((j, clients[j % len(clients)]) for j in range(total))
        ),
        "duplicated": sum(max(0, n - fan) for n in tally.receipts.values()),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "latencies": tally.latencies.tobytes(),
        "lag_p99_ms": percentile(lags, 99),
        "lag_max_ms": lags[-1] if lags else None,
        "drops": sum(c.dropped for c in state.clients),
    }


COMMANDS = {"open": _open, "fanout": _fanout}


def _step(
    rate: float, seconds: float, rooms: int, fan: int, answers: list[dict[str, Any]]
) -> dict[str, Any]:
    latencies = array.array("f")
    for answer in answers:
        latencies.frombytes(answer.get("latencies", b""))
    ordered = sorted(latencies)
    sent = sum(a.get("sent", 0) for a in answers)
    return {
        "rate_per_member": rate,
        "offered_msgs_per_s": round(rooms * ROOM_SIZE * rate, 1),
        "offered_deliveries_per_s": round(rooms * ROOM_SIZE * rate * fan, 1),
        "sent": sent,
        "accepted_msgs_per_s": round(sum(a.get("accepted", 0) for a in answers) / seconds, 1),
        "deliveries_per_s": round(sum(a.get("in_window", 0) for a in answers) / seconds, 1),
        "received": sum(a.get("received", 0) for a in answers),
        "lost": sum(a.get("lost", 0) for a in answers),
        "duplicated": sum(a.get("duplicated", 0) for a in answers),
        **error_summary(answers),
        "p50_ms": _r(percentile(ordered, 50)),
        "p99_ms": _r(percentile(ordered, 99)),
        "max_ms": _r(ordered[-1] if ordered else None),
        "generator_lag_p99_ms": _r(max((a.get("lag_p99_ms") or 0) for a in answers)),
        "drops": sum(a.get("drops", 0) for a in answers),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def sustained(steps: list[dict[str, Any]], p99_ms: float) -> float | None:
    """The highest measured deliveries/s with p99 ≤ ``p99_ms`` and nothing lost."""
    good = [
        s["deliveries_per_s"]
        for s in steps
        if s["p99_ms"] is not None and s["p99_ms"] <= p99_ms and not s["lost"]
    ]
    return max(good, default=None)


def run(
    target: str,
    *,
    rooms: int,
    rates: tuple[float, ...],
    seconds: float,
    processes: int,
    drain: float = 5.0,
    retry_key: bool = True,
    kind: str = "chat",
) -> dict[str, Any]:
    with (
        targets.start(target) as server,
        WorkerPool(processes, server.ws_base, server.wire, COMMANDS) as pool,
    ):
        all_rooms = accounts.rooms_for(target, server.url, rooms)
        opened = pool.call("open", [{"rooms": s} for s in shard(all_rooms, processes)])
        failed = sum(o.get("failed", 0) for o in opened) + sum("error" in o for o in opened)
        steps: list[dict[str, Any]] = []
        for rate in [] if failed else rates:
            start_at_ns = time.monotonic_ns() + 500_000_000
            args: dict[str, Any] = {"rate": rate, "seconds": seconds, "drain": drain}
            args |= {"start_at_ns": start_at_ns, "retry_key": retry_key, "kind": kind}
            pool.send("fanout", [args] * processes)
            time.sleep(max(0.0, (start_at_ns - time.monotonic_ns()) / 1e9))
            cpu = server.cpu_seconds()
            time.sleep(seconds)
            server_cpu = (server.cpu_seconds() - cpu) / seconds
            answers = pool.gather()
            step = _step(rate, seconds, rooms, receivers(kind), answers)
            step["server_cpu_cores"] = round(server_cpu, 3)
            delivered = step["deliveries_per_s"]
            step["server_cpu_us_per_delivery"] = (
                round(server_cpu / delivered * 1e6, 1) if delivered else None
            )
            step["generator_cpu_cores"] = round(
                sum(a.get("generator_cpu_seconds", 0) for a in answers) / seconds, 3
            )
            steps.append(step)
            print(f"fanout {target}: {_brief(step)}", flush=True)
            if _saturated(step):
                break
    return {
        "target": target,
        "rooms": rooms,
        "connections": rooms * ROOM_SIZE,
        "kind": kind,
        "client_msg_id": retry_key,
        "connect_failures": failed,
        "first_connect_error": next(
            (
                o.get("first_error") or o.get("error")
                for o in opened
                if o.get("first_error") or o.get("error")
            ),
            None,
        ),
        "steps": steps,
        "sustained_deliveries_per_s_p99_le_50ms": sustained(steps, 50),
        "sustained_deliveries_per_s_p99_le_100ms": sustained(steps, 100),
    }


def _saturated(step: dict[str, Any]) -> bool:
    """Past the knee: p99 over a second, or under 90 % of what was offered got through."""
    slow = step["p99_ms"] is None or step["p99_ms"] > 1000
    return slow or step["deliveries_per_s"] < 0.9 * step["offered_deliveries_per_s"]


def _brief(step: dict[str, Any]) -> str:
    keys = (
        "rate_per_member",
        "deliveries_per_s",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "lost",
        "errors",
        "server_cpu_cores",
        "server_cpu_us_per_delivery",
        "generator_cpu_cores",
        "generator_lag_p99_ms",
    )
    return " ".join(f"{k}={step[k]}" for k in keys)
