"""Network quality from the media links' statistics (DECISIONS §9), as the browser SDK grades
it: pure functions of a link's figures, and the meeting as good as its worst link."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aimeeting.sdk.models import NetworkQuality, NetworkQualityChangedEvent

FAIR_RTT_MS, POOR_RTT_MS = 150.0, 500.0
FAIR_LOSS, POOR_LOSS = 0.02, 0.10
FAIR_JITTER_MS, POOR_JITTER_MS = 30.0, 100.0
# RTP clock rates of what aiortc negotiates (Opus, and every video codec): jitter comes in
# timestamp units.
CLOCK_RATES = {"audio": 48000, "video": 90000}
_RANK = {
    NetworkQuality.GOOD: 0,
    NetworkQuality.FAIR: 1,
    NetworkQuality.POOR: 2,
    NetworkQuality.LOST: 3,
}


@dataclass(frozen=True)
class Inbound:
    """One received RTP stream's counters (aiortc's ``inbound-rtp``)."""

    kind: str
    packets_received: int
    packets_lost: int
    jitter: float  # RTP timestamp units


@dataclass(frozen=True)
class LinkFigures:
    rtt_ms: float | None
    loss: float | None  # 0..1, since the previous reading
    jitter_ms: float | None


@dataclass(frozen=True)
class Counters:
    """Totals of the previous reading, to compute the loss since then."""

    received: int = 0
    lost: int = 0


def link_figures(
    inbound: list[Inbound], rtts_s: list[float], previous: Counters
) -> tuple[LinkFigures, Counters]:
    """A link's figures from its inbound streams and the round trips its senders measured
    (RTCP receiver reports, seconds), and the counters for the next reading."""
    received = sum(s.packets_received for s in inbound)
    lost = sum(max(0, s.packets_lost) for s in inbound)
    new_received = max(0, received - previous.received)
    new_lost = max(0, lost - previous.lost)
    total = new_received + new_lost
    jitters = [s.jitter / CLOCK_RATES.get(s.kind, 90000) * 1000 for s in inbound]
    figures = LinkFigures(
        rtt_ms=max(rtts_s) * 1000 if rtts_s else None,
        loss=new_lost / total if total else None,
        jitter_ms=max(jitters) if jitters and received else None,
    )
    return figures, Counters(received, lost)


def grade_link(figures: LinkFigures) -> NetworkQuality:
    """``good`` under 150 ms, 2 % loss and 30 ms jitter; ``poor`` from 500 ms, 10 % or
    100 ms; else ``fair`` (what is unknown counts as fine)."""
    rtt, loss, jitter = figures.rtt_ms or 0.0, figures.loss or 0.0, figures.jitter_ms or 0.0
    if rtt >= POOR_RTT_MS or loss >= POOR_LOSS or jitter >= POOR_JITTER_MS:
        return NetworkQuality.POOR
    if rtt >= FAIR_RTT_MS or loss >= FAIR_LOSS or jitter >= FAIR_JITTER_MS:
        return NetworkQuality.FAIR
    return NetworkQuality.GOOD


def worst(a: NetworkQuality, b: NetworkQuality) -> NetworkQuality:
    return a if _RANK[a] >= _RANK[b] else b


def combine(readings: list[LinkFigures]) -> tuple[NetworkQuality, LinkFigures] | None:
    """The meeting's quality from its links' figures (the worst link; each figure its worst),
    or None when no link has figures (no media flows)."""
    if not readings:
        return None
    quality = NetworkQuality.GOOD
    for reading in readings:
        quality = worst(quality, grade_link(reading))
    return quality, LinkFigures(
        rtt_ms=_max(r.rtt_ms for r in readings),
        loss=_max(r.loss for r in readings),
        jitter_ms=_max(r.jitter_ms for r in readings),
    )


def _max(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


class QualityReporter:
    """Which ``network_quality_changed`` to emit: on a change of quality, and once when its
    source changes (media started or stopped flowing), so that the links' figures are seen
    as soon as there are any (the browser SDK's rule)."""

    def __init__(self) -> None:
        self.current: NetworkQuality | None = None
        self.from_links = False

    def report(
        self,
        quality: NetworkQuality,
        figures: LinkFigures,
        missed_pongs: int,
        from_links: bool,
    ) -> NetworkQualityChangedEvent | None:
        if quality is self.current and from_links == self.from_links:
            return None
        previous, self.current, self.from_links = self.current, quality, from_links
        return NetworkQualityChangedEvent(
            quality, previous, figures.rtt_ms, missed_pongs, figures.loss, figures.jitter_ms
        )
