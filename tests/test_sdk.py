"""The SDK against real servers: two members meeting, every event, every method, every error
mapping; initialize/destroy; the README's bot and examples/bot.py, run for real."""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

import aimeeting
from aimeeting import (
    CreateMeetingOptions,
    JoinMeetingOptions,
    LogLevel,
    MeetingError,
    MeetingEvent,
    MeetingSDK,
    MeetingState,
    SDKConfig,
    SDKErrorCode,
)
from aimeeting.sdk import ChatMessage, ConnectionState, NetworkQuality, Participant
from aimeeting.sdk.devices import list_devices
from harness.server import ServerProcess, free_port
from tests.utils.api import PASSWORD, join, register
from tests.utils.sdk import Recorder, config, signed_in
from tests.utils.ws import WsClient

ROOT = Path(__file__).resolve().parents[1]
MakeSDK = Callable[..., Awaitable[MeetingSDK]]


@pytest.fixture(scope="module")
def sdk_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server(
        "sqlite",
        max_participants=2,
        login_rate_limit="4/minute",
        login_lockout="2,1",
        heartbeat_timeout=3,
    )


@pytest.fixture(scope="module")
def bot_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """The bots sign in run after run: a login limit they never reach."""
    return start_server("sqlite", login_rate_limit="100/minute")


@pytest.fixture
async def make_sdk() -> AsyncIterator[MakeSDK]:
    made: list[MeetingSDK] = []

    async def make(url: str, nickname: str, **options: Any) -> MeetingSDK:
        sdk = await signed_in(url, nickname, **options)
        made.append(sdk)
        return sdk

    yield make
    for sdk in made:
        await sdk.destroy()


async def test_two_members_meet_with_every_event_and_method(
    server: ServerProcess, make_sdk: MakeSDK
) -> None:
    alice, bob = await make_sdk(server.url, "Alice"), await make_sdk(server.url, "Bob")
    meeting = await alice.create_meeting(CreateMeetingOptions(title="Weekly sync"))
    assert re.fullmatch(r"[1-9]\d{8}", meeting.meeting_number)
    assert meeting.id.startswith("meeting_") and meeting.title == "Weekly sync"
    assert meeting.state is MeetingState.ACTIVE
    assert meeting.connection_state is ConnectionState.CONNECTED
    assert [p.nickname for p in meeting.participants] == ["Alice"]
    seen = Recorder(meeting)
    iterated: list[Any] = []

    async def iterate() -> None:
        async for event in meeting.events(MeetingEvent.CHAT_MESSAGE, MeetingEvent.MEETING_ENDED):
            iterated.append(event)

    iterator = asyncio.create_task(iterate())
    answers: list[str] = []

    async def answer(event: ChatMessage) -> None:  # a coroutine handler that calls the SDK
        if event.sender.id != alice.user.id:  # type: ignore[union-attr]
            answers.append((await meeting.send_chat_message(f"re: {event.content}")).content)

    meeting.on(MeetingEvent.CHAT_MESSAGE, answer)

    theirs = await bob.join_meeting(
        meeting.meeting_number, JoinMeetingOptions(audio_muted=True, video_muted=False)
    )
    bobs = Recorder(theirs)
    joined = await seen.wait(MeetingEvent.USER_JOINED)
    assert (joined.user.nickname, joined.user_id, joined.participant_count) == (
        "Bob",
        bob.user.id,
        2,
    )  # type: ignore[union-attr]
    assert (joined.audio_muted, joined.video_muted) == (True, False)
    for member in (meeting, theirs):
        assert [(p.nickname, p.audio_muted) for p in member.participants] == [
            ("Alice", False),
            ("Bob", True),
        ]

    sent = await theirs.send_chat_message("  你好, Alice  ")
    assert sent.content == "你好, Alice" and sent.sender.nickname == "Bob" and sent.client_msg_id
    received = await seen.wait(MeetingEvent.CHAT_MESSAGE)
    assert (received.message_id, received.content, received.sender.nickname) == (
        sent.message_id,
        "你好, Alice",
        "Bob",
    )
    reply = await bobs.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.content.startswith("re:"))
    assert reply.content == "re: 你好, Alice" and answers == ["re: 你好, Alice"]
    meeting.off(MeetingEvent.CHAT_MESSAGE, answer)

    await theirs.mute_audio(False)
    await theirs.mute_video(True)
    assert [(p.audio_muted, p.video_muted) for p in theirs.participants][1] == (False, True)
    change = await seen.wait(MeetingEvent.MEDIA_STATE_CHANGED, lambda e: e.video_muted)
    assert (change.user_id, change.audio_muted) == (bob.user.id, False)  # type: ignore[union-attr]
    assert meeting.participants[1].video_muted is True

    quality = await seen.wait(MeetingEvent.NETWORK_QUALITY_CHANGED)
    assert quality.quality is NetworkQuality.GOOD and quality.rtt_ms is not None

    await theirs.send_chat_message("bye")
    await theirs.leave()
    await theirs.leave()  # idempotent
    left = await seen.wait(MeetingEvent.USER_LEFT)
    assert (left.user_id, left.participant_count, left.participant.nickname) == (
        bob.user.id,  # type: ignore[union-attr]
        1,
        "Bob",
    )
    assert [p.nickname for p in meeting.participants] == ["Alice"]
    with pytest.raises(MeetingError) as closed:
        await theirs.send_chat_message("after leaving")
    assert closed.value.code is SDKErrorCode.NETWORK_ERROR

    await meeting.end()
    ended = await seen.wait(MeetingEvent.MEETING_ENDED)
    assert ended.room_id == meeting.id and ended.ended_at is not None
    state = await seen.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.DISCONNECTED
    )
    assert state.close_code == 4410 and meeting.state is MeetingState.ENDED
    assert meeting.participants == []
    await asyncio.wait_for(iterator, 5)  # the iterator ends with the meeting
    assert [e.type for e in iterated] == [MeetingEvent.CHAT_MESSAGE] * 3 + [
        MeetingEvent.MEETING_ENDED
    ]
    assert not seen.of(MeetingEvent.ERROR)
    stored = await meeting.chat_history()
    assert [m.content for m in stored] == ["bye", "re: 你好, Alice", "你好, Alice"]


