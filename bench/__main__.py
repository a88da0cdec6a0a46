"""``python -m bench <scenario> [--quick]``: start the system(s) under test, load them, print and
keep the figures (JSON in bench/results/, plots in docs/img/; ``--quick`` runs go to
bench/results/quick/ and are the CI smoke test).

Scenarios: ``rest``, ``hold``, ``fanout``, ``joinstorm``, ``media`` (browsers, as root),
``webapp`` (a browser), ``pybots`` (Python media bots, as root), ``reconnectstorm`` (every member's
node restarted or killed: until all are back in their rooms), ``speech`` (the assistant's
speech to text: accuracy and speed), ``assistant`` (caption latency and meetings per assistant
process, as root), ``soak`` (2,000 idle and 200 chatting connections for an hour: memory and
open files over time; not part of ``all``), ``all``;
``report`` prints the markdown tables of docs/benchmarks.md from the results, ``plots`` redraws
the PNGs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench import (
    fanout,
    hold,
    joinstorm,
    media,
    plots,
    pybots,
    reconnectstorm,
    report,
    rest,
    soak,
    webapp,
)
from bench.targets import TARGETS
from bench.wsload import raise_fd_limit
from harness.server import ServerProcess

RESULTS = Path(__file__).with_name("results")
STORM_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/aimeeting_bench"
QUICK_RESULTS = RESULTS / "quick"
SCENARIOS = (
    *("rest", "hold", "fanout", "joinstorm", "reconnectstorm", "media", "webapp", "pybots"),
    *("speech", "assistant"),
    *("soak", "all", "report", "plots"),
)


def _machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    model = platform.processor()
    if cpuinfo.exists():
        lines = cpuinfo.read_text().splitlines()
        model = next(
            (ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), model
        )
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--quick", action="store_true", help="small sizes, well under a minute")
    parser.add_argument(
        "--target",
        default="all",
        choices=(*TARGETS, "all"),
        help="hold and fanout: which system(s), one after another (default all)",
    )
    parser.add_argument("--processes", type=int, help="load generator processes (rest 1, else 2)")
    parser.add_argument("--seconds", type=float, help="per phase/step")
    parser.add_argument("--results", type=Path, help="folder for the JSON (and quick plots)")
    group = parser.add_argument_group("rest")
    group.add_argument("--database-url", help="default: SQLite in a temporary data dir")
    group.add_argument("--concurrency", type=int, default=64)
    group.add_argument(
        "--open-loop-rate",
        type=float,
        default=2000,
        help="GET /users/me open-loop phase in req/s (0: skip)",
    )
    group.add_argument(
        "--phases",
        help=f"only these phases, e.g. join (of {','.join(rest.PHASES)}; "
        "written to partial-rest-<phases>-<database>.json)",
    )
    group = parser.add_argument_group("hold")
    group.add_argument("--steps", help="connections per step, e.g. 1000,2000,5000")
    group.add_argument("--ping-interval", type=float, help="seconds (default 30, quick 2)")
    group = parser.add_argument_group("fanout")
    group.add_argument("--rooms", type=int, help="rooms of 4 (default 250, quick 25)")
    group.add_argument("--rates", help="messages/s per member per step, e.g. 1,2,4")
    group.add_argument(
        "--no-client-msg-id",
        action="store_true",
        help="send chats without the retry key (what ours' dedup costs)",
    )
    group.add_argument(
        "--kind",
        choices=fanout.KINDS,
        default="chat",
        help="chat (to the room, stored) or signal (webrtc_signal to one member; ours, bare)",
    )
    group = parser.add_argument_group("joinstorm")
    group.add_argument("--users", type=int, help="default 2000, quick 200")
    group.add_argument(
        "--profile", type=Path, help="py-spy the server during the storm, to this file (raw)"
    )
    group = parser.add_argument_group("reconnectstorm")
    group.add_argument(
        "--mode",
        choices=(*reconnectstorm.MODES, "both"),
        default="both",
        help="restart: one SQLite node SIGTERM'd and started again; failover: one of two "
        "nodes (PostgreSQL, Redis) killed; both (default)",
    )
    group.add_argument("--members", type=int, help="default 5000, quick 200 (rooms of 4)")
    group.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379",
        help="failover: the Redis server (a database number 1-15 is claimed for the run)",
    )
    group.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="record the storm's node with py-spy (15 s; .txt: raw, else speedscope)",
    )
    group = parser.add_argument_group("media")
    group.add_argument("--joins", type=int, help="joins per meeting size (default 20, quick 3)")
    group = parser.add_argument_group("pybots")
    group.add_argument("--bots", help="bots per capacity step, e.g. 2,4,8 (default 2,4,…,32)")
    group = parser.add_argument_group("soak")
    group.add_argument("--minutes", type=float, help="how long to hold (default 60, quick 1)")
    group.add_argument("--idle", type=int, help="idle connections (default 2000, quick 80)")
    group.add_argument("--chatting", type=int, help="chatting connections (default 200, quick 32)")
    group.add_argument(
        "--postgres",
        metavar="URL",
        help="soak: default SQLite in a temporary data dir; reconnectstorm --mode failover: the "
        f"server to make a database of its own on (default {STORM_POSTGRES})",
    )
    group = parser.add_argument_group("webapp")
    group.add_argument("--loads", type=int, help="page loads, cold and warm (default 20, quick 3)")
    return parser


def _load() -> list[float]:
    """The machine's load average (1, 5, 15 min): the machine is shared, so every result says."""
    return [round(x, 2) for x in os.getloadavg()]


