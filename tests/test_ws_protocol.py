"""The WebSocket protocol itself (docs/realtime.md: Connecting, Envelope, Liveness, Bad input,
Close codes; DECISIONS.md §3 and §5), over real connections to real server processes.

Authentication runs on SQLite and PostgreSQL (tokens, sessions and logouts live in the database);
the pure protocol cases run on dedicated SQLite servers, one per configuration: ``proto`` (the
envelope and bad input), ``lively`` (a 1 s heartbeat), ``limited`` (20 messages/s per connection)
and ``firehose`` (no rate limits, a 1 s grace, for the client that does not read).

Every token any test sends is remembered; the last test proves that no server log holds one.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from harness.server import ServerProcess, StartServer
from tests.utils.api import CJK, User, create_meeting, join, register
from tests.utils.tokens import OTHER_SECRET
from tests.utils.ws import ENVELOPE_KEYS, WsClient, enter_room

MAX_FRAME = 64 * 1024  # AIMEETING_MAX_BODY_BYTES, the default
PROTO_HEARTBEAT, PROTO_GRACE = 20, 5
EN = {"Accept-Language": "en"}

# Every token sent to a server by this module, and every server it was sent to: the last test
# reads their logs.
TOKENS: set[str] = set()
SERVERS: list[ServerProcess] = []


# -- helpers ----------------------------------------------------------------------------------


def track(server: ServerProcess, *tokens: str | None) -> None:
    if server not in SERVERS:
        SERVERS.append(server)
    TOKENS.update(token for token in tokens if token)


def new_user(server: ServerProcess) -> User:
    user = register(server.url)
    track(server, user.access_token, user.refresh_token)
    return user


async def open_ws(server: ServerProcess, token: str | None, **kwargs: Any) -> WsClient:
    """A connection with this token (or none), before anything is read from it."""
    track(server, token)
    return await WsClient.open(server.url, token, **kwargs)


async def connect(server: ServerProcess, user: User, **kwargs: Any) -> WsClient:
    """A connection of ``user`` whose ``connected`` was read."""
    track(server, user.access_token)
    return await WsClient.connected(server.url, user, **kwargs)


def check_envelope(message: dict[str, Any]) -> None:
    """Exactly ``type``/``seq``/``timestamp``/``data``; the timestamp is Unix ms, about now."""
    assert set(message) == ENVELOPE_KEYS, message
    assert isinstance(message["type"], str), message
    assert type(message["seq"]) is int, message
    assert type(message["timestamp"]) is int, message
    assert abs(message["timestamp"] - time.time() * 1000) < 10_000, message
    assert isinstance(message["data"], dict), message


async def assert_alive(client: WsClient) -> None:
    """A ``ping`` still gets its ``pong``: the connection works."""
    seq = await client.send("ping")
    pong = await client.expect("pong")
    assert pong["data"] == {"request_seq": seq}, pong


async def assert_refused(client: WsClient, code: int, message: str | None = None) -> None:
    """One ``error`` (``request_seq`` null), then close 4401 with nothing else."""
    error = await client.expect("error")
    check_envelope(error)
    assert error["seq"] == 1, error
    assert error["data"]["code"] == code, error
    assert error["data"]["request_seq"] is None, error
    if message is not None:
        assert error["data"]["message"] == message, error
    assert await client.closed(4401) == []


def healthy(server: ServerProcess) -> None:
    response = httpx.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 200, response.text


def padded_ping(size: int, seq: int = 7) -> str:
    """A ``ping`` frame of exactly ``size`` bytes (ASCII padding in an ignored key)."""
    base = f'{{"type":"ping","seq":{seq},"data":{{"pad":""}}}}'
    frame = base.replace('"pad":""', '"pad":"' + "x" * (size - len(base)) + '"')
    assert len(frame.encode()) == size
    return frame


def wire(frame: Any) -> str | bytes:
    """A frame as sent: text and binary as given, anything else as JSON."""
    return frame if isinstance(frame, str | bytes) else json.dumps(frame)


# -- servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proto(start_server: StartServer) -> ServerProcess:
    """SQLite, for the envelope and the bad input; its own heartbeat and grace, to see them."""
    return start_server("sqlite", heartbeat_timeout=PROTO_HEARTBEAT, reconnect_grace=PROTO_GRACE)


@pytest.fixture(scope="module")
def lively(start_server: StartServer) -> ServerProcess:
    return start_server("sqlite", heartbeat_timeout=1, reconnect_grace=2)


@pytest.fixture(scope="module")
def limited(start_server: StartServer) -> ServerProcess:
    return start_server("sqlite", ws_rate_limit="20/second")


@pytest.fixture(scope="module")
def firehose(start_server: StartServer) -> ServerProcess:
    return start_server(
        "sqlite",
        chat_rate_limit="100000/second",
        ws_rate_limit="100000/second",
        reconnect_grace=1,
    )


@pytest.fixture(scope="module")
def expiring(backend: str, start_server: StartServer) -> ServerProcess:
    """Access tokens live 1 s (2 s at most: ``exp`` is rounded up to the second)."""
    return start_server(backend, access_token_ttl=1)


@pytest.fixture(scope="module")
def proto_user(proto: ServerProcess) -> User:
    return new_user(proto)


# -- Connecting -------------------------------------------------------------------------------


def bad_token(kind: str, server: ServerProcess) -> str | None:
    """A token of this kind, made on ``server``."""
    if kind == "missing":
        return None
    if kind == "empty":
        return ""
    if kind == "garbage":
        return f"not-a-jwt-{uuid.uuid4().hex}"
    user = new_user(server)
    claims = jwt.decode(user.access_token, options={"verify_signature": False})
    if kind == "refresh":
        return user.refresh_token
    if kind == "forged-secret":
        return jwt.encode(claims, OTHER_SECRET, algorithm="HS256")
    if kind == "forged-alg-none":
        return jwt.encode(claims, None, algorithm="none")
    if kind == "logged-out":
        response = user.post("/auth/logout")
        assert response.status_code == 200, response.text
        return user.access_token
    raise AssertionError(kind)


BAD_TOKENS = [
    "missing",
    "empty",
    "garbage",
    "refresh",
    "forged-secret",
    "forged-alg-none",
    "logged-out",
]


@pytest.mark.parametrize("kind", BAD_TOKENS)
async def test_bad_token_gets_one_40103_then_close_4401(server: ServerProcess, kind: str) -> None:
    token = bad_token(kind, server)
    client = await open_ws(server, token)
    await assert_refused(client, 40103, "Token 无效")


async def test_valid_token_gets_connected_with_the_configured_times(server: ServerProcess) -> None:
    user = new_user(server)
    async with await open_ws(server, user.access_token) as client:
        connected = await client.expect("connected")
        check_envelope(connected)
        assert connected["seq"] == 1
        assert connected["data"] == {
            "user_id": user.id,
            "heartbeat_timeout": 60,
            "reconnect_grace": 30,
        }
        await assert_alive(client)


async def test_connected_reports_this_servers_heartbeat_and_grace(
    proto: ServerProcess, lively: ServerProcess
) -> None:
    for server, heartbeat, grace in ((proto, PROTO_HEARTBEAT, PROTO_GRACE), (lively, 1, 2)):
        user = new_user(server)
        async with await open_ws(server, user.access_token) as client:
            connected = await client.expect("connected")
            assert connected["data"] == {
                "user_id": user.id,
                "heartbeat_timeout": heartbeat,
                "reconnect_grace": grace,
            }


async def test_expired_token_is_40102_but_an_open_socket_outlives_its_token(
    expiring: ServerProcess,
) -> None:
    user = new_user(expiring)
    async with await connect(expiring, user) as early:
        exp = jwt.decode(user.access_token, options={"verify_signature": False})["exp"]
        await asyncio.sleep(max(0.0, exp - time.time()) + 0.3)
        assert time.time() > exp
        await assert_refused(await open_ws(expiring, user.access_token), 40102, "Token 已过期")
        english = await open_ws(expiring, user.access_token, additional_headers=EN)
        await assert_refused(english, 40102, "Token expired")
        # Checked at connect only (choice): the socket opened in time keeps working.
        await assert_alive(early)


async def test_accept_language_en_selects_english_texts(
    proto: ServerProcess, proto_user: User
) -> None:
    garbage = f"not-a-jwt-{uuid.uuid4().hex}"
    english = await open_ws(proto, garbage, additional_headers=EN)
    await assert_refused(english, 40103, "Invalid token")
    await assert_refused(await open_ws(proto, garbage), 40103, "Token 无效")
    # On an open connection too: the same code, the text in the upgrade's language.
    async with await connect(proto, proto_user, additional_headers=EN) as english:
        await english.send_raw("{")
        error = await english.error(40003, None)
        assert not CJK.search(error["message"]), error
        await english.send("dance", seq=2)
        error = await english.error(40004, 2)
        assert not CJK.search(error["message"]), error
    async with await connect(proto, proto_user) as chinese:
        await chinese.send_raw("{")
        assert CJK.search((await chinese.error(40003, None))["message"])


# -- Envelope ---------------------------------------------------------------------------------


async def test_server_seq_counts_from_1_without_gaps_across_message_kinds(
    proto: ServerProcess, proto_user: User
) -> None:
    meeting = create_meeting(proto_user)
    assert join(proto_user, meeting["meeting_number"]).status_code == 200
    async with await connect(proto, proto_user) as client:
        await client.send("ping")
        await client.send_raw("not json")
        await client.send("dance")
        await client.send("join_room", {"room_id": meeting["id"]})
        await client.send_raw(b"\x00binary")
        await client.send("chat_message", {"room_id": meeting["id"], "content": "你好"})
        await client.send_raw('{"type": "ping"}')
        await client.send("join_room", {})
        await client.send("ping", seq=99)
        kinds = ["pong", "error", "error", "user_joined", "room_state", "error"]
        kinds += ["chat_message", "pong", "error", "pong"]
        for kind in kinds:
            await client.expect(kind)
        await client.silent(0.3)
        assert [m["seq"] for m in client.received] == list(range(1, len(kinds) + 2))
        for message in client.received:
            check_envelope(message)


async def test_ping_is_answered_with_its_seq(proto: ServerProcess, proto_user: User) -> None:
    async with await connect(proto, proto_user) as client:
        for seq in (1, 0, 2**40, 7):
            await client.send_raw(orjson.dumps({"type": "ping", "seq": seq, "data": {}}).decode())
            pong = await client.expect("pong")
            check_envelope(pong)
            assert pong["data"] == {"request_seq": seq}, pong
        # seq, timestamp and data are all optional on the client's side.
        await client.send_raw('{"type": "ping"}')
        assert (await client.expect("pong"))["data"] == {"request_seq": None}
        await client.send_raw('{"type": "ping", "seq": 3, "timestamp": "not a number"}')
        assert (await client.expect("pong"))["data"] == {"request_seq": 3}
        await client.silent(0.3)


async def test_unknown_keys_are_ignored_at_every_level(proto: ServerProcess) -> None:
    """A ``join_room`` with extra keys everywhere does what a plain one does."""
    plain_user, extra_user = new_user(proto), new_user(proto)
    meeting = create_meeting(plain_user)
    for user in (plain_user, extra_user):
        assert join(user, meeting["meeting_number"]).status_code == 200
    async with (
        await connect(proto, plain_user) as plain,
        await connect(proto, extra_user) as extra,
    ):
        await plain.send("join_room", {"room_id": meeting["id"]})
        plain_joined = await plain.expect("user_joined")
        plain_state = await plain.expect("room_state")
        await extra.send(
            "join_room",
            {"room_id": meeting["id"], "bogus": {"nested": [1, 2]}, "version": 2},
            trace_id="abc",
            meta={"x": {"y": None}},
        )
        extra_joined = await extra.expect("user_joined")
        extra_state = await extra.expect("room_state")
        assert extra_joined["data"]["user"]["id"] == extra_user.id
        assert extra_joined["data"]["room_id"] == meeting["id"]
        assert extra_joined["data"]["participant_count"] == 2
        assert set(extra_joined["data"]) == set(plain_joined["data"])
        assert set(extra_state["data"]) == set(plain_state["data"])
        assert [p["user_id"] for p in extra_state["data"]["participants"]] == [
            plain_user.id,
            extra_user.id,
        ]
        # The other member sees the arrival as for any join.
        seen = await plain.expect("user_joined")
        assert seen["data"]["user"]["id"] == extra_user.id
        await plain.silent(0.3)
        await extra.silent(0.1)


# -- Liveness ---------------------------------------------------------------------------------


async def test_silent_client_is_closed_4408(lively: ServerProcess) -> None:
    async with await connect(lively, new_user(lively)) as client:
        started = time.monotonic()
        assert await client.closed(4408, timeout=6) == []
        assert time.monotonic() - started > 0.7


async def _chatty(client: WsClient, frame: str, answer: str, seconds: float = 3.3) -> None:
    """Send ``frame`` every 0.3 s for ``seconds``; each gets its ``answer`` type."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await client.send_raw(frame)
        await client.expect(answer)
        await asyncio.sleep(0.3)
    await assert_alive(client)