async def test_screen_sharing_reaches_the_participants_and_events(
    server: ServerProcess, make_sdk: MakeSDK
) -> None:
    """DECISIONS §9 extension: another member's ``screen_share`` (a raw client here: this SDK
    shares no screen) shows in ``MEDIA_STATE_CHANGED``, ``participants`` and a later
    ``USER_JOINED``; a server that sends no ``screen_sharing`` reads as not sharing."""
    alice = await make_sdk(server.url, "Alice")
    meeting = await alice.create_meeting()
    seen = Recorder(meeting)
    bob = register(server.url, nickname="Bob")
    assert join(bob, meeting.meeting_number).status_code == 200
    async with await WsClient.connected(server.url, bob) as ws:
        await ws.send("join_room", {"room_id": meeting.id})
        joined = await seen.wait(MeetingEvent.USER_JOINED)
        assert (joined.user_id, joined.screen_sharing) == (bob.id, False)
        await ws.send(
            "media_control", {"room_id": meeting.id, "action": "screen_share", "value": True}
        )
        change = await seen.wait(MeetingEvent.MEDIA_STATE_CHANGED)
        assert (change.user_id, change.audio_muted, change.video_muted, change.screen_sharing) == (
            bob.id,
            False,
            False,
            True,
        )
        assert [(p.user_id, p.screen_sharing) for p in meeting.participants] == [
            (alice.user.id, False),  # type: ignore[union-attr]
            (bob.id, True),
        ]
        await meeting.mute_audio(True)
        mine = await seen.wait(MeetingEvent.MEDIA_STATE_CHANGED, lambda e: e.user_id != bob.id)
        assert (mine.audio_muted, mine.screen_sharing) == (True, False)
    older = {"user_id": "user_1", "nickname": "Old", "audio_muted": True, "video_muted": False}
    assert Participant.from_wire(older).screen_sharing is False  # an older server


