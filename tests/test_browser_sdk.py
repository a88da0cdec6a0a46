"""The browser SDK end to end: real Chromium pages load `/sdk/aimeeting-sdk.js` from a real
`aimeeting serve`, sign up, meet, and see and hear each other over real peer-to-peer WebRTC,
all inside a private loopback-only network (tests/browser_fixtures.py).

Each test is one meeting story; the steps are ordered as people would live them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.browser import (
    AUDIO_TONE_JS,
    VIDEO_SIZE,
    Chromium,
    assert_loopback_only,
    candidate_addresses,
    ice_report,
    wait_video_playing,
    write_tone_wav,
)
from harness.sdk_page import INSTALL_JS, SdkUser, people
from harness.server import ServerProcess
from tests.utils.proxy import TcpProxy
from tests.utils.turn import TurnServer

if TYPE_CHECKING:
    from playwright.async_api import Page

MEETING_FULL, PERMISSION_DENIED = 40006, 10003
SDK_INVALID_ARGUMENT = 10006


async def see_each_other(users: list[SdkUser]) -> None:
    for viewer in users:
        for other in users:
            if other is not viewer:
                video = await viewer.sees(other)
                assert (video["width"], video["height"]) == VIDEO_SIZE, (viewer, other, video)
                await viewer.hears(other)


async def test_two_then_four_meet_mute_share_chat_leave_and_end(
    netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]], tmp_path: Path
) -> None:
    tone = write_tone_wav(tmp_path / "tone.wav", frequency=440.0)
    browser = await launch_chromium(fake_audio_file=tone)
    alice, bob, carol, dave, erin = await people(
        browser, netns_server, "Alice", "Bob", "Carol", "Dave", "Erin"
    )

    # Two people: Alice starts a meeting, Bob joins by its number; they see and hear each other.
    number = await alice.create(title="Standup")
    await bob.join(number)
    await see_each_other([alice, bob])
    heard = await bob.page.evaluate(
        f"u => ({AUDIO_TONE_JS})(t.meeting.getRemoteStream(u))", alice.user_id
    )
    assert abs(heard["frequency"] - 440.0) < 25, heard  # the tone Alice's microphone plays

    # Four: everyone sees and hears the three others.
    await carol.join(number)
    await dave.join(number)
    await see_each_other([alice, bob, carol, dave])
    for user in (alice, bob, carol, dave):
        participants = await user.js("t.meeting.participants.map(p => p.nickname)")
        assert sorted(participants) == ["Alice", "Bob", "Carol", "Dave"], (user, participants)
    addresses = set().union(*[candidate_addresses(await ice_report(u.page)) for u in (alice, dave)])
    assert_loopback_only(addresses)

    # A fifth is refused: the meeting is full (and Erin's camera is released).
    refusal = await erin.join_error(number)
    assert refusal["code"] == SDK_INVALID_ARGUMENT, refusal
    assert refusal["details"]["serverCode"] == MEETING_FULL, refusal

    # Mute: Bob's microphone stops sending, and everyone learns it.
    await bob.call("muteAudio", True)
    assert await bob.js("t.meeting.localStream.getAudioTracks()[0].enabled") is False
    for user in (alice, carol, dave):
        await user.wait_event("media_state_changed", {"userId": bob.user_id, "audioMuted": True})
    await bob.call("muteVideo", True)
    await alice.wait_event("media_state_changed", {"userId": bob.user_id, "videoMuted": True})

    # Carol shares her screen: a third track reaches everyone, announced; then she stops.
    await carol.call("startScreenShare")
    for user in (alice, bob, dave):
        await user.wait_event("track_added", {"userId": carol.user_id, "kind": "screen"})
        screen = await user.sees(carol, "screen")
        assert screen["width"] > 0, screen
        await user.wait_event(
            "media_state_changed", {"userId": carol.user_id, "screenSharing": True}
        )
        await user.sees(carol)  # her camera still plays beside it
    await carol.call("stopScreenShare")
    for user in (alice, bob, dave):
        await user.wait_event("track_removed", {"userId": carol.user_id, "kind": "screen"})
        await user.wait_event(
            "media_state_changed", {"userId": carol.user_id, "screenSharing": False}
        )

    # Chat reaches everyone, once.
    sent = await dave.call("sendChatMessage", "hello from Dave")
    for user in (alice, bob, carol, dave):
        message = await user.wait_event("chat_message", {"content": "hello from Dave"})
        assert message["messageId"] == sent["messageId"]
        assert len(await user.events("chat_message")) == 1

    # Dave leaves: the others see him go, with his tracks.
    await dave.call("leave")
    for user in (alice, bob, carol):
        await user.wait_event("user_left", {"userId": dave.user_id})
        await user.wait_event("track_removed", {"userId": dave.user_id, "kind": "video"})
        assert await user.shows_no_video_of(dave)

    # Alice (the creator) ends it: everyone's meeting ends.
    await alice.call("end")
    for user in (bob, carol):
        await user.wait_event("meeting_ended")
        assert await user.js("t.meeting.state") == "ended"
    # Erin's browser logs the refused join (HTTP 400) itself; nobody else logged an error.
    unexpected = [e for e in browser.errors() if not e.startswith("Erin:")]
    assert unexpected == [], unexpected


async def test_a_dropped_connection_heals_by_itself(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    proxy = await TcpProxy("127.0.0.1", netns_server.port).start()
    try:
        alice = (await people(chromium, netns_server, "Alice"))[0]
        # Bob reaches the server through a proxy the test cuts: his page, REST calls and
        # WebSocket (one origin, so the WebSocket's Origin check lets him in).
        bob_page = await chromium.new_participant("Bob")
        bob = await SdkUser(bob_page, proxy.url, "Bob").install(
            reconnectBaseDelay=100, reconnectMaxDelay=500
        )
        number = await alice.create()
        await bob.join(number)
        await see_each_other([alice, bob])
        ufrags_before = await ice_ufrags(bob)

        assert proxy.cut(down_for=1.0) >= 1
        await bob.wait_event("connection_state_changed", {"state": "reconnecting"})
        sent_meanwhile = bob.call("sendChatMessage", "sent while away")
        await bob.wait_event("connection_state_changed", {"state": "connected"}, timeout=20)
        await sent_meanwhile

        # Nobody saw Bob leave; the link restarted ICE and media flows both ways again.
        assert await alice.events("user_left") == []
        await alice.wait_event("chat_message", {"content": "sent while away"})
        await wait_ice_restarted(bob, ufrags_before)
        await see_each_other([alice, bob])
        # The browser itself logs the sockets refused while the network was down; nothing else.
        unexpected = [e for e in chromium.errors() if "WebSocket connection to" not in e]
        assert unexpected == [], unexpected
    finally:
        await proxy.stop()


async def ice_ufrags(user: SdkUser) -> list[str]:
    """The ICE username fragment of each of the page's peer connections (new after a restart)."""
    return list(
        await user.js(
            "window.__peerConnections.filter(pc => pc.localDescription)"
            ".map(pc => /a=ice-ufrag:(\\S+)/.exec(pc.localDescription.sdp)[1])"
        )
    )


