"""``aimeeting assistant``: run the meeting assistant against a server (docs/assistant.md).

``aimeeting serve`` starts this itself when ``AIMEETING_ASSISTANT=1``; run alone, it needs the
server's address and the assistant account's password.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the ai extra's modules load only once the command runs
    from aimeeting.assistant.agent import AssistantConfig

DEFAULT_EMAIL = "assistant@aimeeting.local"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--server",
        default=env("AIMEETING_SERVER", "http://127.0.0.1:3000"),
        help="the server's address (default http://127.0.0.1:3000, or AIMEETING_SERVER)",
    )
    parser.add_argument(
        "--email",
        default=env("AIMEETING_ASSISTANT_EMAIL", DEFAULT_EMAIL),
        help=f"the assistant account (AIMEETING_ASSISTANT_EMAIL, default {DEFAULT_EMAIL})",
    )
    parser.add_argument(
        "--password",
        default=env("AIMEETING_ASSISTANT_PASSWORD"),
        help="its password (AIMEETING_ASSISTANT_PASSWORD; the server's setting)",
    )
    parser.add_argument(
        "--engine",
        default=env("AIMEETING_ASSISTANT_ENGINE"),
        help="another speech engine, package.module:factory (AIMEETING_ASSISTANT_ENGINE)",
    )
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between invitation checks"
    )


def main(args: argparse.Namespace) -> int:
    if not args.password:
        print(
            "aimeeting assistant: no password: set AIMEETING_ASSISTANT_PASSWORD to the server's "
            "(or let `AIMEETING_ASSISTANT=1 aimeeting serve` start the assistant)",
            file=sys.stderr,
        )
        return 2
    try:
        from aimeeting.assistant.agent import AssistantConfig, SignInRefused

        if args.engine is None:  # the default engine; another one brings what it needs
            import faster_whisper  # noqa: F401
    except ImportError as exc:
        print(
            f"the assistant needs its extra: pip install 'aimeeting[ai]' ({exc.name} missing)",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s assistant %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll otherwise
    config = AssistantConfig(
        server=args.server,
        email=args.email,
        password=args.password,
        engine=args.engine,
        poll_interval=args.poll_interval,
    )
    try:
        asyncio.run(_run(config))
    except SignInRefused as exc:
        print(f"aimeeting assistant: sign-in refused: {exc}", file=sys.stderr)
        return 2
    return 0


async def _run(config: AssistantConfig) -> None:
    """Until SIGTERM or Ctrl-C: then leave every meeting and stop."""
    from aimeeting.assistant.agent import Assistant

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # not on Windows' default loop
            loop.add_signal_handler(signum, stop.set)
    parent = os.environ.get("AIMEETING_ASSISTANT_PARENT_PID")
    watch = asyncio.create_task(_orphaned(int(parent), stop)) if parent else None
    with contextlib.suppress(asyncio.CancelledError):
        await Assistant(config).run(stop)
    if watch is not None:
        watch.cancel()


async def _orphaned(parent: int, stop: asyncio.Event) -> None:
    """Started by ``aimeeting serve``: stop once that process is gone (even killed -9)."""
    while os.getppid() == parent:  # noqa: ASYNC110 (no event says a parent died)
        await asyncio.sleep(1)
    stop.set()
