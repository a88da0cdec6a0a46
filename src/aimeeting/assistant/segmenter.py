"""One speaker's audio cut into utterances for captions (pure: numpy only).

A :class:`Segmenter` takes a speaker's samples as they arrive (float32 mono 16 kHz, with the
Unix time of their first sample) and returns :class:`Utterance` s: while the speaker talks, a
*partial* one every ``partial_every`` seconds (all of the utterance so far, for a live caption
that the next one replaces), and when they pause for ``end_silence`` seconds the *final* one.
Every partial is followed by a final of the same utterance (or by :meth:`Segmenter.flush` 's).

How speech is told from the rest, and why:

- **Frames of 30 ms** and their energy (RMS in dBFS). 30 ms is the usual VAD frame: short
  enough for timing, long enough for a stable energy.
- **An adaptive noise floor**: the 10th percentile of the energies of the last 4 seconds. A
  steady background (a fan, a hum, a noisy line) becomes the floor within ~4 s and is then not
  speech, while speech, which always has quieter gaps between words and phrases, does not
  lift the floor much. Frames quieter than -70 dBFS count as -70 dBFS (digital silence,
  the zeros of a muted track and WebRTC's comfort noise would otherwise drag the floor to
  nothing and make any later sound look loud).
- **Speech starts** at a frame ``onset_db`` (10 dB) above the floor, **continues** while frames
  are ``hold_db`` (6 dB) above it (hysteresis: the soft ends of words do not cut an
  utterance), and either way only above ``min_level_db`` (-50 dBFS): comfort noise and very
  faint sounds never count.
- **Pre-roll**: the ``pre_roll`` (200 ms) before the onset is kept, since the first
  consonant of a word is often quieter than the onset threshold; Whisper does better with it.
- **The end**: after ``end_silence`` (0.6 s) without speech the utterance is final. It keeps
  ``tail`` (200 ms) after its last speech frame and drops the rest of the silence. 0.6 s is
  longer than the pauses inside a sentence and short enough for captions to follow quickly.
- **Too long**: an utterance is cut at ``max_length`` (15 s; Whisper reads 30 s windows and
  long ones make late captions), at the first quiet frame in its last 2 seconds if there is
  one, and the speech goes on as a new utterance.
- **Blips**: an utterance with less than ``min_speech`` (250 ms) of speech frames (a click,
  a cough, a knock) is dropped without a final, and gets no partial.
- **Gaps in time**: when ``at_ms`` jumps ahead of the samples received so far (lost packets, a
  paused track) by up to 1 s, the gap is filled with silence; a larger jump, or a jump back,
  ends the utterance in progress and starts afresh.

All durations are of audio, not of wall-clock time, so the results depend only on the samples
and their timestamps (and tests are exact).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SAMPLE_RATE", "Segmenter", "Utterance", "energy_db"]

SAMPLE_RATE = 16000
_SILENCE_DB = -70.0  # quieter frames count as this in the noise floor
_MAX_GAP_MS = 1000.0  # a larger jump in time is a discontinuity, not silence to fill

Samples = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Utterance:
    """Speech of one speaker: from its start to now (partial) or to its end (final)."""

    audio: Samples  # float32 mono 16 kHz, from the utterance's start
    start_ms: int  # Unix ms of its first sample
    end_ms: int  # Unix ms of its last sample
    final: bool

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.audio) / SAMPLE_RATE


def energy_db(frame: npt.NDArray[np.floating]) -> float:
    """RMS level of ``frame`` in dBFS (a full-scale square wave is 0; silence -120)."""
    power = float(np.mean(np.square(frame, dtype=np.float64))) if len(frame) else 0.0
    return 10.0 * math.log10(power + 1e-12)


class Segmenter:
    """One speaker's audio to utterances (see the module). Not thread-safe; cheap: keep one
    per speaker."""

    def __init__(
        self,
        *,
        partial_every: float = 1.0,
        end_silence: float = 0.6,
        max_length: float = 15.0,
        min_speech: float = 0.25,
        pre_roll: float = 0.2,
        tail: float = 0.2,
        frame: float = 0.03,
        onset_db: float = 10.0,
        hold_db: float = 6.0,
        min_level_db: float = -50.0,
        noise_window: float = 4.0,
        noise_percentile: float = 10.0,
    ) -> None:
        if not 0 < frame <= min(end_silence, max_length):
            raise ValueError("frame must be positive and shorter than end_silence, max_length")
        self.frame_samples = round(frame * SAMPLE_RATE)
        self.frame_ms = self.frame_samples * 1000.0 / SAMPLE_RATE
        self.partial_every = partial_every
        self.onset_db = onset_db
        self.hold_db = hold_db
        self.min_level_db = min_level_db
        self.noise_percentile = noise_percentile
        frames = self._frames_in
        self._end_silence = frames(end_silence)
        self._max_frames = frames(max_length)
        self._soft_max_frames = max(1, self._max_frames - frames(2.0))
        self._min_speech = frames(min_speech)
        self._tail = frames(tail)
        self._partial_every = frames(partial_every) if partial_every > 0 else 0
        self._pre_roll: deque[Samples] = deque(maxlen=max(1, frames(pre_roll)))
        self._history: deque[float] = deque(maxlen=max(1, frames(noise_window)))
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_ms: float | None = None  # Unix ms of _pending[0] (or of the next sample)
        self._reset_utterance()

    def _frames_in(self, seconds: float) -> int:
        return max(0, round(seconds * SAMPLE_RATE / self.frame_samples))

    def _reset_utterance(self) -> None:
        self.speaking = False
        self._frames: list[Samples] = []
        self._start_ms = 0.0
        self._voiced = 0  # speech frames in the utterance
        self._silence = 0  # frames since the last speech frame
        self._last_voiced = -1  # index of the last speech frame
        self._since_partial = 0
        self._new_speech = False  # speech frames since the last partial
        self._partial_sent = False

    def push(self, samples: npt.NDArray[np.floating], at_ms: int) -> list[Utterance]:
        """Feed ``samples`` (float32 mono 16 kHz; ``at_ms``: Unix ms of ``samples[0]``); the
        utterances (partial or final) that became due, oldest first."""
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        out: list[Utterance] = []
        if self._pending_ms is not None:
            expected = self._pending_ms + len(self._pending) * 1000.0 / SAMPLE_RATE
            gap = at_ms - expected
            if abs(gap) > _MAX_GAP_MS:
                out += self._end()
                self._pending = np.zeros(0, dtype=np.float32)
                self._pre_roll.clear()
            elif gap >= self.frame_ms:
                out += self._feed(np.zeros(round(gap * SAMPLE_RATE / 1000.0), dtype=np.float32))
        # anchored on the caller's clock at every push: no drift over a long stream
        self._pending_ms = at_ms - len(self._pending) * 1000.0 / SAMPLE_RATE
        out += self._feed(samples)
        return out

    def flush(self) -> list[Utterance]:
        """The speaker is gone (or the stream ended): the final of the utterance in progress,
        if any; the segmenter starts afresh."""
        out = self._end()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_ms = None
        self._pre_roll.clear()
        return out

    def _feed(self, samples: Samples) -> list[Utterance]:
        assert self._pending_ms is not None
        pending = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        out: list[Utterance] = []
        count = len(pending) // self.frame_samples
        for i in range(count):
            frame = pending[i * self.frame_samples : (i + 1) * self.frame_samples]
            out += self._frame(frame, self._pending_ms)
            self._pending_ms += self.frame_ms
        self._pending = pending[count * self.frame_samples :].copy()
        return out

    def _frame(self, frame: Samples, at_ms: float) -> list[Utterance]:
        level = energy_db(frame)
        self._history.append(max(level, _SILENCE_DB))
        floor = float(np.percentile(np.fromiter(self._history, float), self.noise_percentile))
        if not self.speaking:
            if level >= max(floor + self.onset_db, self.min_level_db):
                self._reset_utterance()
                self.speaking = True
                self._frames = [*self._pre_roll, frame]
                self._start_ms = at_ms - len(self._pre_roll) * self.frame_ms
                self._pre_roll.clear()
                self._voiced = 1
                self._last_voiced = len(self._frames) - 1
                self._since_partial = len(self._frames)
                self._new_speech = True
            else:
                self._pre_roll.append(frame)
            return []
        self._frames.append(frame)
        if level >= max(floor + self.hold_db, self.min_level_db):
            self._voiced += 1
            self._silence = 0
            self._last_voiced = len(self._frames) - 1
            self._new_speech = True
        else:
            self._silence += 1
        if self._silence >= self._end_silence:
            return self._end()
        length = len(self._frames)
        if length >= self._max_frames or (length >= self._soft_max_frames and self._silence):
            return self._cut(at_ms + self.frame_ms)
        self._since_partial += 1
        if (
            self._partial_every
            and self._since_partial >= self._partial_every
            and self._new_speech
            and self._voiced >= self._min_speech
            and self._silence * 2 < self._end_silence  # not when it is about to end anyway
        ):
            self._since_partial = 0
            self._new_speech = False
            self._partial_sent = True
            return [self._utterance(len(self._frames), final=False)]
        return []

    def _utterance(self, frames: int, final: bool) -> Utterance:
        audio = np.concatenate(self._frames[:frames])
        start = round(self._start_ms)
        end = round(self._start_ms + (len(audio) - 1) * 1000.0 / SAMPLE_RATE)
        return Utterance(audio=audio, start_ms=start, end_ms=end, final=final)

    def _end(self) -> list[Utterance]:
        """The utterance in progress ends: its final (speech and ``tail`` after it), unless
        it was a blip; what followed its speech becomes the next pre-roll."""
        if not self.speaking or not self._frames:
            self._reset_utterance()
            return []
        keep = min(len(self._frames), self._last_voiced + 1 + self._tail)
        out = []
        if self._voiced >= self._min_speech or self._partial_sent:
            out.append(self._utterance(keep, final=True))
        rest = self._frames[keep:]
        self._reset_utterance()
        self._pre_roll.extend(rest)
        return out

    def _cut(self, next_ms: float) -> list[Utterance]:
        """Too long: the final of it all, and the speech goes on as a new utterance."""
        out = []
        if self._voiced and (self._voiced >= self._min_speech or self._partial_sent):
            out.append(self._utterance(len(self._frames), final=True))
        self._reset_utterance()
        self.speaking = True
        self._start_ms = next_ms
        return out
