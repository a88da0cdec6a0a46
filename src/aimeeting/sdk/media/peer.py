"""One peer connection to one other member (DECISIONS §9): our tracks out, theirs in, signals
handled one at a time in order, and the decisions of ``negotiation.decide_offer``.

aiortc puts every candidate of ours in the SDP (no trickling) and accepts the other side's
trickled ones. Where a browser would roll back or restart ICE, the mesh replaces this link
(``LinkOwner.replace``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCInboundRtpStreamStats,
    RTCPeerConnection,
    RTCRemoteInboundRtpStreamStats,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import candidate_from_sdp

from aimeeting.sdk.media.negotiation import LinkView, OfferAction, decide_offer
from aimeeting.sdk.media.quality import Counters, Inbound, LinkFigures, link_figures
from aimeeting.sdk.media.sdp import (
    candidate_ufrag,
    ice_ufrags,
    sending_mids,
    session_of,
    with_session,
)
from aimeeting.sdk.media.tracks import BufferedTrack, Kind, LocalMedia
from aimeeting.sdk.models import TrackKind

log = logging.getLogger("aimeeting.sdk.media")

Signal = dict[str, Any]


class LinkOwner(Protocol):
    """What a link needs from its mesh."""

    async def send(self, to_user_id: str, signal: Signal) -> None: ...

    def known_session(self, user_id: str) -> str | None: ...

    def heard_session(self, user_id: str, session: str) -> None: ...

    def replace(self, link: PeerLink, handover: list[Signal], offer: bool) -> None: ...

    def track_added(self, user_id: str, kind: TrackKind, track: MediaStreamTrack) -> None: ...

    def track_removed(self, user_id: str, kind: TrackKind) -> None: ...


class _Inbound:
    """A remote track on one transceiver, as the application sees it: announced with its
    first frame, ended when the other side stops sending on it (and announced again if it
    starts again), or when the link closes."""

    def __init__(self, link: PeerLink, kind: TrackKind, source: MediaStreamTrack) -> None:
        self.link, self.kind, self.source = link, kind, source
        self.active = True
        self.exposed: BufferedTrack | None = None
        self.task = asyncio.create_task(self._pump(), name=f"aimeeting-recv-{kind}")

    async def _pump(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.source.recv()
                if not self.active:
                    continue
                if self.exposed is None:
                    self.exposed = BufferedTrack(self.source.kind)
                    self.link.owner.track_added(self.link.user_id, self.kind, self.exposed)
                self.exposed.put(frame)
        self.end()

    def set_active(self, active: bool) -> None:
        self.active = active
        if not active:
            self.end()

    def end(self) -> None:
        exposed, self.exposed = self.exposed, None
        if exposed is not None:
            exposed.stop()
            self.link.owner.track_removed(self.link.user_id, self.kind)


class PeerLink:
    def __init__(
        self,
        user_id: str,
        configuration: RTCConfiguration,
        polite: bool,
        local: LocalMedia,
        owner: LinkOwner,
    ) -> None:
        self.user_id = user_id
        self.polite = polite  # DECISIONS §9: the member whose user id sorts first
        self.owner = owner
        self.pc = RTCPeerConnection(configuration)
        self.remote_session: str | None = None
        self._session = str(secrets.randbelow(2**62))  # our o= session id, for life
        self._remote_ufrags: frozenset[str] = frozenset()
        self._remote_screen_mid: str | None = None
        self._local = local
        self._outbound: list[MediaStreamTrack] = []
        self._inbound: dict[RTCRtpTransceiver, _Inbound] = {}
        self._offered_at: float | None = None
        self._ignoring = False  # candidates of an offer we ignored are dropped too
        self._attached = False
        self._was_connected = False
        self._counters = Counters()
        self._steps: asyncio.Queue[Signal | None] = asyncio.Queue()  # None: make an offer
        self._worker = asyncio.create_task(self._work(), name=f"aimeeting-link-{user_id}")
        self.closed = False
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_connection_state)

    # --- what the mesh asks -----------------------------------------------------------------

    def offer(self) -> None:
        """Call the member: our tracks, and a request to receive theirs (DECISIONS §9)."""
        self._steps.put_nowait(None)

    def handle(self, signal: Signal) -> None:
        self._steps.put_nowait(signal)

    @property
    def connected(self) -> bool:
        return self.pc.connectionState == "connected"

    async def stats(self) -> LinkFigures | None:
        """Round trip, loss since the last reading and jitter, or None when not connected."""
        if not self.connected:
            return None
        report = await self.pc.getStats()
        inbound = [
            Inbound(s.kind, s.packetsReceived, s.packetsLost, s.jitter)
            for s in report.values()
            if isinstance(s, RTCInboundRtpStreamStats)
        ]
        remote = RTCRemoteInboundRtpStreamStats  # what RTCP receiver reports told our senders
        rtts = [s.roundTripTime for s in report.values() if isinstance(s, remote)]
        figures, self._counters = link_figures(inbound, rtts, self._counters)
        return figures

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._worker.cancel()
        for inbound in self._inbound.values():
            inbound.end()
            inbound.task.cancel()
        for track in self._outbound:
            self._local.unsubscribe(track)
        await self.pc.close()

    def _drain(self) -> list[Signal]:
        """The signals still queued (handed over to the link that replaces this one)."""
        left: list[Signal] = []
        while not self._steps.empty():
            if (step := self._steps.get_nowait()) is not None:
                left.append(step)
        return left

    # --- negotiation ------------------------------------------------------------------------

    async def _work(self) -> None:
        while not self.closed:
            step = await self._steps.get()
            try:
                await (self._offer() if step is None else self._apply(step))
            except Exception:  # one bad signal must not end the link
                log.warning("link to %s: %s failed", self.user_id, step and step.get("kind"))
                log.debug("details", exc_info=True)

    def _attach(self, offering: bool) -> None:
        """Our tracks on the link; the offerer also asks to receive what it does not send."""
        if self._attached:
            return
        self._attached = True
        kinds: tuple[Kind, ...] = ("audio", "video")
        for kind in kinds:
            track = self._local.subscribe(kind)
            if track is not None:
                self._outbound.append(track)
                self.pc.addTrack(track)
            elif offering:
                self.pc.addTransceiver(kind, direction="recvonly")

    async def _offer(self) -> None:
        self._attach(offering=True)
        offer = await self.pc.createOffer()
        # Gathers every candidate, which go in the SDP: this takes the gathering's time.
        await self.pc.setLocalDescription(self._ours(offer))
        self._offered_at = time.monotonic()
        await self._send_description()

    async def _apply(self, signal: Signal) -> None:
        if signal.get("kind") == "description":
            await self._apply_description(signal)
        elif signal.get("kind") == "candidate":
            await self._apply_candidate(signal.get("candidate"))
        # Unknown kinds are ignored (DECISIONS §9).

    async def _apply_description(self, signal: Signal) -> None:
        description = signal.get("description") or {}
        kind, sdp = description.get("type"), description.get("sdp")
        if not isinstance(sdp, str):
            return
        if kind == "answer":
            if self.pc.signalingState == "have-local-offer":
                await self._set_remote(signal, sdp, "answer")
                self._offered_at = None
            return
        if kind != "offer":
            return
        action = decide_offer(self._view(), sdp)
        log.debug("link to %s: offer → %s", self.user_id, action.value)
        if action is OfferAction.ANSWER:
            self._attach(offering=False)  # the first offer: our tracks ride its transceivers
            await self._set_remote(signal, sdp, "offer")
            await self.pc.setLocalDescription(self._ours(await self.pc.createAnswer()))
            await self._send_description()
        elif action in (OfferAction.IGNORE, OfferAction.RESEND):
            self._ignoring = True
            if action is OfferAction.RESEND:
                await self._send_description()
        else:
            handover = [signal, *self._drain()] if action is OfferAction.NEW_LINK_ANSWER else []
            self.owner.replace(self, handover, offer=action is OfferAction.NEW_LINK_OFFER)

    async def _set_remote(self, signal: Signal, sdp: str, kind: str) -> None:
        if "screen_mid" in signal:
            mid = signal["screen_mid"]
            self._remote_screen_mid = mid if isinstance(mid, str) else None
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        self._ignoring = False
        self.remote_session = session_of(sdp) or self.remote_session
        self._remote_ufrags = ice_ufrags(sdp)
        if self.remote_session is not None:
            self.owner.heard_session(self.user_id, self.remote_session)
        sending = sending_mids(sdp)
        for transceiver, inbound in self._inbound.items():
            inbound.set_active(transceiver.mid in sending)

    async def _apply_candidate(self, data: Any) -> None:
        if self._ignoring or self.remote_session is None:
            return  # for an offer we ignored, or from before any description: stale
        line = data.get("candidate") if isinstance(data, dict) else None
        if not line:
            await self.pc.addIceCandidate(None)  # the end of the candidates
            return
        ufrag = candidate_ufrag(line)
        if ufrag is not None and ufrag not in self._remote_ufrags:
            return  # of an earlier ICE generation
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
        candidate.sdpMid = data.get("sdpMid")
        candidate.sdpMLineIndex = data.get("sdpMLineIndex")
        await self.pc.addIceCandidate(candidate)

    def _view(self) -> LinkView:
        offering = self.pc.signalingState == "have-local-offer"
        since = self._offered_at
        return LinkView(
            polite=self.polite,
            offering=offering,
            offer_age=time.monotonic() - since if offering and since is not None else 0.0,
            remote_session=self.remote_session,
            remote_ufrags=self._remote_ufrags,
            known_session=self.owner.known_session(self.user_id),
        )

    def _ours(self, description: RTCSessionDescription) -> RTCSessionDescription:
        return RTCSessionDescription(with_session(description.sdp, self._session), description.type)

    async def _send_description(self) -> None:
        local = self.pc.localDescription
        signal = {
            "kind": "description",
            "description": {"type": local.type, "sdp": local.sdp},
            "screen_mid": None,  # this SDK shares no screen
        }
        await self.owner.send(self.user_id, signal)

    # --- their tracks, the connection -------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(t for t in self.pc.getTransceivers() if t.receiver.track is track)
        if track.kind == "audio":
            kind = TrackKind.AUDIO
        elif transceiver.mid is not None and transceiver.mid == self._remote_screen_mid:
            kind = TrackKind.SCREEN
        else:
            kind = TrackKind.VIDEO
        self._inbound[transceiver] = _Inbound(self, kind, track)

    def _on_connection_state(self) -> None:
        state = self.pc.connectionState
        log.debug("link to %s: %s", self.user_id, state)
        if state == "connected":
            self._was_connected = True
        elif state == "failed" and self._was_connected and not self.closed:
            # A browser would restart ICE; aiortc cannot: a fresh link. Only a link that once
            # worked: one that never connected (no usable candidate) would fail again at once.
            self.owner.replace(self, [], offer=True)
