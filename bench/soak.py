"""Soak: many idle connections and a few chatting rooms held for an hour against one server;
does its memory level off and do its open files stay put?

Idle rooms only keep the heartbeat a real client keeps (the SDK's ``ping`` every interval, a
third of the server's ``heartbeat_timeout``); chatting rooms each send chat at a light, steady
rate (open loop, like ``bench.fanout``). Every chat message is checked with
``harness.history.History``: lost, duplicated, reordered and unexpected must all stay 0.
To keep the generator's own memory flat over an hour, the check runs in epochs of
``EPOCH_SECONDS``: a message belongs to the epoch it was sent in (it is in its
``client_msg_id``), and an epoch is judged once it has been over for ``SETTLE_SECONDS`` (a
message not arrived by then is lost), then forgotten. Order is so checked within an epoch.

Every ``sample_seconds`` the parent records the server's RSS and open descriptors, the
generator's RSS (parent and workers), and the workers' counts and latencies, and rewrites the
result file, so an interrupted run still leaves its samples. Memory growth is the last sample's
RSS against the first sample after warm-up (5 minutes, or a quarter of a shorter run).
"""

from __future__ import annotations

import array
import asyncio
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench import accounts, targets
from bench.fanout import _content
from bench.wsload import (
    Client,
    Room,
    WorkerPool,
    WorkerState,
    open_rooms,
    percentile,
    raise_fd_limit,
    shard,
)
from harness.history import History, Report, merge
from harness.server import ServerProcess

ROOM_SIZE = 4
HEARTBEAT_TIMEOUT = 60.0  # the shipped default
SDK_PING_INTERVAL = min(30.0, HEARTBEAT_TIMEOUT / 3)  # aimeeting.sdk: Link.heartbeat_interval
EPOCH_SECONDS = 60.0
SETTLE_SECONDS = 15.0
DRAIN_SECONDS = 5.0
KINDS = ("lost", "duplicated", "reordered", "unexpected")


