"""A bot with a voice and a face: joins a meeting by its number, plays a sound file as its
microphone (or a tone without one) and shows a picture with its name as its camera.

    python examples/media_bot.py 123456789                   # with `aimeeting serve` running
    python examples/media_bot.py --sound hello.wav --nickname Robo 123456789

Needs `pip install "aimeeting[media]"`. Browsers in the meeting see its tile and hear it. It
leaves when the meeting ends, or on Ctrl-C. The first run registers its account.
"""

from __future__ import annotations

import argparse

from account import add_account_options, config, run, sign_in
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer

from aimeeting import JoinMeetingOptions, MeetingEvent, MeetingSDK
from aimeeting.sdk.media.sources import PictureTrack, ToneTrack, name_card


def voice(sound: str | None) -> MediaStreamTrack:
    """The sound file, looped (any format FFmpeg reads), or a 440 Hz tone."""
    if sound is None:
        return ToneTrack(440)
    track = MediaPlayer(sound, loop=True).audio
    if track is None:
        raise SystemExit(f"{sound} has no audio")
    return track


async def main(args: argparse.Namespace) -> None:
    async with MeetingSDK(config(args)) as sdk:
        await sign_in(sdk, args)
        options = JoinMeetingOptions(
            audio_track=voice(args.sound), video_track=PictureTrack(name_card(args.nickname))
        )
        meeting = await sdk.join_meeting(args.number, options)
        print(f"joined {meeting.meeting_number} as {args.nickname}", flush=True)
        async for _ in meeting.events(MeetingEvent.MEETING_ENDED):
            break
        print("the meeting ended", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_account_options(parser, "media-bot@example.com", "MediaBot")
    parser.add_argument("--sound", help="a sound file to play (default: a 440 Hz tone)")
    run(main(parser.parse_args()))