async def wait_ice_restarted(user: SdkUser, before: list[str]) -> None:
    await user.page.wait_for_function(
        """before => window.__peerConnections.some(pc => pc.connectionState === 'connected'
          && pc.localDescription
          && !before.includes(/a=ice-ufrag:(\\S+)/.exec(pc.localDescription.sdp)[1]))""",
        arg=before,
        polling=200,
        timeout=20_000,
    )


async def test_a_refused_camera_still_joins_receive_only(
    stun_netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]]
) -> None:
    netns_server = stun_netns_server
    browser = await launch_chromium(fake_ui=False)
    alice = await SdkUser(
        await browser.new_participant("Alice"), netns_server.url, "Alice"
    ).install()
    shy_page = await browser.new_participant("Shy", camera=False, microphone=False)
    shy = await SdkUser(shy_page, netns_server.url, "Shy").install()

    number = await alice.create()
    await shy.join(number)
    error = await shy.wait_event("error")
    assert error["code"] == PERMISSION_DENIED, error
    assert await shy.js("t.meeting.localStream") is None
    # Shy receives Alice; Alice gets nothing from Shy, and both are in the room.
    await shy.sees(alice)
    await shy.hears(alice)
    await alice.wait_event("user_joined", {"userId": shy.user_id})
    assert await alice.events("track_added") == []
    (pc,) = await ice_report(shy.page)
    assert pc["selected"]["local"]["type"] == "srflx", pc
    assert_loopback_only(candidate_addresses([pc]))


async def test_relay_only_through_coturn_with_credentials_from_the_server(
    netns_start_server: Callable[..., ServerProcess], chromium: Chromium, turn_server: TurnServer
) -> None:
    server = netns_start_server(turn_urls=turn_server.url, turn_secret=turn_server.secret)
    alice, bob = await people(chromium, server, "Alice", "Bob", iceTransportPolicy="relay")
    number = await alice.create()
    await bob.join(number)
    await see_each_other([alice, bob])
    for user in (alice, bob):
        (pc,) = await ice_report(user.page)
        selected = pc["selected"]
        assert selected["local"]["type"] == selected["remote"]["type"] == "relay", selected
        assert_loopback_only(candidate_addresses([pc]))


async def test_forged_turn_credentials_connect_nobody(
    netns_start_server: Callable[..., ServerProcess], chromium: Chromium, turn_server: TurnServer
) -> None:
    # The server signs with another secret than coturn knows: its credentials are forgeries.
    server = netns_start_server(turn_urls=turn_server.url, turn_secret="not-" + turn_server.secret)
    alice, bob = await people(chromium, server, "Alice", "Bob", iceTransportPolicy="relay")
    number = await alice.create()
    await bob.join(number)
    await bob.page.wait_for_function(
        "window.__peerConnections.length > 0 && window.__peerConnections.every("
        "pc => pc.iceGatheringState === 'complete')",
        timeout=15_000,
    )
    for user in (alice, bob):
        (pc,) = await ice_report(user.page)
        assert pc["local"] == [] and pc["selected"] is None, pc
        # A track is announced when its media starts to arrive: here none ever does.
        assert await user.events("track_added") == []


