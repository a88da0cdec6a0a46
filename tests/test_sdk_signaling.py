"""WebRTC signaling through the SDK (``Meeting.send_signal``, ``MeetingEvent.WEBRTC_SIGNAL``)
between real SDK users on a real server: offer and answer reach the one member addressed and
no one else, and every refusal maps to an SDK code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from aimeeting import MeetingError, MeetingEvent, MeetingSDK, SDKErrorCode
from aimeeting.sdk import Meeting, WebRTCSignalEvent
from harness.server import ServerProcess
from tests.utils.sdk import Recorder, signed_in

OFFER = {"type": "offer", "sdp": "v=0\r\no=- 46117 2 IN IP4 127.0.0.1\r\n", "n": [1, 2.5, None]}
ANSWER = {"type": "answer", "sdp": "v=0\r\n"}
CANDIDATE = {"candidate": "candidate:1 1 udp 2122260223 10.0.0.2 54400 typ host", "sdpMid": "0"}


@pytest.fixture(scope="module")
def signal_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server("sqlite", heartbeat_timeout=3, reconnect_grace=1)


@pytest.fixture
async def trio(signal_server: ServerProcess) -> AsyncIterator[list[MeetingSDK]]:
    sdks = [await signed_in(signal_server.url, name) for name in ("Alice", "Bob", "Carol")]
    yield sdks
    for sdk in sdks:
        await sdk.destroy()


async def refusal(call: Awaitable[Any]) -> tuple[SDKErrorCode, int | None]:
    with pytest.raises(MeetingError) as caught:
        await asyncio.wait_for(call, 10)
    return caught.value.code, caught.value.server_code


async def in_one_meeting(sdks: list[MeetingSDK]) -> list[Meeting]:
    first = await sdks[0].create_meeting()
    return [first] + [await sdk.join_meeting(first.meeting_number) for sdk in sdks[1:]]


async def test_offer_answer_and_candidates_reach_only_the_member_addressed(
    trio: list[MeetingSDK],
) -> None:
    alice, bob, carol = await in_one_meeting(trio)
    seen = {m.local_user_id: Recorder(m) for m in (alice, bob, carol)}

    await alice.send_signal(bob.local_user_id, OFFER)
    offer: WebRTCSignalEvent = await seen[bob.local_user_id].wait(MeetingEvent.WEBRTC_SIGNAL)
    assert (offer.room_id, offer.from_user_id, offer.signal) == (
        alice.id,
        alice.local_user_id,
        OFFER,  # the opaque object arrives as sent
    )
    await bob.send_signal(offer.from_user_id, ANSWER)
    for candidate in range(3):  # several in a row arrive in order
        await bob.send_signal(alice.local_user_id, CANDIDATE | {"sdpMLineIndex": candidate})
    await seen[alice.local_user_id].until(
        lambda: len(seen[alice.local_user_id].of(MeetingEvent.WEBRTC_SIGNAL)) == 4
    )
    received = seen[alice.local_user_id].of(MeetingEvent.WEBRTC_SIGNAL)
    assert [e.signal for e in received] == [ANSWER] + [
        CANDIDATE | {"sdpMLineIndex": i} for i in range(3)
    ]
    assert {e.from_user_id for e in received} == {bob.local_user_id}

    # Carol, in the same room, saw none of it; the others got nothing twice.
    await carol.send_signal(alice.local_user_id, {"type": "marker"})
    await seen[alice.local_user_id].wait(
        MeetingEvent.WEBRTC_SIGNAL, lambda e: e.signal == {"type": "marker"}
    )
    await asyncio.sleep(0.2)
    assert not seen[carol.local_user_id].of(MeetingEvent.WEBRTC_SIGNAL)
    assert len(seen[bob.local_user_id].of(MeetingEvent.WEBRTC_SIGNAL)) == 1
    assert len(seen[alice.local_user_id].of(MeetingEvent.WEBRTC_SIGNAL)) == 5
    for recorder in seen.values():
        assert not recorder.of(MeetingEvent.ERROR)


async def test_refused_signals_raise_mapped_errors_and_the_meeting_carries_on(
    trio: list[MeetingSDK], signal_server: ServerProcess
) -> None:
    alice, bob, carol = await in_one_meeting(trio)
    alices, bobs = Recorder(alice), Recorder(bob)
    outsider = await signed_in(signal_server.url, "Dave")
    ia = SDKErrorCode.INVALID_ARGUMENT
    try:
        assert await refusal(alice.send_signal(alice.local_user_id, OFFER)) == (ia, 40004)
        not_in_room = outsider.user.id  # type: ignore[union-attr]
        assert await refusal(alice.send_signal(not_in_room, OFFER)) == (ia, 40401)
        assert await refusal(alice.send_signal("no-such-user", OFFER)) == (ia, 40401)
        await carol.leave()
        assert await refusal(alice.send_signal(carol.local_user_id, OFFER)) == (ia, 40401)
        # Checked before sending: no server code.
        assert await refusal(alice.send_signal("", OFFER)) == (ia, None)
        assert await refusal(alice.send_signal(bob.local_user_id, "sdp")) == (ia, None)  # type: ignore[arg-type]
        assert await refusal(alice.send_signal(bob.local_user_id, {"x": object()})) == (ia, None)

        await alice.send_signal(bob.local_user_id, OFFER)  # still works after the refusals
        event = await bobs.wait(MeetingEvent.WEBRTC_SIGNAL)
        assert event.signal == OFFER
        assert len(bobs.of(MeetingEvent.WEBRTC_SIGNAL)) == 1  # no refused one got through
        assert not alices.of(MeetingEvent.ERROR)  # each refusal belonged to its call

        await alice.leave()
        assert await refusal(alice.send_signal(bob.local_user_id, OFFER)) == (
            SDKErrorCode.NETWORK_ERROR,
            None,
        )
    finally:
        await outsider.destroy()
