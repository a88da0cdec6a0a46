"""What the SDK is configured with: the contract's ``SDKConfig``, ``TURNServer``, ``LogLevel``
and the meeting options, plus the SDK's own settings (credentials, timings)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:  # the media extra's type; never imported at run time from here
    from aiortc import MediaStreamTrack

API_PATH = "/v1"
WS_PATH = "/v1/ws"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"

    @property
    def logging_level(self) -> int:
        """The stdlib ``logging`` level of this level."""
        return {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING}.get(
            self.value, logging.ERROR
        )


@dataclass(frozen=True)
class TURNServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class JoinMeetingOptions:
    """The contract's mute options, and **extension** (media extra, DECISIONS §9) the tracks
    to publish: any aiortc ``MediaStreamTrack`` (a file, a generated tone, a camera), or None
    to receive only. The SDK reads each track once and sends it on every link."""

    audio_muted: bool = False
    video_muted: bool = False
    audio_track: MediaStreamTrack | None = None
    video_track: MediaStreamTrack | None = None


@dataclass(frozen=True)
class CreateMeetingOptions:
    """``title``, then the join options of the creator (who joins what they create)."""

    title: str | None = None
    audio_muted: bool = False
    video_muted: bool = False
    audio_track: MediaStreamTrack | None = None
    video_track: MediaStreamTrack | None = None

    def join_options(self) -> JoinMeetingOptions:
        return JoinMeetingOptions(
            self.audio_muted, self.video_muted, self.audio_track, self.video_track
        )


@dataclass
class SDKConfig:
    """The contract's ``SDKConfig`` (``api_server``, ``ws_server``, ``stun_servers``,
    ``turn_servers``, ``log_level``) and the SDK's extensions below them.

    ``api_server`` is the REST base (``http://host:3000/v1``) and ``ws_server`` the WebSocket
    endpoint (``ws://host:3000/v1/ws``); a bare origin gets ``/v1`` or ``/v1/ws`` appended.
    """

    api_server: str
    ws_server: str
    stun_servers: list[str] = field(default_factory=list)
    turn_servers: list[TURNServer] = field(default_factory=list)
    log_level: LogLevel | None = None
    # Extension: an existing session (e.g. saved from ``MeetingSDK.tokens``).
    access_token: str | None = None
    refresh_token: str | None = None
    # Extension: timings, in seconds.
    request_timeout: float = 10.0
    heartbeat_interval: float = 30.0
    # A ping unanswered this long is missed (two in a row, nothing received: the link is dead).
    pong_timeout: float = 5.0
    reconnect_base_delay: float = 0.25
    reconnect_max_delay: float = 5.0
    reconnect_timeout: float = 120.0
    # Sent as Accept-Language ("en" for English error texts; the server's default is Chinese).
    # A program that talks to a person passes ``accept_language()``: their locale's language.
    language: str | None = None
    # Extension (media extra): False joins without media even where aiortc is installed (a
    # chat bot: nothing to decode); "relay" uses TURN relays only; seconds between statistics.
    media: bool = True
    ice_transport_policy: Literal["all", "relay"] = "all"
    stats_interval: float = 2.0

    @classmethod
    def for_server(cls, url: str, **options: Any) -> SDKConfig:
        """Both addresses from one origin: ``SDKConfig.for_server("http://localhost:3000")``."""
        origin = url.rstrip("/")
        ws_origin = "ws" + origin.removeprefix("http")  # http→ws, https→wss
        return cls(api_server=origin + API_PATH, ws_server=ws_origin + WS_PATH, **options)

    @property
    def api_base(self) -> str:
        return _with_default_path(self.api_server, API_PATH)

    @property
    def ws_url(self) -> str:
        return _with_default_path(self.ws_server, WS_PATH)

    @property
    def origin(self) -> str:
        """``scheme://host:port`` of the REST server, where ``/healthz`` lives."""
        parts = urlsplit(self.api_server)
        return f"{parts.scheme}://{parts.netloc}"

    def problems(self) -> dict[str, str]:
        """What is wrong with this configuration, by field; empty when it is usable."""
        found: dict[str, str] = {}
        if not _has_scheme(self.api_server, ("http", "https")):
            found["api_server"] = "must be an http:// or https:// URL"
        if not _has_scheme(self.ws_server, ("ws", "wss")):
            found["ws_server"] = "must be a ws:// or wss:// URL"
        if any(not url.startswith(("stun:", "stuns:")) for url in self.stun_servers):
            found["stun_servers"] = "each must be a stun: or stuns: URL"
        for turn in self.turn_servers:
            if not turn.urls or any(not u.startswith(("turn:", "turns:")) for u in turn.urls):
                found["turn_servers"] = "each must list turn: or turns: URLs"
        if self.ice_transport_policy not in ("all", "relay"):
            found["ice_transport_policy"] = 'must be "all" or "relay"'
        if self.log_level is not None and not isinstance(self.log_level, LogLevel):
            found["log_level"] = "must be a LogLevel"
        timings = (
            self.request_timeout,
            self.heartbeat_interval,
            self.pong_timeout,
            self.reconnect_base_delay,
            self.stats_interval,
        )
        if min(timings) <= 0 or self.reconnect_max_delay < self.reconnect_base_delay:
            found["timings"] = "must be positive, and the max delay at least the base delay"
        return found


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")


def accept_language(environ: Mapping[str, str] | None = None) -> str:
    """An ``Accept-Language`` value for ``SDKConfig.language`` from the POSIX locale of the
    person running the program (``LC_ALL``, ``LC_MESSAGES``, ``LANG``; GNU's ``LANGUAGE``
    list first): ``zh_CN.UTF-8`` → ``"zh-CN, en;q=0.5"``, ``en_GB.UTF-8`` → ``"en-GB"``.

    English when the locale is unset, ``C`` or ``POSIX``; English second after any other
    language, since the server speaks only Chinese (its default) and English.
    """
    env = os.environ if environ is None else environ
    locale = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "")
    locale = locale.split(".")[0].split("@")[0]
    if locale in ("", "C", "POSIX"):
        return "en"
    preferred = env.get("LANGUAGE", "").split(":")[0] or locale
    tag = preferred.split(".")[0].split("@")[0].replace("_", "-")
    if not _LANGUAGE_TAG.fullmatch(tag):
        return "en"
    return tag if tag.split("-")[0].lower() == "en" else f"{tag}, en;q=0.5"


def _has_scheme(url: str, schemes: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    return parts.scheme in schemes and bool(parts.netloc)


def _with_default_path(url: str, path: str) -> str:
    url = url.rstrip("/")
    return url if urlsplit(url).path else url + path