async def test_any_message_keeps_the_connection_alive(lively: ServerProcess) -> None:
    """Pings, and invalid JSON too, every 0.3 s: open past 3 s with a 1 s heartbeat."""
    async with (
        await connect(lively, new_user(lively)) as pinger,
        await connect(lively, new_user(lively)) as babbler,
    ):
        await asyncio.gather(
            _chatty(pinger, '{"type": "ping"}', "pong"),
            _chatty(babbler, "this is not JSON", "error"),
        )


async def test_protocol_pings_are_answered(proto: ServerProcess, proto_user: User) -> None:
    async with await connect(proto, proto_user) as client:
        waiter = await client.connection.ping(b"hello")
        await asyncio.wait_for(waiter, 5)
        await assert_alive(client)


# -- Bad input --------------------------------------------------------------------------------

BAD_INPUT: list[tuple[str, Any, int, int | None]] = [
    ("invalid-json", "{", 40003, None),
    ("text", "hello", 40003, None),
    ("empty", "", 40003, None),
    ("truncated", '{"type": "ping", "seq": 5', 40003, None),
    ("array", [{"type": "ping", "seq": 5}], 40003, None),
    ("string", '"ping"', 40003, None),
    ("number", "42", 40003, None),
    ("null", "null", 40003, None),
    ("true", "true", 40003, None),
    ("binary", b'{"type": "ping", "seq": 5, "data": {}}', 40003, None),
    ("binary-garbage", b"\xff\xfe\x00", 40003, None),
    ("no-type", {"seq": 5, "data": {}}, 40003, 5),
    ("type-null", {"type": None, "seq": 5}, 40003, 5),
    ("type-number", {"type": 1, "seq": 5}, 40004, 5),
    ("type-object", {"type": {"name": "ping"}, "seq": 5}, 40004, 5),
    ("type-list", {"type": ["ping"], "seq": 5}, 40004, 5),
    ("type-unknown", {"type": "dance", "seq": 5}, 40004, 5),
    ("type-empty", {"type": "", "seq": 5}, 40004, 5),
    ("type-case", {"type": "PING", "seq": 5}, 40004, 5),
    ("type-server-only", {"type": "pong", "seq": 5}, 40004, 5),
    ("type-unknown-no-seq", {"type": "dance"}, 40004, None),
    ("seq-string", {"type": "ping", "seq": "5"}, 40004, None),
    ("seq-negative", {"type": "ping", "seq": -1}, 40004, None),
    ("seq-float", {"type": "ping", "seq": 1.5}, 40004, None),
    ("seq-bool", {"type": "ping", "seq": True}, 40004, None),
    ("seq-object", {"type": "ping", "seq": {"n": 5}}, 40004, None),
    ("seq-bad-type-unknown", {"type": "dance", "seq": -1}, 40004, None),
    ("data-list", {"type": "ping", "seq": 5, "data": []}, 40004, 5),
    ("data-string", {"type": "ping", "seq": 5, "data": "x"}, 40004, 5),
    ("data-number", {"type": "join_room", "seq": 5, "data": 1}, 40004, 5),
    ("room-id-missing", {"type": "join_room", "seq": 5, "data": {}}, 40003, 5),
    ("room-id-no-data", {"type": "join_room", "seq": 5}, 40003, 5),
    ("room-id-null", {"type": "join_room", "seq": 5, "data": {"room_id": None}}, 40003, 5),
    ("room-id-number", {"type": "join_room", "seq": 5, "data": {"room_id": 1}}, 40004, 5),
    ("room-id-list", {"type": "join_room", "seq": 5, "data": {"room_id": ["m"]}}, 40004, 5),
]


