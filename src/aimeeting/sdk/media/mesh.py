"""The mesh (DECISIONS §9): one ``PeerLink`` per other member. Who calls whom, links made,
replaced and hung up, the ICE servers, and network quality from the links' statistics.

After a reconnect the browser SDK restarts ICE on its links; aiortc cannot restart ICE, so
this SDK replaces each link with a fresh one and offers on it (**choice**, docs/sdk.md): the
other side sees a new ``o=`` session and replaces its link too. Media pauses for the new
link's setup (about a second on a LAN), then flows on its new path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

from aimeeting.sdk.media.peer import PeerLink, Signal
from aimeeting.sdk.media.quality import LinkFigures, combine
from aimeeting.sdk.media.tracks import LocalMedia
from aimeeting.sdk.models import (
    EventObject,
    NetworkQuality,
    TrackAddedEvent,
    TrackKind,
    TrackRemovedEvent,
)
from aimeeting.tasks import Background

log = logging.getLogger("aimeeting.sdk.media")

SendSignal = Callable[[str, Signal], Awaitable[None]]


def ice_server(entry: dict[str, Any]) -> RTCIceServer:
    """An ``RTCIceServer`` of the API's (or the config's) ``{urls, username?, credential?}``."""
    return RTCIceServer(entry["urls"], entry.get("username"), entry.get("credential"))


class Mesh:
    def __init__(
        self,
        me: str,
        local: LocalMedia,
        relay_only: bool,
        stats_interval: float,
        send: SendSignal,
        emit: Callable[[EventObject], None],
        link_quality: Callable[[NetworkQuality, LinkFigures], None],
    ) -> None:
        self._me = me
        self._local = local
        self._policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        self._stats_interval = stats_interval
        self._send, self._emit, self._link_quality = send, emit, link_quality
        self.ice_servers: list[RTCIceServer] = []
        self._links: dict[str, PeerLink] = {}
        self._sessions: dict[str, str] = {}  # the peer's session we last heard of
        self._closing = Background()  # links being closed
        self._stats: asyncio.Task[None] | None = None
        self._closed = False

    # --- the meeting's calls ----------------------------------------------------------------

    def enter(self, members: list[str], again: bool, in_room: Collection[str] | None) -> None:
        """We (re-)entered the room with these members (seat holders): we call each of them
        connected to the room (``in_room``; None: all). One not in it yet would never get our
        offer: it calls us when it enters. After a reconnect an existing link is replaced by a
        fresh one (aiortc's ICE restart); links to members no longer there are hung up."""
        if self._closed:
            return
        others = {user_id for user_id in members if user_id != self._me}
        for user_id in list(self._links):
            if user_id not in others:
                self.hang_up(user_id)
        for user_id in others:
            if in_room is not None and user_id not in in_room:
                continue
            link = self._links.get(user_id)
            if link is None or again:
                self._open(user_id).offer()
        if self._stats is None:
            self._stats = asyncio.create_task(self._read_stats(), name="aimeeting-media-stats")

    def on_signal(self, from_user_id: str, signal: Signal) -> None:
        if self._closed or from_user_id == self._me:
            return
        link = self._links.get(from_user_id)
        if link is None:
            if not _is_offer(signal):
                return  # only an offer starts a link: anything else is stale or unknown
            link = self._open(from_user_id)
        link.handle(signal)

    def hang_up(self, user_id: str) -> None:
        link = self._links.pop(user_id, None)
        if link is not None:
            self._close_later(link)

    def any_connected(self) -> bool:
        return any(link.connected for link in self._links.values())

    async def close(self) -> None:
        self._closed = True
        if self._stats is not None:
            self._stats.cancel()
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(link.close() for link in links), return_exceptions=True)
        await self._closing.wait()

    # --- what the links ask (LinkOwner) -----------------------------------------------------

    async def send(self, to_user_id: str, signal: Signal) -> None:
        await self._send(to_user_id, signal)

    def known_session(self, user_id: str) -> str | None:
        return self._sessions.get(user_id)

    def heard_session(self, user_id: str, session: str) -> None:
        self._sessions[user_id] = session

    def replace(self, link: PeerLink, handover: list[Signal], offer: bool) -> None:
        """A fresh link instead of ``link``: it offers, or handles ``handover`` (the offer
        that asked for it, then what was queued behind it)."""
        if self._closed or self._links.get(link.user_id) is not link:
            return  # already replaced or hung up
        fresh = self._open(link.user_id)
        self._close_later(link)
        if offer:
            fresh.offer()
        for signal in handover:
            fresh.handle(signal)

    def track_added(self, user_id: str, kind: TrackKind, track: MediaStreamTrack) -> None:
        self._emit(TrackAddedEvent(user_id, kind, track))

    def track_removed(self, user_id: str, kind: TrackKind) -> None:
        self._emit(TrackRemovedEvent(user_id, kind))

    # --- internals --------------------------------------------------------------------------

    def _open(self, user_id: str) -> PeerLink:
        old = self._links.get(user_id)
        if old is not None:
            self._close_later(old)
        configuration = RTCConfiguration(list(self.ice_servers), self._policy)
        link = PeerLink(user_id, configuration, self._me < user_id, self._local, self)
        self._links[user_id] = link
        return link

    def _close_later(self, link: PeerLink) -> None:
        self._closing.spawn(link.close(), f"aimeeting-link-close-{link.user_id}")

    async def _read_stats(self) -> None:
        """Every ``stats_interval``: the meeting is as good as its worst link."""
        while True:
            await asyncio.sleep(self._stats_interval)
            readings = []
            for link in list(self._links.values()):
                with contextlib.suppress(Exception):  # a link closing meanwhile
                    if (figures := await link.stats()) is not None:
                        readings.append(figures)
            if (combined := combine(readings)) is not None:
                self._link_quality(*combined)


def _is_offer(signal: Signal) -> bool:
    description = signal.get("description")
    return (
        signal.get("kind") == "description"
        and isinstance(description, dict)
        and description.get("type") == "offer"
        and isinstance(description.get("sdp"), str)
    )
