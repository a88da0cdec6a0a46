"""What the example bots share: their account's command-line options, and signing in with them
(the first run registers the account). Imported by the examples beside it."""

from __future__ import annotations

import argparse

from aimeeting import MeetingError, MeetingSDK


def add_account_options(parser: argparse.ArgumentParser, email: str, nickname: str) -> None:
    parser.add_argument("number", help="the 9-digit meeting number")
    parser.add_argument("--server", default="http://127.0.0.1:3000")
    parser.add_argument("--email", default=email)
    parser.add_argument("--password", default="Passw0rd!")
    parser.add_argument("--nickname", default=nickname)


async def sign_in(sdk: MeetingSDK, args: argparse.Namespace) -> None:
    try:
        await sdk.login(args.email, args.password)
    except MeetingError:  # first run: no such account yet
        await sdk.register(args.email, args.password, args.nickname)
