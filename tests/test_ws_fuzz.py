"""WebSocket fuzzing against one live server: 100,000 random and mutated frames over a few
connections — envelopes of every type with wrong fields, deep JSON, huge numbers, invalid
UTF-8 and other binary frames, mutated text, oversized frames. No crash, no 5xx (50001 never
appears), each class answered with its documented code (docs/realtime.md "Bad input"), the
server's memory about flat afterwards, and a normal client still works.

The seed is printed; ``AIMEETING_FUZZ_SEED=<seed>`` replays a run."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from aimeeting.protocol import ClientMessage
from harness.server import ServerProcess
from tests.utils.api import create_meeting, register
from tests.utils.wire import check_server_message
from tests.utils.ws import WsClient, enter_room

FRAMES = int(os.environ.get("AIMEETING_FUZZ_FRAMES", "100000"))
CONNECTIONS = 4
BATCH = 250  # frames sent before a ping whose pong says all of them were answered
CHECKED = 50  # answers of each kind checked against the wire schema (it costs ~0.7 ms each)
OVERSIZED = 20  # each closes its connection (1009): on connections of their own
MAX_FRAME = 64 * 1024

# What each class may be answered with (docs/realtime.md): error codes, and other replies.
MALFORMED = {40003}  # not JSON, not an object, a binary frame
ENVELOPE = {40003, 40004, 40301, 40401, 40402, 40005}  # plus what a valid message gets
REPLIES = {"pong", "room_state", "chat_message", "media_state_changed", "user_joined"}
REPLIES |= {"user_left", "webrtc_signal", "caption"}

JSON = Any


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Fuzzer:
    """Makes frames of each class from one seeded RNG, and counts them."""

    def __init__(self, rng: random.Random, room_id: str, user_id: str) -> None:
        self.rng = rng
        self.room_id = room_id
        self.user_id = user_id
        self.tried: Counter[str] = Counter()
        self.kinds: list[tuple[str, Callable[[], str | bytes], set[int]]] = [
            ("envelope with wrong fields", self.envelope, ENVELOPE),
            ("envelope mutated", self.mutated_envelope, ENVELOPE | MALFORMED),
            ("deep JSON", self.deep, MALFORMED | {40004}),
            ("huge numbers", self.huge_numbers, ENVELOPE | MALFORMED),
            ("invalid UTF-8 as binary", self.invalid_utf8, MALFORMED),
            ("binary JSON", self.binary_json, MALFORMED),
            ("random text", self.random_text, MALFORMED | {40004}),
        ]

    def next(self) -> tuple[str, str | bytes, set[int]]:
        name, make, allowed = self.rng.choice(self.kinds)
        self.tried[name] += 1
        return name, make(), allowed

    def value(self, depth: int = 0) -> JSON:
        rng = self.rng
        choice = rng.randrange(12 if depth < 3 else 8)
        return [
            lambda: None,
            lambda: rng.random() < 0.5,
            lambda: rng.randint(-(2**63), 2**63 - 1),
            lambda: rng.uniform(-1e308, 1e308),
            lambda: "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12))),
            lambda: rng.choice(["", " ", "\u0000", "\ud7ff", "🙂" * 3, "a" * 5000]),
            lambda: self.room_id,
            lambda: self.user_id,
            lambda: [self.value(depth + 1) for _ in range(rng.randrange(4))],
            lambda: {str(self.value(depth + 1)): self.value(depth + 1) for _ in range(3)},
            lambda: rng.choice(list(ClientMessage)).value,
            lambda: {"type": "offer", "sdp": "v=0"},
        ][choice]()

    def _envelope(self) -> dict[str, JSON]:
        rng = self.rng
        kind = rng.choice([*ClientMessage, "nope", "", None, 7])
        fields = ["room_id", "content", "client_msg_id", "action", "value", "to_user_id"]
        fields += ["signal", "user_id", "text", "start_ms", "end_ms", "final"]
        data = {field: self.value() for field in rng.sample(fields, rng.randrange(len(fields)))}
        if rng.random() < 0.7:
            data["room_id"] = self.room_id
        envelope: dict[str, JSON] = {"type": kind, "seq": rng.randrange(1 << 31), "data": data}
        if rng.random() < 0.2:
            envelope["seq"] = self.value()
        if rng.random() < 0.1:
            envelope["data"] = self.value()
        if rng.random() < 0.05:
            del envelope["type"]
        return envelope

    def envelope(self) -> str:
        return orjson.dumps(self._envelope()).decode()

    def mutated_envelope(self) -> str:
        raw = bytearray(orjson.dumps(self._envelope()))
        for _ in range(self.rng.randrange(1, 6)):
            at = self.rng.randrange(len(raw))
            action = self.rng.randrange(3)
            if action == 0:
                raw[at] = self.rng.randrange(0x20, 0x7F)
            elif action == 1:
                del raw[at]
            else:
                raw.insert(at, self.rng.choice(b'{}[]",:\\0e-'))
        return raw.decode("utf-8", "replace")

    def deep(self) -> str:
        depth = self.rng.randrange(500, 5000)
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        inner = opener * depth + "1" + closer * depth
        return '{"type":"chat_message","seq":1,"data":' + inner + "}"

    def huge_numbers(self) -> str:
        digits = "9" * self.rng.randrange(20, 400)
        number = self.rng.choice([digits, "-" + digits, f"1e{digits[:4]}", f"0.{digits}"])
        field = self.rng.choice(["seq", "data_value", "data_seq"])
        if field == "seq":
            return f'{{"type":"ping","seq":{number},"data":{{}}}}'
        key = "value" if field == "data_value" else "start_ms"
        return (
            f'{{"type":"media_control","seq":1,"data":{{"room_id":"{self.room_id}",'
            f'"action":"mute_audio","{key}":{number}}}}}'
        )

    def invalid_utf8(self) -> bytes:
        return self.envelope().encode()[:40] + bytes(
            self.rng.choice([0x80, 0xC0, 0xFF, 0xED]) for _ in range(self.rng.randrange(1, 8))
        )

    def binary_json(self) -> bytes:
        return self.envelope().encode()

    def random_text(self) -> str:
        return "".join(chr(self.rng.randrange(1, 0x800)) for _ in range(self.rng.randrange(64)))


async def fuzz_connection(
    server: ServerProcess, client: WsClient, fuzzer: Fuzzer, frames: int, seen: Counter[str]
) -> None:
    sent = 0
    while sent < frames:
        batch = []
        for _ in range(min(BATCH, frames - sent)):
            name, frame, allowed = fuzzer.next()
            batch.append((name, allowed))
            await client.connection.send(frame)
        sent += len(batch)
        barrier = await client.send("ping", seq=(1 << 40) + sent)
        while True:
            message = orjson.loads(await asyncio.wait_for(client.connection.recv(), 20))
            data = message["data"]
            kind = f"error {data['code']}" if message["type"] == "error" else message["type"]
            if seen[kind] < CHECKED:
                check_server_message(message)
            if message["type"] == "pong" and data.get("request_seq") == barrier:
                break
            if message["type"] == "error":
                code = data["code"]
                seen[kind] += 1
                assert code < 50000, (code, data, server.logs()[-3000:])
                assert any(code in allowed for _, allowed in batch), (code, data)
            else:
                seen[message["type"]] += 1
                assert message["type"] in REPLIES, message


async def oversized(server: ServerProcess, token: str, rng: random.Random) -> Counter[str]:
    closes: Counter[str] = Counter()
    for _ in range(OVERSIZED):
        client = await WsClient.open(server.url, token)
        await client.expect("connected")
        size = MAX_FRAME + rng.randrange(1, 200_000)
        frame: str | bytes = "x" * size if rng.random() < 0.5 else rng.randbytes(size)
        await client.connection.send(frame)
        try:
            await client.closed(1009)
            closes["1009"] += 1
        finally:
            await client.close()
    return closes


@pytest.fixture(scope="module")
def fuzz_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    # No rate limit in reach: every frame is handled, not refused as too many.
    return start_server("sqlite", ws_rate_limit="1000000/second", chat_rate_limit="1000000/second")


async def test_100000_fuzzed_frames_crash_nothing_and_get_documented_answers(
    fuzz_server: ServerProcess,
) -> None:
    seed = int(os.environ.get("AIMEETING_FUZZ_SEED") or random.randrange(1 << 32))
    print(f"\nws fuzz seed: {seed} (AIMEETING_FUZZ_SEED={seed} replays it)")
    rng = random.Random(seed)
    server = fuzz_server
    assert server.process is not None
    owner, fuzzers_user = register(server.url), register(server.url)
    meeting = create_meeting(owner)
    clients = [await enter_room(server.url, fuzzers_user, meeting)]
    for _ in range(CONNECTIONS - 1):  # members of the same room, one connection each
        clients.append(await enter_room(server.url, register(server.url), meeting))
    started_cpu = time.process_time()
    started = time.monotonic()
    fuzzers = [Fuzzer(random.Random(rng.getrandbits(64)), meeting["id"], owner.id) for _ in clients]
    seen: Counter[str] = Counter()
    per_connection = FRAMES // CONNECTIONS
    warm_up = 2_000
    try:
        # A short warm-up first, so that the baseline holds what any run allocates once.
        await asyncio.gather(
            *(
                fuzz_connection(server, c, f, warm_up, seen)
                for c, f in zip(clients, fuzzers, strict=True)
            )
        )
        baseline = rss_kib(server.process.pid)
        await asyncio.gather(
            *(
                fuzz_connection(server, c, f, per_connection - warm_up, seen)
                for c, f in zip(clients, fuzzers, strict=True)
            )
        )
    except ConnectionClosed as exc:
        raise AssertionError(f"the server closed a fuzzing connection: {exc}") from exc
    finally:
        for client in clients:
            await client.close()
    closes = await oversized(server, fuzzers_user.access_token, rng)
    elapsed, cpu = time.monotonic() - started, time.process_time() - started_cpu
    after = rss_kib(server.process.pid)
    tried: Counter[str] = sum((f.tried for f in fuzzers), Counter())
    tried["oversized"] = OVERSIZED
    print(f"ws fuzz: {sum(tried.values())} frames in {elapsed:.1f} s ({cpu:.1f} s test CPU)")
    print(f"tried: {dict(sorted(tried.items()))}")
    print(f"answers: {dict(sorted(seen.items()))}, closes: {dict(closes)}")
    print(f"server RSS: {baseline} KiB after warm-up, {after} KiB after")

    assert sum(tried.values()) >= FRAMES
    assert server.process.poll() is None, "the server died"
    assert closes["1009"] == OVERSIZED
    assert "error 50001" not in seen
    assert "Traceback" not in server.logs()
    assert after < baseline * 1.25 + 20 * 1024, (baseline, after)  # about flat
    # A normal client still works.
    alice, bob = register(server.url), register(server.url)
    room = create_meeting(alice)
    async with (
        await enter_room(server.url, alice, room) as a,
        await enter_room(server.url, bob, room) as b,
    ):
        await a.send("chat_message", {"room_id": room["id"], "content": "still here"})
        message = await b.wait_for("chat_message", room_id=room["id"])
        assert message["data"]["content"] == "still here"
