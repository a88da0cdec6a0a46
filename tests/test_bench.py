"""The benchmark harness itself, in its --quick sizes against real servers (ours and a peer).

Figures are not checked against targets (they live in docs/benchmarks.md); what is checked is
that every scenario runs end to end, measures what it says, and loses nothing at a light load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("aiohttp", reason="the bench extra is not installed")


def bench(tmp_path: Path, *args: str, timeout: float = 90) -> None:
    command = [sys.executable, "-m", "bench", *args, "--quick", "--results", str(tmp_path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]


def result(tmp_path: Path, name: str) -> dict[str, Any]:
    return json.loads((tmp_path / f"{name}.json").read_text())  # type: ignore[no-any-return]


def test_fanout_ours_and_bare_deliver_every_message(tmp_path: Path) -> None:
    bench(tmp_path, "fanout", "--target", "ours", "--rates", "1")
    bench(tmp_path, "fanout", "--target", "bare", "--rates", "1")
    for target in ("ours", "bare"):
        figures = result(tmp_path, f"fanout-{target}")
        [step] = figures["steps"]
        assert figures["connect_failures"] == 0
        assert step["sent"] == 25 * 4 * 1 * 2  # rooms × members × rate × seconds
        assert step["received"] == step["sent"] * 4  # every member, the sender too
        assert step["lost"] == step["duplicated"] == step["errors"] == 0
        assert 0 < step["p50_ms"] <= step["p99_ms"] <= step["max_ms"]
    assert (tmp_path / "fanout-latency.png").stat().st_size > 0


def test_hold_ours_keeps_every_connection(tmp_path: Path) -> None:
    bench(tmp_path, "hold", "--target", "ours", "--steps", "40,80")
    steps = result(tmp_path, "hold-ours")["steps"]
    assert [s["connected"] for s in steps] == [40, 80]
    for step in steps:
        assert step["failed"] == step["drops"] == 0
        assert step["pongs"] > 0
        assert step["rss_per_connection_kb"] > 0


def test_joinstorm_everyone_sees_everyone(tmp_path: Path) -> None:
    bench(tmp_path, "joinstorm", "--users", "40")
    figures = result(tmp_path, "joinstorm-ours")
    assert figures["complete"] == figures["users"] == 40
    assert figures["errors"] == 0
    assert figures["all_seen_ms"] >= figures["member_p50_ms"] > 0


def test_speech_transcribes_one_sentence_per_language(tmp_path: Path) -> None:
    pytest.importorskip("faster_whisper", reason="the ai extra is not installed")
    if shutil.which("espeak-ng") is None and not os.environ.get("CI"):
        pytest.skip("espeak-ng is not installed (tests/test_speech.py says more)")
    bench(tmp_path, "speech")
    runs = result(tmp_path, "speech")["runs"]
    assert [(r["model"], r["language"], r["sentences"]) for r in runs] == [
        ("tiny.en", "en", 1),
        ("base", "zh", 1),
    ]
    english, chinese = runs
    assert english["wer"] <= 0.2, english["detail"]
    assert chinese["cer"] < 1.0, chinese["detail"]
    for run in runs:
        assert run["shipped"] and run["rtf_p50"] > 0 and run["load_s"] > 0
