"""The per-speaker utterance segmenter (aimeeting.assistant.segmenter) on synthetic signals:
speech-like bursts (noise in syllables), silence, steady background noise, comfort noise;
partials while speaking, a final after a pause, pre-roll and tail, blips dropped, long speech
cut, timestamps, gaps, and any chunking giving the same result."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest

from aimeeting.assistant.segmenter import SAMPLE_RATE, Segmenter, Utterance, energy_db

T0 = 1_700_000_000_000  # Unix ms of the first sample
Samples = npt.NDArray[np.float32]
RNG = np.random.default_rng(16)


def level(db: float, seconds: float) -> Samples:
    """White noise at an RMS of ``db`` dBFS."""
    noise = RNG.standard_normal(round(seconds * SAMPLE_RATE))
    return (noise * 10 ** (db / 20)).astype(np.float32)


def silence(seconds: float) -> Samples:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def speech(seconds: float, db: float = -20.0, quiet: float = -120.0) -> Samples:
    """Speech-like: 210 ms syllables with 90 ms dips between them, ``quiet`` dBFS in the dips."""
    out = []
    while sum(map(len, out)) < seconds * SAMPLE_RATE:
        out += [level(db, 0.21), level(quiet, 0.09) if quiet > -120 else silence(0.09)]
    return np.concatenate(out)[: round(seconds * SAMPLE_RATE)]


def run(
    signal: Samples, segmenter: Segmenter | None = None, chunk: int = 320, flush: bool = True
) -> list[Utterance]:
    """``signal`` pushed in chunks (20 ms by default, as WebRTC's) from T0, then flushed."""
    segmenter = segmenter or Segmenter()
    out = []
    for i in range(0, len(signal), chunk):
        out += segmenter.push(signal[i : i + chunk], T0 + i * 1000 // SAMPLE_RATE)
    return out + (segmenter.flush() if flush else [])


def finals(utterances: list[Utterance]) -> list[Utterance]:
    return [u for u in utterances if u.final]


def ms(seconds: float) -> int:
    return T0 + round(seconds * 1000)


def test_energy_db() -> None:
    assert energy_db(np.ones(480, dtype=np.float32)) == pytest.approx(0.0, abs=1e-6)
    assert energy_db(level(-30, 1.0)) == pytest.approx(-30, abs=0.2)
    assert energy_db(silence(0.03)) == pytest.approx(-120)


def test_silence_comfort_noise_and_steady_noise_are_not_speech() -> None:
    assert run(silence(5)) == []
    assert run(level(-75, 5)) == []  # WebRTC comfort noise level
    assert run(level(-35, 10)) == []  # a steady loud hum from the start


def test_one_sentence_gives_partials_then_one_final_with_pre_roll_and_tail() -> None:
    signal = np.concatenate([silence(1.0), speech(2.4), silence(1.5)])
    out = run(signal, flush=False)
    [final] = finals(out)
    partials = [u for u in out if not u.final]
    assert len(partials) == 2  # at 1 s and 2 s of the utterance (not at 3 s: it is ending)
    assert out[-1] is final
    # onset at 1.0 s, 200 ms of pre-roll before it (within a frame)
    assert abs(final.start_ms - ms(0.8)) <= 30
    # the last syllable ends at 3.31 s (8 periods of 0.3 s, the last without its dip); 200 ms
    # of tail after it
    assert ms(3.31 + 0.2) - 40 <= final.end_ms <= ms(3.31 + 0.2) + 40
    assert final.end_ms - final.start_ms == pytest.approx(final.duration * 1000, abs=1)
    for partial in partials:
        assert partial.start_ms == final.start_ms
        # a partial is the utterance so far: a prefix of the final
        assert np.array_equal(partial.audio, final.audio[: len(partial.audio)])
    assert partials[0].duration == pytest.approx(1.0, abs=0.05)


def test_a_pause_splits_sentences_a_short_one_does_not() -> None:
    long_pause = np.concatenate([silence(0.5), speech(1.5), silence(1.0), speech(1.5), silence(1)])
    assert len(finals(run(long_pause))) == 2
    short_pause = np.concatenate([silence(0.5), speech(1.5), silence(0.4), speech(1.5), silence(1)])
    [final] = finals(run(short_pause))
    assert final.duration == pytest.approx(0.2 + 1.5 + 0.4 + 1.5 + 0.2, abs=0.15)


def test_blips_are_dropped_short_words_are_kept() -> None:
    click = np.concatenate([silence(1), level(-10, 0.06), silence(1)])
    assert run(click) == []
    word = np.concatenate([silence(1), level(-20, 0.35), silence(1)])
    [final] = run(word)
    assert final.final and final.duration == pytest.approx(0.2 + 0.35 + 0.2, abs=0.05)


def test_speech_over_steady_noise_is_found_after_the_floor_adapts() -> None:
    noise = level(-40, 12)
    said = speech(2.0, db=-20, quiet=-120)
    signal = noise.copy()
    signal[round(6 * SAMPLE_RATE) : round(8 * SAMPLE_RATE)] += said
    [final] = finals(run(signal))
    assert abs(final.start_ms - ms(6.0 - 0.2)) <= 60
    assert final.duration == pytest.approx(2.4, abs=0.2)


def test_long_speech_is_cut_at_max_length_and_goes_on() -> None:
    signal = np.concatenate([silence(0.5), speech(40.0), silence(1.0)])
    done = finals(run(signal))
    # cut at a dip between syllables in the last 2 s before 15 s: 13 + 13 + 13 + the rest
    assert len(done) == 4
    assert all(13.0 <= u.duration <= 15.0 for u in done[:3])
    # consecutive, nothing lost: each starts right after the previous one ends
    for before, after in itertools.pairwise(done):
        assert 0 <= after.start_ms - before.end_ms <= 1
    total = (done[-1].end_ms - done[0].start_ms) / 1000
    assert total == pytest.approx(0.2 + 40.0, abs=0.3)


def test_chunking_does_not_change_the_result() -> None:
    signal = np.concatenate([silence(0.7), speech(3.0), silence(0.8), speech(1.2), silence(1)])
    reference = run(signal, chunk=320)
    for chunk in (137, 480, 4800, len(signal)):
        got = run(signal, chunk=chunk)
        assert len(finals(got)) == len(finals(reference)) == 2
        for a, b in zip(finals(got), finals(reference), strict=True):
            assert np.array_equal(a.audio, b.audio)
            # at_ms is whole ms: a chunk's start is rounded, the times by at most 1 ms
            assert abs(a.start_ms - b.start_ms) <= 1 and abs(a.end_ms - b.end_ms) <= 1


def test_flush_gives_the_final_in_progress_and_nothing_otherwise() -> None:
    segmenter = Segmenter()
    assert segmenter.flush() == []
    out = run(np.concatenate([silence(0.5), speech(1.6)]), segmenter, flush=False)
    assert [u.final for u in out] == [False]
    [final] = segmenter.flush()
    assert final.final and final.start_ms == out[0].start_ms
    assert segmenter.flush() == []


def test_a_big_jump_in_time_ends_the_utterance_a_small_one_is_silence() -> None:
    segmenter = Segmenter()
    said = speech(1.5)
    assert finals(segmenter.push(np.concatenate([silence(0.5), said]), T0)) == []
    # 5 s later (the track paused): the utterance in progress is final, timed before the jump
    out = segmenter.push(silence(0.5), T0 + 7000)
    [final] = out
    assert final.final and final.end_ms < T0 + 2300
    # a 400 ms gap inside speech is filled with silence: one utterance across it
    segmenter = Segmenter()
    segmenter.push(np.concatenate([silence(0.5), said]), T0)
    segmenter.push(said, T0 + 2000 + 400)
    [final] = finals(segmenter.push(silence(1.0), T0 + 3900 + 400))
    assert final.duration == pytest.approx(0.2 + 1.5 + 0.4 + 1.5 + 0.2, abs=0.1)


def test_partials_can_be_switched_off() -> None:
    out = run(np.concatenate([silence(0.5), speech(3.0), silence(1)]), Segmenter(partial_every=0))
    assert [u.final for u in out] == [True]
