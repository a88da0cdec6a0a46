"""Real speech for the speech-to-text tests and bench: sentences spoken by ``espeak-ng``
(Debian's package; .ci/run installs it), as float32 samples or WAV files.

espeak-ng writes 22.05 kHz 16-bit mono WAV; :func:`speech` converts to 16 kHz (what the
transcriber takes), and :func:`write_wav` writes any rate, e.g. the 48 kHz mono WAV Chromium's
``--use-file-for-fake-audio-capture`` plays (:func:`fake_capture_wav`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from aimeeting.assistant.audio import resample
from aimeeting.assistant.speech import SAMPLE_RATE

ESPEAK = shutil.which("espeak-ng")
# A clear, unhurried voice: espeak's American English at 150 words a minute, and Mandarin at
# 120 syllables a minute (slow: Whisper base understood espeak's Mandarin better so).
EN_VOICE = "en-us"
ZH_VOICE = "cmn"
WORDS_PER_MINUTE = 150
ZH_WORDS_PER_MINUTE = 120
# espeak-ng 1.51's Mandarin voice ("cmn") looks each character's pinyin up in its dictionary
# (我 → wo3, 们 → men5) but then reads most syllables with its English rules ("men five"), which
# no listener understands. Its pinyin voice reads pinyin right (with tone sandhi), so Chinese
# text is spoken as the cmn dictionary's pinyin, by the pinyin voice (see pinyin()).
PINYIN_VOICE = "cmn-latn-pinyin"
_ZH_PAUSES = {"，": ",", "、": ",", "；": ",", "：": ",", "。": ".", "？": "?", "！": "!"}

# Meeting-like English sentences (plain words: numbers spelled the way they are said).
EN_SENTENCES = (
    "Let's ship the release on Friday.",
    "I will write the test plan.",
    "Can everyone see my screen?",
    "The server costs went down last month.",
    "We need two more people on the mobile team.",
    "Please send me the meeting notes after the call.",
    "The customer asked for a new login page.",
    "Let's move the design review to next week.",
    "Who owns the database migration?",
    "I think we should fix the bugs before adding features.",
)
# The same kind, in Mandarin (Simplified Chinese).
ZH_SENTENCES = (
    "我们周五发布新版本。",
    "我来写测试计划。",
    "大家能看到我的屏幕吗？",
    "上个月服务器的费用降低了。",
    "移动团队还需要两个人。",
    "会后请把会议记录发给我。",
    "客户想要一个新的登录页面。",
    "我们把设计评审改到下周吧。",
    "谁负责数据库迁移？",
    "我觉得应该先修复问题再加新功能。",
)

Samples = npt.NDArray[np.float32]


def _espeak(*args: str) -> str:
    if ESPEAK is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    done = subprocess.run([ESPEAK, *args], check=True, capture_output=True, text=True, timeout=30)
    return done.stdout


def pinyin(text: str) -> str:
    """Chinese ``text`` as numbered pinyin from espeak-ng's own Mandarin dictionary (its
    ``-X`` trace: ``Replace: 们   men5``), punctuation kept as pauses: 我们走吧。→ ``wo3 men5
    zou3 ba5.``"""
    out: list[str] = []
    chunk = ""
    for char in text + "。":
        if char not in _ZH_PAUSES:
            chunk += char
            continue
        if chunk.strip():
            trace = _espeak("-v", ZH_VOICE, "-q", "-X", chunk)
            syllables = [
                " ".join(line.split()[2:])
                for line in trace.splitlines()
                if line.startswith("Replace:")
            ]
            if syllables:
                out.append(" ".join(syllables) + _ZH_PAUSES[char])
        chunk = ""
    return " ".join(out)


def espeak_wav(text: str, path: Path, voice: str = EN_VOICE, wpm: int = WORDS_PER_MINUTE) -> Path:
    """``text`` spoken into the WAV file ``path`` (22.05 kHz, 16-bit, mono). With the Mandarin
    voice (``cmn``) the text is spoken as its pinyin by espeak's pinyin voice (see above)."""
    if voice == ZH_VOICE:
        text, voice = pinyin(text), PINYIN_VOICE
    _espeak("-v", voice, "-s", str(wpm), "-w", str(path), text)
    return path


def read_wav(path: Path) -> tuple[Samples, int]:
    """A 16-bit PCM WAV file's samples (float32 in [-1, 1], channels averaged) and rate."""
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2, "16-bit PCM only"
        channels, rate = wav.getnchannels(), wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    samples = data.reshape(-1, channels).astype(np.float32).mean(axis=1) / 32768.0
    return samples.astype(np.float32), rate


def write_wav(path: Path, samples: Samples, rate: int) -> Path:
    """``samples`` (float32 mono in [-1, 1]) into a 16-bit mono WAV file at ``rate``."""
    pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return path


def speech(
    text: str, voice: str = EN_VOICE, rate: int = SAMPLE_RATE, wpm: int | None = None
) -> Samples:
    """``text`` spoken by espeak-ng, as float32 mono samples at ``rate`` (16 kHz by default),
    with espeak's leading and trailing silence as it makes it."""
    wpm = wpm or (ZH_WORDS_PER_MINUTE if voice == ZH_VOICE else WORDS_PER_MINUTE)
    with tempfile.TemporaryDirectory() as folder:
        samples, espeak_rate = read_wav(espeak_wav(text, Path(folder) / "s.wav", voice, wpm))
    return resample(samples, espeak_rate, rate)


@dataclass(frozen=True)
class Conversation:
    """Sentences one after another with pauses: the samples, and where each sentence is."""

    samples: Samples
    rate: int
    texts: tuple[str, ...]
    spans: tuple[tuple[float, float], ...]  # (start, end) seconds of each sentence's audio


def conversation(
    texts: tuple[str, ...] | list[str],
    voice: str = EN_VOICE,
    pause: float = 1.2,
    rate: int = SAMPLE_RATE,
    lead: float = 0.5,
) -> Conversation:
    """``texts`` spoken in turn, ``pause`` seconds of silence between them (and ``lead`` before
    the first and after the last)."""
    gap = np.zeros(round(pause * rate), dtype=np.float32)
    parts = [np.zeros(round(lead * rate), dtype=np.float32)]
    spans = []
    at = len(parts[0])
    for i, text in enumerate(texts):
        said = speech(text, voice, rate)
        spans.append((at / rate, (at + len(said)) / rate))
        parts.append(said)
        at += len(said)
        if i < len(texts) - 1:
            parts.append(gap)
            at += len(gap)
    parts.append(np.zeros(round(lead * rate), dtype=np.float32))
    return Conversation(np.concatenate(parts), rate, tuple(texts), tuple(spans))


def fake_capture_wav(
    path: Path, texts: tuple[str, ...] | list[str], voice: str = EN_VOICE, lead: float = 0.5
) -> Path:
    """A 48 kHz mono WAV of ``texts`` with pauses (``lead`` seconds of silence first): for
    Chromium's ``--use-file-for-fake-audio-capture=<path>`` (it loops the file) or a Python
    participant's audio track."""
    said = conversation(texts, voice, rate=48000, lead=lead)
    return write_wav(path, said.samples, 48000)
