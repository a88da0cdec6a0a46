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


def test_signal_fanout_ours_and_bare_relay_every_signal_to_one_member(tmp_path: Path) -> None:
    for target in ("ours", "bare"):
        bench(tmp_path, "fanout", "--kind", "signal", "--target", target, "--rates", "2")
        figures = result(tmp_path, f"fanout-{target}-signal")
        [step] = figures["steps"]
        assert figures["kind"] == "signal" and figures["connect_failures"] == 0
        assert step["sent"] == 25 * 4 * 2 * 2  # rooms × members × rate × seconds
        assert step["received"] == step["sent"]  # one member each
        assert step["lost"] == step["duplicated"] == step["errors"] == 0
        assert step["server_cpu_us_per_delivery"] > 0


def test_hold_ours_keeps_every_connection(tmp_path: Path) -> None:
    bench(tmp_path, "hold", "--target", "ours", "--steps", "40,80")
    steps = result(tmp_path, "hold-ours")["steps"]
    assert [s["connected"] for s in steps] == [40, 80]
    for step in steps:
        assert step["failed"] == step["drops"] == 0
        assert step["pongs"] > 0
        assert step["rss_per_connection_kb"] > 0


def test_joinstorm_everyone_sees_everyone_and_gets_every_signal(tmp_path: Path) -> None:
    bench(tmp_path, "joinstorm", "--users", "40")
    figures = result(tmp_path, "joinstorm-ours")
    assert figures["complete"] == figures["users"] == figures["rest_joins"] == 40
    assert figures["errors"] == 0
    # Every pair of a room: an offer, an answer and 8 candidates each way (10 rooms, 6 pairs).
    assert figures["signals_received"] >= 10 * 6 * 2 * (1 + figures["candidates"])
    # A member has a signal of each other member only once it has seen them all.
    assert figures["storm_done_ms"] >= figures["all_seen_ms"] > 0
    timeline = figures["timeline"]
    assert timeline["rest_joins"][-1] == timeline["every_signal"][-1] == 40
    assert (tmp_path / "joinstorm.png").stat().st_size > 0


def test_reconnectstorm_restart_brings_everyone_back_with_seat_and_chat(tmp_path: Path) -> None:
    bench(tmp_path, "reconnectstorm", "--mode", "restart", "--members", "40")
    _check_reconnectstorm(result(tmp_path, "reconnectstorm-restart"))
    assert (tmp_path / "reconnectstorm.png").stat().st_size > 0


def test_reconnectstorm_failover_brings_everyone_back_on_the_other_node(tmp_path: Path) -> None:
    postgres, redis = (os.environ.get(f"AIMEETING_TEST_{k}_URL") for k in ("DATABASE", "REDIS"))
    if not (postgres and redis):
        pytest.skip("AIMEETING_TEST_DATABASE_URL and AIMEETING_TEST_REDIS_URL are needed")
    # The bench makes a database of its own on that server and claims a Redis database number.
    bench(
        tmp_path,
        *("reconnectstorm", "--mode", "failover", "--members", "40"),
        *("--postgres", postgres, "--redis-url", redis),
    )
    _check_reconnectstorm(result(tmp_path, "reconnectstorm-failover"))


def _check_reconnectstorm(figures: dict[str, Any]) -> None:
    assert figures["connected"] == figures["members"] == figures["back"] == 40
    assert figures["all_back_ms"] >= figures["back_p50_ms"] > 0
    assert figures["seats_lost"] == figures["rest_seats_missing"] == 0
    assert figures["user_left_seen"] == figures["dropped_again"] == 0
    assert figures["chat_acked"] > 0 and figures["chat_unacked"] == 0
    assert figures["chat_lost"] == figures["chat_duplicated"] == 0
    assert figures["errors"] == 0, figures["first_error"]


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


def test_soak_checks_every_message_and_samples_memory_and_files(tmp_path: Path) -> None:
    bench(tmp_path, "soak", "--minutes", "0.25", "--seconds", "5")
    figures = result(tmp_path, "soak-sqlite")
    assert figures["complete"] and figures["connected"] == 80 + 32
    assert figures["connect_failed"] == figures["drops"] == figures["errors"] == 0
    assert figures["sent"] > 0 and figures["checked_messages"] == figures["sent"]
    assert figures["delivered"] == figures["sent"] * 4  # every member, the sender too
    assert figures["lost"] == figures["duplicated"] == figures["reordered"] == 0
    assert figures["unexpected"] == figures["late"] == 0
    samples = figures["samples"]
    assert len(samples) >= 2
    assert all(s["server_rss_mb"] > 0 and s["server_fds"] >= 80 + 32 for s in samples)
    assert figures["server_rss_growth_pct"] is not None
    assert (tmp_path / "soak.png").stat().st_size > 0
