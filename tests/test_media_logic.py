"""The pure rules of Python media: SDP helpers, the offer decisions of the mesh (DECISIONS §9),
and network quality from link statistics. No network, no aiortc."""

from __future__ import annotations

import pytest

from aimeeting.sdk.media.negotiation import LinkView, OfferAction, decide_offer
from aimeeting.sdk.media.quality import (
    Counters,
    Inbound,
    LinkFigures,
    QualityReporter,
    combine,
    grade_link,
    link_figures,
)
from aimeeting.sdk.media.sdp import (
    candidate_ufrag,
    ice_ufrags,
    sending_mids,
    session_of,
    with_session,
)
from aimeeting.sdk.models import NetworkQuality

CHROME_OFFER = """v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0 1 2\r
m=audio 9 UDP/TLS/RTP/SAVPF 111\r
a=ice-ufrag:abcd\r
a=mid:0\r
a=sendrecv\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
a=ice-ufrag:abcd\r
a=mid:1\r
a=recvonly\r
m=video 9 UDP/TLS/RTP/SAVPF 96\r
a=ice-ufrag:abcd\r
a=mid:2\r
a=sendonly\r
"""


def offer(session: str = "4611731400430051336", ufrag: str = "abcd") -> str:
    return with_session(CHROME_OFFER, session).replace("ice-ufrag:abcd", f"ice-ufrag:{ufrag}")


def view(**changes: object) -> LinkView:
    base: dict[str, object] = {
        "polite": False,
        "offering": False,
        "offer_age": 0.0,
        "remote_session": "4611731400430051336",
        "remote_ufrags": frozenset({"abcd"}),
        "known_session": "4611731400430051336",
    }
    return LinkView(**(base | changes))  # type: ignore[arg-type]


# --- SDP ------------------------------------------------------------------------------------


def test_session_id_is_read_and_rewritten_in_the_origin_line_only() -> None:
    assert session_of(CHROME_OFFER) == "4611731400430051336"
    rewritten = with_session(CHROME_OFFER, "42")
    assert session_of(rewritten) == "42"
    assert "o=- 42 2 IN IP4 127.0.0.1\r\n" in rewritten
    assert rewritten.replace("o=- 42 ", "o=- 4611731400430051336 ") == CHROME_OFFER
    assert session_of("v=0\r\ns=-\r\n") is None


def test_ufrags_and_candidate_ufrag() -> None:
    assert ice_ufrags(CHROME_OFFER) == {"abcd"}
    line = "candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host generation 0 ufrag abcd"
    assert candidate_ufrag(line) == "abcd"
    assert candidate_ufrag("candidate:1 1 udp 2113937151 127.0.0.2 5000 typ host") is None


def test_sending_mids_follow_direction_and_rejected_lines() -> None:
    assert sending_mids(CHROME_OFFER) == {"0", "2"}
    rejected = CHROME_OFFER.replace("m=audio 9 ", "m=audio 0 ")
    assert sending_mids(rejected) == {"2"}
    no_direction = CHROME_OFFER.replace("a=recvonly\r\n", "")
    assert sending_mids(no_direction) == {"0", "1", "2"}  # sendrecv is the default


# --- offers ---------------------------------------------------------------------------------


def test_an_offer_without_a_link_gets_a_new_link() -> None:
    assert decide_offer(None, offer()) is OfferAction.NEW_LINK_ANSWER


def test_renegotiation_on_a_stable_link_is_answered_on_it() -> None:
    assert decide_offer(view(), offer()) is OfferAction.ANSWER
    assert decide_offer(view(remote_session=None), offer()) is OfferAction.ANSWER


def test_a_new_session_means_the_peer_started_afresh() -> None:
    assert decide_offer(view(), offer(session="7")) is OfferAction.NEW_LINK_ANSWER
    crossing = view(offering=True, offer_age=5.0)
    assert decide_offer(crossing, offer(session="7")) is OfferAction.NEW_LINK_ANSWER


def test_an_ice_restart_is_met_with_a_fresh_link_and_offer() -> None:
    assert decide_offer(view(), offer(ufrag="wxyz")) is OfferAction.NEW_LINK_OFFER