RELAY_CANDIDATES_JS = """async (waitMs) => {
  const response = await fetch('/v1/rtc/ice-servers',
    {headers: {Authorization: `Bearer ${t.sdk.tokens.accessToken}`}});
  const {data} = await response.json();
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const pc = new RTCPeerConnection({iceServers: data.ice_servers, iceTransportPolicy: 'relay'});
  const types = [];
  pc.onicecandidate = ({candidate}) => candidate?.candidate && types.push(candidate.type);
  const gathered = new Promise((resolve) => pc.onicegatheringstatechange = () =>
    pc.iceGatheringState === 'complete' && resolve());
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await gathered;
  pc.close();
  return types;
}"""


async def test_expired_turn_credentials_are_refused(
    netns_start_server: Callable[..., ServerProcess], chromium: Chromium, turn_server: TurnServer
) -> None:
    ttl = 3
    server = netns_start_server(
        turn_urls=turn_server.url, turn_secret=turn_server.secret, turn_ttl=ttl
    )
    (alice,) = await people(chromium, server, "Alice")
    # Used at once, the endpoint's credentials get a relay address from coturn...
    fresh = await alice.js(RELAY_CANDIDATES_JS, 0)
    assert fresh and set(fresh) == {"relay"}, fresh
    # ...and once their time is up, coturn turns the same kind of credentials away.
    assert await alice.js(RELAY_CANDIDATES_JS, (ttl + 1.5) * 1000) == []


def readme_snippet() -> str:
    """The browser snippet of the README, as a person would paste it into the console."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("## See and hear each other in two browsers", 1)[1]
    return section.split("```js\n", 1)[1].split("```", 1)[0]


async def test_the_readme_snippet_works_as_pasted(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    snippet = readme_snippet()
    assert len(snippet.strip().splitlines()) <= 12, snippet
    # The console runs top-level await; an async function is the page's equivalent.
    run = f"async () => {{\n{snippet}\nreturn meeting.meetingNumber;\n}}"
    first, second = await chromium.participants(2, url=f"{netns_server.url}/healthz")

    async def paste(page: Page, answer: str) -> str:
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept(answer)))
        number: str = await page.evaluate(run)
        return number

    number = await paste(first.page, "")  # empty: start a new meeting
    assert await paste(second.page, number) == number
    for page in (first.page, second.page):
        video = await wait_video_playing(page, "video")
        assert (video["width"], video["height"]) == VIDEO_SIZE, video
    assert chromium.errors() == [], chromium.errors()


async def test_switching_camera_and_reloading_the_page_keep_the_call(
    netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]]
) -> None:
    browser = await launch_chromium(fake_cameras=2)
    alice, bob = await people(browser, netns_server, "Alice", "Bob")
    number = await alice.create()
    await bob.join(number)
    await see_each_other([alice, bob])

    # Bob picks his other camera mid-meeting: Alice keeps seeing him, nobody renegotiates.
    devices = await bob.js("t.sdk.getDevices()")
    assert len(devices["videoDevices"]) == 2, devices
    before = await bob.js("t.meeting.localStream.getVideoTracks()[0].getSettings().deviceId")
    other = next(d["deviceId"] for d in devices["videoDevices"] if d["deviceId"] != before)
    await bob.call("switchDevice", "videoinput", other)
    now = await bob.js("t.meeting.localStream.getVideoTracks()[0].getSettings().deviceId")
    assert now == other
    sender_device = await bob.js(
        "window.__peerConnections[0].getSenders().find(s => s.track && s.track.kind === 'video')"
        ".track.getSettings().deviceId"
    )
    assert sender_device == other
    await bob.wait_event("local_stream_changed")
    await alice.sees(bob)

    # Link statistics become network quality, with figures.
    quality = await alice.wait_event("network_quality_changed", timeout=20)
    assert quality["quality"] in {"good", "fair", "poor"} and quality["rttMs"] is not None, quality

    # Bob reloads the page and comes back with his saved session, inside the grace: a new peer
    # connection on his side replaces Alice's old link, and they see each other again.
    tokens = await bob.js("t.sdk.tokens")
    await bob.page.reload()
    await bob.page.evaluate(
        INSTALL_JS,
        {"server": netns_server.url, "config": {"accessToken": tokens["accessToken"]}},
    )
    await bob.join(number)
    await see_each_other([alice, bob])
    assert await alice.events("user_left") == []
    assert (
        await alice.js(
            "window.__peerConnections.filter(pc => pc.connectionState === 'connected').length"
        )
        == 1
    )