class Soaker:
    """One worker's load: heartbeats for every client, chat for the chatting rooms, and the
    epochs' histories."""

    def __init__(self, state: WorkerState, chat_rooms: set[str], args: dict[str, Any]) -> None:
        self.state = state
        self.ping_interval = args["ping_interval"]
        self.chat_period = args["chat_period"]
        self.chatters = [c for c in state.clients if c.member.room_id in chat_rooms]
        self.rooms: dict[str, list[Client]] = {}
        for client in self.chatters:
            self.rooms.setdefault(client.member.room_id, []).append(client)
        self.t0 = time.monotonic_ns()
        self.epochs: dict[int, dict[str, History]] = {}
        self.checked = Report()
        self.late = 0  # a receipt for an epoch already judged
        self.sent = self.delivered = self.pings = self.pongs = self.errors = 0
        self.first_error: str | None = None
        self.latencies = array.array("f")
        for client in state.clients:
            client.on_event = self.on_event
        self.tasks = [asyncio.create_task(self._heartbeat())]
        if self.chatters:
            self.tasks.append(asyncio.create_task(self._chat()))

    def _epoch(self, ns: int) -> int:
        return int((ns - self.t0) / (EPOCH_SECONDS * 1e9))

    def on_event(self, client: Client, event: tuple[str, dict[str, Any]]) -> None:
        kind, data = event
        if kind == "pong":
            self.pongs += 1
        elif kind == "chat_message":
            self.delivered += 1
            scheduled = int(data["content"].split(" ", 1)[0])
            self.latencies.append((time.monotonic_ns() - scheduled) / 1e6)
            histories = self.epochs.get(int(str(data.get("client_msg_id", "-1")).split(":")[0]))
            if histories is None:
                self.late += 1
                return
            room = str(data.get("room_id") or client.member.room_id)
            history = histories.get(room) or histories[client.member.room_id]
            history.seen_live(f"{client.member.room_id}/{client.member.index}", data)
        elif kind == "error":
            self.errors += 1
            self.first_error = self.first_error or f"{data.get('code')} {data.get('message')}"

    async def _heartbeat(self) -> None:
        """Every client pings once per interval, spread evenly over it."""
        while True:
            started = time.monotonic()
            clients = [c for c in self.state.clients if not c.dropped]
            gap = self.ping_interval / max(1, len(clients))
            for j, client in enumerate(clients):
                await asyncio.sleep(max(0.0, started + j * gap - time.monotonic()))
                try:
                    await client.send("ping", {})
                    self.pings += 1
                except Exception:  # dropped meanwhile: counted as a drop
                    continue
            await asyncio.sleep(max(0.0, started + self.ping_interval - time.monotonic()))

    async def _chat(self) -> None:
        """Each chatter sends one message per ``chat_period``, all spread evenly (open loop)."""
        gap_ns = int(self.chat_period * 1e9 / len(self.chatters))
        start, j = time.monotonic_ns(), 0
        while True:
            scheduled = start + j * gap_ns
            await asyncio.sleep(max(0.0, (scheduled - time.monotonic_ns()) / 1e9))
            client = self.chatters[j % len(self.chatters)]
            j += 1
            if client.dropped or client.user_id is None:
                continue
            epoch = self._epoch(scheduled)
            histories = self.epochs.get(epoch)
            if histories is None:
                histories = self.epochs[epoch] = self._new_epoch()
            ident = f"{epoch}:{client.member.index}:{j}"
            histories[client.member.room_id].sent(client.user_id, "", ident)
            data = {"room_id": client.member.room_id, "client_msg_id": ident}
            data["content"] = _content(scheduled, f"{client.member.index}:{j}")
            try:
                await client.send("chat_message", data)
            except Exception:  # dropped meanwhile: counted as a drop (and lost, as it should)
                continue
            self.sent += 1

    def _new_epoch(self) -> dict[str, History]:
        histories = {}
        for room_id, clients in self.rooms.items():
            histories[room_id] = History(room_id)
            for client in clients:
                histories[room_id].member(f"{room_id}/{client.member.index}")
        return histories

    def judge(self, *, all_epochs: bool = False) -> None:
        """Check and forget every epoch over for ``SETTLE_SECONDS`` (or all of them)."""
        now = time.monotonic_ns()
        for epoch in sorted(self.epochs):
            ended = self.t0 + (epoch + 1) * EPOCH_SECONDS * 1e9
            if all_epochs or now - ended >= SETTLE_SECONDS * 1e9:
                histories = self.epochs.pop(epoch)
                report = merge(h.report() for h in histories.values())
                self.checked = _add(self.checked, report)

    def sample(self) -> dict[str, Any]:
        """The counts so far, and the latencies since the last sample."""
        self.judge()
        latencies, self.latencies = self.latencies, array.array("f")
        return {
            "sent": self.sent,
            "delivered": self.delivered,
            "checked_messages": self.checked.sent,
            **{kind: self.checked.total(kind) for kind in KINDS},
            "late": self.late,
            "first_fault": next(
                (c.examples[0] for c in self.checked.members.values() if c.examples), None
            ),
            "pings": self.pings,
            "pongs": self.pongs,
            "errors": self.errors,
            "first_error": self.first_error,
            "drops": sum(c.dropped for c in self.state.clients),
            "latencies": latencies.tobytes(),
        }

    async def finish(self) -> dict[str, Any]:
        """Stop sending, let the last messages arrive, judge every epoch; the final counts."""
        for task in self.tasks:
            task.cancel()
        await asyncio.sleep(DRAIN_SECONDS)
        self.judge(all_epochs=True)
        return self.sample()


def _add(total: Report, report: Report) -> Report:
    """Counts per member summed over epochs (``Report.__add__`` is for distinct rooms)."""
    merged = Report(total.sent + report.sent, dict(total.members))
    for name, counts in report.members.items():
        mine = merged.members.get(name)
        if mine is None:
            merged.members[name] = counts
            continue
        for kind in (*KINDS, "seen_live"):
            setattr(mine, kind, getattr(mine, kind) + getattr(counts, kind))
        mine.examples = (mine.examples + counts.examples)[:5]
    return merged


_soakers: dict[int, Soaker] = {}  # one per worker state


