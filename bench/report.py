"""``python -m bench report``: the markdown tables of docs/benchmarks.md, from the result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.plots import load


def _n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}×" if value and base else "–"


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _load_note(result: dict[str, Any]) -> str:
    before = result.get("load_average_before", ["?"])[0]
    after = result.get("load_average_after", ["?"])[0]
    return f"load avg {before}→{after}"


def fanout_summary(results: dict[str, dict[str, Any]]) -> str:
    bare = results.get("bare", {})
    bare_best = max((s["deliveries_per_s"] for s in bare.get("steps", [])), default=None)
    rows = []
    for target, r in results.items():
        best = max((s["deliveries_per_s"] for s in r["steps"]), default=None)
        rows.append(
            [
                target,
                _n(r["sustained_deliveries_per_s_p99_le_50ms"]),
                _n(r["sustained_deliveries_per_s_p99_le_100ms"]),
                _n(best),
                _ratio(best, bare_best),
                _ratio(
                    r["sustained_deliveries_per_s_p99_le_50ms"],
                    bare.get("sustained_deliveries_per_s_p99_le_50ms"),
                ),
                _load_note(r),
            ]
        )
    head = [
        "target",
        "deliveries/s at p99 ≤ 50 ms",
        "at p99 ≤ 100 ms",
        "most deliveries/s seen",
        "÷ bare (most)",
        "÷ bare (p99 ≤ 50 ms)",
        "machine load",
    ]
    return _table(head, rows)


def fanout_steps(target: str, result: dict[str, Any]) -> str:
    rows = [
        [
            str(s["rate_per_member"]),
            _n(s["offered_deliveries_per_s"]),
            _n(s["accepted_msgs_per_s"]),
            _n(s["deliveries_per_s"]),
            _n(s["p50_ms"], 1),
            _n(s["p99_ms"], 1),
            _n(s["max_ms"], 1),
            f"{s['lost']}/{s['duplicated']}",
            str(s["errors"]),
            _n(s["server_cpu_cores"], 2),
            _n(s["generator_cpu_cores"], 2),
            _n(s["generator_lag_p99_ms"], 1),
        ]
        for s in result["steps"]
    ]
    head = [
        "msgs/s per member",
        "offered deliveries/s",
        "accepted msgs/s",
        "deliveries/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "lost/dup",
        "errors",
        "server CPU",
        "generator CPU",
        "generator lag p99 ms",
    ]
    return f"**{target}** ({result['connections']} connections, {_load_note(result)})\n\n" + _table(
        head, rows
    )


def hold_table(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for target, r in results.items():
        for s in r["steps"]:
            rows.append(
                [
                    target,
                    _n(s["connected"]),
                    str(s["failed"]),
                    _n(s["rss_mb"], 0),
                    _n(s["rss_per_connection_kb"], 1),
                    _n(s["rss_per_connection_all_in_kb"], 1),
                    _n(s["server_cpu_cores"], 3),
                    _n(s["pong_p99_ms"], 1),
                    str(s["drops"]),
                    _n(s["generator_cpu_cores"], 2),
                ]
            )
    head = [
        "target",
        "connections",
        "failed",
        "server RSS MB",
        "KB per connection (WS only)",
        "KB per connection (all in)",
        "server CPU at rest (cores)",
        "pong p99 ms",
        "drops",
        "generator CPU",
    ]
    return _table(head, rows)


def joinstorm_table(result: dict[str, Any]) -> str:
    signaling = result.get("signaling", False)  # runs before the mesh was added had none
    row = [
        _n(result["users"]),
        _n(result["meetings"]),
        f"{result['complete']}/{result['users']}",
        _n(result["rest_joins_done_ms"]),
        _n(result["all_seen_ms"]),
        _n(result.get("storm_done_ms")) if signaling else "—",
        _n(result["member_p50_ms"]),
        _n(result["member_p99_ms"]),
        _n(result.get("signals_received")) if signaling else "—",
        _n(result.get("signals_refused")) if signaling else "—",
        _n(result["server_cpu_seconds"], 1),
        str(result["errors"]),
        _load_note(result),
    ]
    head = [
        "users",
        "meetings",
        "complete",
        "all REST joins done (ms)",
        "everyone has seen everyone (ms)",
        "every signal delivered (ms)",
        "member done p50 (ms)",
        "member done p99 (ms)",
        "signals delivered",
        "signals refused (peer not in yet)",
        "server CPU (s)",
        "errors",
        "machine load",
    ]
    return _table(head, [row])


def reconnectstorm_table(results: dict[str, dict[str, Any]]) -> str:
    rows = [
        [
            mode,
            r["database"],
            _n(r["members"]),
            f"{r['back']}/{r['members']}",
            _n(r.get("node_exit_ms")),
            _n(r.get("node_back_ms")),
            _n(r["first_back_ms"]),
            _n(r["back_p50_ms"]),
            _n(r["back_p99_ms"]),
            _n(r["all_back_ms"]),
            f"{r['seats_lost'] + r['rest_seats_missing']} / {r['user_left_seen']}",
            f"{r['chat_acked']} acked, {r['chat_lost']} lost, {r['chat_duplicated']} doubled",
            _n(r["server_cpu_seconds_after_event"], 1),
            str(r["errors"]),
            _load_note(r),
        ]
        for mode, r in results.items()
    ]
    head = [
        "mode",
        "database",
        "members",
        "back",
        "node gone (ms)",
        "node up again (ms)",
        "first back (ms)",
        "p50 (ms)",
        "p99 (ms)",
        "**all back, seats kept (ms)**",
        "seats lost / user_left seen",
        "chat through the storm",
        "server CPU (s)",
        "errors",
        "machine load",
    ]
    return _table(head, rows)


def rest_table(folder: Path) -> str:
    rows = []
    for path in sorted(folder.glob("rest-*.json")):
        r = json.loads(path.read_text())
        phases = [*r["phases"], *([r["open_loop"]] if r.get("open_loop") else [])]
        for p in phases:
            clients = (
                p.get("concurrency")
                or f"≤{p.get('max_connections')} (open loop {p.get('open_loop_rate'):,.0f}/s)"
            )
            rows.append(
                [
                    f"`{p['phase']}`",
                    r["database"],
                    str(clients),
                    _n(p["req_per_s"]),
                    _n(p["p50_ms"], 1),
                    _n(p["p99_ms"], 1),
                    _n(p["server_cpu_cores"], 2),
                    _n(p["generator_cpu_cores"], 2),
                ]
            )
    head = [
        "phase",
        "database",
        "clients",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server CPU",
        "generator CPU",
    ]
    return _table(head, rows)


def soak_table(results: dict[str, dict[str, Any]]) -> str:
    rows = []
    for database, r in results.items():
        rows.append(
            [
                database,
                f"{r['connected']:,}/{r['idle_connections'] + r['chatting_connections']:,}",
                f"{r['samples'][-1]['seconds'] / 60:.0f} min" if r["samples"] else "–",
                _n(r["server_rss_after_open_mb"], 1),
                _n(r["server_rss_after_warmup_mb"], 1),
                _n(r["server_rss_at_end_mb"], 1),
                _n(r["server_rss_growth_pct"], 2) + " %",
                f"{r['server_fds_after_open']:,} → {r['server_fds_at_end']:,}",
                _n(r["generator_rss_after_warmup_mb"], 1)
                + " → "
                + _n(r["generator_rss_at_end_mb"], 1),
                _n(r["sent"]),
                _n(r["checked_messages"]),
                f"{r['lost']}/{r['duplicated']}/{r['reordered']}/{r['unexpected']}",
                _n(r["latency_p50_ms_median_of_samples"], 1),
                _n(r["latency_p99_ms_worst_sample"], 1),
                f"{r['drops']}/{r['errors']}",
                _n(r["server_cpu_cores_mean"], 3),
            ]
        )
    head = [
        "database",
        "connected",
        "held",
        "server RSS after open (MB)",
        "after warm-up",
        "at end",
        "growth",
        "server fds (open → end)",
        "generator RSS (warm-up → end)",
        "chat sent",
        "checked",
        "lost/dup/reordered/unexpected",
        "latency p50 ms (median of samples)",
        "p99 ms (worst sample)",
        "drops/errors",
        "server CPU (cores)",
    ]
    return _table(head, rows)


def render(folder: Path) -> str:
    parts = [f"<!-- python -m bench report: from {folder} -->"]
    if any(folder.glob("rest-*.json")):
        parts += ["### REST", rest_table(folder)]
    if hold := load(folder, "hold"):
        parts += ["### Hold", hold_table(hold)]
    if fan := load(folder, "fanout"):
        parts += ["### Chat fan-out", fanout_summary(fan)]
        parts += [fanout_steps(target, result) for target, result in fan.items()]
    storm = folder / "joinstorm-ours.json"
    if storm.exists():
        parts += ["### Join storm", joinstorm_table(json.loads(storm.read_text()))]
    if reconnect := load(folder, "reconnectstorm"):
        parts += ["### Reconnect storm", reconnectstorm_table(reconnect)]
    if soak := load(folder, "soak"):
        parts += ["### Soak", soak_table(soak)]
    return "\n\n".join(parts) + "\n"
