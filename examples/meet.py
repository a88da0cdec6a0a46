"""Meet from a terminal with nothing but httpx and websockets (the raw API, no SDK).

    python examples/meet.py --email alice@example.com --nickname Alice            # new meeting
    python examples/meet.py --email bob@example.com --nickname Bob --join 123456789

Type a line to chat; /mute, /unmute, /camera-off, /camera-on; /leave (or Ctrl-D) to leave.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import httpx
from websockets.asyncio.client import connect

COMMANDS = {
    "/mute": ("mute_audio", True),
    "/unmute": ("mute_audio", False),
    "/camera-off": ("mute_video", True),
    "/camera-on": ("mute_video", False),
}


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
    elif kind == "user_joined":
        names[data["user"]["id"]] = data["user"]["nickname"]
        print(f"* {data['user']['nickname']} joined ({data['participant_count']} here)")
    elif kind == "user_left":
        print(f"* {names.get(data['user_id'], data['user_id'])} left")
    elif kind == "chat_message":
        print(f"[{data['sender']['nickname']}] {data['content']}")
    elif kind == "media_state_changed":
        mic = "off" if data["audio_muted"] else "on"
        camera = "off" if data["video_muted"] else "on"
        print(f"* {names.get(data['user_id'], data['user_id'])}: mic {mic}, camera {camera}")
    elif kind == "meeting_ended":
        print("* the meeting has ended")
    elif kind == "error":
        print(f"! {data['code']} {data['message']}")
    sys.stdout.flush()


async def sign_in(http: httpx.AsyncClient, args: argparse.Namespace) -> str:
    credentials = {"email": args.email, "password": args.password}
    response = await http.post("/auth/login", json=credentials)
    if response.json()["code"] == 40101:  # no such account yet: register it
        profile = {**credentials, "nickname": args.nickname}
        response = await http.post("/auth/register", json=profile)
    response.raise_for_status()
    return response.json()["data"]["tokens"]["access_token"]


async def main(args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=f"{args.server}/v1") as http:
        token = await sign_in(http, args)
        http.headers["Authorization"] = f"Bearer {token}"
        number = args.join
        if number is None:
            number = (await http.post("/meetings", json={"title": "Terminal meeting"})).json()[
                "data"
            ]["meeting_number"]
            print(f"* meeting number: {number}", flush=True)
        joined = (await http.post(f"/meetings/{number}/join")).json()
        if joined["code"] != 0:
            sys.exit(f"cannot join: {joined['message']}")
        room = joined["data"]["id"]

    ws_url = args.server.replace("http", "ws", 1) + f"/v1/ws?access_token={token}"
    async with connect(ws_url) as ws:

        async def send(kind: str, **data: object) -> None:
            await ws.send(json.dumps({"type": kind, "seq": 0, "timestamp": 0, "data": data}))

        async def receive(names: dict[str, str], pong: asyncio.Event) -> None:
            async for frame in ws:
                message = json.loads(frame)
                if message["type"] == "pong":
                    pong.set()
                show(message, names)

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(25)
                await send("ping")

        pong = asyncio.Event()
        tasks = [asyncio.create_task(receive({}, pong)), asyncio.create_task(heartbeat())]
        await send("join_room", room_id=room)
        loop = asyncio.get_running_loop()
        while (line := await loop.run_in_executor(None, sys.stdin.readline)) != "":  # "" is EOF
            line = line.strip()
            if line == "/leave":
                break
            if line in COMMANDS:
                action, value = COMMANDS[line]
                await send("media_control", room_id=room, action=action, value=value)
            elif line:
                await send("chat_message", room_id=room, content=line)
        await send("leave_room", room_id=room)
        pong.clear()
        await send("ping")  # answered once the leave is done: messages are handled in order
        await asyncio.wait_for(pong.wait(), 5)
        print("* you left", flush=True)
        for task in tasks:
            task.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:3000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default="Passw0rd!")
    parser.add_argument("--nickname", default="Guest")
    parser.add_argument("--join", metavar="NUMBER", help="a meeting number; else create one")
    asyncio.run(main(parser.parse_args()))
