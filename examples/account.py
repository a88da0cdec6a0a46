"""What the example bots share: their account's command-line options, signing in with them
(the first run registers the account), the SDK configuration, and running to the end with
one line, not a traceback, when something fails. Imported by the examples beside it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any

from aimeeting import ErrorCode, MeetingError, MeetingSDK, SDKConfig
from aimeeting.sdk.config import accept_language
from aimeeting.terminal import explain

PASSWORD = "Passw0rd!"  # the README's one password


def add_account_options(parser: argparse.ArgumentParser, email: str, nickname: str) -> None:
    parser.add_argument("number", help="the 9-digit meeting number")
    parser.add_argument("--server", default="http://127.0.0.1:3000")
    parser.add_argument("--email", default=email)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--nickname", default=nickname)


def config(args: argparse.Namespace, **options: Any) -> SDKConfig:
    """The server of ``--server``; errors in the language of the person's locale."""
    return SDKConfig.for_server(args.server, language=accept_language(), **options)


async def sign_in(sdk: MeetingSDK, args: argparse.Namespace) -> None:
    """Register the account on its first run, log in on the later ones.

    Registering first costs no login attempt (those are limited to 5 a minute per address),
    and tells a wrong password apart from a new account: the email is known (40901), so a
    refused login is the password.
    """
    try:
        await sdk.register(args.email, args.password, args.nickname)
        return
    except MeetingError as exc:
        if exc.server_code != ErrorCode.EMAIL_TAKEN:
            raise
    try:
        await sdk.login(args.email, args.password)
    except MeetingError as exc:
        if exc.server_code == ErrorCode.WRONG_CREDENTIALS:
            sys.exit(f"! {args.email} is registered with another password: give it --password")
        raise


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run an example to its end. Ctrl-C stops it quietly; an SDK error (wrong password, too
    many sign-ins, a full meeting, an unknown number, no server) ends it with one line."""
    try:
        asyncio.run(main)
    except KeyboardInterrupt:
        pass
    except MeetingError as exc:
        sys.exit(f"! {explain(exc)}")