def _folder(args: argparse.Namespace) -> Path:
    return Path(args.results or (QUICK_RESULTS if args.quick else RESULTS))


def _targets(args: argparse.Namespace) -> list[str]:
    return list(TARGETS) if args.target == "all" else [args.target]


def _ints(text: str | None, default: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",")) if text else default


def _floats(text: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",")) if text else default


def _save(
    args: argparse.Namespace,
    name: str,
    figures: dict[str, Any],
    started: float,
    *,
    quiet: bool = False,
) -> None:
    result = {
        "scenario": name.split("-")[0],
        "quick": args.quick,
        "command": "python -m bench " + " ".join(sys.argv[1:]),
        "machine": _machine(),
        "load_average_before": args.load_before,
        "load_average_after": _load(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total_seconds": round(time.monotonic() - started, 1),
        **figures,
    }
    folder = _folder(args)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not quiet:
        print(f"bench: wrote {path}", file=sys.stderr)


def run_rest(args: argparse.Namespace) -> int:
    phases = tuple(args.phases.split(",")) if args.phases else rest.PHASES
    if unknown := set(phases) - set(rest.PHASES):
        raise SystemExit(f"unknown --phases {sorted(unknown)}: choose from {rest.PHASES}")
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    env = {
        # The shipped defaults (bcrypt cost 12, info logs) except: logins are not throttled,
        # since the bench logs in from one address.
        "AIMEETING_BCRYPT_ROUNDS": "12",
        "AIMEETING_LOGIN_RATE_LIMIT": "1000000/minute",
        "AIMEETING_LOGIN_LOCKOUT": "1000000,1",
    }
    if args.database_url:
        env["AIMEETING_DATABASE_URL"] = args.database_url
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as data_dir, ServerProcess(Path(data_dir), env) as server:
        assert server.process is not None
        process = psutil.Process(server.process.pid)

        def server_cpu() -> float:
            times = process.cpu_times()
            return float(times.user + times.system)

        figures = rest.run(
            server.url,
            server_cpu,
            concurrency=args.concurrency,
            seconds=seconds,
            processes=args.processes or 1,
            open_loop_rate=args.open_loop_rate,
            phases=phases,
        )
    database = "postgresql" if args.database_url else "sqlite"
    name = "rest"  # a partial run never overwrites the full run's file
    if phases != rest.PHASES:
        name = f"partial-rest-{'-'.join(phases)}"
    _save(args, f"{name}-{database}", {"database": database, **figures}, started)
    errors = sum(phase["errors"] for phase in figures["phases"])
    errors += figures["open_loop"]["errors"] if figures["open_loop"] else 0
    return 1 if errors else 0


def run_hold(args: argparse.Namespace) -> int:
    failed = 0
    for target in _targets(args):
        started, args.load_before = time.monotonic(), _load()
        figures = hold.run(
            target,
            steps=_ints(args.steps, hold.QUICK_STEPS if args.quick else hold.STEPS),
            hold_seconds=args.seconds or (3.0 if args.quick else 31.0),
            ping_interval=args.ping_interval or (1.5 if args.quick else 30.0),
            processes=args.processes or 2,
        )
        _save(args, f"hold-{target}", figures, started)
        failed += not figures["steps"] or figures["steps"][0]["connected"] == 0
    return 1 if failed else 0


def run_fanout(args: argparse.Namespace) -> int:
    failed = 0
    for target in _targets(args):
        started, args.load_before = time.monotonic(), _load()
        figures = fanout.run(
            target,
            rooms=args.rooms or (25 if args.quick else 250),
            rates=_floats(args.rates, fanout.QUICK_RATES if args.quick else fanout.RATES),
            seconds=args.seconds or (2.0 if args.quick else 6.0),
            processes=args.processes or 2,
            drain=2.0 if args.quick else 3.0,
            retry_key=not args.no_client_msg_id,
            kind=args.kind,
        )
        suffix = "-no-client-msg-id" if args.no_client_msg_id else ""
        suffix += "-signal" if args.kind == "signal" else ""
        _save(args, f"fanout-{target}{suffix}", figures, started)
        failed += bool(figures["connect_failures"]) or not figures["steps"]
    return 1 if failed else 0


def run_joinstorm(args: argparse.Namespace) -> int:
    started = time.monotonic()
    figures = joinstorm.run(
        users=args.users or (200 if args.quick else 2000),
        processes=args.processes or 2,
        profile=args.profile,
    )
    _save(args, "joinstorm-ours", figures, started)
    return 1 if figures["errors"] or figures["complete"] != figures["users"] else 0


def run_reconnectstorm(args: argparse.Namespace) -> int:
    modes = reconnectstorm.MODES if args.mode == "both" else (args.mode,)
    status = 0
    for mode in modes:
        started, args.load_before = time.monotonic(), _load()
        figures = reconnectstorm.run(
            mode=mode,
            members=args.members or (200 if args.quick else 5000),
            processes=args.processes or 2,
            postgres=args.postgres or STORM_POSTGRES,
            redis_url=args.redis_url,
            profile=args.py_spy,
        )
        _save(args, f"reconnectstorm-{mode}", figures, started)
        status |= reconnectstorm.failed(figures)
    return status


def _in_browser(
    args: argparse.Namespace, name: str, run: Callable[[Path, int], dict[str, Any]], count: int
) -> int:
    """A browser scenario: its server's data in a temporary folder, ``count`` rounds."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as data_dir:
        figures = run(Path(data_dir), count)
    _save(args, name, figures, started)
    return 0


def run_media(args: argparse.Namespace) -> int:
    return _in_browser(args, "media-browser", media.run, args.joins or (3 if args.quick else 20))


def run_webapp(args: argparse.Namespace) -> int:
    return _in_browser(args, "webapp-browser", webapp.run, args.loads or (3 if args.quick else 20))


def run_pybots(args: argparse.Namespace) -> int:
    started = time.monotonic()
    steps = _ints(args.bots, pybots.QUICK_STEPS if args.quick else pybots.STEPS)
    with tempfile.TemporaryDirectory() as data_dir:
        figures = pybots.run(
            Path(data_dir), joins=args.joins or (3 if args.quick else 20), steps=steps
        )
    _save(args, "pybots-aiortc", figures, started)
    return 0


def run_speech(args: argparse.Namespace) -> int:
    from bench import speech  # the ai extra (faster-whisper, the models) and PyAV: only here

    started = time.monotonic()
    _save(args, "speech", speech.run(quick=args.quick), started)
    return 0


def run_assistant(args: argparse.Namespace) -> int:
    from bench import assistant  # the ai extra: only here

    started = time.monotonic()
    steps = assistant.QUICK_STEPS if args.quick else assistant.STEPS
    with tempfile.TemporaryDirectory() as data_dir:
        figures = assistant.run(
            Path(data_dir), steps, seconds=args.seconds or (8 if args.quick else 30)
        )
    _save(args, "assistant", figures, started)
    return 0


def run_soak(args: argparse.Namespace) -> int:
    started = time.monotonic()
    name = "soak-postgresql" if args.postgres else "soak-sqlite"
    figures = soak.run(
        idle=args.idle or (80 if args.quick else 2000),
        chatting=args.chatting or (32 if args.quick else 200),
        minutes=args.minutes or (1.0 if args.quick else 60.0),
        sample_seconds=args.seconds or (5.0 if args.quick else 30.0),
        chat_period=5.0,
        processes=args.processes or 2,
        database_url=args.postgres,
        save=lambda figures: _save(args, name, figures, started, quiet=True),
    )
    print(f"bench: wrote {_folder(args) / name}.json", file=sys.stderr)
    faults = sum(figures[kind] for kind in soak.KINDS)
    return 1 if faults or figures["connect_failed"] or figures["drops"] else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.load_before = _load()
    raise_fd_limit()  # inherited by the servers this starts
    folder = _folder(args)
    if args.scenario == "report":
        print(report.render(folder))
        return 0
    runs = {
        "rest": run_rest,
        "hold": run_hold,
        "fanout": run_fanout,
        "joinstorm": run_joinstorm,
        "reconnectstorm": run_reconnectstorm,
        "media": run_media,
        "webapp": run_webapp,
        "pybots": run_pybots,
        "speech": run_speech,
        "assistant": run_assistant,
        "soak": run_soak,
    }
    names = (
        [name for name in runs if name != "soak"]
        if args.scenario == "all"
        else []
        if args.scenario == "plots"
        else [args.scenario]
    )
    status = 0
    for name in names:
        print(f"bench: {name} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
        status |= runs[name](args)
    written = plots.draw(folder, folder if args.quick or args.results else plots.DOCS_IMG)
    for path in written:
        print(f"bench: wrote {path}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
