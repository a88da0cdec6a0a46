"""Speech to text: the :class:`Transcriber` protocol and the offline engine behind it.

:func:`load_transcriber` picks the model for a meeting's language (docs/assistant.md):

- ``"en"``: Whisper ``tiny.en`` (English only; ~4x faster than base, and better at English
  than base's multilingual tiny sibling).
- ``"zh"`` and ``"auto"``: Whisper ``base`` (multilingual). For Chinese the language is forced
  and an initial prompt written in Simplified Chinese is given: without it Whisper often
  writes Traditional characters, and the prompt steers it to Simplified (measured in
  bench/speech.py). ``"auto"`` detects the language of each utterance, then transcribes it as
  that language (with the same prompt when it is Chinese).

The engine is faster-whisper (CTranslate2) on the CPU with int8 weights. The settings are
chosen for a 2-core machine transcribing short utterances (bench/speech.py; figures in
docs/benchmarks.md):

- ``cpu_threads``: the number of cores, at most 4 (a single utterance's decoder does not use
  more; the assistant process shares the machine with the server).
- ``beam_size`` 5 for both models (:data:`BEAM_SIZE`, measured against greedy).
- ``temperature`` 0 only: no re-decoding at higher temperatures when a result looks unsure
  (faster-whisper's default), which took one hard utterance from ~1 s to ~9 s; a caption late
  by seconds is worth less than a slightly worse one. Decoding is capped at
  ``12 tokens × seconds + 16``, and a phrase repeated four times or more is cut to one (the
  repetition loops Whisper falls into on unclear audio), as is an echo of the prompt.
- ``vad_filter`` off: the caller cuts utterances itself (:mod:`aimeeting.assistant.segmenter`).
- ``condition_on_previous_text`` off: each utterance stands alone (no hallucination carried
  from one window to the next).
- ``without_timestamps``: the caller knows when the utterance was said.

Nothing is downloaded: the model is a checked local directory
(:mod:`aimeeting.assistant.models`), given to faster-whisper as a path with
``local_files_only``.

Another engine (a hosted API, say) is plugged in with an import string
``"package.module:factory"``, where ``factory(language: str) -> Transcriber``;
``AIMEETING_ASSISTANT_ENGINE`` carries it and the assistant process passes it as ``engine``.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import threading
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from aimeeting.assistant.models import BASE, TINY_EN, model_dir
from aimeeting.assistant.segmenter import SAMPLE_RATE

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "BEAM_SIZE",
    "LANGUAGES",
    "SAMPLE_RATE",
    "SIMPLIFIED_CHINESE_PROMPT",
    "Transcriber",
    "WhisperTranscriber",
    "load_transcriber",
    "model_for",
]

LANGUAGES = ("en", "zh", "auto")
# "What follows are sentences in Mandarin." written in Simplified Chinese: Whisper continues in
# the script of its prompt (without it, 6-7 of base's answers in 10 held Traditional ones).
SIMPLIFIED_CHINESE_PROMPT = "以下是普通话的句子。"
# Beam width per model, measured by bench/speech.py (docs/benchmarks.md): beam search (5) over
# greedy decoding (1) took the word error rate of tiny.en from 8 % to 4 % at the same speed
# (the encoder's fixed 30 s window dominates a short utterance), and the character error rate
# of base in Chinese from 76 % to 62 % for ~1.1x the time.
BEAM_SIZE = {TINY_EN: 5, BASE: 5}
# Tokens a second of speech can need, generously (fast Mandarin is ~6 characters a second, a
# character 1-2 tokens): a cap on decoding, so that a repetition loop (a known Whisper failure
# on unclear audio) ends early instead of running to 448 tokens.
_TOKENS_PER_SECOND = 12
_REPEATS = re.compile(r"(.{1,8}?)\1{3,}", re.DOTALL)


@runtime_checkable
class Transcriber(Protocol):
    """Speech to text for one utterance at a time."""

    def transcribe(self, audio: npt.NDArray[np.float32], language: str | None = None) -> str:
        """The text said in ``audio`` (float32 mono 16 kHz samples in [-1, 1]), trimmed; ``""``
        when nothing was said.

        ``language`` is ``"en"``, ``"zh"``, or None for the language the transcriber was
        loaded for (detected per call when that was ``"auto"``). Blocking and CPU-bound: call
        it from a worker thread, not the event loop.
        """
        ...


def model_for(language: str) -> str:
    """The shipped model for a meeting language: ``tiny.en`` for ``en``, else ``base``."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return TINY_EN if language == "en" else BASE


