"""A participant driving the browser SDK in a real page: the SDK as served by the server
(``/sdk/aimeeting-sdk.js``), loaded into a page of the server's origin.

``window.t`` in the page holds the SDK, the meeting, every event as a plain object (streams
and tracks left out) and one ``<video>`` per remote camera/screen (``#v-<user>-<kind>``), so
the test asks the page what a person would see and hear.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.accounts import PASSWORD, unique_email
from harness.browser import (
    ACTION_TIMEOUT,
    AUDIO_TONE_JS,
    Chromium,
    Participant,
    wait_video_playing,
)

INSTALL_JS = """
async ({server, config}) => {
  const m = await import('/sdk/aimeeting-sdk.js');
  const sdk = new m.MeetingSDK();
  await sdk.initialize({apiServer: server, wsServer: server, ...config});
  const plain = (value) => value === undefined ? null : JSON.parse(JSON.stringify(value, (key, v) =>
    v instanceof MediaStream || v instanceof MediaStreamTrack ? undefined
      : v instanceof Error ? {name: v.name, code: v.code, message: v.message, details: v.details}
      : v));
  const t = window.t = {m, sdk, meeting: null, events: [], audio: {}, frames: {}};
  // Small tiles, so that every <video> stays in view: Chromium pauses muted autoplaying
  // videos that are scrolled out of it.
  document.head.append(Object.assign(document.createElement('style'),
    {textContent: 'video { width: 96px; height: 72px; }'}));
  t.record = (meeting) => {
    for (const type of Object.values(m.MeetingEvent)) {
      meeting.on(type, (event) => t.events.push({type, at: performance.now(), ...plain(event)}));
    }
    meeting.on(m.MeetingEvent.TRACK_ADDED, ({userId, kind, track, stream}) => {
      if (kind === 'audio') return void (t.audio[userId] = track);
      const id = `v-${userId}-${kind}`;
      const video = document.getElementById(id) || document.body.appendChild(Object.assign(
        document.createElement('video'), {id, autoplay: true, muted: true, playsInline: true}));
      video.srcObject = stream;
      // When the first frame of a member's camera was shown (bench/media.py).
      const shown = () => (t.frames[userId] ??= performance.now());
      if (kind === 'video') video.requestVideoFrameCallback(shown);
    });
    meeting.on(m.MeetingEvent.TRACK_REMOVED, ({userId, kind}) => {
      if (kind !== 'audio') document.getElementById(`v-${userId}-${kind}`)?.remove();
    });
  };
  t.enter = async (number, options = {}) => {
    t.joinCalledAt = performance.now();
    const meeting = number
      ? await sdk.joinMeeting(number, options) : await sdk.createMeeting(options);
    t.meeting = meeting;
    t.record(meeting);
    return {id: meeting.id, number: meeting.meetingNumber, userId: meeting.localUserId};
  };
  t.call = async (name, ...args) => {
    try { return {ok: plain(await t.meeting[name](...args)) ?? null}; }
    catch (error) { return {error: plain(error)}; }
  };
  t.of = (type) => t.events.filter((e) => e.type === type);
}
"""


VIDEO_STATE_JS = """(selector) => {
  const video = document.querySelector(selector);
  if (!video) return {element: null, events: t.events.filter((e) => e.type.startsWith('track'))};
  const tracks = video.srcObject ? video.srcObject.getTracks() : [];
  return {width: video.videoWidth, time: video.currentTime, readyState: video.readyState,
    paused: video.paused, tracks: tracks.map((x) => [x.kind, x.readyState, x.muted, x.enabled])};
}"""


class Member(Protocol):
    """Anyone in a meeting: a page's ``SdkUser``, or a Python participant."""

    nickname: str
    user_id: str


