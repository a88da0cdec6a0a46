"""What ``aimeeting serve`` and ``aimeeting db upgrade`` do."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import socket
import sys
import threading

import uvicorn
from pydantic import ValidationError

from aimeeting.assistant.supervisor import AssistantProcess
from aimeeting.server import logs
from aimeeting.server.api.deps import Services
from aimeeting.server.app import create_app
from aimeeting.server.assistant.account import assistant_password
from aimeeting.server.config import Settings
from aimeeting.server.db import Database, migrate

log = logging.getLogger(__name__)


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment first, then whatever the command line says."""
    overrides = {
        key: value
        for key in ("host", "port", "data_dir", "database_url")
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


# Seconds from the signal to the exit, at most: closing the sockets takes up to 10 s, the rest
# normally well under one. A step that hangs (a task that will not end) must not keep an
# orchestrator waiting for a node it already took out of the pool; what was acknowledged is
# stored by then.
SHUTDOWN_DEADLINE = 25.0


def _exit_by(seconds: float) -> None:
    """Arm a watchdog thread that ends the process if the shutdown is still going then."""

    def give_up() -> None:
        log.error("shutdown did not finish in time; exiting", extra={"seconds": seconds})
        logging.shutdown()
        os._exit(1)

    watchdog = threading.Timer(seconds, give_up)
    watchdog.daemon = True  # a shutdown that finishes does not wait for it
    watchdog.start()


class _Server(uvicorn.Server):
    """uvicorn, but WebSocket clients get a clean 1001 once their in-flight message is done,
    before uvicorn would close what is left with 1012."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:  # listening: tell the person who started it where to go
            print(welcome(self.config.host, self.config.port), flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        _exit_by(SHUTDOWN_DEADLINE)
        for server in self.servers:
            server.close()  # no new connections meanwhile
        app = self.config.loaded_app
        services: Services | None = getattr(getattr(app, "state", None), "services", None)
        if services is not None:
            await services.gateway.shutdown()
        await super().shutdown(sockets)


def welcome(host: str, port: int) -> str:
    """What ``serve`` prints on stdout once it listens (the logs go to stderr or a file)."""
    every = ("0.0.0.0", "::", "")  # noqa: S104 (compared, not bound): shown as localhost
    shown = "localhost" if host in every else host
    origin = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    return (
        f"AI Meeting is listening on {origin}\n"
        f"  web app:  {origin}/\n"
        f"  API docs: {origin}/v1/docs  (OpenAPI: {origin}/v1/openapi.json)\n"
        "Ctrl-C stops it."
    )


def serve(settings: Settings) -> int:
    logs.configure(settings.log_level, settings.log_file)
    app = create_app(settings)
    log.info("starting", extra={"host": settings.host, "port": settings.port})
    # uvicorn stops on SIGTERM/SIGINT: no new connections, in-flight requests finish.
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        backlog=settings.listen_backlog,
        access_log=False,  # our middleware logs requests, without query strings
        log_config=None,
        proxy_headers=False,  # X-Forwarded-For is read only from trusted proxies, by us
        server_header=False,
        timeout_graceful_shutdown=10,
        ws_max_size=settings.max_body_bytes,  # larger frames: close 1009
        ws_ping_interval=None,  # the contract's heartbeat (ping messages) is the one liveness check
        ws_per_message_deflate=False,  # a zlib context per connection costs more than it saves
    )
    assistant = _start_assistant(settings)
    try:
        _Server(config).run()
    finally:
        if assistant is not None:
            assistant.stop()
    return 0


def _start_assistant(settings: Settings) -> AssistantProcess | None:
    """``AIMEETING_ASSISTANT=1``: the assistant in a child process (docs/assistant.md)."""
    if not settings.assistant:
        return None
    if importlib.util.find_spec("faster_whisper") is None:
        log.error("AIMEETING_ASSISTANT=1 needs the ai extra: pip install 'aimeeting[ai]'")
        return None
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"  # noqa: S104
    origin = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    env = {
        "AIMEETING_ASSISTANT_EMAIL": settings.assistant_email,
        "AIMEETING_ASSISTANT_PASSWORD": assistant_password(settings),
        "AIMEETING_ASSISTANT_PARENT_PID": str(os.getpid()),  # it stops when we are gone
    }
    process = AssistantProcess(origin, env)
    process.start()
    return process


async def _upgrade(settings: Settings) -> None:
    database = Database(settings.resolved_database_url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.dispose()


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            if error["loc"]:
                name = "AIMEETING_" + "_".join(str(part) for part in error["loc"]).upper()
                print(f"invalid configuration: {name}: {error['msg']}", file=sys.stderr)
            else:  # a rule about several variables: the message names them
                print(f"invalid configuration: {error['msg']}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings)
    logs.configure(settings.log_level, settings.log_file)
    asyncio.run(_upgrade(settings))
    log.info("database is at the newest schema")
    return 0
