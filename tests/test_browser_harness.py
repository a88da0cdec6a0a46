"""The media-test harness without the SDK: real Chromium, real WebRTC, coturn, all on loopback.

Two pages (two browser contexts) on a real server's origin connect two RTCPeerConnections
by hand (SDP and trickled candidates carried by the test through ``page.evaluate``), directly
and then through coturn with ``iceTransportPolicy: "relay"``. Every candidate address must be
in 127.0.0.0/8.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.browser import (
    AUDIO_TONE_JS,
    VIDEO_SIZE,
    Chromium,
    Participant,
    assert_loopback_only,
    candidate_addresses,
    ice_report,
    wait_video_playing,
    write_tone_wav,
)
from harness.server import ServerProcess
from tests.utils.api import register
from tests.utils.turn import TurnServer

if TYPE_CHECKING:
    from playwright.async_api import Page

CONNECT_TIMEOUT = 15.0

PEER_JS = """
(config) => {
  window.peer = {
    candidates: [], gathered: [], iceErrors: [],
    async start() {
      this.local = await navigator.mediaDevices.getUserMedia({audio: true, video: true});
      const pc = (this.pc = new RTCPeerConnection(config));
      this.local.getTracks().forEach((track) => pc.addTrack(track, this.local));
      pc.onicecandidate = ({candidate}) => {
        if (!candidate || !candidate.candidate) return;
        this.candidates.push(candidate.toJSON());
        this.gathered.push(candidate.candidate);
      };
      pc.onicecandidateerror = (e) => this.iceErrors.push({code: e.errorCode, url: e.url});
      const video = Object.assign(document.createElement('video'),
        {id: 'remote', autoplay: true, muted: true, playsInline: true});
      document.body.append(video);
      pc.ontrack = ({streams}) => { this.remote = streams[0]; video.srcObject = streams[0]; };
      return this.local.getVideoTracks()[0].getSettings();
    },
    async offer() {
      await this.pc.setLocalDescription();
      return this.pc.localDescription.toJSON();
    },
    async answer(offer) {
      await this.pc.setRemoteDescription(offer);
      await this.pc.setLocalDescription();
      return this.pc.localDescription.toJSON();
    },
    async accept(answer) { await this.pc.setRemoteDescription(answer); },
    take() { return this.candidates.splice(0); },
    async add(candidates) { for (const c of candidates) await this.pc.addIceCandidate(c); },
    receivers() {
      return this.pc.getReceivers().map((r) => ({kind: r.track.kind, state: r.track.readyState}));
    },
    async received(kind) {
      let packets = 0;
      (await this.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === kind) packets += s.packetsReceived;
      });
      return packets;
    },
  };
}
"""

# Only gathering: the candidates and ICE errors of a peer connection under ``config``.
GATHER_JS = """
async (config) => {
  const pc = new RTCPeerConnection(config);
  const candidates = [], errors = [];
  pc.onicecandidate = ({candidate}) => candidate && candidate.candidate
    && candidates.push(candidate.candidate);
  pc.onicecandidateerror = (e) => errors.push({code: e.errorCode, text: e.errorText});
  pc.createDataChannel('probe');
  await pc.setLocalDescription();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('gathering not complete in 10 s')), 10000);
    const check = () => pc.iceGatheringState === 'complete' && (clearTimeout(timer), resolve());
    pc.onicegatheringstatechange = check;
    check();
  });
  pc.close();
  return {candidates, errors};
}
"""


async def start_peers(
    pages: list[Page], config: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``window.peer`` on every page, getUserMedia done; the local video settings."""
    settings = []
    for page in pages:
        await page.evaluate(PEER_JS, config or {})
        settings.append(await page.evaluate("peer.start()"))
    return settings