@dataclass
class SdkUser:
    """One person: a browser participant, signed up through the SDK."""

    participant: Participant
    server: str
    nickname: str
    user_id: str = ""
    meeting_id: str = ""
    number: str = ""

    @property
    def page(self) -> Any:
        return self.participant.page

    async def install(self, **config: Any) -> SdkUser:
        """Open the server's origin, load the SDK, register a fresh account."""
        await self.page.goto(f"{self.server}/healthz")
        await self.page.evaluate(INSTALL_JS, {"server": self.server, "config": config})
        email = unique_email(self.nickname.lower())
        user = await self.js(
            "([e, p, n]) => t.sdk.register(e, p, n)", [email, PASSWORD, self.nickname]
        )
        self.user_id = user["id"]
        return self

    async def js(self, expression: str, arg: Any = None) -> Any:
        return await self.page.evaluate(expression, arg)

    async def create(self, **options: Any) -> str:
        joined = await self.js("o => t.enter(null, o)", options)
        self.meeting_id, self.number = joined["id"], joined["number"]
        return self.number

    async def join(self, number: str, **options: Any) -> None:
        joined = await self.js("([n, o]) => t.enter(n, o)", [number, options])
        self.meeting_id, self.number = joined["id"], joined["number"]

    async def join_error(self, number: str, **options: Any) -> dict[str, Any]:
        """Join expecting a refusal: the ``MeetingError`` as a plain object."""
        result = await self.js(
            "async ([n, o]) => { try { await t.enter(n, o); return null; }"
            " catch (e) { return {name: e.name, code: e.code, message: e.message,"
            " details: e.details}; } }",
            [number, options],
        )
        assert result is not None, f"{self.nickname} joined {number}, expected a refusal"
        return dict(result)

    async def call(self, method: str, *args: Any) -> Any:
        """``meeting[method](...args)``; raises AssertionError with the MeetingError if any."""
        result = await self.js("([m, a]) => t.call(m, ...a)", [method, list(args)])
        assert "error" not in result, f"{self.nickname}.{method}{args}: {result['error']}"
        return result["ok"]

    async def events(self, type: str) -> list[dict[str, Any]]:
        return list(await self.js("type => t.of(type)", type))

    async def wait_event(
        self, type: str, match: dict[str, Any] | None = None, timeout: float = ACTION_TIMEOUT
    ) -> dict[str, Any]:
        """The first recorded event of ``type`` whose fields include ``match``."""
        js = """([type, match]) => t.of(type).find((e) =>
            Object.entries(match).every(([k, v]) => JSON.stringify(e[k]) === JSON.stringify(v)))"""
        handle = await self.page.wait_for_function(
            js, arg=[type, match or {}], polling=100, timeout=timeout * 1000
        )
        event: dict[str, Any] = await handle.json_value()
        return event

    async def sees(
        self, other: Member, kind: str = "video", timeout: float = ACTION_TIMEOUT
    ) -> dict[str, Any]:
        """Waits until ``other``'s camera (or ``screen``) plays here: a size, time advancing."""
        selector = f"#v-{other.user_id}-{kind}"
        try:
            return await wait_video_playing(self.page, selector, timeout)
        except Exception as exc:  # Playwright's TimeoutError: say what the page had instead
            state = await self.js(VIDEO_STATE_JS, selector)
            raise AssertionError(
                f"{self.nickname} does not see {other.nickname}'s {kind}: {state}"
            ) from exc

    async def hears(self, other: Member, timeout: float = ACTION_TIMEOUT) -> None:
        """Waits until ``other``'s microphone track arrived here and is live, with packets."""
        js = """async (userId) => {
          const track = t.audio[userId];
          if (!track || track.readyState !== 'live') return false;
          const pc = window.__peerConnections.find((pc) =>
            pc.getReceivers().some((r) => r.track === track));
          if (!pc) return false;
          let packets = 0;
          (await pc.getStats()).forEach((s) => {
            if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived;
          });
          return packets > 0;
        }"""
        await self.page.wait_for_function(
            js, arg=other.user_id, polling=250, timeout=timeout * 1000
        )

    async def shows_no_video_of(self, other: Member, kind: str = "video") -> bool:
        return bool(
            await self.js("id => !document.getElementById(id)", f"#v-{other.user_id}-{kind}"[1:])
        )

    async def tone_of(self, other: Member) -> dict[str, float]:
        """The loudest frequency and the level of what ``other``'s microphone plays here."""
        js = f"u => ({AUDIO_TONE_JS})(t.meeting.getRemoteStream(u))"
        tone: dict[str, float] = await self.js(js, other.user_id)
        return tone

    async def tone_until(
        self,
        other: Member,
        check: Callable[[dict[str, float]], bool],
        timeout: float = ACTION_TIMEOUT,
    ) -> dict[str, float]:
        """``tone_of(other)`` again until it passes ``check`` (what was on its way when it
        changed plays out first)."""
        deadline = time.monotonic() + timeout
        while not check(tone := await self.tone_of(other)):
            assert time.monotonic() < deadline, f"{self.nickname} hears {other.nickname}: {tone}"
        return tone

    def __repr__(self) -> str:
        return f"SdkUser({self.nickname}, {self.user_id})"


async def people(browser: Chromium, server: Any, *names: str, **config: Any) -> list[SdkUser]:
    """A page per name in ``browser``, each signed up on ``server`` through the SDK."""
    users = []
    for name in names:
        participant = await browser.new_participant(name)
        users.append(await SdkUser(participant, server.url, name).install(**config))
    return users


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)[:4000]
