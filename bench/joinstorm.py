"""Scenario 3, join storm: U connected users REST-join and ``join_room`` into U/4 meetings all at
once, then set up the full WebRTC mesh of their room through the server (DECISIONS §9).

Each member that enters a room sends an offer and ``CANDIDATES`` ICE candidates
(``webrtc_signal``) to every member already there; each of those answers with an answer and
``CANDIDATES`` candidates. The figures: the time until every member has every signal meant for
it (the storm's end), and, as before, until every member has seen every member of its room
(``user_joined`` for those who came after it, ``room_state`` for those already there).

Who is "already there" is what the server says, as the SDKs see it: the member entering offers
to every seat holder its ``room_state`` lists as in the room (``in_room``). One that has a seat
but has not entered yet offers itself when it enters. (A server without ``in_room`` lists only
seats: then signals to seat holders not in the room yet are refused, 40401, counted, not an
error.) A member answers only offers from those it saw enter after itself (``user_joined``); an
offer from one that entered before it crossed its own offer to that member, and is ignored with
its candidates — the other side answers the offer that was meant.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
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
CANDIDATES = 8  # ICE candidates trickled after each offer and each answer
TIMELINE_POINTS = 200
NOT_IN_ROOM = 40401  # webrtc_signal to a member not connected to the room

# A browser's offer for one audio and one video track, without candidates (they trickle):
# about the size the SDKs send (2-4 KB), so the relay moves realistic frames.
_SDP = "\r\n".join(
    [
        "v=0",
        "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS stream",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Hk3q",
        "a=ice-pwd:7pZ1mB0c2x3Vq9Lr4Tn8Ys5W",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 " + ":".join(["A1"] * 32),
        "a=setup:actpass",
        "a=mid:0",
        "a=sendrecv",
        "a=msid:stream audio-track",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=rtcp-fb:111 transport-cc",
        "a=fmtp:111 minptime=10;useinbandfec=1",
        *(f"a=rtpmap:{pt} codec{pt}/8000" for pt in (63, 9, 0, 8, 13, 110, 126)),
        "a=ssrc:1001 cname:bench",
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 100 101 102 103 104 105 106 107",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:Hk3q",
        "a=ice-pwd:7pZ1mB0c2x3Vq9Lr4Tn8Ys5W",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 " + ":".join(["A1"] * 32),
        "a=setup:actpass",
        "a=mid:1",
        "a=sendrecv",
        "a=msid:stream video-track",
        "a=rtcp-mux",
        "a=rtcp-rsize",
        *(
            line
            for pt in range(96, 108)
            for line in (
                f"a=rtpmap:{pt} VP8/90000" if pt % 2 == 0 else f"a=rtpmap:{pt} rtx/90000",
                f"a=rtcp-fb:{pt} goog-remb",
                f"a=rtcp-fb:{pt} transport-cc",
                f"a=rtcp-fb:{pt} ccm fir",
                f"a=rtcp-fb:{pt} nack",
                f"a=rtcp-fb:{pt} nack pli",
            )
        ),
        "a=ssrc-group:FID 2001 2002",
        "a=ssrc:2001 cname:bench",
        "a=ssrc:2002 cname:bench",
        "",
    ]
)


def _description(kind: str) -> dict[str, Any]:
    return {"kind": "description", "description": {"type": kind, "sdp": _SDP}}


def _candidate(index: int) -> dict[str, Any]:
    line = (
        f"candidate:{842163049 + index} 1 udp {2122260223 - index} 192.0.2.{10 + index} "
        f"{50000 + index} typ host generation 0 ufrag Hk3q network-id 1"
    )
    return {
        "kind": "candidate",
        "candidate": {"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0},
    }


@dataclass
class _Peer:
    """What one member has of one other member's signals."""

    later: bool = False  # it entered the room after us: it offers, we answer
    accepting: bool = False  # its last description was one meant for us (not a crossed offer)
    description: bool = False  # its offer (later) or its answer (earlier) arrived
    candidates: int = 0  # candidates of that description


@dataclass
class _Member:
    client: Client
    room_users: set[str]
    seen: set[str] = field(default_factory=set)
    peers: dict[str, _Peer] = field(default_factory=dict)
    sent_to: dict[int, str] = field(default_factory=dict)  # our signal's seq → its addressee
    outbox: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None
    seen_ms: float | None = None
    signaled_ms: float | None = None

    def peer(self, user_id: str) -> _Peer:
        return self.peers.setdefault(user_id, _Peer())

    def has_every_signal(self) -> bool:
        others = self.room_users - {str(self.client.user_id)}
        return all(
            (p := self.peers.get(u)) is not None and p.description and p.candidates >= CANDIDATES
            for u in others
        )