async def test_errors_map_to_sdk_codes(sdk_server: ServerProcess, make_sdk: MakeSDK) -> None:
    url = sdk_server.url
    alice, bob, carol = [await make_sdk(url, name) for name in ("Alice", "Bob", "Carol")]

    async def code_of(call: Awaitable[Any]) -> tuple[SDKErrorCode, int | None]:
        with pytest.raises(MeetingError) as caught:
            await call
        return caught.value.code, caught.value.server_code

    nf, ia, pd, ne = (
        SDKErrorCode.MEETING_NOT_FOUND,
        SDKErrorCode.INVALID_ARGUMENT,
        SDKErrorCode.PERMISSION_DENIED,
        SDKErrorCode.NETWORK_ERROR,
    )
    assert await code_of(alice.join_meeting("100000000")) == (nf, 40402)
    assert await code_of(alice.join_meeting("12345")) == (ia, None)  # checked before sending
    assert await code_of(alice.create_meeting(CreateMeetingOptions("x" * 101))) == (ia, 40004)
    assert await code_of(alice.register("not-an-email", PASSWORD, "Xy")) == (ia, 40001)
    assert await code_of(alice.register("a@example.com", "short", "Xy")) == (ia, 40002)
    assert await code_of(alice.register(alice.user.email or "", PASSWORD, "Xy")) == (ia, 40901)  # type: ignore[union-attr]

    meeting = await alice.create_meeting()
    await bob.join_meeting(meeting.meeting_number)
    assert await code_of(carol.join_meeting(meeting.meeting_number)) == (ia, 40006)  # full
    theirs = bob._meetings[0]
    assert await code_of(theirs.end()) == (pd, 40301)  # only the creator ends it
    assert await code_of(theirs.send_chat_message(" ")) == (ia, None)
    assert await code_of(theirs.send_chat_message("x" * 2001)) == (ia, None)
    await meeting.end()
    assert await code_of(carol.join_meeting(meeting.meeting_number)) == (ia, 40005)  # ended

    # Wrong passwords (401), then the account locked (42902), then the IP throttled (42901).
    email = carol.user.email or ""  # type: ignore[union-attr]
    assert await code_of(carol.login(email, "Wrong-pass1")) == (pd, 40101)
    assert await code_of(carol.login(email, "Wrong-pass1")) == (pd, 40101)
    assert await code_of(carol.login(email, PASSWORD)) == (pd, 42902)
    assert await code_of(carol.login(email, PASSWORD)) == (pd, 42902)
    assert await code_of(carol.login(email, PASSWORD)) == (ne, 42901)  # the 5th in a minute

    await carol.logout()
    assert await code_of(carol.create_meeting()) == (pd, 40103)  # no session any more

    # The server goes away: a connection failure is NETWORK_ERROR.
    gone = ServerProcess(sdk_server.data_dir.parent / "gone").start()
    dave = await make_sdk(gone.url, "Dave")
    gone.stop()
    assert (await code_of(dave.create_meeting()))[0] is ne


async def test_initialize_validates_checks_the_server_and_destroy_is_idempotent(
    sdk_server: ServerProcess, make_sdk: MakeSDK
) -> None:
    async def init_error(cfg: SDKConfig | None) -> MeetingError:
        sdk = MeetingSDK()
        with pytest.raises(MeetingError) as caught:
            await sdk.initialize(cfg)  # type: ignore[arg-type]
        assert caught.value.code is SDKErrorCode.INIT_FAILED
        return caught.value

    bad = await init_error(SDKConfig(api_server="localhost:3000", ws_server="http://x"))
    assert set(bad.details) == {"api_server", "ws_server"}
    await init_error(SDKConfig.for_server(sdk_server.url, stun_servers=["http://stun"]))
    await init_error(None)
    unreachable = await init_error(config(f"http://127.0.0.1:{free_port()}"))
    assert "reason" in unreachable.details
    expired = await init_error(config(sdk_server.url, access_token="x.y.z"))
    assert expired.details["server_code"] == 40103

    with pytest.raises(MeetingError) as early:
        await MeetingSDK().create_meeting()
    assert early.value.code is SDKErrorCode.INIT_FAILED

    # A saved session: the tokens of one SDK sign in another.
    alice = await make_sdk(sdk_server.url, "Alice", log_level=LogLevel.WARN)
    import logging

    assert logging.getLogger("aimeeting").level == logging.WARNING
    alice.set_log_level(LogLevel.DEBUG)
    assert logging.getLogger("aimeeting").level == logging.DEBUG
    alice.set_log_level(LogLevel.INFO)
    tokens = alice.tokens
    async with MeetingSDK(
        config(sdk_server.url, access_token=tokens.access_token, refresh_token=tokens.refresh_token)
    ) as again:
        assert again.user == alice.user
        meeting = await again.create_meeting()
        assert meeting.participants[0].user_id == alice.user.id  # type: ignore[union-attr]
        devices = await again.get_devices()
        assert devices == list_devices()
    assert meeting.connection_state is ConnectionState.DISCONNECTED  # destroy left it
    await again.destroy()  # idempotent
    with pytest.raises(MeetingError) as after:
        await again.create_meeting()
    assert after.value.code is SDKErrorCode.INIT_FAILED


