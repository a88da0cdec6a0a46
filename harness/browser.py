"""Headless Chromium (Debian's ``chromium``) through Playwright's async API, for media tests.

Never a downloaded browser: Playwright drives ``shutil.which("chromium")``. Launch it inside
``harness.netns.private_network()`` so that WebRTC only ever sees 127.0.0.0/8.

    async with Chromium(tmp_path) as browser:
        alice, bob = await browser.participants(2, url=f"{server.url}/healthz")
        await alice.page.evaluate(...)

Each participant has a browser context of its own (separate cookies and storage: separate
users) and one page; console output, page errors and crashes are collected per participant
(``report()``), ``screenshots()`` saves every page. Every page gets ``TEST_INIT_SCRIPT``:
``getUserMedia`` asks for 320x240 at 15 fps whatever the page asked (Chromium's fake camera is
640x480 at 20 fps otherwise), ``getDisplayMedia`` for at most 640x360 at 5 fps (the fake
screen is 1280x720 at 30 fps), and every ``RTCPeerConnection`` the page makes is kept in
``window.__peerConnections`` so that ``ice_report()`` can read its candidates and selected pair
whoever made it (an SDK included).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import math
import os
import shutil
import signal
import struct
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright

LAUNCH_TIMEOUT = 30.0
CLOSE_TIMEOUT = 10.0
ACTION_TIMEOUT = 15.0  # Playwright's default timeout for page actions and waits
VIDEO_SIZE = (320, 240)
VIDEO_FPS = 15

CHROMIUM_ARGS = (
    "--allow-loopback-in-peer-connection",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Accepts every camera, microphone and screen prompt. Without it, headless Chromium refuses
# getUserMedia with NotAllowedError unless the context was granted the permission, and
# getDisplayMedia waits forever for a picker.
FAKE_UI_ARG = "--use-fake-ui-for-media-stream"

TEST_INIT_SCRIPT = (
    """
(() => {
  if (window.__aimeetingTestInit) return;
  window.__aimeetingTestInit = true;
  const cap = (video, width, height, fps) => {
    if (!video) return video;
    const asked = video === true ? {} : video;
    return {...asked, width: {ideal: width}, height: {ideal: height}, frameRate: {max: fps}};
  };
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const getUserMedia = md.getUserMedia.bind(md);
    md.getUserMedia = (c = {}) =>
      getUserMedia({...c, video: cap(c.video, WIDTH, HEIGHT, FPS)});
  }
  if (md && md.getDisplayMedia) {
    const getDisplayMedia = md.getDisplayMedia.bind(md);
    md.getDisplayMedia = (c = {}) =>
      getDisplayMedia({...c, video: cap(c.video === undefined ? true : c.video, 640, 360, 5)});
  }
  const Native = window.RTCPeerConnection;
  if (Native) {
    const made = (window.__peerConnections = []);
    window.RTCPeerConnection = class extends Native {
      constructor(...args) { super(...args); made.push(this); }
    };
  }
})();
""".replace("WIDTH", str(VIDEO_SIZE[0]))
    .replace("HEIGHT", str(VIDEO_SIZE[1]))
    .replace("FPS", str(VIDEO_FPS))
)

# Per RTCPeerConnection of the page: states, every local and remote candidate, selected pair.
ICE_REPORT_JS = """
async () => {
  const candidate = (s) => s && {
    address: s.address ?? s.ip ?? null, port: s.port, type: s.candidateType,
    protocol: s.protocol, relayProtocol: s.relayProtocol ?? null,
  };
  return Promise.all((window.__peerConnections || []).map(async (pc, index) => {
    const stats = await pc.getStats();
    const byId = new Map();
    stats.forEach((s) => byId.set(s.id, s));
    const out = {
      index, connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
      iceTransportPolicy: pc.getConfiguration().iceTransportPolicy,
      local: [], remote: [], selected: null,
    };
    stats.forEach((s) => {
      if (s.type === 'local-candidate') out.local.push(candidate(s));
      if (s.type === 'remote-candidate') out.remote.push(candidate(s));
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = byId.get(s.selectedCandidatePairId);
        if (pair) out.selected = {
          local: candidate(byId.get(pair.localCandidateId)),
          remote: candidate(byId.get(pair.remoteCandidateId)),
          state: pair.state, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived,
        };
      }
    });
    return out;
  }));
}
"""

# A <video> plays: it has a size and its currentTime moves between two polls.
VIDEO_ADVANCING_JS = """
(selector) => {
  const video = document.querySelector(selector);
  if (!video || video.videoWidth === 0 || video.readyState < 2) return false;
  const previous = video.__testLastTime;
  video.__testLastTime = video.currentTime;
  return previous !== undefined && video.currentTime > previous
    ? {width: video.videoWidth, height: video.videoHeight, currentTime: video.currentTime}
    : false;
}
"""

# The loudest frequency of a MediaStream's audio over ~0.5 s, and its level (0..1).
AUDIO_TONE_JS = """
async (stream) => {
  // Chromium plays a remote WebRTC stream into WebAudio only while a media element plays it.
  const sink = new Audio();
  sink.muted = true;
  sink.srcObject = stream;
  await sink.play().catch(() => {});
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 4096;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const best = {frequency: 0, db: -Infinity};
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 50));
    analyser.getFloatFrequencyData(bins);
    bins.forEach((db, bin) => {
      if (db > best.db) { best.db = db; best.frequency = bin * ctx.sampleRate / analyser.fftSize; }
    });
    analyser.getFloatTimeDomainData(samples);
    samples.forEach((v) => { peak = Math.max(peak, Math.abs(v)); });
  }
  await ctx.close();
  sink.srcObject = null;
  return {frequency: best.frequency, db: best.db, peak};
}
"""


def chromium_executable() -> str | None:
    return shutil.which("chromium")


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if chromium_executable() is None:
        return "chromium not installed (Debian package chromium)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (the dev extra)"
    return None


def write_tone_wav(
    path: Path, frequency: float = 440.0, seconds: float = 2.0, rate: int = 48000
) -> Path:
    """A mono 16-bit WAV of a sine tone, for ``Chromium(fake_audio_file=...)`` (it loops)."""
    # Whole periods only, so that the looped file has no click.
    frames = round(rate * round(seconds * frequency) / frequency)
    amplitude = 0.5 * 32767
    data = b"".join(
        struct.pack("<h", round(amplitude * math.sin(2 * math.pi * frequency * n / rate)))
        for n in range(frames)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data)
    return path


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) for every process visible in /proc."""
    table: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), fields[19])  # ppid, starttime
    return table


