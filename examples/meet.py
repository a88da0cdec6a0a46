"""Meet from a terminal with nothing but httpx and websockets (the raw API, no SDK).

    python examples/meet.py --email alice@example.com --nickname Alice            # new meeting
    python examples/meet.py --email bob@example.com --nickname Bob --join 123456789

Type a line to chat; /mute, /unmute, /camera-off, /camera-on; /leave (or Ctrl-D) to leave.
The first run of an email registers it; later runs log in. When the meeting ends or the server
goes away it says so at once and exits; every refusal is one line (the server's own words, in
the language of your locale).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

COMMANDS = {
    "/mute": ("mute_audio", True),
    "/unmute": ("mute_audio", False),
    "/camera-off": ("mute_video", True),
    "/camera-on": ("mute_video", False),
}
# Why the server closed the socket (docs/realtime.md, close codes).
CLOSED = {
    1001: "the server is shutting down",
    4401: "your session ended (logged out)",
    4408: "the server heard nothing from this terminal for too long",
    4409: "you joined this meeting somewhere else",
}


class Refused(Exception):
    """The server said no: its code and message (in the language asked for)."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("message", "refused"))
        self.code: int = body.get("code", 0)
        self.wait = (body.get("details") or {}).get("retry_after")

    def __str__(self) -> str:
        if not self.wait:
            return str(self.args[0])
        wait = f"{round(self.wait / 60)} min" if self.wait >= 120 else f"{self.wait} s"
        return f"{self.args[0]} (wait {wait})"


def language() -> str:
    """Accept-Language from the locale (LANG and friends): English for C/POSIX, and English
    after any other language (the server speaks Chinese, its default, and English)."""
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG")
    tag = (locale or "C").split(".")[0].replace("_", "-")
    return "en" if tag in ("C", "POSIX") or tag.startswith("en") else f"{tag}, en;q=0.5"


def show(message: dict, names: dict[str, str]) -> None:
    kind, data = message["type"], message["data"]
    if kind == "room_state":
        for seat in data["participants"]:
            names[seat["user_id"]] = seat["nickname"]
        here = ", ".join(
            f"{s['nickname']} (mic {'off' if s['audio_muted'] else 'on'}, "
            f"camera {'off' if s['video_muted'] else 'on'})"
            for s in data["participants"]
        )
        print(f"* here: {here}")
    elif kind == "user_joined" and data["user"]["id"] not in names:  # not us: we are "here"
        names[data["user"]["id"]] = data["user"]["nickname"]
        print(f"* {data['user']['nickname']} joined ({data['participant_count']} here)")
    elif kind == "user_left":
        print(f"* {names.pop(data['user_id'], data['user_id'])} left")
    elif kind == "chat_message":
        print(f"[{data['sender']['nickname']}] {data['content']}")
    elif kind == "media_state_changed":
        mic = "off" if data["audio_muted"] else "on"
        camera = "off" if data["video_muted"] else "on"
        print(f"* {names.get(data['user_id'], data['user_id'])}: mic {mic}, camera {camera}")
    elif kind == "meeting_ended":
        print("* the meeting has ended")
    elif kind == "error":
        print(f"! {data['message']}")
    sys.stdout.flush()


async def call(http: httpx.AsyncClient, method: str, path: str, body: Any = None) -> Any:
    """The ``data`` of a REST answer; a refusal raises ``Refused``."""
    answer = (await http.request(method, path, json=body)).json()
    if answer["code"] != 0:
        raise Refused(answer)
    return answer.get("data")


async def sign_in(http: httpx.AsyncClient, args: argparse.Namespace) -> dict[str, Any]:
    """Register on the first run, log in on later ones: registering first costs no login
    attempt (5 a minute per address), and once the email is known a refusal means the
    password."""
    credentials = {"email": args.email, "password": args.password}
    try:
        profile = {**credentials, "nickname": args.nickname}
        data = await call(http, "POST", "/auth/register", profile)
    except Refused as exc:
        if exc.code != 40901:  # anything but "email already registered"
            raise
        try:
            data = await call(http, "POST", "/auth/login", credentials)
        except Refused as exc:
            if exc.code == 40101:
                sys.exit(f"! {args.email} is registered with another password: give it --password")
            raise
    return data  # {"user": ..., "tokens": ...}


