"""PNG plots from bench/results/*.json (matplotlib, Agg): latency against load, memory against
connections. Every target found in the results gets its own line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
ORDER = ("ours", "bare", "socketio", "node")


def load(folder: Path, scenario: str) -> dict[str, dict[str, Any]]:
    """``{target: result}`` for ``<scenario>-<target>.json`` in ``folder``."""
    found = {}
    for path in sorted(folder.glob(f"{scenario}-*.json")):
        result = json.loads(path.read_text())
        found[path.stem.split("-", 1)[1]] = result  # the target, with any variant
    return {t: found[t] for t in sorted(found, key=lambda t: ORDER.index(t) if t in ORDER else 9)}


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fanout(results: dict[str, dict[str, Any]], out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for target, result in results.items():
        steps = [s for s in result["steps"] if s["p99_ms"] is not None]
        x = [s["deliveries_per_s"] / 1000 for s in steps]
        axes[0].plot(x, [s["p50_ms"] for s in steps], marker="o", label=target)
        axes[1].plot(x, [s["p99_ms"] for s in steps], marker="o", label=target)
    for axis, name in zip(axes, ("p50", "p99"), strict=True):
        axis.set_yscale("log")
        axis.set_xlabel("deliveries/s (thousands)")
        axis.set_ylabel(f"{name} latency, send → every member (ms)")
        axis.axhline(50, color="grey", linestyle=":", linewidth=1)
        axis.axhline(100, color="grey", linestyle="--", linewidth=1)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    rooms = next(iter(results.values()))["rooms"]
    fig.suptitle(f"Chat fan-out: {rooms} rooms × 4, latency against load")
    return _save(fig, out / "fanout-latency.png")


def _hold(results: dict[str, dict[str, Any]], out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for target, result in results.items():
        steps = result["steps"]
        x = [s["connected"] for s in steps]
        axes[0].plot(x, [s["rss_per_connection_kb"] for s in steps], marker="o", label=target)
        axes[1].plot(x, [s["pong_p99_ms"] for s in steps], marker="o", label=target)
    axes[0].axhline(40, color="grey", linestyle="--", linewidth=1)
    axes[0].set_ylabel("server RSS per connection (KB)")
    axes[1].set_ylabel("ping → pong p99 (ms)")
    for axis in axes:
        axis.set_xlabel("connections held")
        axis.grid(True, alpha=0.3)
        axis.legend()
    fig.suptitle("Hold: memory and heartbeat latency against connections")
    return _save(fig, out / "hold.png")


def _soak(results: dict[str, dict[str, Any]], out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for database, result in results.items():
        samples = result["samples"]
        minutes = [s["seconds"] / 60 for s in samples]
        axes[0].plot(minutes, [s["server_rss_mb"] for s in samples], label=f"server ({database})")
        axes[0].plot(minutes, [s["generator_rss_mb"] for s in samples], label="load generator")
        axes[1].plot(minutes, [s["server_fds"] for s in samples], label=f"server ({database})")
        warmup = result["warmup_seconds"] / 60
        for axis in axes:
            axis.axvline(warmup, color="grey", linestyle=":", linewidth=1)
    axes[0].set_ylabel("RSS (MB)")
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylabel("open file descriptors")
    axes[1].set_ylim(bottom=0)
    for axis in axes:
        axis.set_xlabel("minutes held (dotted: end of warm-up)")
        axis.grid(True, alpha=0.3)
        axis.legend()
    first = next(iter(results.values()))
    fig.suptitle(
        f"Soak: {first['idle_connections']:,} idle + {first['chatting_connections']} chatting "
        "connections, memory and open files over time"
    )
    return _save(fig, out / "soak.png")


def _joinstorm(result: dict[str, Any], out: Path) -> Path:
    timeline = result["timeline"]
    seconds = [ms / 1000 for ms in timeline["ms"]]
    fig, axis = plt.subplots(figsize=(8, 4.2))
    axis.plot(seconds, timeline["rest_joins"], label="REST joins answered")
    axis.plot(seconds, timeline["seen_everyone"], label="members who have seen everyone")
    if result.get("signaling"):
        axis.plot(seconds, timeline["every_signal"], label="members with every signal")
    axis.axvline(4, color="grey", linestyle="--", linewidth=1)  # issue 14's target
    axis.set_xlabel("seconds since the storm began (dashed: the 4 s target)")
    axis.set_ylabel("users")
    axis.set_ylim(0, result["users"] * 1.05)
    axis.grid(True, alpha=0.3)
    axis.legend(loc="lower right")
    fig.suptitle(
        f"Join storm: {result['users']:,} users into {result['meetings']:,} meetings\n"
        f"REST join + join_room + full mesh signaling ({result.get('candidates', 0)} candidates)"
    )
    return _save(fig, out / "joinstorm.png")


def _reconnectstorm(results: dict[str, dict[str, Any]], out: Path) -> Path:
    fig, axis = plt.subplots(figsize=(8, 4.2))
    for mode, result in results.items():
        curve = result["back_ms_curve"]
        what = "restarted (SQLite)" if mode == "restart" else "killed, clients to the other"
        axis.plot(
            [0.0] + [ms / 1000 for ms, _ in curve],
            [0] + [n for _, n in curve],
            label=f"{mode}: node {what}",
            drawstyle="steps-post",
        )
        if result.get("node_back_ms"):
            axis.axvline(result["node_back_ms"] / 1000, color="grey", linestyle=":", linewidth=1)
    axis.axvline(10, color="grey", linestyle="--", linewidth=1)  # issue 14's target
    axis.set_xlabel("seconds since the node went (dashed: the 10 s target; dotted: node up again)")
    axis.set_ylabel("members back in their rooms, seat kept")
    axis.set_ylim(bottom=0)
    axis.grid(True, alpha=0.3)
    axis.legend(loc="lower right")
    first = next(iter(results.values()))
    fig.suptitle(
        f"Reconnect storm: {first['members']:,} members in {first['rooms']:,} rooms of 4, "
        "SDK backoff with jitter"
    )
    return _save(fig, out / "reconnectstorm.png")


def draw(folder: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if results := load(folder, "fanout"):
        written.append(_fanout(results, out))
    if results := load(folder, "hold"):
        written.append(_hold(results, out))
    if results := load(folder, "soak"):
        written.append(_soak(results, out))
    storm = load(folder, "joinstorm").get("ours")
    if storm is not None and "timeline" in storm:
        written.append(_joinstorm(storm, out))
    if results := load(folder, "reconnectstorm"):
        written.append(_reconnectstorm(results, out))
    return written
