"""Scenario: reconnect storm. M members sit in rooms of 4, connected and joined; then their node
goes away and every one of them comes back at once:

- ``restart``: one node (SQLite) is stopped with SIGTERM (it closes every socket with 1001) and
  started again on the same port and database;
- ``failover``: two nodes (PostgreSQL, Redis), every member on node A; A is killed (SIGKILL)
  and its members reconnect to node B, as a balancer would send them.

Each member behaves like the SDK: on losing its socket it reconnects with the SDK's backoff
(exponential from 0.25 s, capped at 5 s, with "equal" jitter), sends ``join_room``, reads the
``room_state``, re-sends the chat not yet echoed (same ``client_msg_id``) and catches up on the
chat stored while it was away (REST history). The figure is the time from the event until every
member is back in its room **with its seat kept** (its ``room_state`` lists the same four
people; none saw a ``user_left``; the REST detail lists four seats afterwards). In a share of
the rooms one member chats all through the storm; every message acknowledged (echoed to its
sender) must reach every member of its room, live or through the catch-up, and be stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy.engine import make_url

from aimeeting.sdk.config import SDKConfig
from aimeeting.sdk.connection import backoff_delay
from bench import accounts, targets
from bench.wsload import (
    Client,
    Member,
    Room,
    WorkerPool,
    WorkerState,
    error_summary,
    percentile,
    shard,
)
from harness.redis_databases import RedisDatabases
from harness.server import ServerProcess

MODES = ("restart", "failover")
ROOM_SIZE = 4
CHAT_SHARE = 0.2  # of the rooms, one member chatting all through the storm
CHAT_EVERY = 0.25  # seconds between one chatter's messages
WARM_UP = 1.0  # seconds of chat before the event
SETUP_PARALLEL = 64  # members connecting (and taking seats) at once per worker, before the storm
HISTORY_PAGE = 100
RESEND_AFTER_REFUSAL = 1.0  # the SDK's wait when a refusal names no retry_after
JWT_SECRET = "bench-reconnect-storm-0123456789abcdef"  # both nodes sign alike
ATTEMPT_TIMEOUT = SDKConfig.request_timeout  # a handshake or join not answered: try again
SEAT_RELEASED = 40301  # join_room's answer when the grace ran out: the seat is gone
PROFILE_SECONDS = 40  # --py-spy: the storm from the event to (nearly) everyone back


def backoff(attempt: int) -> float:
    """The SDK's reconnect delay before ``attempt`` (1, 2, …), with its default settings."""
    return backoff_delay(attempt, SDKConfig.reconnect_base_delay, SDKConfig.reconnect_max_delay)


# -- one member, across its sockets -------------------------------------------------------


@dataclass
class Seen:
    """What one member got of its room's chat: each retry key's message ids, live or caught up."""

    by_key: dict[str, set[str]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)

    def add(self, data: dict[str, Any]) -> None:
        key = f"{data['sender']['id']}/{data.get('client_msg_id')}"
        self.by_key.setdefault(key, set()).add(str(data["message_id"]))
        self.ids.add(str(data["message_id"]))


