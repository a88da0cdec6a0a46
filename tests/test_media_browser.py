"""Python ↔ browser: a Python participant (aiortc) and real Chromium pages on the browser SDK
meet in one room through a real server, inside a private loopback-only network
(tests/browser_fixtures.py), and each side receives the other's media."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from aimeeting import ConnectionState, MeetingEvent
from harness.browser import (
    Chromium,
    assert_loopback_only,
    candidate_addresses,
    ice_report,
    write_tone_wav,
)
from harness.sdk_page import SdkUser, people
from harness.server import ServerProcess
from tests.utils.media import PyMember, frames
from tests.utils.proxy import TcpProxy
from tests.utils.turn import TurnServer

BROWSER_TONE, PYTHON_TONE = 440.0, 1000.0


@pytest.fixture
async def browser(launch_chromium: Callable[..., Awaitable[Chromium]], tmp_path: Path) -> Chromium:
    """Chromium whose fake microphone plays BROWSER_TONE."""
    tone = write_tone_wav(tmp_path / "tone.wav", frequency=BROWSER_TONE)
    return await launch_chromium(fake_audio_file=tone)


async def test_python_and_browsers_see_and_hear_each_other(
    netns_server: ServerProcess, browser: Chromium
) -> None:
    alice, carol = await people(browser, netns_server, "Alice", "Carol")
    bot = await PyMember.sign_up(netns_server.url, "PyBot")
    try:
        # The browser starts the meeting; the bot enters and calls her (Python offers).
        number = await alice.create()
        await bot.join(number, **bot.publishing(PYTHON_TONE))
        await bot.sees(alice)
        await bot.hears(alice, BROWSER_TONE)
        video = await alice.sees(bot)
        assert (video["width"], video["height"]) == (320, 240), video
        await alice.hears(bot)
        tone = await alice.tone_of(bot)
        assert abs(tone["frequency"] - PYTHON_TONE) < 25, tone

        # Carol enters after the bot: she calls it (the browser offers, Python answers).
        await carol.join(number)
        await bot.sees(carol)
        await bot.hears(carol, BROWSER_TONE)
        await carol.sees(bot)
        await carol.hears(bot)
        assert_loopback_only(candidate_addresses(await ice_report(carol.page)))

        # Carol shares her screen: a renegotiation the bot answers; it gets a "screen" track.
        await carol.call("startScreenShare")
        screen = await frames(await bot.track(carol, "screen"), 3)
        assert screen[-1].width > 0
        await carol.call("stopScreenShare")
        assert bot.events is not None
        await bot.events.wait(
            MeetingEvent.TRACK_REMOVED, lambda e: (e.user_id, e.kind) == (carol.user_id, "screen")
        )
        await bot.sees(carol)  # her camera goes on

        # The bot mutes its microphone: silence reaches the browsers, and they are told.
        assert bot.meeting is not None
        await bot.meeting.mute_audio(True)
        await alice.wait_event("media_state_changed", {"userId": bot.user_id, "audioMuted": True})
        await alice.tone_until(bot, lambda tone: tone["peak"] < 0.01)
        await bot.meeting.mute_audio(False)
        await alice.tone_until(bot, lambda tone: abs(tone["frequency"] - PYTHON_TONE) < 25)

        # The bot leaves: the browsers' tiles of it go.
        await bot.meeting.leave()
        for user in (alice, carol):
            await user.wait_event("track_removed", {"userId": bot.user_id, "kind": "video"})
            assert await user.shows_no_video_of(bot)
        # And the bot saw Alice's and Carol's tracks end with its links.
        removed = {(e.user_id, e.kind) for e in bot.events.of(MeetingEvent.TRACK_REMOVED)}
        assert {(alice.user_id, "audio"), (carol.user_id, "video")} <= removed
    finally:
        await bot.close()
    assert browser.errors() == [], browser.errors()


async def test_relay_only_through_coturn(
    netns_start_server: Callable[..., ServerProcess], browser: Chromium, turn_server: TurnServer
) -> None:
    # aiortc 1.16 has iceTransportPolicy "relay": it gathers only its TURN allocation. The
    # TURN credentials come from the server (AIMEETING_TURN_*), as for browsers.
    server = netns_start_server(turn_urls=turn_server.url, turn_secret=turn_server.secret)
    (alice,) = await people(browser, server, "Alice", iceTransportPolicy="relay")
    bot = await PyMember.sign_up(server.url, "PyBot", ice_transport_policy="relay")
    try:
        number = await bot.create(**bot.publishing(PYTHON_TONE))
        await alice.join(number)
        await bot.sees(alice)
        await bot.hears(alice, BROWSER_TONE)
        await alice.sees(bot)
        await alice.hears(bot)
        (pc,) = await ice_report(alice.page)
        selected = pc["selected"]
        assert selected["local"]["type"] == selected["remote"]["type"] == "relay", selected
        assert {c["type"] for c in pc["remote"]} == {"relay"}, pc  # all the bot offered
        assert_loopback_only(candidate_addresses([pc]))
    finally:
        await bot.close()


async def test_either_side_losing_its_websocket_gets_media_back_by_itself(
    netns_server: ServerProcess, browser: Chromium
) -> None:
    bot_proxy = await TcpProxy("127.0.0.1", netns_server.port).start()
    alice_proxy = await TcpProxy("127.0.0.1", netns_server.port).start()
    # Alice reaches the server through a proxy of her own: her page, REST calls and WebSocket
    # (one origin, so the WebSocket's Origin check lets her in).
    page = await browser.new_participant("Alice")
    alice = await SdkUser(page, alice_proxy.url, "Alice").install(
        reconnectBaseDelay=100, reconnectMaxDelay=500
    )
    bot = await PyMember.sign_up(bot_proxy.url, "PyBot")
    try:
        number = await alice.create()
        await bot.join(number, **bot.publishing(PYTHON_TONE))
        await bot.sees(alice)
        await alice.sees(bot)
        assert bot.events is not None

        # The bot's socket drops: it rejoins, and replaces its link (aiortc cannot restart
        # ICE): the browser takes the fresh offer, and media flows again both ways.
        assert bot_proxy.cut(down_for=1.0) >= 1
        for state in (ConnectionState.RECONNECTING, ConnectionState.CONNECTED):
            await bot.events.wait(
                MeetingEvent.CONNECTION_STATE_CHANGED, lambda e, s=state: e.state is s, 20
            )
        await bot.sees(alice, after=1)
        await bot.hears(alice, BROWSER_TONE, after=1)
        await alice.wait_event("track_removed", {"userId": bot.user_id, "kind": "video"})
        await alice.sees(bot)
        await alice.hears(bot)

        # Alice's socket drops: her SDK restarts ICE; the bot answers with a fresh link.
        assert alice_proxy.cut(down_for=1.0) >= 1
        await alice.wait_event("connection_state_changed", {"state": "reconnecting"})
        await alice.wait_event("connection_state_changed", {"state": "connected"}, timeout=20)
        await bot.sees(alice, after=2)
        await bot.hears(alice, BROWSER_TONE, after=2)
        await alice.sees(bot)
        tone = await alice.tone_until(bot, lambda t: abs(t["frequency"] - PYTHON_TONE) < 25)
        assert tone["peak"] > 0.1
        assert await alice.events("user_left") == []
        assert not bot.events.of(MeetingEvent.USER_LEFT)
    finally:
        await bot.close()
        await bot_proxy.stop()
        await alice_proxy.stop()