async def _open(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    opened = await open_rooms(state, args["rooms"], parallel=args.get("parallel", 100))
    _soakers[id(state)] = Soaker(state, set(args["chat_rooms"]), args)
    return opened


async def _sample(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    return _soakers[id(state)].sample()


async def _finish(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    return await _soakers[id(state)].finish()


COMMANDS = {"open": _open, "sample": _sample, "finish": _finish}


def _rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _mb(value: float) -> float:
    return round(value / 2**20, 1)


def run(
    *,
    idle: int,
    chatting: int,
    minutes: float,
    sample_seconds: float,
    chat_period: float,
    processes: int,
    database_url: str | None,
    save: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Open ``idle`` + ``chatting`` connections in rooms of 4, hold them ``minutes``; ``save``
    gets the figures after every sample (and at the end, ``complete``)."""
    connections = idle + chatting
    hard = raise_fd_limit()  # the server started below inherits it
    if hard < connections + 500:
        raise RuntimeError(
            f"open-files hard limit {hard} is too low for {connections} connections "
            "(server and generator each need one descriptor per socket): raise ulimit -Hn"
        )
    env = targets.ours_env(heartbeat_timeout=HEARTBEAT_TIMEOUT)
    env["AIMEETING_ACCESS_TOKEN_TTL"] = str(int(minutes * 60 + 3600))  # outlives the run
    if database_url:
        env["AIMEETING_DATABASE_URL"] = database_url
    warmup = min(300.0, minutes * 60 / 4)
    figures: dict[str, Any] = {
        "database": "postgresql" if database_url else "sqlite",
        "idle_connections": idle,
        "chatting_connections": chatting,
        "minutes": minutes,
        "sample_seconds": sample_seconds,
        "warmup_seconds": warmup,
        "chat_period_seconds": chat_period,
        "ping_interval_seconds": SDK_PING_INTERVAL,
        "heartbeat_timeout_seconds": HEARTBEAT_TIMEOUT,
        "complete": False,
    }
    with (
        tempfile.TemporaryDirectory() as data_dir,
        ServerProcess(Path(data_dir), env) as server,
        WorkerPool(processes, server.url.replace("http://", "ws://", 1), "plain", COMMANDS) as pool,
    ):
        assert server.process is not None
        pid = server.process.pid
        generator = [os.getpid(), *(p.pid for p in pool.processes if p.pid is not None)]
        figures["server_rss_at_start_mb"] = _mb(_rss(pid))
        figures["server_fds_at_start"] = _fds(pid)
        rooms = accounts.ours_rooms(server.url, connections // ROOM_SIZE)
        chat_rooms: list[Room] = rooms[: chatting // ROOM_SIZE]
        chat_ids = [room[0].room_id for room in chat_rooms]
        # Chatting rooms dealt round-robin like the idle ones: both workers do a share of each.
        shards = shard(chat_rooms, processes)
        idle_shards = shard(rooms[len(chat_rooms) :], processes)
        args = {"ping_interval": SDK_PING_INTERVAL, "chat_period": chat_period}
        opened = pool.call(
            "open",
            [
                {**args, "rooms": c + i, "chat_rooms": chat_ids}
                for c, i in zip(shards, idle_shards, strict=True)
            ],
        )
        figures["connected"] = sum(o.get("connected", 0) for o in opened)
        figures["connect_failed"] = sum(o.get("failed", 0) for o in opened)
        figures["connect_seconds"] = round(max(o.get("seconds", 0) for o in opened), 1)
        figures["first_connect_error"] = next(
            (
                o.get("first_error") or o.get("error")
                for o in opened
                if o.get("first_error") or o.get("error")
            ),
            None,
        )
        figures["server_rss_after_open_mb"] = _mb(_rss(pid))
        figures["server_fds_after_open"] = _fds(pid)
        samples: list[dict[str, Any]] = []
        figures["samples"] = samples
        started = time.monotonic()
        cpu = _cpu(pid)
        while time.monotonic() - started < minutes * 60 - 1e-6:
            time.sleep(min(sample_seconds, max(0.0, started + minutes * 60 - time.monotonic())))
            answers = pool.call_all("sample", {})
            cpu_now = _cpu(pid)
            samples.append(
                _record(time.monotonic() - started, pid, generator, answers, cpu_now - cpu)
            )
            cpu = cpu_now
            print(f"soak: {_brief(samples[-1])}", flush=True)
            _summarise(figures, warmup)
            save(figures)
        final = pool.call_all("finish", {})
        figures["final"] = _counts(final)
        print(f"soak: final {figures['final']}", flush=True)
        figures["complete"] = True
        _summarise(figures, warmup)
        save(figures)
    return figures


def _counts(answers: list[dict[str, Any]]) -> dict[str, Any]:
    summed = ("sent", "delivered", "checked_messages", *KINDS, "late", "pings", "pongs")
    counts: dict[str, Any] = {k: sum(a.get(k, 0) for a in answers) for k in summed}
    counts["errors"] = sum(a.get("errors", 0) for a in answers) + sum("error" in a for a in answers)
    counts["drops"] = sum(a.get("drops", 0) for a in answers)
    counts["first_error"] = next(
        (
            a.get("first_error") or a.get("error")
            for a in answers
            if a.get("first_error") or a.get("error")
        ),
        None,
    )
    counts["first_fault"] = next((a["first_fault"] for a in answers if a.get("first_fault")), None)
    return counts


def _record(
    at: float, pid: int, generator: list[int], answers: list[dict[str, Any]], cpu: float
) -> dict[str, Any]:
    latencies = array.array("f")
    for answer in answers:
        latencies.frombytes(answer.get("latencies", b""))
    ordered = sorted(latencies)
    return {
        "seconds": round(at, 1),
        "server_rss_mb": _mb(_rss(pid)),
        "server_fds": _fds(pid),
        "server_cpu_seconds": round(cpu, 2),
        "generator_rss_mb": _mb(sum(_rss(p) for p in generator)),
        **_counts(answers),
        "latency_p50_ms": _r(percentile(ordered, 50)),
        "latency_p99_ms": _r(percentile(ordered, 99)),
        "latency_max_ms": _r(ordered[-1] if ordered else None),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _summarise(figures: dict[str, Any], warmup: float) -> None:
    """The headline figures from the samples so far."""
    samples = figures["samples"]
    if not samples:
        return
    base = next((s for s in samples if s["seconds"] >= warmup), None)
    last = samples[-1]
    counts = figures.get("final") or last
    figures["server_rss_after_warmup_mb"] = base["server_rss_mb"] if base else None
    figures["server_rss_at_end_mb"] = last["server_rss_mb"]
    figures["server_rss_max_mb"] = max(s["server_rss_mb"] for s in samples)
    figures["server_rss_growth_pct"] = (
        round(100 * (last["server_rss_mb"] / base["server_rss_mb"] - 1), 2) if base else None
    )
    figures["server_fds_after_warmup"] = base["server_fds"] if base else None
    figures["server_fds_at_end"] = last["server_fds"]
    figures["server_fds_range"] = [
        min(s["server_fds"] for s in samples),
        max(s["server_fds"] for s in samples),
    ]
    figures["generator_rss_after_warmup_mb"] = base["generator_rss_mb"] if base else None
    figures["generator_rss_at_end_mb"] = last["generator_rss_mb"]
    for key in ("sent", "delivered", "checked_messages", *KINDS, "late", "errors", "drops"):
        figures[key] = counts[key]
    p50s = [s["latency_p50_ms"] for s in samples if s["latency_p50_ms"] is not None]
    p99s = [s["latency_p99_ms"] for s in samples if s["latency_p99_ms"] is not None]
    figures["latency_p50_ms_median_of_samples"] = _r(sorted(p50s)[len(p50s) // 2] if p50s else None)
    figures["latency_p99_ms_worst_sample"] = _r(max(p99s, default=None))
    figures["server_cpu_cores_mean"] = round(
        sum(s["server_cpu_seconds"] for s in samples) / max(1e-9, last["seconds"]), 3
    )


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _brief(sample: dict[str, Any]) -> str:
    keys = (
        "seconds",
        "server_rss_mb",
        "server_fds",
        "generator_rss_mb",
        "sent",
        "delivered",
        "checked_messages",
        *KINDS,
        "drops",
        "errors",
        "latency_p50_ms",
        "latency_p99_ms",
    )
    return " ".join(f"{k}={sample[k]}" for k in keys)