async def _connect(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    return await open_rooms(state, args["rooms"], join=False)


def _seen_ids(kind: str, data: dict[str, Any]) -> list[str]:
    if kind == "user_joined":
        return [data["user"]["id"]]
    if kind == "room_state":
        return [p["user_id"] for p in data.get("participants", [])]
    return []


class _Storm:
    """One worker's members during the storm: what they receive, and what they send back."""

    def __init__(self, clients: list[Client], start_ns: int, signaling: bool) -> None:
        rooms: dict[str, set[str]] = {}
        for client in clients:
            rooms.setdefault(client.member.room_id, set()).add(str(client.user_id))
        self.members = {id(c): _Member(c, rooms[c.member.room_id]) for c in clients}
        self.start_ns = start_ns
        self.signaling = signaling
        self.errors: list[str] = []
        self.counts = {"signals_received": 0, "signals_refused": 0, "signals_ignored": 0}
        self.seen_all = asyncio.Event()
        self.signaled_all = asyncio.Event() if signaling else self.seen_all
        self.seen_count = self.signaled_count = 0

    def now_ms(self) -> float:
        return (time.monotonic_ns() - self.start_ns) / 1e6

    def on_event(self, client: Client, event: tuple[str, dict[str, Any]]) -> None:
        member = self.members[id(client)]
        kind, data = event
        me = str(client.user_id)
        if kind == "error":
            self._on_error(member, data)
        elif kind == "user_joined" and data["user"]["id"] != me:
            member.peer(data["user"]["id"]).later = True
        elif kind == "room_state" and self.signaling:
            seated = [p["user_id"] for p in data["participants"]]
            in_room = set(data.get("in_room", seated))
            others = [user_id for user_id in seated if user_id != me and user_id in in_room]
            self._send(member, [(u, _description("offer")) for u in others])
        elif kind == "webrtc_signal":
            self._on_signal(member, data)
        member.seen.update(_seen_ids(kind, data))
        self._check(member)

    def _on_error(self, member: _Member, data: dict[str, Any]) -> None:
        if data.get("code") == NOT_IN_ROOM and data.get("request_seq") in member.sent_to:
            self.counts["signals_refused"] += 1  # it has a seat but is not in yet: it offers
        else:
            self.errors.append(f"{data.get('code')} {data.get('details')}")

    def _on_signal(self, member: _Member, data: dict[str, Any]) -> None:
        self.counts["signals_received"] += 1
        sender, signal = data["from_user_id"], data["signal"]
        peer = member.peer(sender)
        if signal["kind"] == "description":
            kind = signal["description"]["type"]
            peer.accepting = (kind == "offer") == peer.later  # else: a crossed offer, ignored
            if not peer.accepting:
                self.counts["signals_ignored"] += 1
                return
            peer.description, peer.candidates = True, 0
            if kind == "offer":
                self._send(member, [(sender, _description("answer"))])
        elif peer.accepting:
            peer.candidates += 1
        else:
            self.counts["signals_ignored"] += 1

    def _send(self, member: _Member, descriptions: list[tuple[str, dict[str, Any]]]) -> None:
        """Each description, then its candidates (trickled after it, as a browser does). A
        member's signals go out one after another, so no two of its streams interleave."""
        member.outbox.extend(
            (to, signal)
            for to, description in descriptions
            for signal in (description, *(_candidate(i) for i in range(CANDIDATES)))
        )
        if member.sender is None or member.sender.done():
            member.sender = asyncio.create_task(self._send_all(member))

    async def _send_all(self, member: _Member) -> None:
        client = member.client
        try:
            while member.outbox:
                to, signal = member.outbox.pop(0)
                member.sent_to[client.seq + 1] = to
                data = {"room_id": client.member.room_id, "to_user_id": to, "signal": signal}
                await client.send("webrtc_signal", data)
        except Exception as exc:
            self.errors.append(repr(exc))

    def _check(self, member: _Member) -> None:
        if member.seen_ms is None and member.seen >= member.room_users:
            member.seen_ms = self.now_ms()
            self.seen_count += 1
            if self.seen_count == len(self.members):
                self.seen_all.set()
        if self.signaling and member.signaled_ms is None and member.has_every_signal():
            member.signaled_ms = self.now_ms()
            self.signaled_count += 1
            if self.signaled_count == len(self.members):
                self.signaled_all.set()


async def _storm(state: WorkerState, args: dict[str, Any]) -> dict[str, Any]:
    storm = _Storm(state.clients, args["start_at_ns"], args["signaling"])
    for client in state.clients:
        client.on_event = storm.on_event
    semaphore = asyncio.Semaphore(API_PARALLEL)
    api = args["api"]
    rest_ms: list[float] = []

    async def join(client: Client) -> None:
        headers = {"Authorization": f"Bearer {client.member.token}"}
        url = f"{api}/meetings/{client.member.meeting_number}/join"
        try:
            async with semaphore, state.session.post(url, headers=headers) as response:
                if response.status != 200:
                    storm.errors.append(f"REST join {response.status}")
                    return
            rest_ms.append(storm.now_ms())
            await client.send("join_room", {"room_id": client.member.room_id})
        except Exception as exc:
            storm.errors.append(repr(exc))

    await asyncio.sleep(max(0.0, (storm.start_ns - time.monotonic_ns()) / 1e9))
    await asyncio.gather(*(join(c) for c in state.clients))
    try:
        async with asyncio.timeout(args["timeout"]):
            await storm.seen_all.wait()
            await storm.signaled_all.wait()
    except TimeoutError:
        missing = len(storm.members) - min(storm.seen_count, storm.signaled_count)
        storm.errors.append(f"timeout: {missing} members incomplete")
    members = storm.members.values()
    return {
        "members": len(storm.members),
        "seen_ms": sorted(m.seen_ms for m in members if m.seen_ms is not None),
        "signaled_ms": sorted(m.signaled_ms for m in members if m.signaled_ms is not None),
        "rest_ms": sorted(rest_ms),
        **storm.counts,
        "errors": len(storm.errors),
        "first_error": storm.errors[0] if storm.errors else None,
    }


COMMANDS = {"connect": _connect, "storm": _storm}


def run(
    *,
    users: int,
    processes: int,
    timeout: float = 60.0,
    signaling: bool = True,
    profile: Path | None = None,
) -> dict[str, Any]:
    """``profile``: record the server with py-spy during the storm (collapsed stacks)."""
    with (
        targets.start("ours") as server,
        WorkerPool(processes, server.ws_base, server.wire, COMMANDS) as pool,
    ):
        rooms = accounts.ours_rooms(server.url, users // 4, seat=False)
        connected = pool.call("connect", [{"rooms": s} for s in shard(rooms, processes)])
        start_at_ns = time.monotonic_ns() + 500_000_000
        args = {
            "start_at_ns": start_at_ns,
            "api": f"{server.url}/v1",
            "timeout": timeout,
            "signaling": signaling,
        }
        cpu = server.cpu_seconds()
        with _profiled(server.pid, profile):
            answers = pool.call_all("storm", args)
        cpu = server.cpu_seconds() - cpu
    seen = _merged(answers, "seen_ms")
    signaled = _merged(answers, "signaled_ms")
    rest = _merged(answers, "rest_ms")
    result = {
        "target": "ours",
        "users": users,
        "meetings": users // 4,
        "signaling": signaling,
        "candidates": CANDIDATES,
        "connected": sum(c.get("connected", 0) for c in connected),
        "complete": len(signaled) if signaling else len(seen),
        "storm_done_ms": _r((signaled if signaling else seen)[-1] if seen else None),
        "member_p50_ms": _r(percentile(signaled or seen, 50)),
        "member_p99_ms": _r(percentile(signaled or seen, 99)),
        "all_seen_ms": _r(seen[-1] if seen else None),
        "seen_p50_ms": _r(percentile(seen, 50)),
        "rest_joins_done_ms": _r(rest[-1] if rest else None),
        "rest_joins": len(rest),
        **{k: sum(a.get(k, 0) for a in answers) for k in _SIGNAL_COUNTS},
        "server_cpu_seconds": round(cpu, 2),
        "timeline": _timeline(rest, seen, signaled),
        **error_summary(answers),
    }
    short = {k: v for k, v in result.items() if k != "timeline"}
    print(f"joinstorm: {short}", flush=True)
    return result


@contextlib.contextmanager
def _profiled(pid: int, out: Path | None) -> Iterator[None]:
    """py-spy (``pip install py-spy``) samples the server while the block runs."""
    if out is None:
        yield
        return
    beside = Path(sys.executable).with_name("py-spy")  # the venv's, when not on PATH
    spy_path = str(beside) if beside.exists() else "py-spy"
    command = [spy_path, "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    spy = subprocess.Popen([*command, "--nonblocking", "--rate", "200"])
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        spy.wait(30)


_SIGNAL_COUNTS = ("signals_received", "signals_refused", "signals_ignored")


def _merged(answers: list[dict[str, Any]], key: str) -> list[float]:
    return sorted(ms for a in answers for ms in a.get(key, []))


def _timeline(rest: list[float], seen: list[float], signaled: list[float]) -> dict[str, Any]:
    """How many REST joins had returned, and how many members were complete, over time."""
    end = max([*rest, *seen, *signaled, 1.0])
    times = [end * i / TIMELINE_POINTS for i in range(TIMELINE_POINTS + 1)]

    def counts(done: list[float]) -> list[int]:
        return [bisect.bisect_right(done, t) for t in times]

    return {
        "ms": [round(t, 1) for t in times],
        "rest_joins": counts(rest),
        "seen_everyone": counts(seen),
        "every_signal": counts(signaled),
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
