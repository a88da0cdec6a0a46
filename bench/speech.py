"""Scenario ``speech``: the assistant's offline speech to text, accuracy and speed.

Sentences spoken by espeak-ng (harness/speech.py: 10 English meeting sentences in its
American voice, 10 Mandarin ones in its Mandarin dictionary and pinyin voice), transcribed one
at a time, as the assistant transcribes utterances:

- **English**, Whisper ``tiny.en``: word error rate (all sentences' edits over all their words,
  aimeeting.assistant.accuracy's normalization).
- **Chinese**, Whisper ``base`` with language ``zh``: character error rate, and how many
  answers hold Traditional-only characters (the Simplified prompt's job).
- Each at the shipped beam width (aimeeting.assistant.speech.BEAM_SIZE) and at the other one
  (1 ↔ 5), to show what the choice is worth.
- Speed: the **real-time factor** (transcription seconds ÷ audio seconds) per sentence, p50 and
  max, and seconds per call; the time to check a model's files (SHA-256) and to load it. One
  warm-up call first. ``cpu_threads`` as shipped (the machine's cores, at most 4).

``--quick``: one sentence per language, shipped beams only (the smoke test).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from aimeeting.assistant import speech as engine
from aimeeting.assistant.accuracy import char_errors, word_errors
from aimeeting.assistant.models import model_dir
from harness.speech import (
    EN_SENTENCES,
    EN_VOICE,
    ZH_SENTENCES,
    ZH_VOICE,
    speech,
)

# Traditional forms of Simplified characters (those of our sentences, and a few of the most
# common): a quick check that answers came out Simplified.
TRADITIONAL_ONLY = set(
    "們來週發劃個務費還給錄設計評審數據庫遷問題會議請頁後試測團隊兩動戶覺應該復負責誰"
    "這為對時說開關與嗎幫體讓現卻"
)


def _measure(
    model: str,
    language: str,
    clips: list[tuple[str, Any]],
    beam_size: int,
    metric: str,
) -> dict[str, Any]:
    started = time.monotonic()
    model_dir(model)
    check_s = time.monotonic() - started
    started = time.monotonic()
    transcriber = engine.WhisperTranscriber(model, language=language, beam_size=beam_size)
    load_s = time.monotonic() - started  # includes a second check of the files
    transcriber.transcribe(clips[0][1])  # warm-up
    sentences, rtf, calls = [], [], []
    edits = length = traditional = 0
    for reference, audio in clips:
        started = time.monotonic()
        text = transcriber.transcribe(audio)
        seconds = time.monotonic() - started
        audio_s = len(audio) / engine.SAMPLE_RATE
        errors = (word_errors if metric == "wer" else char_errors)(reference, text)
        edits, length = edits + errors[0], length + errors[1]
        traditional += any(c in TRADITIONAL_ONLY for c in text)
        rtf.append(seconds / audio_s)
        calls.append(seconds)
        sentences.append(
            {
                "reference": reference,
                "text": text,
                "errors": errors[0],
                "length": errors[1],
                "audio_s": round(audio_s, 2),
                "seconds": round(seconds, 3),
            }
        )
    figures: dict[str, Any] = {
        "model": model,
        "language": language,
        "beam_size": beam_size,
        "cpu_threads": transcriber.cpu_threads,
        "sentences": len(clips),
        metric: round(edits / length, 4),
        "check_s": round(check_s, 2),
        "load_s": round(load_s, 2),
        "rtf_p50": round(statistics.median(rtf), 3),
        "rtf_max": round(max(rtf), 3),
        "call_s_p50": round(statistics.median(calls), 2),
        "call_s_max": round(max(calls), 2),
        "audio_s_p50": round(statistics.median(s["audio_s"] for s in sentences), 2),
        "detail": sentences,
    }
    if metric == "cer":
        figures["answers_with_traditional"] = traditional
    return figures


def run(quick: bool) -> dict[str, Any]:
    count = 1 if quick else len(EN_SENTENCES)
    english = [(t, speech(t, EN_VOICE)) for t in EN_SENTENCES[:count]]
    chinese = [(t, speech(t, ZH_VOICE)) for t in ZH_SENTENCES[:count]]
    runs = []
    for model, language, clips, metric in (
        ("tiny.en", "en", english, "wer"),
        ("base", "zh", chinese, "cer"),
    ):
        shipped = engine.BEAM_SIZE[model]
        beams = [shipped] if quick else [shipped, 5 if shipped == 1 else 1]
        for beam in beams:
            figures = _measure(model, language, clips, beam, metric)
            figures["shipped"] = beam == shipped
            runs.append(figures)
            print(
                f"bench speech: {model} {language} beam {beam}: "
                f"{metric.upper()} {figures[metric]:.1%}, RTF p50 {figures['rtf_p50']}, "
                f"call p50 {figures['call_s_p50']} s, load {figures['load_s']} s",
                flush=True,
            )
    return {
        "voices": {"en": EN_VOICE, "zh": f"{ZH_VOICE} (pinyin voice)"},
        "numpy": np.__version__,
        "runs": runs,
    }
