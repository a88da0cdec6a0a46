"""Tracks to publish without a camera or microphone (media extra): a tone, and a still picture
such as ``name_card("PyBot")``. A file plays with aiortc's own ``MediaPlayer``.

    JoinMeetingOptions(audio_track=ToneTrack(440), video_track=PictureTrack(name_card("Bot")))

Both deliver in real time (a sender reads as fast as they give), with timestamps counted in
samples or frames from the first one.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import numpy as np
from aiortc import MediaStreamTrack
from av import AudioFrame, VideoFrame

from aimeeting.sdk.media.font import HEIGHT, text_mask

SAMPLE_RATE = 48000
AUDIO_PTIME = 0.020
VIDEO_CLOCK = 90000
SIZE = (320, 240)


class _Paced(MediaStreamTrack):
    """Frame ``n`` is due ``n × period`` seconds after the first."""

    def __init__(self, period: float) -> None:
        super().__init__()
        self._period = period
        self._count = 0
        self._started: float | None = None

    async def _next(self) -> int:
        """Wait until the next frame is due; its number."""
        if self._started is None:
            self._started = time.monotonic()
        due = self._started + self._count * self._period
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        self._count += 1
        return self._count - 1


class ToneTrack(_Paced):
    """A sine tone, mono 16-bit at 48 kHz in 20 ms frames."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, level: float = 0.3) -> None:
        super().__init__(AUDIO_PTIME)
        self.frequency, self.level = frequency, level

    async def recv(self) -> AudioFrame:
        number = await self._next()
        samples = int(SAMPLE_RATE * AUDIO_PTIME)
        n = np.arange(number * samples, (number + 1) * samples)
        wave = self.level * 32767 * np.sin(2 * np.pi * self.frequency * n / SAMPLE_RATE)
        frame = AudioFrame.from_ndarray(wave.astype(np.int16).reshape(1, -1), "s16", "mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts, frame.time_base = number * samples, fractions.Fraction(1, SAMPLE_RATE)
        return frame


class PictureTrack(_Paced):
    """A still picture (an RGB ``numpy`` array, height × width × 3), ``fps`` times a second."""

    kind = "video"

    def __init__(self, picture: np.ndarray, fps: int = 15) -> None:
        super().__init__(1 / fps)
        self.picture = picture

    async def recv(self) -> VideoFrame:
        number = await self._next()
        frame = VideoFrame.from_ndarray(self.picture, format="rgb24")
        frame.pts = round(number * self._period * VIDEO_CLOCK)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        return frame


def name_card(
    name: str,
    size: tuple[int, int] = SIZE,
    background: tuple[int, int, int] = (32, 64, 160),
    ink: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """A ``size`` (width, height) picture with ``name`` written large in its middle."""
    width, height = size
    picture = np.empty((height, width, 3), np.uint8)
    picture[:] = background
    longest = max(1, len(name) * 6 - 1)  # font pixels, a space between letters
    scale = max(1, min((width - 16) // longest, (height // 3) // HEIGHT))
    mask = text_mask(name, scale)[:height, :width]
    top, left = (height - mask.shape[0]) // 2, (width - mask.shape[1]) // 2
    picture[top : top + mask.shape[0], left : left + mask.shape[1]][mask] = ink
    return picture