def default_threads() -> int:
    """CPU threads for one model: the cores this process may use, 1 to 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


class WhisperTranscriber:
    """faster-whisper with one of the shipped models.

    Thread-safety: meant for one worker thread at a time; :meth:`transcribe` holds a lock,
    so calls from several threads are safe but run one after another (they would compete for
    the same cores anyway). For parallel transcription load a second instance and give each
    fewer ``cpu_threads``.
    """

    def __init__(
        self,
        model: str,
        *,
        language: str = "auto",
        beam_size: int | None = None,
        cpu_threads: int | None = None,
    ) -> None:
        """Load ``model`` (``"tiny.en"`` or ``"base"``): blocking, ~0.3-1 s. ``language`` is
        the default of :meth:`transcribe` (``"auto"``: detect)."""
        from faster_whisper import WhisperModel  # heavy import: only when an engine is made

        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        self.model = model
        self.language = language
        self.beam_size = beam_size or BEAM_SIZE.get(model, 1)
        self.cpu_threads = cpu_threads or default_threads()
        self._lock = threading.Lock()
        self._whisper: Any = WhisperModel(
            str(model_dir(model)),
            device="cpu",
            compute_type="int8",
            cpu_threads=self.cpu_threads,
            num_workers=1,
            local_files_only=True,
        )
        self.multilingual = bool(self._whisper.model.is_multilingual)

    def transcribe(self, audio: npt.NDArray[np.float32], language: str | None = None) -> str:
        audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        if audio.size == 0:
            return ""
        wanted = language or self.language
        with self._lock:
            if not self.multilingual:
                wanted = "en"
            elif wanted == "auto":
                wanted, _, _ = self._whisper.detect_language(audio)
            prompt = SIMPLIFIED_CHINESE_PROMPT if wanted == "zh" else None
            segments, _ = self._whisper.transcribe(
                audio,
                language=wanted,
                beam_size=self.beam_size,
                best_of=1,
                temperature=0.0,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=prompt,
                max_new_tokens=min(
                    _TOKENS_PER_SECOND * math.ceil(audio.size / SAMPLE_RATE) + 16, 400
                ),
            )
            # segments is a generator: the decoding happens while it is read
            text = "".join(segment.text for segment in segments)
        return clean(text, prompt)


def clean(text: str, prompt: str | None = None) -> str:
    """Whisper's text tidied: whitespace collapsed, a phrase repeated four times or more kept
    once, and the prompt removed where Whisper echoed it (it does on unclear audio)."""
    text = _REPEATS.sub(r"\1", text)
    if prompt:
        text = text.replace(prompt, "").replace(prompt.rstrip("。"), "")
    text = " ".join(text.split())
    # nothing left but punctuation: nothing was said
    return text if any(c.isalnum() for c in text) else ""


def load_engine(engine: str, language: str) -> Transcriber:
    """``factory(language)`` of the import string ``"package.module:factory"``."""
    module_name, sep, attribute = engine.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"engine must be 'package.module:factory', not {engine!r}")
    factory: Callable[[str], Any] = getattr(importlib.import_module(module_name), attribute)
    transcriber = factory(language)
    if not isinstance(transcriber, Transcriber):
        raise TypeError(f"{engine}({language!r}) returned {transcriber!r}, not a Transcriber")
    return transcriber


def load_transcriber(language: str, engine: str | None = None) -> Transcriber:
    """A transcriber for a meeting in ``language`` (``"en"``, ``"zh"`` or ``"auto"``).

    ``engine``: an import string ``"package.module:factory"`` (from
    ``AIMEETING_ASSISTANT_ENGINE``) to use instead of the shipped Whisper models. Blocking
    (loads and checks a model): call it from a worker thread.
    """
    model = model_for(language)
    if engine:
        return load_engine(engine, language)
    return WhisperTranscriber(model, language=language)