async def connect(a: Page, b: Page, timeout: float = CONNECT_TIMEOUT) -> list[dict[str, Any]]:
    """Offer from a, answer from b, trickle candidates both ways until both are connected."""
    offer = await a.evaluate("peer.offer()")
    answer = await b.evaluate("offer => peer.answer(offer)", offer)
    await a.evaluate("answer => peer.accept(answer)", answer)
    exchanged: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        for source, target in ((a, b), (b, a)):
            candidates = await source.evaluate("peer.take()")
            if candidates:
                exchanged += candidates
                await target.evaluate("list => peer.add(list)", candidates)
        states = [await page.evaluate("peer.pc.connectionState") for page in (a, b)]
        if states == ["connected", "connected"]:
            return exchanged
        assert "failed" not in states, states
        if time.monotonic() > deadline:
            raise TimeoutError(f"not connected within {timeout}s: {states}")
        await asyncio.sleep(0.05)


async def assert_media_flows(pages: list[Page]) -> None:
    """Each page's remote <video> plays and its audio is live and arriving."""
    for page in pages:
        video = await wait_video_playing(page, "#remote")
        assert (video["width"], video["height"]) == VIDEO_SIZE, video
        receivers = await page.evaluate("peer.receivers()")
        assert sorted(r["kind"] for r in receivers) == ["audio", "video"], receivers
        assert all(r["state"] == "live" for r in receivers), receivers
        await page.wait_for_function("peer.received('audio').then(n => n > 0)", polling=100)


async def candidates_report(pages: list[Page], exchanged: list[dict[str, Any]]) -> list[Any]:
    """Every candidate's address (gathered, signalled, in getStats) logged and checked."""
    reports = [await ice_report(page) for page in pages]
    gathered = [line for page in pages for line in await page.evaluate("peer.gathered")]
    print("candidates gathered:", *gathered, sep="\n  ")
    addresses = set().union(*(candidate_addresses(r) for r in reports))
    addresses |= {c["candidate"].split()[4] for c in exchanged}
    addresses |= {line.split()[4] for line in gathered}
    print("candidate addresses:", sorted(addresses))
    assert addresses
    assert_loopback_only(addresses)
    return reports


async def test_two_pages_see_and_hear_each_other(
    netns_server: ServerProcess, chromium: Chromium
) -> None:
    started = time.monotonic()
    register(netns_server.url)  # the API answers inside the namespace too
    alice, bob = await chromium.participants(2, url=f"{netns_server.url}/healthz")
    pages = [alice.page, bob.page]
    assert await alice.page.evaluate("window.isSecureContext")
    settings = await start_peers(pages)
    assert all((s["width"], s["height"]) == VIDEO_SIZE for s in settings), settings

    exchanged = await connect(*pages)
    await assert_media_flows(pages)
    reports = await candidates_report(pages, exchanged)
    for report in reports:
        (pc,) = report
        assert pc["selected"]["local"]["type"] == "host", pc["selected"]
        assert pc["selected"]["remote"]["type"] in {"host", "prflx"}, pc["selected"]
    # Two contexts: two separate users (no shared storage).
    await alice.page.evaluate("localStorage.setItem('who', 'alice')")
    assert await bob.page.evaluate("localStorage.getItem('who')") is None
    assert chromium.errors() == []
    print(f"direct: connected and playing in {time.monotonic() - started:.1f}s")


async def test_relay_through_coturn(
    netns_server: ServerProcess, chromium: Chromium, turn_server: TurnServer
) -> None:
    started = time.monotonic()
    alice, bob = await chromium.participants(2, url=f"{netns_server.url}/healthz")
    pages = [alice.page, bob.page]
    for page, user in zip(pages, ("alice", "bob"), strict=True):
        config = {"iceServers": [turn_server.ice_server(user)], "iceTransportPolicy": "relay"}
        await start_peers([page], config)

    exchanged = await connect(*pages)
    await assert_media_flows(pages)
    reports = await candidates_report(pages, exchanged)
    for report in reports:
        (pc,) = report
        assert pc["iceTransportPolicy"] == "relay"
        assert {c["type"] for c in pc["local"]} == {"relay"}, pc["local"]
        selected = pc["selected"]
        assert selected["local"]["type"] == selected["remote"]["type"] == "relay", selected
        assert selected["local"]["relayProtocol"] == "udp", selected
        assert selected["bytesReceived"] > 0
    assert all(c["candidate"].split()[7] == "relay" for c in exchanged), exchanged
    assert chromium.errors() == []
    print(f"relay: connected and playing in {time.monotonic() - started:.1f}s")


