"""A recorder: joins a meeting by its number and writes what each participant sends: their
audio to `<nickname>.wav` (mono, 48 kHz) and a few frames of their camera to PNG files.

    python examples/recorder.py 123456789                    # with `aimeeting serve` running
    python examples/recorder.py --out recordings --seconds 60 123456789

Needs `pip install "aimeeting[media]"`; sends nothing (receive only). It stops after
`--seconds`, when the meeting ends, on Ctrl-C or SIGTERM, and then lists the files it wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import time
import uuid
import wave
from pathlib import Path

import av
from account import add_account_options, config, sign_in
from account import run as run_example
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from aimeeting import MeetingEvent, MeetingSDK, TrackAddedEvent
from aimeeting.sdk import Meeting

RATE = 48000


def png(frame: av.VideoFrame) -> bytes:
    """A video frame as a PNG file's bytes (PyAV's PNG encoder: no imaging library)."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height, codec.pix_fmt = frame.width, frame.height, "rgb24"
    return b"".join(bytes(packet) for packet in codec.encode(frame.reformat(format="rgb24")))


class Recorder:
    def __init__(self, meeting: Meeting, out: Path, pictures: int) -> None:
        self.meeting, self.out, self.pictures = meeting, out, pictures
        self.wavs: dict[str, wave.Wave_write] = {}  # one file per participant, across tracks
        self.written: set[Path] = set()
        self.tasks: set[asyncio.Task[None]] = set()

    def name(self, user_id: str) -> str:
        nickname = next(
            (p.nickname for p in self.meeting.participants if p.user_id == user_id), user_id
        )
        return re.sub(r"[^\w.-]+", "_", nickname)  # safe as a file name

    def on_track(self, event: TrackAddedEvent) -> None:
        record = self.audio if event.kind == "audio" else self.video
        task = asyncio.create_task(record(event.user_id, event.kind, event.track))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def audio(self, user_id: str, _kind: str, track: MediaStreamTrack) -> None:
        path = self.out / f"{self.name(user_id)}.wav"
        if user_id not in self.wavs:
            print(f"recording {path}", flush=True)
            wav = self.wavs[user_id] = wave.open(str(path), "wb")  # noqa: SIM115 (closed in close())
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                for frame in resampler.resample(await track.recv()):
                    self.wavs[user_id].writeframes(frame.to_ndarray().tobytes())
                self.written.add(path)

    async def video(self, user_id: str, kind: str, track: MediaStreamTrack) -> None:
        """A frame at once, then one a second, up to ``pictures``."""
        taken, next_at = 0, 0.0
        with contextlib.suppress(MediaStreamError):
            while taken < self.pictures:
                frame = await track.recv()
                if time.monotonic() < next_at:
                    continue
                taken, next_at = taken + 1, time.monotonic() + 1.0
                suffix = "" if kind == "video" else f"-{kind}"
                path = self.out / f"{self.name(user_id)}{suffix}-{uuid.uuid4().hex[:6]}.png"
                path.write_bytes(png(frame))
                self.written.add(path)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for wav in self.wavs.values():
            wav.close()


async def main(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    async with MeetingSDK(config(args)) as sdk:
        await sign_in(sdk, args)
        meeting = await sdk.join_meeting(args.number)  # no tracks given: receive only
        recorder = Recorder(meeting, args.out, args.pictures)
        meeting.on(MeetingEvent.TRACK_ADDED, recorder.on_track)
        print(f"joined {meeting.meeting_number} as {args.nickname}", flush=True)
        try:
            with contextlib.suppress(TimeoutError):
                ended = meeting.events(MeetingEvent.MEETING_ENDED)
                await asyncio.wait_for(anext(ended, None), args.seconds)
        finally:
            recorder.close()
            for path in sorted(recorder.written):
                print(f"wrote {path}", flush=True)


def run(args: argparse.Namespace) -> None:
    """Until done, Ctrl-C or SIGTERM; the files are closed (and listed) in every case."""

    async def until_stopped() -> None:
        task = asyncio.create_task(main(args))
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    run_example(until_stopped())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_account_options(parser, "recorder@example.com", "Recorder")
    parser.add_argument("--out", type=Path, default=Path("recordings"))
    parser.add_argument("--seconds", type=float, help="stop after this long (default: never)")
    parser.add_argument("--pictures", type=int, default=3, help="PNG frames per camera")
    run(parser.parse_args())