def typed_lines() -> asyncio.Queue[str | None]:
    """Lines typed, then None at end of input. Read by a daemon thread, which never keeps the
    program from exiting when the meeting ends while nobody types."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    return lines


async def meet(ws: ClientConnection, room: str, me: dict[str, str]) -> int:
    async def send(kind: str, **data: object) -> None:
        await ws.send(json.dumps({"type": kind, "seq": 0, "timestamp": 0, "data": data}))

    pong = asyncio.Event()

    async def receive() -> None:
        names = {me["id"]: me["nickname"]}
        try:
            async for frame in ws:
                message = json.loads(frame)
                if message["type"] == "pong":
                    pong.set()
                show(message, names)
        except ConnectionClosed:  # closed without a close frame (the server died): said below
            pass

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(25)
            await send("ping")

    async def type_lines() -> None:
        lines = typed_lines()
        while (line := await lines.get()) is not None:
            line = line.strip()
            if line == "/leave":
                break
            if line in COMMANDS:
                action, value = COMMANDS[line]
                await send("media_control", room_id=room, action=action, value=value)
            elif line:
                await send("chat_message", room_id=room, content=line)

    await send("join_room", room_id=room)
    receiving, beating = asyncio.create_task(receive()), asyncio.create_task(heartbeat())
    typing = asyncio.create_task(type_lines())
    await asyncio.wait({receiving, typing}, return_when=asyncio.FIRST_COMPLETED)
    beating.cancel()
    if typing.done() and not receiving.done():  # /leave or Ctrl-D: the meeting goes on
        try:
            await send("leave_room", room_id=room)
            pong.clear()
            await send("ping")  # answered once the leave is done: messages are handled in order
            await asyncio.wait_for(pong.wait(), 5)
            print("* you left", flush=True)
            return 0
        except (ConnectionClosed, TimeoutError):
            pass  # the server went away meanwhile: said below
        finally:
            receiving.cancel()
    typing.cancel()
    code = ws.close_code
    if code == 4410:  # "the meeting has ended" was printed with its message
        return 0
    why = CLOSED.get(code or 0, f"lost the connection to the server (close code {code})")
    print(f"! {why}", flush=True)
    return 1


async def main(args: argparse.Namespace) -> int:
    headers = {"Accept-Language": language()}
    async with httpx.AsyncClient(base_url=f"{args.server}/v1", headers=headers) as http:
        account = await sign_in(http, args)
        token = account["tokens"]["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        number = args.join
        if number is None:
            created = await call(http, "POST", "/meetings", {"title": "Terminal meeting"})
            number = created["meeting_number"]
            print(f"* meeting number: {number}", flush=True)
        try:
            room = (await call(http, "POST", f"/meetings/{number}/join"))["id"]
        except Refused as exc:  # no such number, ended, full
            sys.exit(f"! cannot join {number}: {exc}")

    ws_url = args.server.replace("http", "ws", 1) + f"/v1/ws?access_token={token}"
    async with connect(ws_url, additional_headers=headers) as ws:
        return await meet(ws, room, account["user"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:3000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default="Passw0rd!")
    parser.add_argument("--nickname", default="Guest")
    parser.add_argument("--join", metavar="NUMBER", help="a meeting number; else create one")
    arguments = parser.parse_args()
    try:
        sys.exit(asyncio.run(main(arguments)))
    except KeyboardInterrupt:
        sys.exit(130)
    except Refused as exc:
        sys.exit(f"! {exc}")
    except (httpx.ConnectError, OSError) as exc:
        sys.exit(f"! cannot reach the server at {arguments.server} ({exc}): is it running?")
