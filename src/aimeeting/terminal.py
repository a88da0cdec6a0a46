"""``aimeeting chat``: meet from a terminal on the SDK. Log in or register, create or join a
meeting by number, see who is there and who is muted, chat, mute, leave.

Plain line I/O (stdin/stdout), so it works in any terminal, a pseudo-terminal or a pipe.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aimeeting.sdk import (
    ChatMessage,
    ConnectionState,
    ConnectionStateChangedEvent,
    CreateMeetingOptions,
    ErrorEvent,
    EventObject,
    JoinMeetingOptions,
    MediaStateChangedEvent,
    Meeting,
    MeetingEndedEvent,
    MeetingError,
    MeetingSDK,
    Participant,
    SDKConfig,
    UserJoinedEvent,
    UserLeftEvent,
)
from aimeeting.sdk.config import accept_language

HELP = """\
  text      send a chat message
  /mute     mute your microphone         /unmute    unmute it
  /video off  turn your camera off       /video on  turn it on
  /who      who is here                  /leave     leave (Ctrl-D too)
  /help     this list
  A line starting with ! is chat too: bots answer it (examples/bot.py: !time, !who)."""


class Console:
    """Lines from stdin without blocking the event loop (and without a thread that could
    outlive it): the descriptor is read only when it has data."""

    def __init__(self) -> None:
        self._fd = sys.stdin.fileno()
        self._buffer = b""
        self._eof = False

    async def line(self) -> str | None:
        """The next line without its newline, or None at end of input."""
        while b"\n" not in self._buffer and not self._eof:
            await self._readable()
            chunk = os.read(self._fd, 4096)
            self._eof = not chunk
            self._buffer += chunk
        if not self._buffer:
            return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode(errors="replace").rstrip("\r")

    async def ask(self, prompt: str) -> str:
        say(prompt, end="")
        answer = await self.line()
        if answer is None:
            raise EOFError
        return answer.strip()

    async def ask_secret(self, prompt: str) -> str:
        if not sys.stdin.isatty():
            return await self.ask(prompt)
        return await asyncio.to_thread(getpass.getpass, prompt)

    async def _readable(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(self._fd)


def say(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)


def explain(exc: MeetingError) -> str:
    """An SDK error as one line for a person: the server's words (in their language), with
    how long to wait when it said, or what to check when it could not be reached."""
    if (wait := exc.retry_after) is not None:
        after = f"{round(wait / 60)} min" if wait >= 120 else f"{wait:.0f} s"
        return f"{exc.message} (wait {after})"
    if isinstance(exc.details, dict) and exc.details.get("unreachable"):
        return f"{exc.message}: is `aimeeting serve` running there?"
    return exc.message


def describe(participant: Participant) -> str:
    mic = "off" if participant.audio_muted else "on"
    camera = "off" if participant.video_muted else "on"
    return f"{participant.nickname} (mic {mic}, camera {camera})"


MEDIA_HELP = """\
Needs pip install "aimeeting[media]". A terminal can neither show video nor play sound,
so it receives none; it can send. --audio-file, --tone and --name-card publish a microphone
and a camera that browsers in the meeting see and hear; /mute and /video off then send
silence and black. To keep what the others send, run examples/recorder.py."""


class ChatClient:
    def __init__(self, sdk: MeetingSDK, console: Console, media: dict[str, Any] | None = None):
        self.sdk = sdk
        self.console = console
        self.media = media or {}  # tracks to publish (JoinMeetingOptions' names)
        self.names: dict[str, str] = {}

    async def sign_in(self, email: str | None, nickname: str | None) -> None:
        while True:
            choice = (await self.console.ask("Log in or register? [l/r] ")).lower()[:1]
            if choice not in ("l", "r"):
                continue
            address = email or await self.console.ask("Email: ")
            password = await self.console.ask_secret("Password: ")
            try:
                if choice == "l":
                    user = await self.sdk.login(address, password)
                else:
                    name = nickname or await self.console.ask("Nickname: ")
                    user = await self.sdk.register(address, password, name)
            except MeetingError as exc:
                say(f"! {explain(exc)}")
                continue
            say(f"* signed in as {user.nickname}")
            return

    async def enter(self, number: str | None) -> Meeting:
        while True:
            if number is None:
                choice = (await self.console.ask("Create a meeting or join one? [c/j] ")).lower()
                if choice[:1] == "j":
                    number = await self.console.ask("Meeting number: ")
            try:
                if number is None:
                    title = await self.console.ask("Title (optional): ")
                    options = CreateMeetingOptions(title or None, **self.media)
                    return await self.sdk.create_meeting(options)
                return await self.sdk.join_meeting(number, JoinMeetingOptions(**self.media))
            except MeetingError as exc:
                say(f"! cannot join: {explain(exc)}")
                number = None

    def who(self, meeting: Meeting) -> None:
        say("* here: " + ", ".join(describe(p) for p in meeting.participants))

    def show(self, event: EventObject) -> None:
        if isinstance(event, ChatMessage):
            say(f"[{event.sender.nickname}] {event.content}")
        elif isinstance(event, UserJoinedEvent):
            self.names[event.user.id] = event.user.nickname
            say(f"* {event.user.nickname} joined ({event.participant_count} here)")
        elif isinstance(event, UserLeftEvent):
            say(f"* {self.names.get(event.user_id, event.user_id)} left")
        elif isinstance(event, MediaStateChangedEvent):
            mic = "off" if event.audio_muted else "on"
            camera = "off" if event.video_muted else "on"
            say(f"* {self.names.get(event.user_id, event.user_id)}: mic {mic}, camera {camera}")
        elif isinstance(event, ConnectionStateChangedEvent):
            if event.state is ConnectionState.RECONNECTING:
                say("* connection lost: reconnecting…")
            elif event.state is ConnectionState.CONNECTED:
                say("* connected again")
        elif isinstance(event, MeetingEndedEvent):
            say("* the meeting has ended")
        elif isinstance(event, ErrorEvent):
            say(f"! {event.message}")

    async def show_events(self, meeting: Meeting) -> None:
        async for event in meeting.events():
            self.show(event)

    async def run(self, meeting: Meeting) -> None:
        self.names = {p.user_id: p.nickname for p in meeting.participants}
        title = f" ({meeting.title})" if meeting.title else ""
        say(f"* meeting number: {meeting.meeting_number}{title}")
        self.who(meeting)
        say("* type a message, or /help")
        printer = asyncio.create_task(self.show_events(meeting))
        typing = asyncio.create_task(self.read_commands(meeting))
        await asyncio.wait({printer, typing}, return_when=asyncio.FIRST_COMPLETED)
        typing.cancel()
        if not printer.done():  # the user left; the meeting lives on
            await meeting.leave()
            say("* you left")
        with contextlib.suppress(asyncio.CancelledError):
            await printer

    async def read_commands(self, meeting: Meeting) -> None:
        commands: dict[str, Callable[[], Awaitable[None]]] = {
            "/mute": lambda: meeting.mute_audio(True),
            "/unmute": lambda: meeting.mute_audio(False),
            "/video off": lambda: meeting.mute_video(True),
            "/video on": lambda: meeting.mute_video(False),
        }
        while (line := await self.console.line()) is not None:
            line = " ".join(line.split())
            try:
                if line == "/leave":
                    return
                if line == "/help":
                    say(HELP)
                elif line == "/who":
                    self.who(meeting)
                elif line in commands:
                    await commands[line]()
                elif line.startswith("/"):
                    say("! unknown command; /help lists them")
                elif line:
                    await meeting.send_chat_message(line)
            except MeetingError as exc:  # too many messages, say: this one is not sent
                say(f"! {explain(exc)}")


def published(args: argparse.Namespace, nickname: str) -> dict[str, Any]:
    """The tracks the media options ask for (aiortc is imported only then)."""
    if not (args.audio_file or args.tone or args.name_card):
        return {}
    from aiortc.contrib.media import MediaPlayer

    from aimeeting.sdk.media.sources import PictureTrack, ToneTrack, name_card

    tracks: dict[str, Any] = {}
    if args.audio_file:
        tracks["audio_track"] = MediaPlayer(args.audio_file, loop=True).audio
    elif args.tone:
        tracks["audio_track"] = ToneTrack(args.tone)
    if args.name_card:
        tracks["video_track"] = PictureTrack(name_card(nickname))
    return tracks


async def chat(args: argparse.Namespace) -> int:
    console = Console()
    media = bool(args.audio_file or args.tone or args.name_card)
    try:
        config = SDKConfig.for_server(args.server, media=media, language=accept_language())
        async with MeetingSDK(config) as sdk:
            client = ChatClient(sdk, console)
            await client.sign_in(args.email, args.nickname)
            assert sdk.user is not None
            client.media = published(args, sdk.user.nickname)
            meeting = await client.enter(args.join)
            await client.run(meeting)
    except MeetingError as exc:
        say(f"! {explain(exc)}")
        return 1
    except EOFError:
        say("")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default="http://127.0.0.1:3000", help="the server's URL")
    parser.add_argument("--email", help="skip the email prompt")
    parser.add_argument("--nickname", help="skip the nickname prompt (when registering)")
    parser.add_argument("--join", metavar="NUMBER", help="join this meeting number")
    group = parser.add_argument_group("media", MEDIA_HELP)
    group.add_argument("--audio-file", metavar="FILE", help="send FILE (WAV, …) as microphone")
    group.add_argument("--tone", metavar="HZ", type=float, help="send a tone as microphone")
    group.add_argument(
        "--name-card", action="store_true", help="send a picture with your nickname as camera"
    )


def main(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(chat(args))
    return 130