def test_devices_are_read_from_the_platform_lists(tmp_path: Path) -> None:
    video = tmp_path / "sys/class/video4linux"
    for node, name, index in (("video0", "HD Webcam", "0"), ("video1", "HD Webcam", "1")):
        (video / node).mkdir(parents=True)
        (video / node / "name").write_text(f"{name}\n")
        (video / node / "index").write_text(f"{index}\n")
    (tmp_path / "proc/asound").mkdir(parents=True)
    (tmp_path / "proc/asound/pcm").write_text(
        "00-00: ALC892 Analog : ALC892 Analog : playback 1 : capture 1\n"
        "01-03: HDMI 0 : HDMI 0 : playback 1\n"
    )
    devices = list_devices(tmp_path, "linux")
    assert [(d.device_id, d.label, d.kind) for d in devices.video_devices] == [
        ("/dev/video0", "HD Webcam", "videoinput")
    ]
    assert [d.device_id for d in devices.audio_input_devices] == ["hw:0,0"]
    assert [(d.device_id, d.label) for d in devices.audio_output_devices] == [
        ("hw:0,0", "ALC892 Analog"),
        ("hw:1,3", "HDMI 0"),
    ]
    empty = list_devices(tmp_path / "nothing", "linux")
    assert empty.video_devices == empty.audio_input_devices == empty.audio_output_devices == []
    assert list_devices(tmp_path, "darwin").video_devices == []  # not listed there: none


async def test_logout_elsewhere_and_takeover_end_the_connection_without_reconnecting(
    sdk_server: ServerProcess, make_sdk: MakeSDK
) -> None:
    alice = await make_sdk(sdk_server.url, "Alice")
    meeting = await alice.create_meeting()
    seen = Recorder(meeting)
    tokens = alice.tokens
    same_session = config(
        sdk_server.url, access_token=tokens.access_token, refresh_token=tokens.refresh_token
    )
    async with MeetingSDK(same_session) as second:
        await second.join_meeting(meeting.meeting_number)  # takes over: the first gets 4409
        state = await seen.wait(
            MeetingEvent.CONNECTION_STATE_CHANGED,
            lambda e: e.state is ConnectionState.DISCONNECTED,
        )
        assert state.close_code == 4409
        error = await seen.wait(MeetingEvent.ERROR)
        assert error.details["close_code"] == 4409
        theirs = second._meetings[0]
        others = Recorder(theirs)
        await second.logout()
    await asyncio.sleep(0.3)
    assert (
        seen.of(MeetingEvent.CONNECTION_STATE_CHANGED)[-1].state is not ConnectionState.RECONNECTING
    )
    assert theirs.connection_state is ConnectionState.DISCONNECTED
    assert (
        others.of(MeetingEvent.CONNECTION_STATE_CHANGED)[-1].state is ConnectionState.DISCONNECTED
    )

    # Logged out elsewhere while in a room: 4401, PERMISSION_DENIED, no reconnect.
    bob = await make_sdk(sdk_server.url, "Bob")
    room = await bob.create_meeting()
    bobs = Recorder(room)
    tokens = bob.tokens
    elsewhere = MeetingSDK(
        config(sdk_server.url, access_token=tokens.access_token, refresh_token=tokens.refresh_token)
    )
    await elsewhere.initialize()
    await elsewhere.logout()
    await elsewhere.destroy()
    state = await bobs.wait(
        MeetingEvent.CONNECTION_STATE_CHANGED, lambda e: e.state is ConnectionState.DISCONNECTED
    )
    assert state.close_code == 4401
    error = await bobs.wait(MeetingEvent.ERROR)
    assert error.code is SDKErrorCode.PERMISSION_DENIED
    assert ConnectionState.RECONNECTING not in [
        e.state for e in bobs.of(MeetingEvent.CONNECTION_STATE_CHANGED)
    ]


def test_importing_the_sdk_loads_no_server_dependency() -> None:
    names = ", ".join(aimeeting.sdk.__all__)
    code = (
        f"import sys; from aimeeting import {names};"
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'pydantic', 'starlette', 'uvicorn')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
    for name in (
        "MeetingSDK",
        "SDKConfig",
        "CreateMeetingOptions",
        "JoinMeetingOptions",
        "Meeting",
        "MeetingState",
        "MeetingEvent",
        "Participant",
        "MediaDevices",
        "MediaDeviceInfo",
        "TURNServer",
        "LogLevel",
        "MeetingError",
        "SDKErrorCode",
    ):
        assert name in aimeeting.__all__
    assert [c.value for c in SDKErrorCode] == list(range(10001, 10007))
    assert [e.value for e in MeetingEvent][:6] == [
        "user_joined",
        "user_left",
        "chat_message",
        "media_state_changed",
        "network_quality_changed",
        "error",
    ]


# --- the README's bot and examples/bot.py, run for real -----------------------------------


