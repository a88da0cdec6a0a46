"""A bot on the Python SDK: joins a meeting by its number and answers chat.

    python examples/bot.py 123456789                     # with `aimeeting serve` running
    python examples/bot.py --server http://host:3000 123456789

It answers `!time` with the time, `!who` with who is here, and anything else with an echo
(`!`, since `/` lines are the commands of the terminal clients and never reach the chat).
Bots do not answer bots: a sender whose nickname ends in "bot" (EchoBot, HelperBot, this one)
is left alone, or two bots would answer each other for ever. Too many messages at once are
refused by the server's chat limit: the bot says so and goes on.
It leaves when the meeting ends, or on Ctrl-C. The first run registers its account.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from account import add_account_options, config, run, sign_in

from aimeeting import JoinMeetingOptions, Meeting, MeetingError, MeetingEvent, MeetingSDK
from aimeeting.sdk import ChatMessage, User
from aimeeting.terminal import explain


def is_bot(sender: User) -> bool:
    return sender.nickname.lower().endswith("bot")


def answer(meeting: Meeting, message: ChatMessage) -> str:
    if message.content == "!time":
        return f"it is {datetime.now():%H:%M:%S} here"
    if message.content == "!who":
        return "here: " + ", ".join(p.nickname for p in meeting.participants)
    return f"{message.sender.nickname} said: {message.content}"


async def main(args: argparse.Namespace) -> None:
    # A chat bot: no media, even where aiortc is installed (nothing to decode for nobody).
    async with MeetingSDK(config(args, media=False)) as sdk:
        await sign_in(sdk, args)
        # A bot has no microphone or camera: it joins muted.
        options = JoinMeetingOptions(audio_muted=True, video_muted=True)
        meeting = await sdk.join_meeting(args.number, options)
        print(f"joined {meeting.meeting_number} as {args.nickname}", flush=True)
        async for event in meeting.events(MeetingEvent.CHAT_MESSAGE):
            assert isinstance(event, ChatMessage)
            if event.sender.id == meeting.local_user_id or is_bot(event.sender):
                continue
            try:
                await meeting.send_chat_message(answer(meeting, event))
            except MeetingError as exc:  # e.g. the chat limit: this answer is not sent
                print(f"! not answered: {explain(exc)}", flush=True)
        print("the meeting ended", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_account_options(parser, "helper-bot@example.com", "HelperBot")
    run(main(parser.parse_args()))