@pytest.mark.parametrize(
    ("frame", "code", "request_seq"),
    [row[1:] for row in BAD_INPUT],
    ids=[row[0] for row in BAD_INPUT],
)
async def test_bad_input_is_an_error_and_the_connection_goes_on(
    proto: ServerProcess, proto_user: User, frame: Any, code: int, request_seq: int | None
) -> None:
    async with await connect(proto, proto_user) as client:
        await client.send_raw(wire(frame))
        await client.error(code, request_seq)
        await assert_alive(client)
        await client.send_raw(wire(frame))
        await client.error(code, request_seq)
        await assert_alive(client)
        assert [m["seq"] for m in client.received] == [1, 2, 3, 4, 5]


async def test_every_bad_input_in_a_row_on_one_connection(
    proto: ServerProcess, proto_user: User
) -> None:
    async with await connect(proto, proto_user) as client:
        for _, frame, code, request_seq in BAD_INPUT:
            await client.send_raw(wire(frame))
            await client.error(code, request_seq)
            await assert_alive(client)


ODD_FRAMES: list[tuple[str, str | bytes, set[tuple[int, int | None]]]] = [
    ("nul-raw-in-string", '{"type": "ping\x00", "seq": 5}', {(40003, None)}),
    ("nul-raw-outside", '{"type": "ping",\x00 "seq": 5}', {(40003, None)}),
    ("nul-escaped-in-type", '{"type": "ping\\u0000", "seq": 5}', {(40004, 5)}),
    ("nul-binary", b"\x00" * 100, {(40003, None)}),
    ("lone-surrogate-type", '{"type": "\\ud800", "seq": 5}', {(40003, None), (40004, 5)}),
    (
        "lone-surrogate-room",
        '{"type": "join_room", "seq": 5, "data": {"room_id": "meeting_\\udc00"}}',
        {(40003, None), (40402, 5)},
    ),
    ("nested-arrays", "[" * 10000 + "]" * 10000, {(40003, None)}),
    ("nested-arrays-30000", "[" * 30000 + "]" * 30000, {(40003, None)}),
    ("nested-objects", '{"a":' * 10000 + "1" + "}" * 10000, {(40003, None)}),
    (
        "nested-in-data",
        '{"type": "ping", "seq": 5, "data": {"x": ' + "[" * 10000 + "]" * 10000 + "}}",
        {(40003, None), (40004, 5)},
    ),
]


