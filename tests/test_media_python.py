"""Python media end to end: participants on the Python SDK (aiortc) exchange real audio and
video through a real server, inside a private loopback-only network (tests/browser_fixtures.py).
"""

from __future__ import annotations

import subprocess
import sys

import httpx

from aimeeting import ConnectionState, CreateMeetingOptions, JoinMeetingOptions, MeetingEvent
from aimeeting.sdk.media.sources import PictureTrack, ToneTrack, name_card
from harness.netns import PrivateNetwork
from harness.server import ServerProcess
from tests.utils.media import (
    PyMember,
    dominant_frequency,
    frames,
    level,
    mean_color,
    remote_track,
    video_size,
)
from tests.utils.proxy import TcpProxy
from tests.utils.sdk import Recorder, signed_in


async def test_two_python_participants_see_and_hear_each_other(
    private_network: PrivateNetwork, netns_server: ServerProcess
) -> None:
    alice_sdk = await signed_in(netns_server.url, "Alice", media=True)
    bob_sdk = await signed_in(netns_server.url, "Bob", media=True)
    try:
        alice = await alice_sdk.create_meeting(
            CreateMeetingOptions(
                audio_track=ToneTrack(440),
                video_track=PictureTrack(name_card("Alice", background=(200, 40, 40))),
            )
        )
        alice_events = Recorder(alice)
        bob = await bob_sdk.join_meeting(
            alice.meeting_number,
            JoinMeetingOptions(
                audio_track=ToneTrack(1000),
                video_track=PictureTrack(name_card("Bob", (160, 120), background=(40, 200, 40))),
            ),
        )
        bob_events = Recorder(bob)
        alice_id, bob_id = alice.local_user_id, bob.local_user_id

        # Bob hears Alice's 440 Hz and sees her 320x240 red card; Alice gets his 1 kHz, 160x120.
        heard = await frames(await remote_track(bob_events, alice_id, "audio"), 50)
        assert abs(dominant_frequency(heard[10:]) - 440) < 10
        seen = await frames(await remote_track(bob_events, alice_id, "video"), 5)
        assert video_size(seen[-1]) == (320, 240)
        red, green, _ = mean_color(seen[-1])
        assert red > 120 and green < 100, mean_color(seen[-1])
        heard = await frames(await remote_track(alice_events, bob_id, "audio"), 50)
        assert abs(dominant_frequency(heard[10:]) - 1000) < 10
        bob_video = await remote_track(alice_events, bob_id, "video")
        seen = await frames(bob_video, 5)
        assert video_size(seen[-1]) == (160, 120)

        # Bob mutes: silence and black frames reach Alice, on the same tracks (no new ones).
        await bob.mute_audio(True)
        await bob.mute_video(True)
        bob_audio = await remote_track(alice_events, bob_id, "audio")
        assert level((await frames(bob_audio, 100))[-25:]) < 0.01
        assert max(mean_color((await frames(bob_video, 20))[-1])) < 10
        await bob.mute_audio(False)
        assert level((await frames(bob_audio, 100))[-25:]) > 0.2
        assert len(alice_events.of(MeetingEvent.TRACK_ADDED)) == 2
    finally:
        await alice_sdk.destroy()
        await bob_sdk.destroy()
    assert MeetingEvent.ERROR not in {e.type for e in alice_events.events}


async def test_a_reconnected_python_member_gets_media_back(
    private_network: PrivateNetwork, netns_server: ServerProcess
) -> None:
    proxy = await TcpProxy("127.0.0.1", netns_server.port).start()
    alice = await PyMember.sign_up(netns_server.url, "Alice")
    bob = await PyMember.sign_up(proxy.url, "Bob")  # everything through the proxy
    try:
        number = await alice.create(**alice.publishing(440))
        await bob.join(number, **bob.publishing(1000))
        await alice.hears(bob, 1000)
        await bob.hears(alice, 440)
        assert bob.events is not None and alice.events is not None

        assert proxy.cut(down_for=0.5) >= 1
        for state in (ConnectionState.RECONNECTING, ConnectionState.CONNECTED):
            await bob.events.wait(
                MeetingEvent.CONNECTION_STATE_CHANGED, lambda e, s=state: e.state is s, 20
            )
        # Bob's fresh link replaced the old one on both sides: new tracks, media again.
        await alice.hears(bob, 1000, after=1)
        await alice.sees(bob, after=1)
        await bob.hears(alice, 440, after=1)
        await bob.sees(alice, after=1)
        assert not alice.events.of(MeetingEvent.USER_LEFT)
    finally:
        await alice.close()
        await bob.close()
        await proxy.stop()


async def test_a_member_entering_a_seat_already_called_gets_media_both_ways(
    private_network: PrivateNetwork, netns_server: ServerProcess
) -> None:
    """Bob holds a seat before he connects (taken over REST, as the assistant's invitation
    takes one); Alice enters and calls that seat, which nobody answers; then Bob enters and
    calls her. Alice's user id sorts after Bob's, so of two crossed offers hers would win: she
    must drop her unanswered call when he enters, or neither side ever answers."""
    first = await PyMember.sign_up(netns_server.url, "First")
    second = await PyMember.sign_up(netns_server.url, "Second")
    bob, alice = sorted((first, second), key=lambda member: member.user_id)
    token = bob.sdk.tokens.access_token
    try:
        async with httpx.AsyncClient(
            base_url=f"{netns_server.url}/v1", headers={"Authorization": f"Bearer {token}"}
        ) as http:
            number = (await http.post("/meetings")).json()["data"]["meeting_number"]
            assert (await http.post(f"/meetings/{number}/join")).json()["code"] == 0
        await alice.join(number, **alice.publishing(440))  # calls Bob's empty seat
        await bob.join(number, **bob.publishing(1000))
        await alice.hears(bob, 1000)
        await bob.hears(alice, 440)
    finally:
        await alice.close()
        await bob.close()


WITHOUT_AIORTC = """
import asyncio, logging, sys
sys.modules["aiortc"] = None  # as if aimeeting[media] were not installed
from aimeeting import MeetingSDK, SDKConfig

async def main(url):
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    sdks = []
    for name in ("Ann", "Ben"):
        sdk = MeetingSDK(SDKConfig.for_server(url))
        await sdk.initialize()
        await sdk.register(f"{name}-{id(sdk)}@example.com", "Passw0rd!", name)
        sdks.append(sdk)
    ann = await sdks[0].create_meeting()
    ben = await sdks[1].join_meeting(ann.meeting_number)
    message = await ben.send_chat_message("no media here")
    print("chat:", message.content, "participants:", len(ann.participants))
    await asyncio.sleep(0.5)
    print("aiortc loaded:", any(m.startswith(("aiortc.", "av.")) for m in sys.modules))
    for sdk in sdks:
        await sdk.destroy()

asyncio.run(main(sys.argv[1]))
"""


def test_without_aiortc_members_join_and_chat_and_receive_nothing(server: ServerProcess) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_AIORTC, server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "chat: no media here participants: 2" in done.stdout
    assert "aiortc loaded: False" in done.stdout
    # Said once (not once per meeting): the media extra is missing.
    assert done.stderr.count("aiortc is not installed") == 1, done.stderr
