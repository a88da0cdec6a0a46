"""The ``aimeeting`` command: ``serve`` and ``db upgrade`` (need the ``server`` extra),
``chat``, the terminal client on the SDK (needs only the base install), and ``assistant``, the
meeting assistant (needs the ``ai`` extra)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aimeeting", description="AI Meeting")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 3000)")
    serve.add_argument("--data-dir", help="where the embedded database and secrets live")
    serve.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+asyncpg://…")
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    chat = commands.add_parser("chat", help="meet and chat from this terminal (the SDK)")
    from aimeeting.terminal import add_arguments

    add_arguments(chat)
    assistant = commands.add_parser("assistant", help="caption meetings (the ai extra)")
    from aimeeting.assistant import cli as assistant_cli

    assistant_cli.add_arguments(assistant)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "chat":  # the client: no server dependency
        from aimeeting import terminal

        return terminal.main(args)
    if args.command == "assistant":  # a client too
        from aimeeting.assistant import cli as assistant_cli

        return assistant_cli.main(args)
    try:
        from aimeeting.server import cli
    except ImportError as exc:
        print(
            f"the server needs its extra: pip install 'aimeeting[server]' ({exc.name} missing)",
            file=sys.stderr,
        )
        return 2
    return cli.run(args)


if __name__ == "__main__":
    sys.exit(main())