@pytest.mark.parametrize(
    ("frame", "answers"), [row[1:] for row in ODD_FRAMES], ids=[row[0] for row in ODD_FRAMES]
)
async def test_odd_frames_are_an_error_never_a_close(
    proto: ServerProcess,
    proto_user: User,
    frame: str | bytes,
    answers: set[tuple[int, int | None]],
) -> None:
    """NUL bytes, lone surrogates, deep nesting: an ``error``, the connection and server live."""
    async with await connect(proto, proto_user) as client:
        await client.send_raw(frame)
        error = await client.expect("error")
        assert (error["data"]["code"], error["data"]["request_seq"]) in answers, error
        await assert_alive(client)
    healthy(proto)
    async with await connect(proto, proto_user) as fresh:
        await assert_alive(fresh)


async def test_large_legal_frames_are_handled(proto: ServerProcess, proto_user: User) -> None:
    """Up to 64 KiB a frame is read and answered: a 60 KiB bad one is a clear error."""
    meeting = create_meeting(proto_user)
    async with await enter_room(proto.url, proto_user, meeting) as client:
        track(proto, proto_user.access_token)
        content = "长" * (20 * 1024)  # 60 KiB of UTF-8, far over 2000 characters
        data = {"room_id": meeting["id"], "content": content}
        big = {"type": "chat_message", "seq": 5, "data": data}
        await client.send_raw(json.dumps(big, ensure_ascii=False))
        await client.error(40004, 5)
        await client.send_raw(json.dumps({"type": "dance", "seq": 6, "pad": "x" * 60 * 1024}))
        await client.error(40004, 6)
        await client.send_raw(padded_ping(MAX_FRAME, seq=7))
        assert (await client.expect("pong"))["data"] == {"request_seq": 7}
        await assert_alive(client)