async def test_turn_refuses_forged_and_expired_credentials(
    netns_server: ServerProcess, chromium: Chromium, turn_server: TurnServer
) -> None:
    username, credential = turn_server.credentials("carol")
    forged = "A" * len(credential)
    expired = turn_server.credentials("carol", ttl=-60)

    # coturn's own client: an allocation with the good credentials, none with the bad ones.
    allocation = turn_server.allocate(username, credential)
    assert allocation.ok and allocation.relay_address, allocation.output
    assert allocation.relay_address.startswith("127.0.0.1:")
    for bad in ((username, forged), expired, (f"{username}x", credential)):
        refused = turn_server.allocate(*bad)
        assert not refused.ok and refused.returncode == 255, refused.output
        assert "Cannot complete Allocation" in refused.output, refused.output

    # The browser: relay-only gathering finds a relay candidate with the good credentials,
    # and none but a 401 with the bad ones.
    (page,) = [p.page for p in await chromium.participants(1, url=f"{netns_server.url}/healthz")]

    async def gather(user: str, password: str) -> dict[str, Any]:
        server = turn_server.ice_server(username=user, credential=password)
        config = {"iceServers": [server], "iceTransportPolicy": "relay"}
        result: dict[str, Any] = await page.evaluate(GATHER_JS, config)
        return result

    good = await gather(username, credential)
    assert good["candidates"] and all(" typ relay " in c for c in good["candidates"]), good
    assert_loopback_only({c.split()[4] for c in good["candidates"]})
    for user, password in ((username, forged), expired):
        bad = await gather(user, password)
        assert bad["candidates"] == [], bad
        assert {e["code"] for e in bad["errors"]} == {401}, bad


async def test_refused_camera_throws_not_allowed(
    netns_server: ServerProcess, launch_chromium: Callable[..., Awaitable[Chromium]]
) -> None:
    browser = await launch_chromium(fake_ui=False)
    url = f"{netns_server.url}/healthz"
    refused = await browser.new_participant("no-camera", url=url, camera=False)
    allowed = await browser.new_participant("all-allowed", url=url)
    get_user_media = """async (constraints) => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia(constraints);
        stream.getTracks().forEach((t) => t.stop());
        return stream.getTracks().map((t) => t.kind).sort().join(',');
      } catch (e) { return e.name; }
    }"""

    async def media(participant: Participant, constraints: dict[str, bool]) -> str:
        result: str = await participant.page.evaluate(get_user_media, constraints)
        return result

    assert await media(refused, {"video": True}) == "NotAllowedError"
    assert await media(refused, {"audio": True, "video": True}) == "NotAllowedError"
    assert await media(refused, {"audio": True}) == "audio"
    assert await media(allowed, {"audio": True, "video": True}) == "audio,video"


async def test_fake_microphone_plays_a_known_tone(
    netns_server: ServerProcess,
    launch_chromium: Callable[..., Awaitable[Chromium]],
    tmp_path: Path,
) -> None:
    tone = write_tone_wav(tmp_path / "tone.wav", frequency=440.0)
    browser = await launch_chromium(fake_audio_file=tone)
    alice, bob = await browser.participants(2, url=f"{netns_server.url}/healthz")
    pages = [alice.page, bob.page]
    await start_peers(pages)
    await connect(*pages)
    await assert_media_flows(pages)
    heard = await bob.page.evaluate(f"({AUDIO_TONE_JS})(peer.remote)")
    print("bob hears:", heard)
    assert abs(heard["frequency"] - 440.0) < 25, heard
    assert heard["peak"] > 0.05, heard