class Person:
    """One member: its socket of the moment, its seat, its chat."""

    def __init__(self, storm: Storm, member: Member, client: Client, room_users: set[str]) -> None:
        self.storm = storm
        self.member = member
        self.client = client
        self.user_id = str(client.user_id)
        self.room_users = room_users
        self.seen = Seen()
        self.seen_at_drop: set[str] = set()  # message ids seen before the last drop
        self.dropped_ns: int | None = None
        self.back_ns: int | None = None
        self.attempts = 0
        self.seat_kept: bool | None = None
        self.entered = False  # joined on the current socket: chat may go out
        # The chatter's: sent or waiting (client_msg_id → content) until echoed, in order.
        self.pending: dict[str, str] = {}
        self.unsent: list[str] = []
        self.acked: set[str] = set()
        self.resent = 0
        self.seqs: dict[int, str] = {}
        self.flushing = False
        self.drops = 0
        client.on_event = self.on_event

    # -- events ---------------------------------------------------------------------------

    def on_event(self, client: Client, event: tuple[str, dict[str, Any]]) -> None:
        kind, data = event
        if kind == "chat_message":
            self.seen.add(data)
            ident = data.get("client_msg_id")
            if data["sender"]["id"] == self.user_id and ident in self.pending:
                del self.pending[ident]
                self.acked.add(ident)
        elif kind == "user_left":
            self.storm.user_left += 1
        elif kind == "error":
            ident = self.seqs.pop(data.get("request_seq") or -1, None)
            if ident is not None and ident in self.pending:
                # Refused (unavailable, too many): the SDK sends it again after retry_after.
                self.storm.chat_refusals += 1
                details = data.get("details") or {}
                wait = details.get("retry_after") if isinstance(details, dict) else None
                delay = float(wait) if isinstance(wait, int | float) else RESEND_AFTER_REFUSAL
                asyncio.get_running_loop().call_later(delay, self._resend_later, ident)
            else:
                self.storm.note_error(f"{data.get('code')} {data.get('message')}")

    def _resend_later(self, ident: str) -> None:
        if ident in self.pending and ident not in self.unsent:
            self.unsent.append(ident)
            self.storm.spawn(self.flush())

    # -- chat -----------------------------------------------------------------------------

    def chat(self, ident: str, content: str) -> None:
        self.pending[ident] = content
        self.unsent.append(ident)
        self.storm.spawn(self.flush())

    async def flush(self) -> None:
        """Send what waits, oldest first, while entered on a live socket (one flush at a
        time, so that a sender's messages go out in order)."""
        if self.flushing:
            return
        self.flushing = True
        try:
            while self.unsent and self.entered:
                ident = self.unsent.pop(0)
                if ident not in self.pending:
                    continue
                client = self.client
                data = {
                    "room_id": self.member.room_id,
                    "content": self.pending[ident],
                    "client_msg_id": ident,
                }
                self.seqs[client.seq + 1] = ident  # the seq ``send`` gives it
                try:
                    await client.send("chat_message", data)
                except Exception:
                    self.unsent.insert(0, ident)  # goes again after the reconnect
                    return
        finally:
            self.flushing = False

    # -- the storm ------------------------------------------------------------------------

    async def live_through(self) -> None:
        """Each time the socket goes, come back like the SDK: until back, or given up."""
        while True:
            reader = self.client._reader
            assert reader is not None
            await asyncio.shield(reader)
            self.drops += 1
            self.dropped_ns = self.dropped_ns or time.monotonic_ns()
            self.seen_at_drop = set(self.seen.ids)  # the catch-up pages back to one of these
            self.entered = False
            self.unsent = list(self.pending)  # everything not echoed goes again, in order
            self.seqs.clear()
            deadline = time.monotonic() + self.storm.give_up_after
            attempt = 0
            while True:
                if time.monotonic() > deadline:
                    self.storm.note_error(f"gave up after {attempt} attempts")
                    return
                attempt += 1
                self.attempts += 1
                await asyncio.sleep(backoff(attempt))
                try:
                    await self._come_back()
                    break
                except Exception as exc:  # refused, reset, timed out: try again
                    self.storm.failed_attempts += 1
                    self.storm.failures[_failure_kind(exc)] += 1
                    self.storm.last_attempt_error = repr(exc)[:200]

    async def _come_back(self) -> None:
        client = Client(self.member, self.client.wire)
        client.on_event = self.on_event
        try:
            # The SDK's bounds: the handshake, then the join, each within its request timeout.
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                await client.open(self.storm.state.session, self.storm.reconnect_base)
            state = client.expect("room_state")
            refused = client.expect("error")
            await client.send("join_room", {"room_id": self.member.room_id})
            done, _ = await asyncio.wait(
                {state, refused}, timeout=ATTEMPT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            await client.close()
            raise
        client._waiters.pop("error", None)
        if state not in done:
            await client.close()
            if refused in done:
                error = refused.result()
                if error.get("code") == SEAT_RELEASED:  # (a 50301 is tried again, as the SDK)
                    self.storm.join_refusals += 1
                    self.seat_kept = False
                raise RuntimeError(f"join_room refused: {error}")
            raise TimeoutError("no room_state")
        self.back_ns = self.back_ns or time.monotonic_ns()
        self.client = client
        users = {p["user_id"] for p in state.result()["participants"]}
        self.seat_kept = users == self.room_users if self.seat_kept is None else False
        self.entered = True
        self.storm.spawn(self.flush())
        self.storm.spawn(self.catch_up())
        self.storm.back(self)

    async def catch_up(self) -> None:
        """The SDK's catch-up: history pages, newest first, until a message seen before the
        drop (the SDK holds live chat back meanwhile, so what arrived live since is no stop:
        stopping at it left the gap unread when the history answered slowly)."""
        api = f"{self.storm.reconnect_base.replace('ws://', 'http://', 1)}/v1"
        url = f"{api}/meetings/{self.member.room_id}/messages"
        headers = {"Authorization": f"Bearer {self.member.token}"}
        before: str | None = None
        for attempt in range(1, 20):
            try:
                params = {"limit": str(HISTORY_PAGE)} | ({"before": before} if before else {})
                async with self.storm.state.session.get(
                    url, params=params, headers=headers
                ) as response:
                    body = await response.json(content_type=None)
                    if response.status != 200:
                        raise RuntimeError(f"history {response.status}")
                page = body["data"]
            except Exception as exc:
                self.storm.note_error(f"catch-up: {exc!r}"[:200])
                await asyncio.sleep(backoff(attempt))
                continue
            messages = page["messages"]
            fresh = [m for m in messages if m["message_id"] not in self.seen.ids]
            for message in fresh:
                self.seen.add(message)
            self.storm.caught_up += len(fresh)
            reached = any(m["message_id"] in self.seen_at_drop for m in messages)
            if reached or not page["has_more"] or not messages:
                return
            before = messages[-1]["message_id"]


class Storm:
    """One worker's members through the storm."""

    def __init__(self, state: WorkerState, people: list[Person]) -> None:
        self.state = state
        self.people = people
        self.reconnect_base = state.base  # until the storm says where to
        self.give_up_after = 60.0
        self.all_back = asyncio.Event()
        self.backs = 0
        self.tasks: set[asyncio.Task[Any]] = set()
        self.user_left = self.chat_refusals = self.join_refusals = 0
        self.failed_attempts = self.caught_up = 0
        self.last_attempt_error: str | None = None
        self.failures: Counter[str] = Counter()  # failed attempts by what they failed on
        self.errors: list[str] = []

    def spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def back(self, person: Person) -> None:
        if person.drops > 1:
            return  # counted the first time
        self.backs += 1
        if self.backs == len(self.people):
            self.all_back.set()

    def note_error(self, text: str) -> None:
        self.errors.append(text)


_storms: dict[int, Storm] = {}  # per worker state


async def _connect(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    """Each member connects, takes its seat over REST and joins its room (a few at a time)."""
    api = args["api"]
    semaphore = asyncio.Semaphore(SETUP_PARALLEL)
    people: list[Person] = []
    storm = _storms[id(state)] = Storm(state, people)
    failures: list[str] = []

    async def one(member: Member, room_users: set[str]) -> None:
        client = Client(member, state.wire)
        async with semaphore:
            try:
                await client.open(state.session, state.base)
                headers = {"Authorization": f"Bearer {member.token}"}
                url = f"{api}/meetings/{member.meeting_number}/join"
                async with state.session.post(url, headers=headers) as response:
                    if response.status != 200:
                        raise RuntimeError(f"REST join {response.status}")
                room_users.add(str(client.user_id))
                await client.join()
            except Exception as exc:
                failures.append(repr(exc))
                await client.close()
                return
        people.append(Person(storm, member, client, room_users))

    started = time.monotonic()
    rooms: list[Room] = args["rooms"]
    room_users: list[set[str]] = [set() for _ in rooms]  # each room's, filled as they connect
    await asyncio.gather(
        *(one(m, users) for room, users in zip(rooms, room_users, strict=True) for m in room)
    )
    return {
        "connected": len(people),
        "failed": len(failures),
        "first_error": failures[0] if failures else None,
        "seconds": time.monotonic() - started,
    }


async def _storm(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    """Chat in the chat rooms, live through the event, come back; then check."""
    storm = _storms[id(state)]
    people = storm.people
    storm.reconnect_base, storm.give_up_after = args["reconnect_base"], args["give_up_after"]
    chatters = [p for p in people if p.member.room_id in set(args["chat_rooms"])]
    chatters = list({p.member.room_id: p for p in chatters}.values())  # one per room
    chatting = asyncio.create_task(_chat(chatters))
    returns = [asyncio.create_task(p.live_through()) for p in people]
    try:
        await asyncio.wait_for(storm.all_back.wait(), args["timeout"])
    except TimeoutError:
        storm.note_error(f"timeout: {len(people) - storm.backs} members not back")
    await asyncio.sleep(args["chat_after"])  # chat goes on after everyone is back
    chatting.cancel()
    for task in returns:
        task.cancel()
    drain_until = time.monotonic() + args["drain"]
    while any(p.pending for p in chatters) and time.monotonic() < drain_until:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # the last echoes' deliveries to the others, and catch-ups
    while storm.tasks and time.monotonic() < drain_until:
        await asyncio.sleep(0.1)
    return {**_verdict(storm, chatters), **await _rest_seats(state, people, args["api_after"])}


async def _chat(chatters: list[Person]) -> None:
    """Each chatter sends one message every ``CHAT_EVERY`` (spread evenly), connected or not:
    while away, the messages wait and go out after the rejoin, as the SDK queues them."""
    if not chatters:
        return
    gap = CHAT_EVERY / len(chatters)
    start, n = time.monotonic(), 0
    while True:
        await asyncio.sleep(max(0.0, start + n * gap - time.monotonic()))
        person = chatters[n % len(chatters)]
        person.chat(f"{person.member.index}:{n}", f"storm chat {n}")
        n += 1


def _verdict(storm: Storm, chatters: list[Person]) -> dict[str, Any]:
    """Every acknowledged message at every member of its room, stored once."""
    acked: dict[str, set[str]] = {}
    for person in chatters:
        keys = acked.setdefault(person.member.room_id, set())
        keys |= {f"{person.user_id}/{ident}" for ident in person.acked}
    lost = duplicated = 0
    first_fault: str | None = None
    for person in storm.people:
        for key in acked.get(person.member.room_id, set()):
            ids = person.seen.by_key.get(key, set())
            if not ids:
                lost += 1
                first_fault = first_fault or f"lost: {key} at {person.user_id}"
            elif len(ids) > 1:
                duplicated += 1
                first_fault = first_fault or f"stored twice: {key} as {sorted(ids)}"
    people = storm.people
    return {
        "members": len(people),
        "back": storm.backs,
        "dropped_ns": [p.dropped_ns for p in people if p.dropped_ns is not None],
        "back_ns": [p.back_ns for p in people if p.back_ns is not None],
        "attempts": [p.attempts for p in people],
        "dropped_again": sum(p.drops > 1 for p in people),
        "seats_lost": sum(p.seat_kept is False for p in people),
        "user_left_seen": storm.user_left,
        "join_refusals": storm.join_refusals,
        "failed_attempts": storm.failed_attempts,
        "last_attempt_error": storm.last_attempt_error,
        "failures": dict(storm.failures),
        "chat_sent": sum(len(p.acked) + len(p.pending) for p in chatters),
        "chat_acked": sum(len(p.acked) for p in chatters),
        "chat_unacked": sum(len(p.pending) for p in chatters),
        "chat_refusals": storm.chat_refusals,
        "chat_checks": sum(len(acked.get(p.member.room_id, ())) for p in people),
        "chat_lost": lost,
        "chat_duplicated": duplicated,
        "chat_caught_up": storm.caught_up,
        "first_fault": first_fault,
        "errors": len(storm.errors),
        "first_error": storm.errors[0] if storm.errors else None,
    }


async def _rest_seats(state: WorkerState, people: list[Person], api: str) -> dict[str, Any]:
    """The REST view afterwards: each room's detail lists its four members."""
    rooms = {p.member.room_id: p for p in people}
    semaphore = asyncio.Semaphore(SETUP_PARALLEL)
    short = 0

    async def check(person: Person) -> None:
        nonlocal short
        headers = {"Authorization": f"Bearer {person.member.token}"}
        async with (
            semaphore,
            state.session.get(f"{api}/meetings/{person.member.room_id}", headers=headers) as r,
        ):
            body = await r.json(content_type=None)
        held = {p["user_id"] for p in body.get("data", {}).get("participants", [])}
        short += len(person.room_users - held)

    await asyncio.gather(*(check(person) for person in rooms.values()))
    return {"rest_rooms_checked": len(rooms), "rest_seats_missing": short}


COMMANDS = {"connect": _connect, "storm": _storm}


# -- the parent: nodes, the event, the figures ----------------------------------------------


def _node_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = targets.ours_env(heartbeat_timeout=60)  # the shipped heartbeat
    # The shipped grace (30 s): a member not back within it loses its seat, and the run says so.
    env["AIMEETING_RECONNECT_GRACE"] = "30"
    env["AIMEETING_DATABASE_POOL_SIZE"] = "10"  # the shipped pool (the tests' is 2)
    env["AIMEETING_JWT_SECRET"] = JWT_SECRET  # tokens hold after a restart
    return {**env, **(extra or {})}


@contextlib.contextmanager
def _postgres(server_url: str) -> Iterator[str]:
    """A fresh database of its own on the PostgreSQL server of ``server_url``, dropped after."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"aimeeting_bench_storm_{uuid.uuid4().hex[:8]}"
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(False)

    async def execute(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def _redis_db(base_url: str) -> Iterator[str]:
    """A Redis database number of its own (1-15), claimed as the test suite claims them, so
    that neither shares one with the other; emptied of our keys before and after."""
    databases = RedisDatabases(base_url)
    try:
        yield databases.claim()
    finally:
        databases.release_all()


def _start_profile(pid: int, path: Path | None, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy on the node that takes the storm, if asked for (a dev tool, not a dependency)."""
    if path is None:
        return None
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        _say("py-spy not found: not profiling (pip install py-spy)")
        return None
    command = [found, "record", "--nonblocking", "--pid", str(pid), "-d", str(int(seconds))]
    command += ["-f", "raw" if path.suffix == ".txt" else "speedscope", "-o", str(path)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ms(ns: int, since_ns: int) -> float:
    return round((ns - since_ns) / 1e6, 1)


def _figures(
    answers: list[dict[str, Any]], event_ns: int, node_back_ns: int | None
) -> dict[str, Any]:
    backs = sorted(_ms(ns, event_ns) for a in answers for ns in a.get("back_ns", []))
    drops = sorted(_ms(ns, event_ns) for a in answers for ns in a.get("dropped_ns", []))
    attempts = sorted(n for a in answers for n in a.get("attempts", []))
    summed = (
        *(
            "members",
            "back",
            "dropped_again",
            "seats_lost",
            "user_left_seen",
            "join_refusals",
            "failed_attempts",
        ),
        *("chat_sent", "chat_acked", "chat_unacked", "chat_refusals", "chat_checks"),
        *("chat_lost", "chat_duplicated", "chat_caught_up", "rest_rooms_checked"),
        "rest_seats_missing",
    )
    figures: dict[str, Any] = {key: sum(a.get(key, 0) for a in answers) for key in summed}
    figures |= {
        "all_back_ms": backs[-1] if backs and len(backs) == figures["members"] else None,
        "back_p50_ms": percentile(backs, 50),
        "back_p99_ms": percentile(backs, 99),
        "first_back_ms": backs[0] if backs else None,
        "last_drop_seen_ms": drops[-1] if drops else None,
        "node_back_ms": _ms(node_back_ns, event_ns) if node_back_ns else None,
        "attempts_p50": percentile([float(a) for a in attempts], 50),
        "attempts_max": attempts[-1] if attempts else None,
        "first_fault": next((a["first_fault"] for a in answers if a.get("first_fault")), None),
        "last_attempt_error": next(
            (a["last_attempt_error"] for a in answers if a.get("last_attempt_error")), None
        ),
        "failed_attempts_by_kind": dict(
            sum((Counter(a.get("failures", {})) for a in answers), Counter())
        ),
        "back_ms_curve": _curve(backs),
        **error_summary(answers),
    }
    return figures


def _failure_kind(exc: BaseException) -> str:
    """What an attempt failed on: the node not listening, no answer in time, a refused join."""
    if isinstance(exc, TimeoutError):
        return "no answer within the SDK's request timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused (node down)"
    if isinstance(exc, RuntimeError) and "join_room refused" in str(exc):
        return "join_room refused " + ("40301 (seat released)" if "40301" in str(exc) else "50301")
    return type(exc).__name__


def _curve(backs: list[float], points: int = 60) -> list[list[float]]:
    """(ms, members back by then), thinned for the plot."""
    if not backs:
        return []
    step = max(1, len(backs) // points)
    curve = [[backs[i], i + 1] for i in range(0, len(backs), step)]
    if curve[-1][1] != len(backs):
        curve.append([backs[-1], len(backs)])
    return curve


def run(
    *,
    mode: str,
    members: int,
    processes: int,
    postgres: str | None = None,
    redis_url: str | None = None,
    timeout: float = 60.0,
    profile: Path | None = None,
) -> dict[str, Any]:
    rooms_count = members // ROOM_SIZE
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if mode == "restart":
            env = _node_env()
            node = stack.enter_context(ServerProcess(data_dir / "node", env))
            survivor: ServerProcess | None = None
        else:
            assert postgres and redis_url, "failover needs PostgreSQL and Redis"
            shared = {
                "AIMEETING_DATABASE_URL": stack.enter_context(_postgres(postgres)),
                "AIMEETING_REDIS_URL": stack.enter_context(_redis_db(redis_url)),
            }
            env = _node_env(shared)
            node = stack.enter_context(ServerProcess(data_dir / "a", env))
            survivor = stack.enter_context(ServerProcess(data_dir / "b", env))
        base = node.url.replace("http://", "ws://", 1)
        pool = stack.enter_context(WorkerPool(processes, base, "plain", COMMANDS))
        _say(f"{mode}: {rooms_count * ROOM_SIZE} users and {rooms_count} meetings")
        rooms = accounts.ours_rooms(node.url, rooms_count, seat=False)
        _say("connecting, taking seats, joining")
        chat_rooms = [room[0].room_id for room in rooms[: max(1, int(rooms_count * CHAT_SHARE))]]
        connected = pool.call(
            "connect", [{"rooms": s, "api": f"{node.url}/v1"} for s in shard(rooms, processes)]
        )
        reconnect = survivor or node
        args = {
            "chat_rooms": chat_rooms,
            "reconnect_base": reconnect.url.replace("http://", "ws://", 1),
            "api_after": f"{reconnect.url}/v1",
            "give_up_after": timeout,
            "timeout": timeout,
            "chat_after": 1.0,
            "drain": 15.0,
        }
        _say("chat flowing; then the event")
        pool.send("storm", [args] * processes)
        time.sleep(WARM_UP)  # chat flowing when the node goes
        assert node.process is not None
        event_ns = time.monotonic_ns()
        node_back_ns = node_exit_ns = None
        profiler = None
        if mode == "restart":
            node.stop(signal.SIGTERM, timeout=40)
            node_exit_ns = time.monotonic_ns()
            restarted = ServerProcess(node.data_dir, env)
            restarted.port = node.port  # the same address and database
            restarted.launch()
            assert restarted.process is not None
            restarted.wait_ready()
            profiler = _start_profile(restarted.process.pid, profile, PROFILE_SECONDS)
            stack.callback(restarted.stop)
            node_back_ns = time.monotonic_ns()
            pid = restarted.process.pid
        else:
            assert survivor is not None and survivor.process is not None
            profiler = _start_profile(survivor.process.pid, profile, PROFILE_SECONDS)
            node.process.kill()
            node.process.wait(10)
            node_exit_ns = time.monotonic_ns()
            pid = survivor.process.pid
        _say("the event is done; waiting for the members")
        cpu_before = _cpu(pid)
        answers = pool.gather()
        _say("checked; stopping")
        cpu = _cpu(pid) - cpu_before
        if profiler is not None:
            profiler.wait(60)
        logged = _logged_errors([n.log_path for n in (node, survivor) if n is not None])
    figures = _figures(answers, event_ns, node_back_ns)
    figures["node_exit_ms"] = _ms(node_exit_ns, event_ns) if node_exit_ns else None
    result = {
        "target": "ours",
        "mode": mode,
        "database": "sqlite" if mode == "restart" else "postgresql",
        "rooms": rooms_count,
        "connected": sum(c.get("connected", 0) for c in connected),
        "connect_failed": sum(c.get("failed", 0) + ("error" in c) for c in connected),
        "chat_rooms": len(chat_rooms),
        "server_cpu_seconds_after_event": round(cpu, 2),
        **figures,
        **logged,
    }
    brief = {k: v for k, v in result.items() if k != "back_ms_curve"}
    print(f"reconnectstorm: {brief}", flush=True)
    return result


def _say(text: str) -> None:
    print(f"reconnectstorm: {time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


def _logged_errors(paths: list[Path]) -> dict[str, Any]:
    """How many errors the nodes logged (a 5xx logs one), and the first, to read later: the
    nodes' data directories go with the run."""
    errors: list[dict[str, Any]] = []
    for path in paths:
        with contextlib.suppress(OSError):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if '"level":"error"' in line:
                    errors.append(orjson.loads(line))
    first = errors[0] if errors else None
    text = f"{first.get('message')}: {str(first.get('exception', ''))[-600:]}" if first else None
    return {"server_errors_logged": len(errors), "first_server_error": text}


def _cpu(pid: int) -> float:
    import psutil  # type: ignore[import-untyped]

    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


def failed(result: dict[str, Any]) -> bool:
    """Whether the run shows a fault (its exit status): anyone not back, a seat or a chat lost."""
    faults = ("connect_failed", "seats_lost", "rest_seats_missing", "chat_lost", "chat_duplicated")
    return (
        result["all_back_ms"] is None
        or result["connected"] != result["members"]
        or any(result[key] for key in faults)
        or result["user_left_seen"] > 0
    )
