"""Tracks between aiortc and the application: the member's own tracks, read once and fanned
out to every link (muted: silence or black, no renegotiation), and the remote tracks handed to
the application, which keep only the latest frames when nobody reads them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, Literal

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame
from av.frame import Frame
from av.packet import Packet

log = logging.getLogger("aimeeting.sdk.media")

Kind = Literal["audio", "video"]
# Frames kept for a reader that lags. What the application reads: 1 s of 20 ms audio (a
# recorder loses nothing), video only a few (a late frame is worth less than the next one).
# What a link sends: its sender starts reading only once connected, and then reads as fast as
# frames come, so whatever is queued stays queued: at most 60 ms of audio and one picture.
INBOUND: dict[str, int] = {"audio": 50, "video": 3}
OUTBOUND: dict[str, int] = {"audio": 3, "video": 1}


class BufferedTrack(MediaStreamTrack):
    """A track the SDK feeds: ``put`` frames in, ``recv`` takes them in order. Bounded: when
    nobody reads it the oldest frames are dropped, so an unread track costs no memory."""

    def __init__(self, kind: str, capacity: dict[str, int] = INBOUND) -> None:
        super().__init__()
        self.kind = kind
        self._frames: deque[Frame | Packet[Any]] = deque(maxlen=capacity.get(kind, 1))
        self._ready = asyncio.Event()

    def put(self, frame: Frame | Packet[Any]) -> None:
        if self.readyState == "live":
            self._frames.append(frame)
            self._ready.set()

    async def recv(self) -> Frame | Packet[Any]:
        while not self._frames:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        return self._frames.popleft()

    def stop(self) -> None:
        super().stop()
        self._frames.clear()
        self._ready.set()  # a waiting recv() ends


class LocalMedia:
    """The member's own tracks (``audio_track``/``video_track`` of the join options). Each is
    read by one task and every link gets its own ``BufferedTrack`` of it (an aiortc track can
    feed only one sender). Muted, a track goes on as silence or black frames of the same
    shape, as a browser's disabled track does."""

    def __init__(
        self,
        audio: MediaStreamTrack | None,
        video: MediaStreamTrack | None,
        audio_muted: bool,
        video_muted: bool,
    ) -> None:
        self._sources: dict[str, MediaStreamTrack] = {
            kind: track for kind, track in (("audio", audio), ("video", video)) if track
        }
        self._muted = {"audio": audio_muted, "video": video_muted}
        self._subscribers: dict[str, set[BufferedTrack]] = {k: set() for k in self._sources}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._black: dict[tuple[int, int], np.ndarray] = {}  # black pixels per frame size

    def has(self, kind: Kind) -> bool:
        return kind in self._sources

    def subscribe(self, kind: Kind) -> BufferedTrack | None:
        """A new track of our ``kind`` for one link, or None when we send no such track."""
        if kind not in self._sources:
            return None
        track = BufferedTrack(kind, OUTBOUND)
        self._subscribers[kind].add(track)
        if kind not in self._pumps:
            self._pumps[kind] = asyncio.create_task(self._pump(kind), name=f"aimeeting-{kind}")
        return track

    def unsubscribe(self, track: MediaStreamTrack) -> None:
        self._subscribers.get(track.kind, set()).discard(track)
        track.stop()

    def set_muted(self, kind: Kind, muted: bool) -> None:
        self._muted[kind] = muted

    async def close(self) -> None:
        """Stop reading and stop the tracks (the meeting owns them once given, as a browser
        releases its devices on leaving: a file player's thread ends with them)."""
        for task in self._pumps.values():
            task.cancel()
        for task in self._pumps.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for kind, source in self._sources.items():
            for track in self._subscribers[kind]:
                track.stop()
            source.stop()

    async def _pump(self, kind: str) -> None:
        source = self._sources[kind]
        try:
            while True:
                frame = await source.recv()
                if self._muted[kind]:
                    frame = self._blank(frame)
                frame = _shareable(frame)
                for track in self._subscribers[kind]:
                    track.put(frame)
        except MediaStreamError:
            log.info("our %s track ended", kind)
        finally:
            for track in self._subscribers[kind]:
                track.stop()

    def _blank(self, frame: Frame | Packet[Any]) -> Frame | Packet[Any]:
        if isinstance(frame, AudioFrame):
            return silence_like(frame)
        if isinstance(frame, VideoFrame):
            size = (frame.height, frame.width)
            if size not in self._black:
                self._black[size] = np.zeros((*size, 3), np.uint8)
            black = VideoFrame.from_ndarray(self._black[size], format="rgb24")
            black.pts, black.time_base = frame.pts, frame.time_base
            return black
        return frame  # an encoded packet cannot be blanked: sent as is


def silence_like(frame: AudioFrame) -> AudioFrame:
    """An audio frame of the same format, layout, length and timing, all zeros."""
    silent = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    for plane in silent.planes:
        plane.update(bytes(plane.buffer_size))
    silent.sample_rate = frame.sample_rate
    silent.pts, silent.time_base = frame.pts, frame.time_base
    return silent


def _shareable(frame: Frame | Packet[Any]) -> Frame | Packet[Any]:
    """A frame several links can encode at once. Each link's encoder runs in a thread of its
    own, and a VP8/H.264 encoder converts a picture that is not YUV 4:2:0 with the frame's own
    converter (PyAV keeps one per frame): two threads converting one frame crash or hang the
    process. Converted once here, the encoders only read it."""
    if isinstance(frame, VideoFrame) and frame.format.name != "yuv420p":
        return frame.reformat(format="yuv420p")
    return frame