@pytest.mark.parametrize(
    ("polite", "age", "expected"),
    [
        (True, 0.5, OfferAction.NEW_LINK_ANSWER),  # the polite side yields
        (False, 0.5, OfferAction.IGNORE),  # the impolite side's offer wins
        (False, 3.0, OfferAction.RESEND),  # ...and is sent again when it may have been lost
    ],
)
def test_crossing_offers_follow_politeness(polite: bool, age: float, expected: OfferAction) -> None:
    fresh_link = view(
        polite=polite, offering=True, offer_age=age, remote_session=None, known_session=None
    )
    assert decide_offer(fresh_link, offer(session="99")) is expected


def test_an_offer_from_the_connection_our_fresh_offer_replaces_is_moot() -> None:
    # We came back from a reconnect with a fresh link; the peer restarted ICE on its old
    # connection meanwhile: polite or not, our fresh offer replaces that connection.
    for polite in (True, False):
        fresh_link = view(polite=polite, offering=True, offer_age=0.1, remote_session=None)
        assert decide_offer(fresh_link, offer(ufrag="new")) is OfferAction.IGNORE


# --- quality --------------------------------------------------------------------------------


def test_link_figures_loss_since_the_last_reading_and_jitter_in_ms() -> None:
    first, counters = link_figures(
        [Inbound("audio", 980, 20, 480), Inbound("video", 100, 0, 900)], [0.040], Counters()
    )
    assert first.rtt_ms == pytest.approx(40.0)
    assert first.loss == pytest.approx(20 / 1100)
    assert first.jitter_ms == pytest.approx(10.0)  # 480 / 48 kHz; video's 900 / 90 kHz
    second, _ = link_figures(
        [Inbound("audio", 1080, 30, 0), Inbound("video", 100, 0, 0)], [], counters
    )
    assert second.loss == pytest.approx(10 / 110)
    assert second.rtt_ms is None  # nothing sent: no receiver report, no round trip
    silent, _ = link_figures([], [], Counters())
    assert silent == LinkFigures(None, None, None)


@pytest.mark.parametrize(
    ("figures", "quality"),
    [
        (LinkFigures(20, 0.0, 5), NetworkQuality.GOOD),
        (LinkFigures(None, None, None), NetworkQuality.GOOD),
        (LinkFigures(150, 0.0, 5), NetworkQuality.FAIR),
        (LinkFigures(20, 0.02, 5), NetworkQuality.FAIR),
        (LinkFigures(20, 0.0, 30), NetworkQuality.FAIR),
        (LinkFigures(500, 0.0, 5), NetworkQuality.POOR),
        (LinkFigures(20, 0.1, 5), NetworkQuality.POOR),
        (LinkFigures(20, 0.0, 100), NetworkQuality.POOR),
    ],
)
def test_link_grades(figures: LinkFigures, quality: NetworkQuality) -> None:
    assert grade_link(figures) is quality


def test_the_meeting_is_as_good_as_its_worst_link() -> None:
    assert combine([]) is None
    quality, figures = combine([LinkFigures(20, 0.0, 5), LinkFigures(200, None, 1)]) or ()
    assert quality is NetworkQuality.FAIR
    assert figures == LinkFigures(200, 0.0, 5)


def test_reports_on_a_change_of_quality_or_of_its_source() -> None:
    reporter = QualityReporter()
    socket = LinkFigures(30, None, None)
    first = reporter.report(NetworkQuality.GOOD, socket, 0, from_links=False)
    assert first is not None and first.previous is None and first.rtt_ms == 30
    assert reporter.report(NetworkQuality.GOOD, socket, 0, from_links=False) is None
    links = reporter.report(NetworkQuality.GOOD, LinkFigures(12, 0.01, 3), 0, from_links=True)
    assert links is not None and (links.packet_loss, links.jitter_ms) == (0.01, 3)
    worse = reporter.report(NetworkQuality.POOR, LinkFigures(600, 0, 3), 0, from_links=True)
    assert worse is not None and worse.previous is NetworkQuality.GOOD
    assert reporter.current is NetworkQuality.POOR