async def test_frame_over_64_kib_closes_1009(proto: ServerProcess, proto_user: User) -> None:
    async with await connect(proto, proto_user) as client:
        await assert_alive(client)
        await client.send_raw(padded_ping(MAX_FRAME + 1))
        assert await client.closed(1009) == []
    healthy(proto)
    async with await connect(proto, proto_user) as fresh:
        await assert_alive(fresh)


# -- Flood ------------------------------------------------------------------------------------


async def test_messages_over_the_rate_limit_get_42901(limited: ServerProcess) -> None:
    """20/s per connection: of 100 pings at once, the first 20 get pongs, the rest 42901."""
    async with await connect(limited, new_user(limited)) as client:
        started = time.monotonic()
        for seq in range(1, 101):
            await client.send_raw(f'{{"type": "ping", "seq": {seq}}}')
        replies = [await client.recv() for _ in range(100)]
        elapsed = time.monotonic() - started
        await client.silent(0.3)
        assert [r["data"]["request_seq"] for r in replies] == list(range(1, 101))
        pongs = [r for r in replies if r["type"] == "pong"]
        errors = [r for r in replies if r["type"] != "pong"]
        assert all(r["type"] == "pong" for r in replies[:20]), replies[:20]
        # A refill-style limiter may grant one more per 50 ms that passed; a window grants none.
        assert 20 <= len(pongs) <= 20 + int(20 * elapsed), (len(pongs), elapsed)
        for error in errors:
            assert error["type"] == "error" and error["data"]["code"] == 42901, error
        # Once the window has passed, the connection serves a full allowance again.
        await asyncio.sleep(1.2)
        for seq in range(101, 121):
            await client.send_raw(f'{{"type": "ping", "seq": {seq}}}')
        replies = [await client.recv() for _ in range(20)]
        assert [(r["type"], r["data"]["request_seq"]) for r in replies] == [
            ("pong", seq) for seq in range(101, 121)
        ]


