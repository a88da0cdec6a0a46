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
    fig.tight_layout()
    path = out / "fanout-latency.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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
    fig.tight_layout()
    path = out / "hold.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw(folder: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if results := load(folder, "fanout"):
        written.append(_fanout(results, out))
    if results := load(folder, "hold"):
        written.append(_hold(results, out))
    return written
