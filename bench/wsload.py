"""The WebSocket load generator's machinery: cheap clients, and worker processes that hold them.

Clients are aiohttp WebSocket clients: on this machine they cost 9-10 µs of generator CPU per
message, against 14 µs for websockets' asyncio client (``python -m bench.clientcost``).
Each worker process runs uvloop and holds whole rooms (all four members of a room are in one
process, so a message's send time and every receipt are seen by the same process); the parent
drives the workers with commands over pipes and merges what they report.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench.wire import WIRES, Event, PlainWire

CONNECT_TIMEOUT = 30.0


@dataclass(frozen=True)
class Member:
    """One connection to open: its user's token (None for the peers) and its room."""

    index: int
    room_id: str
    token: str | None = None
    meeting_number: str | None = None  # ours: for the join storm's REST join


Room = list[Member]


def raise_fd_limit() -> int:
    """Lift the soft limit on open files to the hard one (each socket is one); the limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Client:
    """One WebSocket; ``on_event`` sees every event the server sends it."""

    def __init__(self, member: Member, wire: PlainWire) -> None:
        self.member = member
        self.wire = wire
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.user_id: str | None = None
        self.seq = 0
        self.on_event: Callable[[Client, Event], None] = lambda client, event: None
        self.closed_by_us = False
        self.close_code: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def open(self, session: aiohttp.ClientSession, base: str) -> None:
        url = self.wire.url(base, self.member.token)
        self.ws = await session.ws_connect(url, autoping=True, max_msg_size=0, compress=0)
        self._reader = asyncio.create_task(self._read())
        self.user_id = (await self.wait_for("connected"))["user_id"]

    async def join(self) -> None:
        """``join_room``; done when the server announces our own ``user_joined``."""
        joined, refused = self.expect("user_joined"), self.expect("error")
        await self.send("join_room", {"room_id": self.member.room_id})
        done, _ = await asyncio.wait(
            {joined, refused}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        self._waiters.pop("error", None)
        if refused in done:
            raise RuntimeError(f"join_room refused: {refused.result()}")
        if joined not in done:
            raise TimeoutError("no user_joined for join_room")

    def expect(self, kind: str) -> asyncio.Future[dict[str, Any]]:
        future = asyncio.get_running_loop().create_future()
        self._waiters[kind] = future
        return future

    async def wait_for(self, kind: str) -> dict[str, Any]:
        future = self._waiters.get(kind) or self.expect(kind)
        return await asyncio.wait_for(future, CONNECT_TIMEOUT)

    async def send(self, kind: str, data: dict[str, Any]) -> None:
        assert self.ws is not None
        self.seq += 1
        await self.ws.send_str(self.wire.encode(kind, data, self.seq))

    async def _read(self) -> None:
        assert self.ws is not None
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            event, answer = self.wire.decode(message.data)
            if answer is not None:
                await self.ws.send_str(answer)
            if event is None:
                continue
            waiter = self._waiters.get(event[0])
            if waiter is not None and not waiter.done() and self._is_for_me(event):
                del self._waiters[event[0]]
                waiter.set_result(event[1])
            self.on_event(self, event)
        self.close_code = self.ws.close_code

    def _is_for_me(self, event: Event) -> bool:
        if event[0] != "user_joined":
            return True
        joined: dict[str, Any] = event[1].get("user", {})
        return joined.get("id") == self.user_id

    @property
    def dropped(self) -> bool:
        return bool(self._reader and self._reader.done() and not self.closed_by_us)

    async def close(self) -> None:
        self.closed_by_us = True
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()


@dataclass
class WorkerState:
    """What a worker process keeps between commands."""

    base: str
    wire: PlainWire
    session: aiohttp.ClientSession
    clients: list[Client] = field(default_factory=list)


async def open_rooms(
    state: WorkerState, rooms: list[Room], *, join: bool = True, parallel: int = 100
) -> dict[str, Any]:
    """Connect every member (and join its room); how many failed and the first error."""
    semaphore = asyncio.Semaphore(parallel)
    failures: list[str] = []

    async def one(member: Member) -> None:
        client = Client(member, state.wire)
        async with semaphore:
            try:
                await client.open(state.session, state.base)
                if join:
                    await client.join()
            except Exception as exc:
                failures.append(repr(exc))
                await client.close()
                return
        state.clients.append(client)

    started = time.monotonic()
    await asyncio.gather(*(one(member) for room in rooms for member in room))
    return {
        "connected": len(state.clients),
        "failed": len(failures),
        "first_error": failures[0] if failures else None,
        "seconds": time.monotonic() - started,
    }


# -- the worker process -----------------------------------------------------------------------

Command = Callable[[WorkerState, dict[str, Any]], Awaitable[dict[str, Any]]]
Commands = Mapping[str, Command]


def _worker(pipe: Connection, base: str, wire: str, commands: Commands) -> None:
    import uvloop

    raise_fd_limit()
    uvloop.run(_serve(pipe, base, WIRES[wire], commands))


async def _serve(pipe: Connection, base: str, wire: PlainWire, commands: Commands) -> None:
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        state = WorkerState(base, wire, session)
        while True:
            name, args = await loop.run_in_executor(None, pipe.recv)
            if name == "stop":
                await asyncio.gather(*(c.close() for c in state.clients), return_exceptions=True)
                pipe.send(None)
                return
            cpu = time.process_time()
            try:
                result = await commands[name](state, args)
            except Exception as exc:
                result = {"error": repr(exc)}
            if isinstance(result, dict):
                result["generator_cpu_seconds"] = time.process_time() - cpu
            pipe.send(result)


class WorkerPool:
    """``processes`` worker processes; ``call`` runs a command in each and returns the answers."""

    def __init__(self, processes: int, base: str, wire: str, commands: Commands) -> None:
        context = multiprocessing.get_context("spawn")  # no inherited event loop or sockets
        self.pipes: list[Connection] = []
        self.processes = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, base, wire, commands))
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def call(self, name: str, per_worker: list[dict[str, Any]]) -> list[Any]:
        self.send(name, per_worker)
        return self.gather()

    def send(self, name: str, per_worker: list[dict[str, Any]]) -> None:
        """Start a command in every worker; ``gather`` collects the answers."""
        for pipe, args in zip(self.pipes, per_worker, strict=True):
            pipe.send((name, args))

    def gather(self) -> list[Any]:
        return [pipe.recv() for pipe in self.pipes]

    def call_all(self, name: str, args: dict[str, Any]) -> list[Any]:
        return self.call(name, [args] * len(self.pipes))

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop", {}))
                pipe.recv()
            except (EOFError, OSError):
                pass
        for process in self.processes:
            process.join(10)
            if process.is_alive():
                process.kill()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def shard(rooms: list[Room], workers: int) -> list[list[Room]]:
    """Rooms dealt to workers round-robin (whole rooms, so a room's members share a process)."""
    return [rooms[w::workers] for w in range(workers)]


def percentile(ordered: list[float], p: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def error_summary(answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The workers' errors in a step: how many (a worker that failed counts one), and the
    first one's text."""
    texts = (a.get("first_error") or a.get("error") for a in answers)
    return {
        "errors": sum(a.get("errors", 0) for a in answers) + sum("error" in a for a in answers),
        "first_error": next((text for text in texts if text), None),
    }