async def test_rate_limit_is_per_connection(limited: ServerProcess) -> None:
    """A second connection of the same user is not throttled by the first's burst."""
    user = new_user(limited)
    async with await connect(limited, user) as first, await connect(limited, user) as second:
        for seq in range(1, 31):
            await first.send_raw(f'{{"type": "ping", "seq": {seq}}}')
        replies = [await first.recv() for _ in range(30)]
        assert any(r["type"] == "error" for r in replies)
        await assert_alive(second)


async def test_client_that_does_not_read_is_closed_1008(firehose: ServerProcess) -> None:
    """Bob stops reading while Alice chats ~1.9 KB messages: once over 1,000 wait for him, Bob
    is closed with 1008; Alice, who reads, is not affected.

    Bob's socket has a small receive buffer, so what waits for him piles up in the server soon.
    A socket that is never read can never take a close frame, so Bob starts reading again as
    soon as the server says (in its log) that it dropped him: then the 1008 must reach him.
    """
    alice, bob = new_user(firehose), new_user(firehose)
    meeting = create_meeting(alice)
    assert join(bob, meeting["meeting_number"]).status_code == 200
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((firehose.host, firehose.port))
    reader = await connect(firehose, bob, sock=sock, max_queue=4)
    await reader.send("join_room", {"room_id": meeting["id"]})
    await reader.wait_for("room_state", room_id=meeting["id"])
    sender = await enter_room(firehose.url, alice, meeting)
    track(firehose, alice.access_token)

    content = "消息" + "x" * 1900
    echoed = 0
    others: list[dict[str, Any]] = []

    async def read_sender() -> None:
        nonlocal echoed
        while True:
            message = orjson.loads(await sender.connection.recv())
            if message["type"] == "chat_message":
                echoed += 1
            else:
                others.append(message)

    def dropped(user: User) -> bool:
        return any(
            "slow consumer" in line and user.id in line for line in firehose.logs().splitlines()
        )

    reading = asyncio.create_task(read_sender())
    sent, checked = 0, time.monotonic()
    deadline = checked + 30
    try:
        while time.monotonic() < deadline:
            if time.monotonic() - checked > 0.1:
                if dropped(bob):
                    break
                checked = time.monotonic()
            if sent - echoed < 400:
                await sender.send("chat_message", {"room_id": meeting["id"], "content": content})
                sent += 1
            else:
                await asyncio.sleep(0.002)
        assert dropped(bob), f"Bob was not dropped after {sent} messages"
        # Bob reads again: what the server had handed to his socket, then the close frame.
        backlog = 0
        try:
            while True:
                await asyncio.wait_for(reader.connection.recv(), 10)
                backlog += 1
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, f"no close frame after {backlog} messages: {exc}"
            assert exc.rcvd.code == 1008, exc.rcvd
        assert backlog < sent, (backlog, sent)
        # Alice got every one of her messages back, then Bob's departure after the grace.
        while (echoed < sent or not others) and time.monotonic() < deadline + 10:
            await asyncio.sleep(0.01)
        assert echoed == sent, (echoed, sent)
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
    assert [(m["type"], m["data"]["user_id"]) for m in others] == [("user_left", bob.id)], others
    assert others[0]["data"]["participant_count"] == 1
    assert not dropped(alice)
    await assert_alive(sender)
    await sender.close()


