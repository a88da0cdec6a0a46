"""WebRTC audio (aiortc/PyAV ``AudioFrame``) to what the speech engine takes: float32 mono at
16 kHz in [-1, 1].

aiortc's Opus decoder gives 48 kHz s16 stereo frames of 20 ms (960 samples a channel); other
sources (a file, a tone track) may differ. :class:`Resampler` converts with FFmpeg's
libswresample through :class:`av.AudioResampler`, which filters properly before decimating
(no aliasing, unlike taking every third sample) and keeps its state from frame to frame, so
consecutive frames join without clicks. Stereo is down-mixed (the channels averaged).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from av import AudioFrame, AudioResampler

from aimeeting.assistant.speech import SAMPLE_RATE

__all__ = ["Resampler", "resample"]

Samples = npt.NDArray[np.float32]


class Resampler:
    """One audio stream's frames to float32 mono samples at ``rate`` (16 kHz by default).

    Keep one per incoming track (it is stateful). Frames may come in any format, layout and
    rate; when they change mid-stream (a renegotiation) the converter starts afresh. Not
    thread-safe.
    """

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.rate = rate
        self._resampler: AudioResampler | None = None
        self._input: tuple[str, str, int] | None = None

    def __call__(self, frame: AudioFrame) -> Samples:
        """The samples of ``frame`` converted (possibly a few fewer or more than its duration
        at the new rate: the converter's delay; nothing is lost over a stream)."""
        shape = (frame.format.name, frame.layout.name, frame.sample_rate)
        if self._resampler is None or shape != self._input:
            self._resampler = AudioResampler(format="flt", layout="mono", rate=self.rate)
            self._input = shape
        # The converter's own clock comes from the samples it is given, not from the frames'
        # timestamps (WebRTC's may jump after packet loss).
        frame.pts = None
        return _joined(self._resampler.resample(frame))

    def flush(self) -> Samples:
        """What the converter still holds (its delay), at the end of the stream."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        samples = _joined(self._resampler.resample(None))
        self._resampler = None
        self._input = None
        return samples


def resample(samples: npt.NDArray[np.floating], rate: int, to_rate: int = SAMPLE_RATE) -> Samples:
    """Whole mono float samples at ``rate`` converted to ``to_rate`` (e.g. a WAV file's)."""
    mono = np.ascontiguousarray(samples, dtype=np.float32).reshape(1, -1)
    if rate == to_rate:
        return mono.reshape(-1).copy()
    frame = AudioFrame.from_ndarray(mono, format="flt", layout="mono")
    frame.sample_rate = rate
    resampler = Resampler(to_rate)
    return np.concatenate([resampler(frame), resampler.flush()])


def _joined(frames: list[AudioFrame]) -> Samples:
    if not frames:
        return np.zeros(0, dtype=np.float32)
    parts = [np.asarray(f.to_ndarray(), dtype=np.float32).reshape(-1) for f in frames]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]
