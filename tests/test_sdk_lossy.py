"""A meeting over a bad client network: 200 ms round trip and 2 % loss between every SDK client
and the server (REST and WebSocket), a reconnect forced midway. Three members chat 201 messages
and toggle mute meanwhile; every member ends with every message exactly once, in one order
(harness/history.py), and the same mute state for everyone.

The loss is made by the fault proxy (tests/utils/faults.py: 100 ms each way, each chunk with a
2 % chance of arriving a retransmission, 400 ms, later, the chunks behind it waiting), not by
``tc netem``: this kernel has no ``sch_netem`` (nor modules to load it), so what the loss does
above TCP (retransmission, head-of-line blocking) is what is reproduced. 200 ms means the round
trip: 100 ms added each way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from functools import partial

import pytest

from aimeeting import MeetingEvent
from aimeeting.sdk import ChatMessage, ConnectionState, Meeting, MeetingError, SDKErrorCode
from harness.history import History
from harness.server import UNLIMITED, ServerProcess
from tests.utils.faults import FaultProxy
from tests.utils.sdk import Recorder, signed_in

ONE_WAY, LOSS, RETRANSMIT = 0.1, 0.02, 0.4
PER_MEMBER = 67  # × 3 members = 201 messages
SETTINGS = {
    "heartbeat_timeout": 30,
    "reconnect_grace": 10,
    **UNLIMITED,
}


@pytest.fixture(scope="module")
def lossy_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", **SETTINGS)


@pytest.fixture
async def link(lossy_server: ServerProcess) -> AsyncIterator[FaultProxy]:
    proxy = await FaultProxy("127.0.0.1", lossy_server.port).start()
    yield proxy
    await proxy.stop()


def has_all(recorder: Recorder, count: int) -> bool:
    return len(recorder.of(MeetingEvent.CHAT_MESSAGE)) >= count


async def whole_history(meeting: Meeting) -> list[ChatMessage]:
    """Every stored message, newest first (paged)."""
    messages: list[ChatMessage] = []
    before: str | None = None
    while page := await meeting.chat_history(limit=100, before=before):
        messages.extend(page)
        before = page[-1].message_id
    return messages


async def set_muted(meeting: Meeting, muted: bool) -> None:
    """As an app does: a toggle in flight when the connection dropped (NETWORK_ERROR: it may
    or may not have been applied) is made again; it waits for the reconnect by itself."""
    for _ in range(5):
        try:
            await meeting.mute_audio(muted)
            return
        except MeetingError as exc:
            if exc.code is not SDKErrorCode.NETWORK_ERROR:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("mute never acknowledged")


async def chat(meeting: Meeting, name: str) -> list[asyncio.Task[ChatMessage]]:
    """Send ``PER_MEMBER`` messages, one every 50 ms, toggling mute every 20 (not waiting for
    the echoes: what is not echoed by the cut is re-sent after the reconnect)."""
    sends: list[asyncio.Task[ChatMessage]] = []
    for i in range(PER_MEMBER):
        sends.append(asyncio.create_task(meeting.send_chat_message(f"{name} {i}")))
        if i % 20 == 19:
            await set_muted(meeting, i % 40 == 19)  # True, False, True
        await asyncio.sleep(0.05)
    return sends


async def test_a_meeting_over_200ms_and_2_percent_loss_with_a_reconnect_loses_nothing(
    lossy_server: ServerProcess, link: FaultProxy
) -> None:
    started = time.monotonic()
    sdks = [
        await signed_in(f"http://127.0.0.1:{link.port}", name, request_timeout=10.0)
        for name in ("Alice", "Bob", "Carol")
    ]
    try:
        link.delay(ONE_WAY, loss=LOSS, retransmit=RETRANSMIT)
        first = await sdks[0].create_meeting()
        meetings = [first] + [await sdk.join_meeting(first.meeting_number) for sdk in sdks[1:]]
        names = ["Alice", "Bob", "Carol"]
        seen = {name: Recorder(meeting) for name, meeting in zip(names, meetings, strict=True)}

        async def cut_midway() -> None:
            await asyncio.sleep(1.5)
            assert link.reset() >= len(names)  # every client's socket (REST pooled too)
            await asyncio.sleep(0.5)
            link.delay(ONE_WAY, loss=LOSS, retransmit=RETRANSMIT)  # back, as bad as before

        cutting = asyncio.create_task(cut_midway())
        sends = await asyncio.gather(
            *(chat(meeting, name) for meeting, name in zip(meetings, names, strict=True))
        )
        await cutting
        stored = {
            name: await asyncio.wait_for(asyncio.gather(*tasks), 60)
            for name, tasks in zip(names, sends, strict=True)
        }
        total = PER_MEMBER * len(names)
        history = History(first.id)
        for name in names:
            for i, message in enumerate(stored[name]):
                assert message.content == f"{name} {i}"
                history.sent(message.sender.id, message.content, message.client_msg_id)
            history.member(name)
        for recorder in seen.values():
            await recorder.until(partial(has_all, recorder, total), timeout=30)
        await asyncio.sleep(1)  # nothing more arrives late
        for name, meeting in zip(names, meetings, strict=True):
            for event in seen[name].of(MeetingEvent.CHAT_MESSAGE):
                history.seen_live(name, event)
            history.seen_in_history(name, await whole_history(meeting))
        report = history.assert_whole()

        for name, meeting in zip(names, meetings, strict=True):
            states = [e.state for e in seen[name].of(MeetingEvent.CONNECTION_STATE_CHANGED)]
            assert ConnectionState.RECONNECTING in states, name  # the cut was felt
            assert meeting.connection_state is ConnectionState.CONNECTED, name
            assert not seen[name].of(MeetingEvent.ERROR), name
            # Everyone ends with everyone muted (True, False, True), as they said.
            assert {p.nickname: p.audio_muted for p in meeting.participants} == dict.fromkeys(
                names, True
            ), name
        elapsed = time.monotonic() - started
        print(
            f"200 ms RTT, 2 % loss ({link.counts.lost} of {link.counts.chunks} chunks lost),"
            f" one reconnect: {report.summary()}; {elapsed:.1f} s"
        )
    finally:
        for sdk in sdks:
            await sdk.destroy()