async def test_a_client_that_does_not_read_delays_nobody_else(firehose: ServerProcess) -> None:
    """While Bob, who does not read, is being filled up to his cap and closed, Carol (who
    reads) gets Alice's messages as fast as before Bob came: no member waits for another's
    socket. The latency is Alice's send to Carol's receipt; the bounds are generous (a loaded
    two-core machine), what they catch is a stall of seconds."""
    alice, bob, carol = new_user(firehose), new_user(firehose), new_user(firehose)
    meeting = create_meeting(alice)
    assert join(carol, meeting["meeting_number"]).status_code == 200
    sender = await enter_room(firehose.url, alice, meeting)
    receiver = await enter_room(firehose.url, carol, meeting)
    track(firehose, alice.access_token, carol.access_token)
    sent_at: dict[str, float] = {}
    latency: dict[str, float] = {}

    async def read(client: WsClient, record: bool) -> None:
        while True:
            message = orjson.loads(await client.connection.recv())
            if record and message["type"] == "chat_message":
                ident = message["data"]["client_msg_id"]
                latency[ident] = time.monotonic() - sent_at[ident]

    async def chat(phase: str, count: int) -> list[float]:
        """Send ``count`` ~1.9 KB messages at a steady pace; Carol's latencies."""
        idents = [f"{phase}-{i}" for i in range(count)]
        for ident in idents:
            sent_at[ident] = time.monotonic()
            data = {"room_id": meeting["id"], "content": "x" * 1900, "client_msg_id": ident}
            await sender.send("chat_message", data)
            await asyncio.sleep(0.004)
        deadline = time.monotonic() + 30
        while any(i not in latency for i in idents) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert all(i in latency for i in idents), "Carol got nothing for 30 s: a stall"
        return sorted(latency[i] for i in idents)

    def dropped(user: User) -> bool:
        return any(
            "slow consumer" in line and user.id in line for line in firehose.logs().splitlines()
        )

    readers = [asyncio.create_task(read(sender, False)), asyncio.create_task(read(receiver, True))]
    try:
        before = await chat("before", 300)
        # Bob takes his seat only now: a seat unused for the grace (1 s here) is released.
        assert join(bob, meeting["meeting_number"]).status_code == 200
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((firehose.host, firehose.port))
        stuck = await connect(firehose, bob, sock=sock, max_queue=4)
        await stuck.send("join_room", {"room_id": meeting["id"]})
        await stuck.wait_for("room_state", room_id=meeting["id"])
        during: list[float] = []
        for round in range(10):  # Bob reads nothing from now on
            during += await chat(f"during-{round}", 300)
            if dropped(bob):
                break
        assert dropped(bob), "Bob was not closed as a slow consumer"
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    def median(values: list[float]) -> float:
        return values[len(values) // 2]

    print(
        f"Carol's latency, median/max: {median(before) * 1000:.1f}/{before[-1] * 1000:.1f} ms "
        f"before, {median(during) * 1000:.1f}/{during[-1] * 1000:.1f} ms while Bob was filled "
        f"({len(during)} messages)"
    )
    assert during[-1] < 2.0, f"Carol waited {during[-1]:.1f} s for a message"
    assert median(during) < 5 * median(before) + 0.1, (median(before), median(during))
    await stuck.close()
    await sender.close()
    await receiver.close()


# -- Logs -------------------------------------------------------------------------------------


def test_logs_never_hold_a_token() -> None:
    """Every token this module sent, good or bad, is absent from every server's log; the
    ``/v1/ws`` query string is logged as ``access_token=[redacted]``."""
    if not SERVERS:
        pytest.skip("no other test of this module ran")
    for server in SERVERS:
        logs = server.logs()
        assert "/v1/ws" in logs
        assert "access_token=[redacted]" in logs
        for token in TOKENS:
            assert token not in logs, f"a token in the log of {server.url}"
            signature = token.rsplit(".", 1)[1] if token.count(".") == 2 else ""
            assert not signature or signature not in logs, f"a signature in {server.url}'s log"
        values = set(re.findall(r"access_token=([^&\s\"'\\]*)", logs))
        assert values <= {"[redacted]", ""}, values