def _descendants(roots: set[int], table: dict[int, tuple[int, str]]) -> set[int]:
    found = set(roots) & set(table)
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in table.items():
            if parent in found and pid not in found:
                found.add(pid)
                grew = True
    return found


@dataclass
class Participant:
    """One user: a browser context of its own and its page, with what the page logged."""

    name: str
    context: BrowserContext
    page: Page
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def _on_console(self, message: ConsoleMessage) -> None:
        line = f"[{message.type}] {message.text}"
        self.console.append(line)
        # The browser's own favicon request (a 404 on the server) is no error of the page.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(line)

    def _on_page_error(self, error: Any) -> None:
        line = f"[pageerror] {error}"
        self.console.append(line)
        self.errors.append(line)

    def _on_crash(self, _page: Any) -> None:
        self.console.append("[crash] the page crashed")
        self.errors.append("[crash] the page crashed")


class Chromium:
    """A launched headless Chromium and its participants; ends every process it started.

    ``fake_ui=False`` launches without ``--use-fake-ui-for-media-stream``: then each
    participant's ``camera``/``microphone`` decide (by Playwright context permissions) whether
    ``getUserMedia`` gets that device or throws ``NotAllowedError``, but ``getDisplayMedia``
    hangs (no picker): screen sharing needs the default ``fake_ui=True``.
    ``fake_audio_file`` is a WAV the fake microphone plays in a loop (``write_tone_wav``);
    ``fake_cameras`` the number of fake cameras (device switching), ``extra_args`` more flags.
    """

    def __init__(
        self,
        artifacts_dir: Path,
        *,
        fake_ui: bool = True,
        fake_audio_file: Path | None = None,
        fake_cameras: int = 1,
        extra_args: tuple[str, ...] = (),
        name: str = "chromium",
    ) -> None:
        self.artifacts_dir = artifacts_dir
        self.name = name
        self.fake_ui = fake_ui
        self.args = [
            *CHROMIUM_ARGS,
            f"--use-fake-device-for-media-stream=fps={VIDEO_FPS},device-count={fake_cameras}",
            *([FAKE_UI_ARG] if fake_ui else []),
            *([f"--use-file-for-fake-audio-capture={fake_audio_file}"] if fake_audio_file else []),
            *extra_args,
        ]
        self.participants_list: list[Participant] = []
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._processes: dict[int, str] = {}  # pid -> start time, of what the launch started
        self.pid: int | None = None  # Chromium's main process

    @property
    def browser(self) -> Browser:
        assert self._browser is not None, "Chromium not started"
        return self._browser

    async def start(self) -> Chromium:
        from playwright.async_api import async_playwright

        executable = chromium_executable()
        if executable is None:
            raise RuntimeError("chromium is not installed")
        before = set(_process_table())
        try:
            self._playwright = await asyncio.wait_for(async_playwright().start(), LAUNCH_TIMEOUT)
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable,
                args=self.args,
                headless=True,
                timeout=LAUNCH_TIMEOUT * 1000,
            )
        except BaseException:
            self._remember_processes(before)
            await self.close()
            raise
        self._remember_processes(before)
        return self

    def _remember_processes(self, before: set[int]) -> None:
        table = _process_table()
        mine = _descendants({os.getpid()}, table) - before - {os.getpid()}
        self._processes = {pid: table[pid][1] for pid in mine}

        # Chromium's main process: a chromium whose parent is not one (Playwright's driver).
        def is_chromium(pid: int) -> bool:
            with contextlib.suppress(OSError):
                return os.path.basename(os.readlink(f"/proc/{pid}/exe")) == "chromium"
            return False

        for pid in sorted(mine):
            if is_chromium(pid) and not is_chromium(table[pid][0]):
                self.pid = pid
                break

    async def new_participant(
        self,
        name: str | None = None,
        *,
        url: str | None = None,
        camera: bool = True,
        microphone: bool = True,
        locale: str = "en-US",
    ) -> Participant:
        """A new user (own context) with one page, at ``url`` if given; ``locale`` is the
        browser's language (``navigator.language``, ``Accept-Language``)."""
        if self.fake_ui and not (camera and microphone):
            raise ValueError("refusing a device needs Chromium(fake_ui=False)")
        permissions = [p for p, on in (("camera", camera), ("microphone", microphone)) if on]
        context = await self.browser.new_context(
            viewport={"width": 640, "height": 480},
            permissions=None if self.fake_ui else permissions,
            locale=locale,
        )
        context.set_default_timeout(ACTION_TIMEOUT * 1000)
        await context.add_init_script(TEST_INIT_SCRIPT)
        page = await context.new_page()
        participant = Participant(
            name or f"p{len(self.participants_list) + 1}", context=context, page=page
        )
        page.on("console", participant._on_console)
        page.on("pageerror", participant._on_page_error)
        page.on("crash", participant._on_crash)
        self.participants_list.append(participant)
        if url is not None:
            await page.goto(url)
        return participant

    async def participants(
        self, count: int, *, url: str | None = None, names: list[str] | None = None
    ) -> list[Participant]:
        """``count`` new participants (named ``names`` or p1, p2, …), each at ``url``."""
        names = names or [f"p{len(self.participants_list) + i + 1}" for i in range(count)]
        return [await self.new_participant(name, url=url) for name in names[:count]]

    def errors(self) -> list[str]:
        return [f"{p.name}: {line}" for p in self.participants_list for line in p.errors]

    def report(self, last: int = 200) -> str:
        """Every participant's console, last ``last`` lines each."""
        parts = []
        for p in self.participants_list:
            url = "(closed)" if p.page.is_closed() else p.page.url
            parts.append(f"--- {self.name}/{p.name} console ({url}) ---")
            parts.extend(p.console[-last:] or ["(nothing)"])
        return "\n".join(parts)

    async def screenshots(self, directory: Path | None = None) -> list[Path]:
        directory = directory or self.artifacts_dir
        directory.mkdir(parents=True, exist_ok=True)
        saved = []
        for p in self.participants_list:
            if p.page.is_closed():
                continue
            path = directory / f"{self.name}-{p.name}.png"
            with contextlib.suppress(Exception):
                await asyncio.wait_for(p.page.screenshot(path=str(path)), CLOSE_TIMEOUT)
                saved.append(path)
        return saved

    async def close(self) -> None:
        """Close the browser and Playwright, then end by PID whatever they left running."""
        try:
            if self._browser is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._browser.close(), CLOSE_TIMEOUT)
            if self._playwright is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._playwright.stop(), CLOSE_TIMEOUT)
        finally:
            self._browser = None
            self._playwright = None
            self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        table = _process_table()
        alive = {
            pid for pid, start in self._processes.items() if table.get(pid, (0, ""))[1] == start
        }
        for pid in _descendants(alive, table):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._processes = {}

    async def __aenter__(self) -> Chromium:
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def wait_video_playing(
    page: Page, selector: str = "video", timeout: float = ACTION_TIMEOUT
) -> dict[str, Any]:
    """Wait until the ``<video>`` at ``selector`` has a size and its time advances."""
    handle = await page.wait_for_function(
        VIDEO_ADVANCING_JS, arg=selector, polling=250, timeout=timeout * 1000
    )
    result: dict[str, Any] = await handle.json_value()
    return result


async def ice_report(page: Page) -> list[dict[str, Any]]:
    """Candidates and selected pair of every RTCPeerConnection the page made."""
    report: list[dict[str, Any]] = await page.evaluate(ICE_REPORT_JS)
    return report


def candidate_addresses(report: list[dict[str, Any]]) -> set[str]:
    addresses = set()
    for pc in report:
        for c in [*pc["local"], *pc["remote"]]:
            addresses.add(str(c["address"]))
    return addresses


def assert_loopback_only(addresses: set[str]) -> None:
    """Every address is an IPv4 address in 127.0.0.0/8 (no mDNS name, no IPv6, no LAN)."""
    loopback = ipaddress.ip_network("127.0.0.0/8")
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            raise AssertionError(f"candidate address {address!r} is not an IP") from None
        assert ip in loopback, f"candidate address {address} outside 127.0.0.0/8"
