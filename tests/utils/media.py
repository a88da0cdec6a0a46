"""Python media helpers for tests: what a Python participant receives, measured (frame sizes,
a tone's frequency by FFT), with a timeout on every wait."""

from __future__ import annotations

import asyncio
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame

from aimeeting import (
    CreateMeetingOptions,
    JoinMeetingOptions,
    MeetingEvent,
    MeetingSDK,
    TrackAddedEvent,
)
from aimeeting.sdk import Meeting
from aimeeting.sdk.media.sources import PictureTrack, ToneTrack, name_card
from tests.utils.sdk import Recorder, signed_in

TIMEOUT = 20.0


async def remote_track(
    recorder: Recorder, user_id: str, kind: str, timeout: float = TIMEOUT, after: int = 0
) -> MediaStreamTrack:
    """The track of ``user_id``'s ``kind`` announced by ``track_added`` (the ``after``-th
    one on: 1 skips the first, for a track announced again)."""

    def matches(event: TrackAddedEvent) -> bool:
        return event.user_id == user_id and event.kind == kind

    await recorder.until(
        lambda: len([e for e in recorder.of(MeetingEvent.TRACK_ADDED) if matches(e)]) > after,
        timeout,
    )
    found = [e for e in recorder.of(MeetingEvent.TRACK_ADDED) if matches(e)]
    return found[after].track


async def frames(track: MediaStreamTrack, count: int, timeout: float = TIMEOUT) -> list[Any]:
    """The next ``count`` frames of ``track``."""

    async def take() -> list[Any]:
        return [await track.recv() for _ in range(count)]

    return await asyncio.wait_for(take(), timeout)


def dominant_frequency(audio: list[AudioFrame]) -> float:
    """The loudest frequency (Hz) of consecutive audio frames (the first channel)."""
    samples = np.concatenate([_mono(frame) for frame in audio])
    return peak_frequency(samples, audio[0].sample_rate)


def wav_frequency(path: Path) -> float:
    """The loudest frequency of a 16-bit WAV file's last two seconds."""
    with wave.open(str(path)) as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)[-2 * rate :]
    return peak_frequency(samples, rate)


def peak_frequency(samples: np.ndarray, rate: int) -> float:
    """The loudest frequency (Hz) of mono samples, through a Hann window."""
    samples = samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def level(audio: list[AudioFrame]) -> float:
    """The peak amplitude, 0..1, of 16-bit audio frames."""
    return float(max(np.abs(_mono(frame)).max() for frame in audio)) / 32768


def _mono(frame: AudioFrame) -> np.ndarray:
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        return data[0]
    return data.reshape(-1, channels)[:, 0]


def video_size(frame: VideoFrame) -> tuple[int, int]:
    return frame.width, frame.height


def mean_color(frame: VideoFrame) -> tuple[int, int, int]:
    """The average RGB colour of a frame."""
    rgb = frame.to_ndarray(format="rgb24")
    return tuple(int(v) for v in rgb.reshape(-1, 3).mean(axis=0))  # type: ignore[return-value]


@dataclass
class PyMember:
    """A Python participant with media: its SDK, its meeting, every event it saw."""

    sdk: MeetingSDK
    nickname: str
    user_id: str
    meeting: Meeting | None = None
    events: Recorder | None = None
    numbers: list[str] = field(default_factory=list)

    @classmethod
    async def sign_up(cls, url: str, nickname: str, **config: Any) -> PyMember:
        sdk = await signed_in(url, nickname, media=True, **config)
        assert sdk.user is not None
        return cls(sdk, nickname, sdk.user.id)

    def publishing(self, frequency: float, **options: Any) -> dict[str, Any]:
        """Join options sending a ``frequency`` tone and a 320x240 card with our name."""
        return {
            "audio_track": ToneTrack(frequency),
            "video_track": PictureTrack(name_card(self.nickname)),
            **options,
        }

    async def create(self, **options: Any) -> str:
        return self._entered(await self.sdk.create_meeting(CreateMeetingOptions(**options)))

    async def join(self, number: str, **options: Any) -> str:
        return self._entered(await self.sdk.join_meeting(number, JoinMeetingOptions(**options)))

    def _entered(self, meeting: Meeting) -> str:
        self.meeting, self.events = meeting, Recorder(meeting)
        return meeting.meeting_number

    async def track(self, other: Any, kind: str, after: int = 0) -> MediaStreamTrack:
        assert self.events is not None
        return await remote_track(self.events, other.user_id, kind, after=after)

    async def hears(self, other: Any, frequency: float, after: int = 0) -> None:
        """``other``'s audio arrives here, and is the tone of ``frequency``."""
        heard = await frames(await self.track(other, "audio", after), 50)
        assert abs(dominant_frequency(heard[10:]) - frequency) < 15, dominant_frequency(heard)

    async def sees(self, other: Any, size: tuple[int, int] = (320, 240), after: int = 0) -> None:
        """``other``'s camera arrives here, frames of ``size``."""
        seen = await frames(await self.track(other, "video", after), 5)
        assert video_size(seen[-1]) == size, video_size(seen[-1])

    async def close(self) -> None:
        await self.sdk.destroy()