def readme_bot() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python SDK", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def start_script(path: Path, output: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, str(path), *args], stdout=sink, stderr=subprocess.STDOUT, text=True
        )
    return process, output


async def printed(output: Path, pattern: str, process: subprocess.Popen[str]) -> re.Match[str]:
    for _ in range(300):
        if match := re.search(pattern, output.read_text()):
            return match
        assert process.poll() is None, output.read_text()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{pattern!r} never printed:\n{output.read_text()}")


async def test_the_readme_bot_runs_as_pasted(
    bot_server: ServerProcess, make_sdk: MakeSDK, tmp_path: Path
) -> None:
    code = readme_bot()
    assert len(code.strip().splitlines()) <= 16, code
    assert "http://localhost:3000" in code
    script = tmp_path / "bot.py"
    script.write_text(code.replace("http://localhost:3000", bot_server.url))
    bot, output = start_script(script, tmp_path / "bot.out")
    try:
        number = (await printed(output, r"meeting number: (\d{9})", bot))[1]
        guest = await make_sdk(bot_server.url, "Guest")
        meeting = await guest.join_meeting(number)
        seen = Recorder(meeting)
        await meeting.send_chat_message("hello bot")
        answer = await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.sender.id != guest.user.id)  # type: ignore[union-attr]
        assert "hello bot" in answer.content
    finally:
        # Not SIGINT: under a shell's background job (CI's, say) it is ignored, inherited.
        bot.terminate()
        bot.wait(10)


async def test_the_example_bot_joins_by_number_answers_and_leaves_when_it_ends(
    bot_server: ServerProcess, make_sdk: MakeSDK, tmp_path: Path
) -> None:
    host = await make_sdk(bot_server.url, "Host")
    meeting = await host.create_meeting(CreateMeetingOptions("Bot test"))
    seen = Recorder(meeting)
    bot, output = start_script(
        ROOT / "examples" / "bot.py",
        tmp_path / "bot.out",
        "--server",
        bot_server.url,
        meeting.meeting_number,
    )
    try:
        joined = await seen.wait(MeetingEvent.USER_JOINED, timeout=20)
        await meeting.send_chat_message("!time")
        answer = await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.sender.id == joined.user_id)
        assert re.search(r"\d\d:\d\d", answer.content), answer.content
        await meeting.send_chat_message("hello")
        await seen.wait(
            MeetingEvent.CHAT_MESSAGE,
            lambda e: e.sender.id == joined.user_id and "hello" in e.content,
        )
        await meeting.end()
        assert bot.wait(10) == 0, output.read_text()
        assert "the meeting ended" in output.read_text()
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(5)


async def test_events_subscribes_at_the_call_not_at_the_first_step(
    bot_server: ServerProcess, make_sdk: MakeSDK
) -> None:
    alice, bob = await make_sdk(bot_server.url, "Alice"), await make_sdk(bot_server.url, "Bob")
    theirs = await bob.create_meeting()
    ours = await alice.join_meeting(theirs.meeting_number)
    seen = Recorder(ours)
    chats = ours.events(MeetingEvent.CHAT_MESSAGE)  # not iterated yet
    everything = ours.events()
    sent = await theirs.send_chat_message("before the first step")
    await seen.wait(MeetingEvent.CHAT_MESSAGE)  # emitted: the handlers have it
    first = await asyncio.wait_for(anext(chats), 5)
    assert first.message_id == sent.message_id
    kinds = []
    async for event in everything:  # the same message, among the other kinds
        kinds.append(event.type)
        if event.type is MeetingEvent.CHAT_MESSAGE:
            break
    assert kinds[-1] is MeetingEvent.CHAT_MESSAGE
    await chats.aclose()  # unsubscribed: nothing more is kept for it
    await theirs.send_chat_message("after the close")
    await seen.wait(MeetingEvent.CHAT_MESSAGE, lambda e: e.content == "after the close")
    with pytest.raises(StopAsyncIteration):
        await anext(chats)
    await ours.leave()  # the other iterator ends after what it buffered
    rest = [event.type async for event in everything]
    assert MeetingEvent.CHAT_MESSAGE in rest


def test_no_task_is_started_without_keeping_a_reference() -> None:
    """The event loop holds tasks weakly: a task whose reference is thrown away can be
    collected mid-flight. Every task in the package is kept (``aimeeting.tasks``)."""
    dangling = []
    for path in sorted((ROOT / "src" / "aimeeting").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                func = node.value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in {"create_task", "ensure_future"}:
                    dangling.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not dangling, f"tasks started without a reference: {dangling}"
